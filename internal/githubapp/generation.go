package githubapp

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/workflows"
)

var _ workflows.MergeHistory = (*Client)(nil)

// Generation places a merge commit in the deploy branch's history: the
// number of commits on its first-parent chain (workflows.MergeHistory).
// Checkouts are shallow, so the history is fetched whole into a bare
// repository of its own beside the checkout cache; later merges fetch only
// what is new. A deploy repository holds YAML, so its history is small.
func (c *Client) Generation(ctx context.Context, repo, sha string) (int64, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return 0, err
	}
	if !plumbing.IsHash(sha) {
		return 0, workflows.Permanent(fmt.Errorf("%q is not a full commit SHA", sha))
	}
	unlock := c.lock("history:" + strings.ToLower(owner+"/"+name))
	defer unlock()
	dir := filepath.Join(c.cacheDir, hostDir(c.baseURL.Host), strings.ToLower(owner), strings.ToLower(name)+".history.git")
	r, err := openBare(dir)
	if err != nil {
		return 0, err
	}
	var g gitrepo.Generations
	if _, err := r.CommitObject(plumbing.NewHash(sha)); err == nil {
		return g.Count(ctx, r, sha)
	}
	gh, token, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return 0, err
	}
	info, err := c.repoInfo(ctx, gh, owner, name)
	if err != nil {
		return 0, err
	}
	tok, err := token(ctx)
	if err != nil {
		return 0, classify(err, "getting a token to fetch %s", repo)
	}
	if err := ensureRemote(r, info.cloneURL); err != nil {
		return 0, fmt.Errorf("setting the remote of %s in %s: %w", repo, dir, err)
	}
	fetch := func(specs ...config.RefSpec) error {
		err := r.FetchContext(ctx, &git.FetchOptions{
			RemoteURL: info.cloneURL, RefSpecs: specs, Auth: &githttp.BasicAuth{Username: "x-access-token", Password: tok}, Tags: git.NoTags, Force: true,
		})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	}
	// The commit with all its history, by SHA (GitHub serves reachable
	// commits); else every branch, where merges live.
	if err := fetch(config.RefSpec("+" + sha + ":refs/prdeploy/" + sha)); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if perr := gitAccessError(err, repo); perr != nil {
			return 0, perr
		}
		if err := fetch("+refs/heads/*:refs/remotes/origin/*"); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if perr := gitAccessError(err, repo); perr != nil {
				return 0, perr
			}
			return 0, fmt.Errorf("fetching the history of %s from %s: %w", short(sha), repo, err)
		}
	}
	return g.Count(ctx, r, sha)
}
