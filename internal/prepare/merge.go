package prepare

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// History tells a commit's first parent (internal/gitrepo, GitHub).
type History interface {
	FirstParent(ctx context.Context, repo, sha string) (string, error)
}

// MergeReader lists the plans a merge commit adds or changes.
type MergeReader struct {
	Repos   Checkouts
	History History
}

var _ workflows.MergeReader = (*MergeReader)(nil)

// PlansInMerge compares the merge commit with its first parent (the base
// branch before the merge; for a squash merge, the commit before it) and
// returns every plan file that is new or changed, with its deployment id
// and clusters.
func (m *MergeReader) PlansInMerge(ctx context.Context, repo, mergeSHA string) ([]workflows.MergedPlan, error) {
	parent, err := m.History.FirstParent(ctx, repo, mergeSHA)
	if err != nil {
		return nil, err
	}
	return m.PlansSince(ctx, repo, mergeSHA, parent)
}

// PlansSince compares the merge commit with base, the deploy branch
// before the PR's own commits (PRFacts.PolicySHA: for a rebase merge of
// several commits, the commit before the first of them), and returns every
// plan file that is new or changed, with its deployment id and clusters.
// An empty base is the empty repository.
func (m *MergeReader) PlansSince(ctx context.Context, repo, mergeSHA, base string) ([]workflows.MergedPlan, error) {
	head, err := m.Repos.Checkout(ctx, repo, mergeSHA)
	if err != nil {
		return nil, fmt.Errorf("checking out the merge %s: %w", short(mergeSHA), err)
	}
	var baseFS fs.FS = emptyFS{}
	if base != "" {
		if baseFS, err = m.Repos.Checkout(ctx, repo, base); err != nil {
			return nil, fmt.Errorf("checking out %s: %w", short(base), err)
		}
	}
	files, err := changedPlans(head, baseFS)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, nil
	}
	// A deployment id the merge reused is blamed on the plans it changed.
	repoLoaded, loadErr := planner.LoadRepoWith(head, planner.LoadOptions{Changed: files})
	var out []workflows.MergedPlan
	for _, f := range files {
		mp := workflows.MergedPlan{Path: f, PolicySHA: base}
		if errs := planner.Errors(loadErr, planner.FleetFile, f); len(errs) > 0 {
			mp.Error = errs.Err().Error()
		} else if p, ok := repoLoaded.Plan(f); ok {
			mp.Deployment, mp.Clusters = p.Metadata.Name, p.Spec.Clusters
		}
		out = append(out, mp)
	}
	return out, nil
}

type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
