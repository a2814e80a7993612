package main

import (
	"regexp"
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// TestRestart restarts web in two tenants of the simulated cluster through
// the embedded Temporal server and follows it to the end; the same restart
// ID again is reported and not run twice; a tenant whose rollout fails
// makes the restart fail and stops the tenants after it.
func TestRestart(t *testing.T) {
	e := newFleetEnv(t)
	restart := []string{"restart", "web", "--cluster", "prod-eu", "--repo", exampleRepo, "--as", "ana", "--settle", "0s"}

	code, out, errOut := e.cli(append(restart, "--tenants", "globex,initech", "--wait")...)
	if code != 0 {
		t.Fatalf("restart: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	t.Logf("prdeploy restart --wait:\n%s%s", errOut, out)
	id := regexp.MustCompile(`(?m)^restart:prod-eu/web/(\d{8}T\d{6}Z)$`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no workflow ID restart:prod-eu/web/<UTC second> in:\n%s", out)
	}
	if !strings.Contains(errOut, "started the restart of web in 2 tenants of prod-eu (globex, initech), 1 at a time, as ana") {
		t.Errorf("stderr: %s", errOut)
	}
	for _, want := range []string{"TENANT   PHASE        NOTE\n", "globex   ✓ succeeded\n", "initech  ✓ succeeded\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for tenant, n := range map[string]int{"globex": 1, "initech": 1, "umbrella": 0} {
		if got := e.Cluster.Count("restart", tenant, "web"); got != n {
			t.Errorf("%s/web restarted %d times, want %d", tenant, got, n)
		}
	}
	for _, ev := range e.Cluster.Events() {
		if ev.Kind == "restart" && ev.Deploy != id[1] {
			t.Errorf("restart of %s names %q, want the restart ID %s", ev.Key, ev.Deploy, id[1])
		}
	}
	// The restart was asked with the checks a plan gets by default, but
	// for the settle time given, as the requester, for the fleet's
	// namespaces.
	var in workflows.RestartInput
	hist := e.Client.GetWorkflowHistory(e.Ctx, id[0], "", false, 0)
	ev, err := hist.Next()
	if err != nil {
		t.Fatal(err)
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	if c := in.Checks; c.Interval != planner.DefaultCheckInterval || c.PodsAvailable == nil || c.NoCriticalAlerts == nil || c.Settle != 0 ||
		in.Requester != "ana" || in.MaxParallel != 1 || in.Targets[1].Namespace != "tenant-initech" {
		t.Errorf("restart input: %+v", in)
	}

	// The same ID again: reported, not run.
	code, out, errOut = e.cli(append(restart, "--tenants", "globex,initech", "--id", id[1])...)
	if code != 0 || !strings.Contains(errOut, id[0]+" was already started") || strings.TrimSpace(out) != id[0] {
		t.Errorf("repeated restart: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if n := e.Cluster.Count("restart", "globex", "web"); n != 1 {
		t.Errorf("the repeated restart ran: globex/web restarted %d times", n)
	}

	// A failing tenant fails the restart; the next is not restarted.
	e.Cluster.FailRollouts("umbrella", "web", "Back-off pulling image (ImagePullBackOff)")
	code, out, errOut = e.cli(append(restart, "--tenants", "umbrella,hooli", "--id", "r-fail", "--wait")...)
	if code != 1 || !strings.Contains(errOut, "prdeploy: the restart failed: 2 of 2 tenants did not restart") {
		t.Errorf("failing restart: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{"umbrella  ✗ failed  ", "ImagePullBackOff", "hooli     pending   not restarted: an earlier tenant failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("failing restart: stdout lacks %q:\n%s", want, out)
		}
	}
	if n := e.Cluster.Count("restart", "hooli", "web"); n != 0 {
		t.Errorf("hooli restarted %d times after umbrella failed", n)
	}
}

// TestRestartRefuses: what the fleet does not have is named, before
// anything starts.
func TestRestartRefuses(t *testing.T) {
	base := []string{"restart", "--repo", exampleRepo, "--as", "ana", "--temporal-address", "127.0.0.1:1"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"unknown tenant", []string{"web", "--cluster", "prod-eu", "--tenants", "globex,globx"}, 1,
			`prdeploy: unknown tenant "globx"; tenants of prod-eu that run web: staging-eu, globex, initech,`},
		{"tenant elsewhere", []string{"web", "--cluster", "prod-eu", "--tenants", "wonka"}, 1,
			`prdeploy: tenant "wonka" lives in cluster prod-us, not prod-eu`},
		{"service not in tenant", []string{"web", "--cluster", "prod-us", "--tenants", "vandelay"}, 1,
			`prdeploy: service web is not deployed to tenant "vandelay" (it runs ingest, query, store)`},
		{"unknown service", []string{"wbe", "--cluster", "prod-us", "--all"}, 1,
			`prdeploy: unknown service "wbe"; known: ingest, query, store, web`},
		{"unknown cluster", []string{"web", "--cluster", "prod-ap", "--all"}, 1,
			`prdeploy: unknown cluster "prod-ap"; known: prod-eu, prod-us`},
		{"no tenants", []string{"web", "--cluster", "prod-eu"}, 2, "give either --tenants a,b or --all"},
		{"tenants and all", []string{"web", "--cluster", "prod-eu", "--all", "--tenants", "globex"}, 2, "give either --tenants a,b or --all"},
		{"no cluster", []string{"web", "--all"}, 2, "--cluster is required"},
		{"not a repo", []string{"web", "--cluster", "prod-eu", "--all", "--repo", t.TempDir()}, 2, "is not a GitOps repository root"},
		// Valid: it gets as far as Temporal, which is not there.
		{"valid", []string{"web", "--cluster", "prod-us", "--all"}, 1, "cannot reach Temporal at 127.0.0.1:1: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.err) {
				t.Errorf("exit %d, stderr %q; want %d, %q (stdout %q)", code, errOut, tc.code, tc.err, out)
			}
		})
	}
}
