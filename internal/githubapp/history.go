package githubapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/prdeploy/prdeploy/workflows"
)

// FirstParent returns the first parent of a commit (the base branch before
// a merge) from the API: shallow checkouts do not hold parents. A root
// commit has none ("").
func (c *Client) FirstParent(ctx context.Context, repo, sha string) (string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return "", err
	}
	if !plumbing.IsHash(sha) {
		return "", workflows.Permanent(fmt.Errorf("%q is not a full commit SHA", sha))
	}
	gh, _, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return "", err
	}
	var out struct {
		Parents []struct {
			SHA string `json:"sha"`
		} `json:"parents"`
	}
	if err := do(ctx, gh, http.MethodGet, fmt.Sprintf("repos/%s/%s/commits/%s", owner, name, sha), nil, &out); err != nil {
		return "", classify(err, "reading commit %s of %s", sha, repo)
	}
	if len(out.Parents) == 0 {
		return "", nil
	}
	return out.Parents[0].SHA, nil
}
