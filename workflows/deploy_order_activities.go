package workflows

import (
	"context"
	"fmt"
)

// MergeHistory places a merge commit in the deploy branch's history
// (internal/gitrepo reads it with go-git).
type MergeHistory interface {
	// Generation is the number of commits on the first-parent chain that
	// ends at sha (the merge commit counts): every merge into the deploy
	// branch extends that chain, so a later merge has a larger one.
	Generation(ctx context.Context, repo, sha string) (int64, error)
}

// MergeGeneration is the activity that places a deployment's merge in the
// deploy branch's history, once, when the deployment starts. Without a
// MergeHistory (not wired) it returns 0: the deployment is not ordered.
func (a *DeployActivities) MergeGeneration(ctx context.Context, req DeployRequest) (int64, error) {
	if a.History == nil || req.SHA == "" {
		return 0, nil
	}
	g, err := a.History.Generation(ctx, req.Repo, req.SHA)
	if err != nil {
		return 0, classify(fmt.Errorf("placing merge %s of %s in the deploy branch's history: %w", short12(req.SHA), req.Repo, err))
	}
	return g, nil
}
