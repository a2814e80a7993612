package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// WorkflowRegistry is where workflows are registered: a worker, or a
// replayer in tests.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows registers every room's workflows under their stable
// names.
func RegisterWorkflows(r WorkflowRegistry) {
	DeployWorkflows(r)
	LockWorkflows(r)
	RestartWorkflows(r)
	CleanupWorkflows(r)
	PRWorkflows(r)
	ReportWorkflows(r)
}

// Register registers every room's workflows and activities on a worker,
// each room's activities with the ports it declares, taken from a.
func Register(r worker.Registry, a *Activities) {
	RegisterDeploy(r, a.Deploy())
	RegisterLock(r, a.Lock())
	RegisterRestart(r, a.Restart())
	RegisterCleanup(r, a.Cleanup())
	RegisterPR(r, a.PR())
	RegisterReport(r, a.Report())
}

// Deploy is the deploy room's activities, with a's ports.
func (a *Activities) Deploy() *DeployActivities {
	return &DeployActivities{Plans: a.Plans, Cluster: a.Cluster, Probes: a.Probes, Directory: a.Directory,
		History: a.History, ProbeErrorsBeforeFailure: a.ProbeErrorsBeforeFailure}
}

// Lock is the lock room's activities, with a's ports.
func (a *Activities) Lock() *LockActivities {
	return &LockActivities{Locks: a.Locks, Watcher: a.Watcher}
}

// Restart is the restart room's activities, with a's ports.
func (a *Activities) Restart() *RestartActivities { return &RestartActivities{Cluster: a.Cluster} }

// Cleanup is the cleanup room's activities, with a's ports.
func (a *Activities) Cleanup() *CleanupActivities {
	return &CleanupActivities{Janitor: a.Janitor, Clock: a.Clock}
}

// PR is the PR room's activities, with a's ports.
func (a *Activities) PR() *PRActivities {
	return &PRActivities{PlanChecks: a.PlanChecks, Merges: a.Merges, PullRequests: a.PullRequests, Comments: a.Comments,
		Chat: a.Chat, Deployments: a.Deployments, Permissions: a.Permissions}
}

// Report is the report room's activities, with a's ports.
func (a *Activities) Report() *ReportActivities {
	return &ReportActivities{CheckRuns: a.CheckRuns, Comments: a.Comments, Statuses: a.Statuses, Chat: a.Chat,
		ChatChannels: a.ChatChannels, Links: a.Links}
}
