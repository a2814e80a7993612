package planner

import (
	"reflect"
	"strings"
	"testing"
)

const restartFleet = `apiVersion: prdeploy.dev/v1
kind: Fleet
clusters:
  - {name: eu, kubeContext: kind-eu}
  - {name: us}
services:
  - {name: ingest, image: registry.example.com/ingest}
  - {name: web, image: registry.example.com/web}
tenants:
  - {name: alpha, cluster: eu, namespace: tenant-alpha}
  - {name: bravo, cluster: eu, namespace: tenant-bravo, services: [ingest]}
  - {name: charlie, cluster: eu, namespace: tenant-charlie}
  - {name: delta, cluster: us, namespace: tenant-delta}
  - {name: echo, cluster: us, namespace: tenant-echo, services: [ingest]}
`

// TestResolveRestart: a restart reaches the tenants of its cluster that
// run its service, in the order asked (each once), with their namespaces
// and the cluster's kube context; whatever the fleet does not have is
// named, with what it has, every named tenant's problem at once.
func TestResolveRestart(t *testing.T) {
	f, err := ParseFleet("fleet.yaml", []byte(restartFleet))
	if err != nil {
		t.Fatal(err)
	}
	eu := func(tenant, service string) RestartTarget {
		return RestartTarget{Cluster: "eu", KubeContext: "kind-eu", Tenant: tenant, Namespace: "tenant-" + tenant, Service: service}
	}
	for _, c := range []struct {
		name string
		req  RestartRequest
		want []RestartTarget
		err  string
	}{
		{"all that run the service", RestartRequest{Service: "web", Cluster: "eu", All: true},
			[]RestartTarget{eu("alpha", "web"), eu("charlie", "web")}, ""},
		{"all, a service every tenant runs", RestartRequest{Service: "ingest", Cluster: "eu", All: true},
			[]RestartTarget{eu("alpha", "ingest"), eu("bravo", "ingest"), eu("charlie", "ingest")}, ""},
		{"named, in order, once", RestartRequest{Service: "web", Cluster: "eu", Tenants: []string{"charlie", "alpha", "charlie"}},
			[]RestartTarget{eu("charlie", "web"), eu("alpha", "web")}, ""},
		{"a cluster without a kube context", RestartRequest{Service: "web", Cluster: "us", Tenants: []string{"delta"}},
			[]RestartTarget{{Cluster: "us", Tenant: "delta", Namespace: "tenant-delta", Service: "web"}}, ""},
		{"unknown cluster", RestartRequest{Service: "web", Cluster: "ap", All: true}, nil,
			`unknown cluster "ap"; known: eu, us`},
		{"unknown service", RestartRequest{Service: "wbe", Cluster: "eu", All: true}, nil,
			`unknown service "wbe"; known: ingest, web`},
		{"no tenant runs it", RestartRequest{Service: "web", Cluster: "us", Tenants: nil, All: false}, nil,
			"no tenant to restart: name some, or ask for all"},
		{"every problem at once", RestartRequest{Service: "web", Cluster: "eu", Tenants: []string{"alpah", "delta", "bravo", "alpha"}}, nil,
			`unknown tenant "alpah"; tenants of eu that run web: alpha, charlie` + "\n" +
				`tenant "delta" lives in cluster us, not eu` + "\n" +
				`service web is not deployed to tenant "bravo" (it runs ingest)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := ResolveRestart(f, c.req)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Targets, c.want) {
				t.Errorf("targets %+v, want %+v", r.Targets, c.want)
			}
			if !reflect.DeepEqual(r.Checks, DefaultChecks()) {
				t.Errorf("checks %+v, want the defaults", r.Checks)
			}
		})
	}
	none := *f
	none.Tenants = []FleetTenant{{Name: "echo", Cluster: "us", Namespace: "tenant-echo", Services: []string{"ingest"}}}
	if _, err := ResolveRestart(&none, RestartRequest{Service: "web", Cluster: "us", All: true}); err == nil || !strings.Contains(err.Error(), "no tenant of cluster us runs web") {
		t.Errorf("all, none run it: %v", err)
	}
}

// TestDefaultChecksAreAPlansDefaults: a restart is watched by the checks a
// plan without a checks block gets, with the same defaults.
func TestDefaultChecksAreAPlansDefaults(t *testing.T) {
	f, err := ParseFleet("fleet.yaml", []byte(restartFleet))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePlan("deploys/web.yaml", []byte("apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: web-2}\nspec:\n  clusters: [eu]\n  services: [{name: web, tag: \"2\"}]\n  tenants: {names: [alpha]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Expand(p, f)
	if err != nil {
		t.Fatal(err)
	}
	got := DefaultChecks()
	if !reflect.DeepEqual(got, e.Checks) {
		t.Errorf("DefaultChecks %+v, a plan's %+v", got, e.Checks)
	}
	if got.NoCriticalAlerts == nil || got.PodsAvailable == nil || got.Settle != DefaultSettle || got.Interval != DefaultCheckInterval {
		t.Errorf("DefaultChecks %+v: both checks, the default settle and interval", got)
	}
}
