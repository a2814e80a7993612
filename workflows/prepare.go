package workflows

import (
	"encoding/json"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
)

// Summarize turns an execution plan (already cut to one cluster with
// ForCluster) into the PreparedDeployment an Orchestration runs, given where
// the plan was stored and the approval requirements of the base policies.
func Summarize(e *planner.ExecutionPlan, cluster, planRef string, reqs []policies.Requirement) PreparedDeployment {
	p := PreparedDeployment{
		Deployment:        e.Deployment,
		Cluster:           cluster,
		PlanRef:           planRef,
		MaxParallel:       e.MaxParallel,
		PauseBetweenWaves: e.PauseBetweenWaves.D(),
		Checks:            e.Checks,
		OnFailure:         e.OnFailure,
		ApplyTimeout:      e.Apply.Timeout.D(),
		ForceConflicts:    e.Apply.ForceConflicts,
		Requirements:      reqs,
		ChatChannel:       e.Notify.Slack,
	}
	for _, s := range e.Services {
		p.Services = append(p.Services, s.Name)
	}
	for _, w := range e.Waves {
		ws := WaveSummary{Name: w.Name, Canary: w.Canary, Tenants: len(w.Tenants)}
		if w.Gate != nil {
			ws.Gate = w.Gate.ID
		}
		p.Waves = append(p.Waves, ws)
	}
	return p
}

// ManifestLocator says where the rendered manifests of a tenant's service
// are stored.
type ManifestLocator func(tenant, service string) (ref, digest string)

// PageBytes bounds the encoded size of a page of tenants, so an activity
// result stays far below Temporal's payload limits however many services
// a tenant gets; a page holds at least one tenant.
const PageBytes = 32 << 10

// Assign returns a page of a wave's tenants with their service targets: at
// most req.Limit tenants and about PageBytes, whichever is smaller.
func Assign(e *planner.ExecutionPlan, req TenantsRequest, locate ManifestLocator) []TenantAssignment {
	if req.Wave < 0 || req.Wave >= len(e.Waves) {
		return nil
	}
	tenants := e.Waves[req.Wave].Tenants
	if req.Offset >= len(tenants) {
		return nil
	}
	end := len(tenants)
	if req.Limit > 0 {
		end = min(end, req.Offset+req.Limit)
	}
	out := make([]TenantAssignment, 0, end-req.Offset)
	size := 0
	for _, t := range tenants[req.Offset:end] {
		a := TenantAssignment{Tenant: t.Name, Cluster: t.Cluster, Namespace: t.Namespace}
		for _, name := range t.Services {
			s, _ := e.Service(name)
			target := ServiceTarget{
				Deployment: e.Deployment, Cluster: t.Cluster, Tenant: t.Name, Namespace: t.Namespace,
				Service: s.Name, Image: s.Image, Level: s.Level, ForceConflicts: e.Apply.ForceConflicts,
			}
			if locate != nil {
				target.ManifestRef, target.ManifestDigest = locate(t.Name, s.Name)
			}
			a.Services = append(a.Services, target)
		}
		size += assignmentSize(a)
		if len(out) > 0 && size > PageBytes {
			break
		}
		out = append(out, a)
	}
	return out
}

// assignmentSize is the JSON size of an assignment.
func assignmentSize(a TenantAssignment) int {
	data, _ := json.Marshal(a)
	return len(data) + 1
}
