package prepare

import (
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// boundaries are the tenants' boundaries that are not the default, for
// the prepared plan: the Apply activity checks them again.
func boundaries(fleet *planner.Fleet, cut *planner.ExecutionPlan) map[string]planner.Boundary {
	out := map[string]planner.Boundary{}
	for _, w := range cut.Waves {
		for _, t := range w.Tenants {
			if b := fleet.BoundaryOf(t.Name); !b.IsDefault() {
				out[t.Name] = b
			}
		}
	}
	return out
}

// withBoundaries puts each tenant's boundary on its service targets.
func withBoundaries(st *stored, as []workflows.TenantAssignment) {
	for i := range as {
		b, ok := st.Boundaries[as[i].Tenant]
		if !ok {
			continue
		}
		for j := range as[i].Services {
			bb := b
			as[i].Services[j].Boundary = &bb
		}
	}
}
