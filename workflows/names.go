package workflows

import (
	"slices"
	"strings"

	"github.com/prdeploy/prdeploy/commands"
)

// TaskQueue is where prdeploy's workflows and activities run.
const TaskQueue = "prdeploy"

// Workflow type names, stable across refactors (histories name them).
const (
	OrchestrationWorkflow  = "Orchestration"
	DeployTenantWorkflow   = "DeployTenant"
	DeployServiceWorkflow  = "DeployService"
	LockWorkflow           = "Lock"
	RollingRestartWorkflow = "RollingRestart"
	CleanupWorkflow        = "CleanupPayloads"
)

// Orchestration updates (the sender gets an answer): each is named after
// the command that sends it (commands.Command.UpdateName), and query.
const (
	UpdateApprove  = string(commands.Approve)
	UpdatePause    = string(commands.Pause)
	UpdateResume   = string(commands.Resume)
	UpdateCancel   = string(commands.Cancel)
	UpdateRollback = string(commands.Rollback)
	UpdateHold     = string(commands.Hold)
	// UpdateUnapprove withdraws approvals of the waiting gate.
	UpdateUnapprove = string(commands.Unapprove)
	QueryStatus     = "status"
)

// Signals between workflows.
const (
	// SignalTenantEvent: DeployTenant → Orchestration (lock waits, failures).
	SignalTenantEvent = "tenant-event"
	// SignalTenantDecision: Orchestration → DeployTenant (resume, rollback).
	SignalTenantDecision = "tenant-decision"
	// SignalLockAcquire and SignalLockRelease: requester → Lock.
	SignalLockAcquire = "lock-acquire"
	SignalLockRelease = "lock-release"
	// SignalLockGranted and SignalLockQueued: Lock → requester.
	SignalLockGranted = "lock-granted"
	SignalLockQueued  = "lock-queued"
	// SignalLockSuperseded: Lock → requester, a newer merge takes the
	// service.
	SignalLockSuperseded = "lock-superseded"
)

// Metrics the workflows record through workflow.GetMetricsHandler (the
// worker client's MetricsHandler; the SDK drops them while replaying).
const (
	// MetricGateWait is a timer: how long a gate waited, from the wave
	// reaching it to the approval that opened it.
	MetricGateWait = "prdeploy_gate_wait"
	// MetricLockWait is a timer: how long a lock request waited behind
	// another holder, from the request to the grant. Locks granted at
	// once record nothing.
	MetricLockWait = "prdeploy_lock_wait"
	// MetricTagCluster tags both with the cluster.
	MetricTagCluster = "cluster"
)

// DeployWorkflowID names the Orchestration of one deployment in one cluster.
func DeployWorkflowID(cluster, deployment string) string {
	return "deploy:" + cluster + "/" + deployment
}

// TenantWorkflowID names the DeployTenant child of a deployment.
func TenantWorkflowID(cluster, deployment, tenant string) string {
	return DeployWorkflowID(cluster, deployment) + "/" + tenant
}

// ServiceWorkflowID names the DeployService child of a tenant.
func ServiceWorkflowID(cluster, deployment, tenant, service string) string {
	return TenantWorkflowID(cluster, deployment, tenant) + "/" + service
}

// RollbackWorkflowID names the workflow that rolls back a tenant that had
// already finished deploying.
func RollbackWorkflowID(cluster, deployment, tenant string) string {
	return "rollback:" + cluster + "/" + deployment + "/" + tenant
}

// RestartWorkflowID names a RollingRestart.
func RestartWorkflowID(cluster, service, id string) string {
	return "restart:" + cluster + "/" + service + "/" + id
}

// LockKey names what a lock protects: one service in one tenant.
type LockKey struct {
	Cluster string `json:"cluster"`
	Tenant  string `json:"tenant"`
	Service string `json:"service"`
}

// String is the key as "cluster/tenant/service".
func (k LockKey) String() string { return k.Cluster + "/" + k.Tenant + "/" + k.Service }

// WorkflowID is the ID of the Lock workflow for the key.
func (k LockKey) WorkflowID() string { return "lock:" + k.String() }

// SortLockKeys orders keys the one way every workflow takes locks in, so
// that two workflows never wait on each other.
func SortLockKeys(keys []LockKey) {
	slices.SortFunc(keys, func(a, b LockKey) int { return strings.Compare(a.String(), b.String()) })
}
