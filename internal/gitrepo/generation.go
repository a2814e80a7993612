package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/prdeploy/prdeploy/workflows"
)

var _ workflows.MergeHistory = Local{}

// Generations counts first-parent chains: a merge's generation is the
// number of commits from it back to the root along first parents. Every
// merge into the deploy branch (merge commit, squash or rebase) extends
// that chain, so a later merge always counts more; that is the order of
// record of deployments (workflows.MergeHistory). Counts are remembered,
// so a merge costs the commits since the last one counted. The zero value
// is ready to use.
type Generations struct {
	mu    sync.Mutex
	known map[plumbing.Hash]int64
}

// maxKnown bounds what Generations remembers.
const maxKnown = 4096

// Count returns the generation of commit sha in r. The repository must
// hold the whole first-parent chain (not a shallow clone).
func (g *Generations) Count(ctx context.Context, r *git.Repository, sha string) (int64, error) {
	if !plumbing.IsHash(sha) {
		return 0, workflows.Permanent(fmt.Errorf("%q is not a full commit SHA", sha))
	}
	start := plumbing.NewHash(sha)
	g.mu.Lock()
	n, ok := g.known[start]
	g.mu.Unlock()
	if ok {
		return n, nil
	}
	var steps int64
	for h := start; ; steps++ {
		if steps%1024 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		g.mu.Lock()
		base, ok := g.known[h]
		g.mu.Unlock()
		if ok {
			n = base + steps
			break
		}
		c, err := r.CommitObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			if h == start {
				return 0, workflows.Permanent(fmt.Errorf("commit %s is not in the repository", sha))
			}
			return 0, fmt.Errorf("counting the history of %s: commit %s is missing (a shallow clone?)", sha, h)
		}
		if err != nil {
			return 0, fmt.Errorf("reading commit %s: %w", h, err)
		}
		if len(c.ParentHashes) == 0 {
			n = steps + 1
			break
		}
		h = c.ParentHashes[0]
	}
	g.mu.Lock()
	if g.known == nil || len(g.known) >= maxKnown {
		g.known = map[plumbing.Hash]int64{}
	}
	g.known[start] = n
	g.mu.Unlock()
	return n, nil
}

// Generation places commit sha of repo in its first-parent history (it
// counts afresh each time: Local serves tests and the demo).
func (l Local) Generation(ctx context.Context, repo, sha string) (int64, error) {
	dir, ok := l.Dirs[repo]
	if !ok {
		return 0, workflows.Permanent(fmt.Errorf("repository %s is not configured", repo))
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		return 0, fmt.Errorf("opening %s: %w", repo, err)
	}
	var g Generations
	return g.Count(ctx, r, sha)
}
