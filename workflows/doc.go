// Package workflows holds prdeploy's durable workflows and the activities
// they call.
//
// A merged plan becomes one Orchestration per cluster
// (deploy:<cluster>/<deployment>). The Prepare activity turns the merge into
// a PreparedDeployment: the shape of the rollout (waves, gates, limits,
// checks, the approval requirements of the base policies) and a reference to
// the stored plan, from which tenants are read a page at a time, so no
// history ever holds a manifest or the whole fleet.
//
// The Orchestration runs waves in order. Before a wave it waits at the
// wave's gate until approvals from authorized people meet every requirement
// (approvals arrive as Updates, so the sender gets "1 of 2 from @acme/sre"),
// and pauses between waves. Inside a wave it runs at most maxParallel
// DeployTenant children. /pause stops new tenants, /resume continues,
// /cancel stops and cancels tenants in progress, /rollback stops and rolls
// tenants back. Before its history grows long it stops starting tenants,
// lets the running ones finish, and continues as new with its state.
//
// DeployTenant takes a Lock per service it touches, in one global order,
// so deployments and RollingRestarts of the same service in the same tenant
// queue behind each other and never deadlock. It deploys the service DAG
// level by level (DeployService children, parallel within a level) with the
// safety checks running beside the work until the tenant has settled; the
// first check to fail cancels the work. The plan's failure policy then
// decides: pause (hold the locks, wait for resume or rollback, roll back by
// itself after rollbackAfter), rollback, or stop. Locks are released on
// every path, and a Lock frees itself when its holder closes without
// releasing.
//
// Deployments are ordered by their merges: the Orchestration places its
// merge commit in the deploy branch's history once (MergeGeneration), and
// every apply and restore stamps the service's objects with that place. A
// deployment that meets a newer merge's stamp on the live objects, or a
// newer merge holding or waiting for the lock, leaves the service to it:
// the step is superseded, reported once, and never applied, so what runs
// is never older than the last merge that changed it.
//
// # Rooms
//
// The package is split by use case into rooms, in files named after them,
// with workflow code (deterministic) and activity code (I/O) always in
// separate files (<room>_*workflow*.go or the workflow's own name, and
// <room>_*activities.go):
//
//   - deploy: Orchestration, DeployTenant, DeployService, the update
//     handlers of people's commands (deploy_commands.go) and the safety
//     checks beside the work (deploy_guard.go); DeployActivities.
//   - lock: the Lock workflow and how requesters take and release locks;
//     LockActivities.
//   - restart: RollingRestart; RestartActivities.
//   - pr: PlanPR (the plan check), MergedPR (a merge starts one
//     Orchestration per cluster) and PRCommand (comments, reviews, buttons);
//     PRActivities.
//   - report: the Report workflow (check run, milestone comments, chat) and
//     the rendering of a Status as Markdown (report_render.go);
//     ReportActivities.
//   - cleanup: CleanupPayloads (payload retention); CleanupActivities.
//
// Each room's activities struct holds only the ports (interfaces) that room
// uses, declared in its activities file, and the room registers itself
// (RegisterDeploy, DeployWorkflows, …). Activities is the one struct the
// wiring fills with every adapter; Register hands each room its ports. A
// room may start another room's workflow by its registered name (the PR
// room starts Orchestrations; deploy and restart take Locks) but never
// calls another room's activities or reads its state, except that
// RollingRestart runs the deploy room's safety checks (WatchCheck).
//
// The vocabulary every room shares stays in the files without a room
// prefix: the request, state and status types (types.go, prfacts.go), the
// names and ID helpers (names.go: workflow, update, signal and query names
// never change, since recorded histories name them), errors
// (activities.go), the code-host ports the PR and report rooms both use
// (codehost.go) and the replay tests' registration (register.go). People's
// commands are defined once in the commands package; the update names
// here are those commands' names.
//
// Adapters in internal/ implement the ports; workflows imports no
// adapter, no Temporal server and no webhook.
package workflows
