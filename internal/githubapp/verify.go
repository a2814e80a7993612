package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// ErrRefused marks credentials GitHub refused (401, 403 or 404 for the
// App or the token): a wrong App ID, private key or token, which waiting
// does not fix.
var ErrRefused = errors.New("GitHub refused the credentials")

// Verify asks GitHub who the credentials are, every time (nothing is
// cached): GET /app with the App's JWT, or GET /rate_limit with a token.
// It returns the App's slug ("token" for a token). An error wraps ErrRefused
// when GitHub answered no; other errors (GitHub unreachable, 5xx) may pass.
// `prdeploy serve` calls it at start and for /readyz.
func (c *Client) Verify(ctx context.Context) (string, error) {
	var (
		who  string
		err  error
		what string
	)
	if c.app != nil {
		what = "authenticating as GitHub App " + strconv.FormatInt(c.cfg.AppID, 10) + " (GET /app with its JWT)"
		a, _, e := c.app.Apps.Get(ctx, "")
		who, err = a.GetSlug(), e
	} else {
		// GET /rate_limit answers any valid token, installation tokens
		// included (GET /user refuses those), and costs no rate limit.
		what = "authenticating with the token (GET /rate_limit)"
		_, _, err = c.plain.RateLimit.Get(ctx)
		who = "token"
	}
	if err == nil {
		return who, nil
	}
	switch statusOf(err) {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return "", fmt.Errorf("%w: %w", ErrRefused, classify(err, "%s", what))
	}
	return "", classify(err, "%s", what)
}
