package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers prdeploy's workflows and activities on a worker.
func Register(r worker.Registry, a *Activities) {
	r.RegisterWorkflowWithOptions(Orchestration, workflow.RegisterOptions{Name: OrchestrationWorkflow})
	r.RegisterWorkflowWithOptions(DeployTenant, workflow.RegisterOptions{Name: DeployTenantWorkflow})
	r.RegisterWorkflowWithOptions(DeployService, workflow.RegisterOptions{Name: DeployServiceWorkflow})
	r.RegisterWorkflowWithOptions(Lock, workflow.RegisterOptions{Name: LockWorkflow})
	r.RegisterWorkflowWithOptions(RollingRestart, workflow.RegisterOptions{Name: RollingRestartWorkflow})
	r.RegisterActivity(a)
}
