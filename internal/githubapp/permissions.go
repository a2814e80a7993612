package githubapp

import (
	"context"
	"fmt"
	"net/http"
)

// roles GitHub names for a repository (role_name); a custom role of
// GitHub Enterprise falls back to the base permission.
var roles = map[string]bool{"admin": true, "maintain": true, "write": true, "triage": true, "read": true, "none": true}

// Permission returns login's role on repo: admin, maintain, write, triage,
// read or none. An unknown login or repository is a permanent error.
func (c *Client) Permission(ctx context.Context, repo, login string) (string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return "", err
	}
	if err := checkLogin(login); err != nil {
		return "", err
	}
	gh, _, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return "", err
	}
	var out struct {
		Permission string `json:"permission"` // admin, write, read, none
		RoleName   string `json:"role_name"`  // admin, maintain, write, triage, read, none, or a custom role
	}
	err = do(ctx, gh, http.MethodGet, fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", owner, name, login), nil, &out)
	if err != nil {
		return "", classify(err, "reading %s's permission on %s", login, repo)
	}
	if roles[out.RoleName] {
		return out.RoleName, nil
	}
	if roles[out.Permission] {
		return out.Permission, nil
	}
	return "none", nil
}
