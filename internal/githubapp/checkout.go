package githubapp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/google/go-github/v60/github"

	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/workflows"
)

// repoInfo is what Checkout needs to know of a repository.
type repoInfo struct {
	cloneURL      string
	defaultBranch string
}

// Checkout returns the tree of commit sha of repo ("owner/name"). The
// commit is fetched over HTTPS (the installation's token, or the plain
// token, as the password of "x-access-token") into a bare repository kept
// per repository under Config.CacheDir: by its SHA alone and shallow when
// the server allows it (GitHub does), otherwise the default branch and
// every pull request's head. A commit fetched once is read from the cache
// without asking GitHub. Fetches of one repository wait for each other;
// the cache belongs to one process. A commit GitHub does not have is a
// permanent error.
func (c *Client) Checkout(ctx context.Context, repo, sha string) (fs.FS, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	if !plumbing.IsHash(sha) {
		return nil, workflows.Permanent(fmt.Errorf("%q is not a full commit SHA", sha))
	}
	unlock := c.lock("fetch:" + strings.ToLower(owner+"/"+name))
	defer unlock()

	dir := filepath.Join(c.cacheDir, hostDir(c.baseURL.Host), strings.ToLower(owner), strings.ToLower(name)+".git")
	r, err := openBare(dir)
	if err != nil {
		return nil, err
	}
	if _, err := r.CommitObject(plumbing.NewHash(sha)); err == nil {
		if fsys, err := gitrepo.Commit(r, sha); err == nil {
			return fsys, nil
		}
	}

	gh, token, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return nil, err
	}
	info, err := c.repoInfo(ctx, gh, owner, name)
	if err != nil {
		return nil, err
	}
	tok, err := token(ctx)
	if err != nil {
		return nil, classify(err, "getting a token to fetch %s", repo)
	}
	auth := &githttp.BasicAuth{Username: "x-access-token", Password: tok}
	if err := ensureRemote(r, info.cloneURL); err != nil {
		return nil, fmt.Errorf("setting the remote of %s in %s: %w", repo, dir, err)
	}
	fetch := func(depth int, specs ...config.RefSpec) error {
		err := r.FetchContext(ctx, &git.FetchOptions{
			RemoteURL: info.cloneURL, RefSpecs: specs, Depth: depth, Auth: auth, Tags: git.NoTags, Force: true,
		})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	}
	err = fetch(1, config.RefSpec("+"+sha+":refs/prdeploy/"+sha))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if perr := gitAccessError(err, repo); perr != nil {
			return nil, perr
		}
		// The server does not give commits by SHA, or not this one:
		// look for it where merged and proposed commits live.
		specs := []config.RefSpec{"+refs/pull/*/head:refs/remotes/pull/*"}
		if info.defaultBranch != "" {
			b := info.defaultBranch
			specs = append(specs, config.RefSpec("+refs/heads/"+b+":refs/remotes/origin/"+b))
		}
		if err := fetch(0, specs...); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if perr := gitAccessError(err, repo); perr != nil {
				return nil, perr
			}
			return nil, fmt.Errorf("fetching %s from %s: %w", short(sha), repo, err)
		}
	}
	fsys, err := gitrepo.Commit(r, sha)
	if err != nil {
		return nil, fmt.Errorf("checking out %s@%s: %w", repo, short(sha), err)
	}
	return fsys, nil
}

// gitAccessError turns a refusal to serve the repository at all into a
// permanent error.
func gitAccessError(err error, repo string) error {
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return workflows.Permanent(fmt.Errorf("fetching %s: the repository is not there, or the App is not installed on it: %w", repo, err))
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return workflows.Permanent(fmt.Errorf("fetching %s: GitHub refused the token (does the App have contents: read?): %w", repo, err))
	}
	return nil
}

// lock serializes the work on one thing (a repository's cache, a check
// run, a kept comment) within the process, and returns the unlock. A key
// is forgotten when nobody holds or waits for it.
func (c *Client) lock(key string) func() {
	c.mu.Lock()
	l, ok := c.locks[key]
	if !ok {
		l = &keyLock{}
		c.locks[key] = l
	}
	l.users++
	c.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		c.mu.Lock()
		if l.users--; l.users == 0 {
			delete(c.locks, key)
		}
		c.mu.Unlock()
	}
}

type keyLock struct {
	mu    sync.Mutex
	users int // holders and waiters, guarded by Client.mu
}

// repoInfo reads the clone URL and default branch (GET /repos/{o}/{r}),
// once per repository.
func (c *Client) repoInfo(ctx context.Context, gh *github.Client, owner, name string) (repoInfo, error) {
	key := strings.ToLower(owner + "/" + name)
	c.mu.Lock()
	info, ok := c.repos[key]
	c.mu.Unlock()
	if ok {
		return info, nil
	}
	rp, _, err := gh.Repositories.Get(ctx, owner, name)
	if err != nil {
		return repoInfo{}, classify(err, "reading repository %s/%s", owner, name)
	}
	info = repoInfo{cloneURL: rp.GetCloneURL(), defaultBranch: rp.GetDefaultBranch()}
	if info.cloneURL == "" {
		return repoInfo{}, fmt.Errorf("GitHub gave no clone URL for %s/%s", owner, name)
	}
	c.mu.Lock()
	c.repos[key] = info
	c.mu.Unlock()
	return info, nil
}

// openBare opens the cached bare repository in dir, making it first. A
// cache that does not open (a crash while it was made) is made again.
func openBare(dir string) (*git.Repository, error) {
	r, err := git.PlainOpen(dir)
	if err != nil && !errors.Is(err, git.ErrRepositoryNotExists) {
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return nil, fmt.Errorf("opening the git cache %s: %w (and removing it: %v)", dir, err, rmErr)
		}
		err = git.ErrRepositoryNotExists
	}
	if errors.Is(err, git.ErrRepositoryNotExists) {
		r, err = git.PlainInit(dir, true)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the git cache %s: %w", dir, err)
	}
	return r, nil
}

func ensureRemote(r *git.Repository, url string) error {
	rem, err := r.Remote(git.DefaultRemoteName)
	if err == nil && len(rem.Config().URLs) == 1 && rem.Config().URLs[0] == url {
		return nil
	}
	if err == nil {
		if err := r.DeleteRemote(git.DefaultRemoteName); err != nil {
			return err
		}
	} else if !errors.Is(err, git.ErrRemoteNotFound) {
		return err
	}
	_, err = r.CreateRemote(&config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{url}})
	return err
}

// hostDir names the API host's directory in the cache.
func hostDir(host string) string {
	return strings.NewReplacer(":", "_", "/", "_").Replace(strings.ToLower(host))
}
