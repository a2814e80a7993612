package workflows

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Activities are the ports of every room, as the process that wires
// prdeploy fills them; Register hands each room its own (Deploy, Lock,
// Restart, Cleanup, PR, Report). Workflows call a room's activities
// through a nil pointer of that room's struct.
type Activities struct {
	Plans     PlanSource
	Cluster   Cluster
	Probes    Prober
	Directory Directory
	Locks     LockClient
	Watcher   WorkflowWatcher
	// PlanChecks checks pull requests' plans (PlanPR); Merges lists the
	// plans of a merge (MergedPR).
	PlanChecks PlanPRChecker
	Merges     MergeReader
	// PullRequests reads a merged PR's facts from GitHub (MergedPR).
	PullRequests PullRequests
	// History places merges in the deploy branch's history, so that an
	// older merge never overwrites a newer one (nil: not ordered).
	History MergeHistory
	// CheckRuns, Comments and Statuses serve the reporter (Report) and PR
	// replies.
	CheckRuns CheckRuns
	Comments  PRComments
	Statuses  StatusSource
	// Chat, when set, also reports deployments to chat channels:
	// ChatChannels maps a cluster to its channel ("*" for any other).
	Chat         Chat
	ChatChannels map[string]string
	// Deployments and Permissions serve people's commands (PRCommands).
	Deployments Deployments
	Permissions Permissions
	// Janitor and Clock serve payload retention (CleanupPayloads).
	Janitor PayloadJanitor
	Clock   DeploymentClock
	// Links gives the reports' links (status page, workflow history); nil
	// means only ReportInput.StatusURL.
	Links Linker
	// ProbeErrorsBeforeFailure is how many probes in a row may fail to
	// run before the check itself fails (default 3).
	ProbeErrorsBeforeFailure int
}

// PermanentError marks an adapter error that retrying cannot fix (bad
// input, forbidden, a missing kind): the activity fails without retries.
type PermanentError struct{ Err error }

func (e PermanentError) Error() string { return e.Err.Error() }

func (e PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the activity fails without retries.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return PermanentError{Err: err}
}

// classify turns a PermanentError into a non-retryable application error.
func classify(err error) error {
	var p PermanentError
	if errors.As(err, &p) {
		return temporal.NewNonRetryableApplicationError(p.Error(), "Permanent", nil)
	}
	return err
}

// alive heartbeats every interval until the returned func is called: an
// activity with nothing to report but a heartbeat timeout, so that a
// worker that dies in the middle of it is noticed within that timeout
// rather than its start-to-close timeout.
func alive(ctx context.Context, every time.Duration) func() {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
