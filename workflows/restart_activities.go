// Restart room: the activity of RollingRestart.

package workflows

import (
	"context"
)

// Restart restarts a service's workloads and waits for the rollout.
func (a *Activities) Restart(ctx context.Context, t ServiceTarget) error {
	if err := a.Cluster.Restart(ctx, t); err != nil {
		return classify(err)
	}
	return a.WaitRollout(ctx, t)
}
