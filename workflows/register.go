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

// RegisterWorkflows registers prdeploy's workflows under their stable names.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Orchestration, workflow.RegisterOptions{Name: OrchestrationWorkflow})
	r.RegisterWorkflowWithOptions(DeployTenant, workflow.RegisterOptions{Name: DeployTenantWorkflow})
	r.RegisterWorkflowWithOptions(DeployService, workflow.RegisterOptions{Name: DeployServiceWorkflow})
	r.RegisterWorkflowWithOptions(Lock, workflow.RegisterOptions{Name: LockWorkflow})
	r.RegisterWorkflowWithOptions(RollingRestart, workflow.RegisterOptions{Name: RollingRestartWorkflow})
	r.RegisterWorkflowWithOptions(CleanupPayloads, workflow.RegisterOptions{Name: CleanupWorkflow})
	r.RegisterWorkflowWithOptions(PlanPR, workflow.RegisterOptions{Name: PlanPRWorkflow})
	r.RegisterWorkflowWithOptions(MergedPR, workflow.RegisterOptions{Name: MergedPRWorkflow})
	r.RegisterWorkflowWithOptions(PRCommands, workflow.RegisterOptions{Name: PRCommandWorkflow})
	r.RegisterWorkflowWithOptions(ReportDeployment, workflow.RegisterOptions{Name: ReportWorkflow})
}

// Register registers prdeploy's workflows and activities on a worker.
func Register(r worker.Registry, a *Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(a)
}
