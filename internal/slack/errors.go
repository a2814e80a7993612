package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/prdeploy/prdeploy/workflows"
)

// transientCodes are the Slack API error codes a later call can succeed
// after. Every other error code is Slack refusing the request for a reason
// a retry does not change (a channel the app is not in, a revoked token, a
// malformed message), and is permanent.
var transientCodes = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"team_added_to_org":   true,
}

// hints tell the operator what to do about a permanent Slack error.
var hints = map[string]string{
	"channel_not_found":   "check the Slack channel in the plan or cluster config, and that the prdeploy app can see it",
	"not_in_channel":      "invite the prdeploy app to the channel (/invite @prdeploy)",
	"is_archived":         "the channel is archived: configure another one",
	"invalid_auth":        "check the Slack bot token",
	"not_authed":          "set the Slack bot token",
	"account_inactive":    "the Slack bot token belongs to a deactivated app or user: install the app again and update the token",
	"token_revoked":       "the Slack bot token was revoked: install the app again and update the token",
	"token_expired":       "the Slack bot token expired: update it",
	"missing_scope":       "add the missing scope to the Slack app and reinstall it",
	"msg_too_long":        "the message is longer than Slack accepts (a prdeploy bug: please report it)",
	"msg_blocks_too_long": "the message's blocks are longer than Slack accepts (a prdeploy bug: please report it)",
	"invalid_blocks":      "Slack rejected the message's blocks (a prdeploy bug: please report it)",
}

// quickRetryWait is how long a retry waits after a server error; a retry
// after a rate limit waits what Slack asks, when that is at most
// maxQuickRetryAfter.
const (
	quickRetryWait     = 300 * time.Millisecond
	maxQuickRetryAfter = 2 * time.Second
)

// Slack methods the client calls, as Config.ObserveError is told them.
const (
	methodPost          = "chat.postMessage"
	methodUpdate        = "chat.update"
	methodLookupByEmail = "users.lookupByEmail"
	methodUserInfo      = "users.info"
	methodResponseURL   = "response_url"
)

// answers are the error codes, per method, that the client acts on as an
// answer (post the message again, nobody to mention) rather than fail.
var answers = map[string]string{
	methodUpdate:        "message_not_found",
	methodLookupByEmail: "users_not_found",
	methodUserInfo:      "user_not_found",
}

// call runs one Slack request (method, doing what) and, at most once,
// again: after a rate limit Slack asks to wait briefly for, or, when the
// request is idempotent, after a server or network error. Longer waits are
// the activity's retry policy's business. The error it returns is
// classified (workflows.Permanent or not), says what was done, and never
// holds the token; Config.ObserveError is told about it.
func (c *Client) call(ctx context.Context, method, what string, idempotent bool, do func(context.Context) error) error {
	err := c.try(ctx, what, idempotent, do)
	if err == nil || c.observeError == nil {
		return err
	}
	if answer, ok := answers[method]; ok && ErrorCode(err) == answer {
		return err
	}
	c.observeError(method, err)
	return err
}

func (c *Client) try(ctx context.Context, what string, idempotent bool, do func(context.Context) error) error {
	err := do(ctx)
	if err == nil {
		return nil
	}
	if wait, ok := c.retryAfter(err, idempotent); ok {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.classify(what, err)
		case <-t.C:
		}
		if err = do(ctx); err == nil {
			return nil
		}
	}
	return c.classify(what, err)
}

// retryAfter says whether to try again at once, and after how long.
func (c *Client) retryAfter(err error, idempotent bool) (time.Duration, bool) {
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		// Slack did not act on a rate-limited request, so any request can
		// be sent again.
		return rl.RetryAfter, rl.RetryAfter <= maxQuickRetryAfter
	}
	if !idempotent || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	if permanent(err) {
		return 0, false
	}
	return c.retryWait, true
}

// permanent tells whether err is a refusal a retry cannot change.
func permanent(err error) bool {
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return false
	}
	var api slackapi.SlackErrorResponse
	if errors.As(err, &api) {
		return !transientCodes[api.Err]
	}
	var sc slackapi.StatusCodeError
	if errors.As(err, &sc) {
		return sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusTooManyRequests && sc.Code != http.StatusRequestTimeout
	}
	var p workflows.PermanentError
	return errors.As(err, &p)
}

// classify wraps err with what was being done, a hint for the operator
// when there is one, marks it permanent when retrying cannot help, and
// removes the token from the message should anything have echoed it.
func (c *Client) classify(what string, err error) error {
	var p workflows.PermanentError
	if errors.As(err, &p) {
		err = p.Err
	}
	msg := what + ": " + err.Error()
	var api slackapi.SlackErrorResponse
	if errors.As(err, &api) {
		if api.Needed != "" {
			msg += " (needed: " + api.Needed + ")"
		}
		if len(api.ResponseMetadata.Messages) > 0 {
			msg += " (" + strings.Join(api.ResponseMetadata.Messages, "; ") + ")"
		}
		if h := hints[api.Err]; h != "" {
			msg += ": " + h
		}
	}
	var wrapped error
	if c.token != "" && strings.Contains(msg, c.token) {
		// Do not keep the cause: its message holds the token.
		wrapped = errors.New(strings.ReplaceAll(msg, c.token, redacted))
	} else {
		wrapped = &slackError{msg: msg, err: err}
	}
	if permanent(err) || p.Err != nil {
		return workflows.Permanent(wrapped)
	}
	return wrapped
}

// slackError is a classified error that keeps its cause for errors.As
// (a caller may want the Slack error code).
type slackError struct {
	msg string
	err error
}

func (e *slackError) Error() string { return e.msg }
func (e *slackError) Unwrap() error { return e.err }

// ErrorCode returns the Slack API error code in err ("channel_not_found"),
// or "" when err is not an answer from Slack's API.
func ErrorCode(err error) string {
	var api slackapi.SlackErrorResponse
	if errors.As(err, &api) {
		return api.Err
	}
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return "ratelimited"
	}
	return ""
}

func badInput(format string, args ...any) error {
	return workflows.Permanent(fmt.Errorf(format, args...))
}
