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
// Activity dependencies are the interfaces in activities.go; adapters in
// internal/ implement them.
package workflows
