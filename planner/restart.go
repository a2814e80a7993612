package planner

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// RestartRequest is a rolling restart as someone asks for it: a service in
// some tenants of one cluster, named in order or all that run it.
type RestartRequest struct {
	Service, Cluster string
	// Tenants, in the order they restart; empty with All.
	Tenants []string
	All     bool
}

// RestartTarget is one tenant's service a restart reaches.
type RestartTarget struct {
	Cluster     string `json:"cluster"`
	KubeContext string `json:"kubeContext,omitempty"`
	Tenant      string `json:"tenant"`
	Namespace   string `json:"namespace"`
	Service     string `json:"service"`
}

// Restart is a rolling restart resolved in the fleet: its tenants in
// order, and the safety checks that watch each of them.
type Restart struct {
	Targets []RestartTarget
	// Checks are the ones a plan without a checks block gets.
	Checks CheckSpec
}

// ResolveRestart resolves a restart's tenants in the fleet: each in the
// cluster, running the service, with its namespace and the cluster's
// kube context; a tenant named twice restarts once. Errors name the
// unknown cluster, service or tenant and what is known; the problems of
// every named tenant are joined in one error, one a line.
func ResolveRestart(f *Fleet, req RestartRequest) (*Restart, error) {
	cluster, ok := f.Cluster(req.Cluster)
	if !ok {
		return nil, fmt.Errorf("unknown cluster %q; known: %s", req.Cluster, strings.Join(f.ClusterNames(), ", "))
	}
	if _, ok := f.Service(req.Service); !ok {
		return nil, fmt.Errorf("unknown service %q; known: %s", req.Service, strings.Join(f.ServiceNames(), ", "))
	}
	runs := func(t FleetTenant) bool {
		return t.Cluster == req.Cluster && (len(t.Services) == 0 || slices.Contains(t.Services, req.Service))
	}
	target := func(t FleetTenant) RestartTarget {
		return RestartTarget{Cluster: req.Cluster, KubeContext: cluster.KubeContext, Tenant: t.Name, Namespace: t.Namespace, Service: req.Service}
	}
	var candidates []RestartTarget // tenants of the cluster that run the service
	for _, t := range f.Tenants {
		if runs(t) {
			candidates = append(candidates, target(t))
		}
	}
	r := &Restart{Checks: DefaultChecks()}
	if req.All {
		if len(candidates) == 0 {
			return nil, fmt.Errorf("no tenant of cluster %s runs %s", req.Cluster, req.Service)
		}
		r.Targets = candidates
		return r, nil
	}
	var problems []error
	seen := map[string]bool{}
	for _, name := range req.Tenants {
		if seen[name] {
			continue
		}
		seen[name] = true
		i := slices.IndexFunc(f.Tenants, func(t FleetTenant) bool { return t.Name == name })
		switch {
		case i < 0:
			var names []string
			for _, c := range candidates {
				names = append(names, c.Tenant)
			}
			problems = append(problems, fmt.Errorf("unknown tenant %q; tenants of %s that run %s: %s", name, req.Cluster, req.Service, strings.Join(names, ", ")))
		case f.Tenants[i].Cluster != req.Cluster:
			problems = append(problems, fmt.Errorf("tenant %q lives in cluster %s, not %s", name, f.Tenants[i].Cluster, req.Cluster))
		case !runs(f.Tenants[i]):
			problems = append(problems, fmt.Errorf("service %s is not deployed to tenant %q (it runs %s)", req.Service, name, strings.Join(f.Tenants[i].Services, ", ")))
		default:
			r.Targets = append(r.Targets, target(f.Tenants[i]))
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if len(r.Targets) == 0 {
		return nil, errors.New("no tenant to restart: name some, or ask for all")
	}
	return r, nil
}

// DefaultChecks are the safety checks a plan without a checks block gets,
// with their defaults.
func DefaultChecks() CheckSpec { return expandChecks(nil, false) }
