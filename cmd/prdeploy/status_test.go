package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prdeploy/prdeploy/internal/sim/simtest"
	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/workflows"
)

const exampleRepo = "../../examples/gitops-repo"

const web7Plan = `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: web-7}
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: "7.0.0"}, {name: query, tag: "3.1.0"}]
  tenants: {names: [globex, initech, umbrella]}
  rollout:
    canary: {tenants: [globex]}
    approval: after-canary
    maxParallel: 2
  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`

// fleetEnv is what the CLI talks to in these tests: the embedded Temporal
// server, a worker with the real workflows on a simulated cluster, and the
// example GitOps repository for Prepare (internal/sim/simtest).
type fleetEnv struct {
	*simtest.Fleet
	t *testing.T
}

func newFleetEnv(t *testing.T) *fleetEnv {
	t.Helper()
	return &fleetEnv{Fleet: simtest.Start(t, exampleRepo), t: t}
}

// cli runs prdeploy against the env's Temporal.
func (e *fleetEnv) cli(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	return runCLI(e.t, append(args, "--temporal-address", e.Address, "--temporal-namespace", e.Namespace)...)
}

// TestStatus runs a deployment to its canary gate on the embedded
// Temporal server and reads it with `prdeploy status`: the list, the
// grid of one deployment with its waiting gate, the same as JSON, and
// the errors for deployments that do not exist.
func TestStatus(t *testing.T) {
	e := newFleetEnv(t)
	e.Deploy("web-7", web7Plan, 7)
	e.WaitFor("web-7", "the canary gate to wait", func(st workflows.Status) bool { return st.Phase == workflows.PhaseWaitingApproval })

	code, out, errOut := e.cli("status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "DEPLOYMENT  CLUSTER  PHASE") {
		t.Fatalf("status lists:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) < 6 || f[0] != "web-7" || f[1] != "prod-eu" || f[2] != "waiting-for-approval" || f[3] != "1/3" || f[4] != "acme/deploys#7" {
		t.Errorf("status row %q, want web-7 prod-eu waiting-for-approval 1/3 acme/deploys#7 …", lines[1])
	}
	// The columns are aligned: every header starts where its values do.
	if h, r := strings.Index(lines[0], "PHASE"), strings.Index(lines[1], "waiting"); h != r {
		t.Errorf("PHASE at column %d, its value at %d:\n%s", h, r, out)
	}

	code, out, errOut = e.cli("status", "web-7")
	if code != 0 {
		t.Fatalf("status web-7: exit %d: %s", code, errOut)
	}
	t.Logf("prdeploy status web-7:\n%s", out)
	if !strings.HasPrefix(out, "web-7 in prod-eu: waiting-for-approval [██████░░░░░░░░░░░░░░] 1/3\nacme/deploys#7 · commit ") {
		t.Errorf("header:\n%s", out)
	}
	for _, want := range []string{
		"tenants: succeeded 1 · not started 2\n",
		"  after-canary  all          waiting for ",
		"  nobody yet   0 of 2 from @acme/sre",
		"Approve with /approve on the PR",
		"WAVE    TENANT  PHASE        WEB        QUERY      NOTE\n",
		"canary  globex  ✓ succeeded  ✓ healthy  ✓ healthy\n",
		"all     2 of 2 tenants not started yet\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status web-7 lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = e.cli("status", "prod-eu/web-7", "--output", "json")
	if code != 0 {
		t.Fatalf("status --output json: exit %d: %s", code, errOut)
	}
	var views []statuspage.View
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(views) != 1 || views[0].Phase != workflows.PhaseWaitingApproval || views[0].Done != 1 || len(views[0].Gates) != 1 ||
		views[0].Gates[0].State != "waiting" || len(views[0].Waves) != 2 || views[0].Waves[0].Rows[0].Tenant != "globex" {
		t.Errorf("json views: %+v", views)
	}
	// One JSON style: camelCase keys, as plan show and the others.
	for _, key := range []string{`"phase": "waiting-for-approval"`, `"deployment": "web-7"`, `"waves": [`, `"tenant": "globex"`} {
		if !strings.Contains(out, key) {
			t.Errorf("status --output json lacks %s (camelCase keys)", key)
		}
	}
	code, out, _ = e.cli("status", "-o", "json")
	var list []struct {
		Deployment, Cluster string
		Running             bool
		View                *statuspage.View
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 1 || list[0].Deployment != "web-7" || !list[0].Running || list[0].View == nil || list[0].View.Total != 3 {
		t.Errorf("status -o json: exit %d, %v: %s", code, err, out)
	}
	if !strings.Contains(out, `"deployment": "web-7"`) || !strings.Contains(out, `"startedAt": "`) || strings.Contains(out, `"Ref"`) {
		t.Errorf("status -o json is not camelCase:\n%s", out)
	}

	// TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE stand for the flags, and the
	// old --namespace still works, with a warning.
	t.Setenv("TEMPORAL_ADDRESS", e.Address)
	t.Setenv("TEMPORAL_NAMESPACE", e.Namespace)
	if code, out, errOut := runCLI(t, "status"); code != 0 || !strings.Contains(out, "web-7") {
		t.Errorf("status from the environment: exit %d: %s%s", code, out, errOut)
	}
	t.Setenv("TEMPORAL_NAMESPACE", "")
	if code, out, errOut := runCLI(t, "status", "--namespace", e.Namespace); code != 0 || !strings.Contains(out, "web-7") || !strings.Contains(errOut, "warning: --namespace is deprecated") || !strings.Contains(errOut, "--temporal-namespace") {
		t.Errorf("status --namespace: exit %d: %s%s", code, out, errOut)
	}
	// A namespace that does not exist is named, with the setting to fix.
	if code, _, errOut := runCLI(t, "status", "--temporal-namespace", "nope"); code != 1 || !strings.Contains(errOut, `no namespace "nope" on Temporal at `+e.Address+"; is --temporal-namespace right?") {
		t.Errorf("unknown namespace: exit %d: %s", code, errOut)
	}
	t.Setenv("TEMPORAL_ADDRESS", "")

	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"status", "web-8"}, 1, "prdeploy: no deployment web-8 (prdeploy status lists recent ones)\n"},
		{[]string{"status", "prod-us/web-7"}, 1, "prdeploy: no deployment web-7 in cluster prod-us (prdeploy status lists recent ones)\n"},
		{[]string{"status", "-o", "yaml"}, 2, `--output must be text or json, not "yaml"`},
		{[]string{"status", "prod-eu/"}, 2, `"prod-eu/" is not a deployment`},
	} {
		code, out, errOut := e.cli(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q (stdout %q)", tc.args, code, errOut, tc.code, tc.err, out)
		}
	}
}

// TestStatusWithoutTemporal: without --temporal-address the configuration
// is needed, and a serve that does not run is named.
func TestStatusWithoutTemporal(t *testing.T) {
	code, _, errOut := runCLI(t, "status", "--config", t.TempDir()+"/none.yaml")
	if code != 2 || !strings.Contains(errOut, "give --config FILE (or $PRDEPLOY_CONFIG), or --temporal-address host:port (or $TEMPORAL_ADDRESS)") {
		t.Errorf("no config: exit %d: %s", code, errOut)
	}
	// Dial errors read like prdeploy, not gRPC, and name the setting used.
	code, _, errOut = runCLI(t, "status", "--temporal-address", "127.0.0.1:1")
	if want := "prdeploy: cannot reach Temporal at 127.0.0.1:1: connection refused; is `prdeploy serve` running, or is --temporal-address right?\n"; code != 1 || errOut != want {
		t.Errorf("nothing listening: exit %d: %q, want %q", code, errOut, want)
	}
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	code, _, errOut = runCLI(t, "status")
	if code != 1 || !strings.Contains(errOut, "or is TEMPORAL_ADDRESS right?") || strings.Contains(errOut, "desc =") {
		t.Errorf("nothing listening at $TEMPORAL_ADDRESS: exit %d: %s", code, errOut)
	}
	t.Setenv("TEMPORAL_ADDRESS", "")

	// The configuration of a serve whose embedded server does not run.
	for _, env := range []string{"TEST_TOKEN", "TEST_WEBHOOK_SECRET", "TEST_PAYLOAD_KEY"} {
		t.Setenv(env, "x")
	}
	cfg := filepath.Join(t.TempDir(), "prdeploy.yaml")
	if err := os.WriteFile(cfg, []byte(`dataDir: /var/lib/prdeploy
temporal: {listen: "127.0.0.1:1"}
github: {token: env:TEST_TOKEN, webhookSecrets: env:TEST_WEBHOOK_SECRET, repo: acme/deploys}
payloads: {keys: {k1: env:TEST_PAYLOAD_KEY}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "status", "web-7", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "cannot reach the embedded Temporal server of `prdeploy serve` at 127.0.0.1:1: connection refused") ||
		!strings.Contains(errOut, "is `prdeploy serve` running with this configuration, or is temporal.listen right?") {
		t.Errorf("serve not running: exit %d: %s", code, errOut)
	}
	t.Setenv("PRDEPLOY_CONFIG", cfg)
	if code, _, errOut := runCLI(t, "status"); code != 1 || !strings.Contains(errOut, "embedded Temporal server of `prdeploy serve` at 127.0.0.1:1") {
		t.Errorf("$PRDEPLOY_CONFIG: exit %d: %s", code, errOut)
	}
}

// TestWriteView renders a paused deployment for the terminal.
func TestWriteView(t *testing.T) {
	healthy := func(svcs ...string) []statuspage.Cell {
		var out []statuspage.Cell
		for _, s := range svcs {
			out = append(out, statuspage.Cell{Service: s, Phase: workflows.ServiceHealthy})
		}
		return out
	}
	v := statuspage.View{
		Cluster: "prod-eu", Deployment: "web-7", Phase: workflows.PhasePaused, Repo: "acme/deploys", SHA: "0123456789abcdef0123", PR: 7,
		Done: 2, Total: 4, Untouched: 1, Counts: []statuspage.Count{{Phase: "succeeded", N: 2}, {Phase: "paused", N: 1}},
		PauseReason: "umbrella failed", Services: []string{"web", "query"},
		Started: "2026-11-26 15:30:00 UTC", Elapsed: "3m12s",
		Waves: []statuspage.Wave{
			{Name: "canary", Canary: true, Tenants: 1, Rows: []statuspage.Row{{Tenant: "globex", Phase: "succeeded", Cells: healthy("web", "query")}}},
			{Name: "1", Gate: "after-canary", Tenants: 3, NotStarted: 1, Rows: []statuspage.Row{
				{Tenant: "initech", Phase: "succeeded", Cells: healthy("web", "query")},
				{Tenant: "umbrella", Phase: "paused", Note: "rollout of web failed: ImagePullBackOff",
					Cells: []statuspage.Cell{{Service: "web", Phase: "failed"}, {Service: "query", Phase: "not-started"}}},
			}},
		},
		Gates:    []statuspage.Gate{{ID: "after-canary", Wave: "1", State: "open", Approvals: []string{"@ana (comment)", "@bo (slack)"}}},
		Failures: []statuspage.Failure{{Tenant: "umbrella", Phase: "paused", Reason: "rollout of web failed: ImagePullBackOff"}},
	}
	var b strings.Builder
	if err := statuspage.WriteText(&b, v); err != nil {
		t.Fatal(err)
	}
	want := `web-7 in prod-eu: paused [██████████░░░░░░░░░░] 2/4
acme/deploys#7 · commit 0123456789ab · started 2026-11-26 15:30:00 UTC · 3m12s
tenants: succeeded 2 · paused 1 · not started 1
Paused: umbrella failed

Failures:
  umbrella  paused  rollout of web failed: ImagePullBackOff

Gates:
  GATE          BEFORE WAVE  STATE  APPROVED BY                  STILL NEEDS
  after-canary  1            open   @ana (comment), @bo (slack)  -

WAVE    TENANT    PHASE        WEB        QUERY        NOTE
canary  globex    ✓ succeeded  ✓ healthy  ✓ healthy
1       initech   ✓ succeeded  ✓ healthy  ✓ healthy
        umbrella  paused       ✗ failed   not-started  rollout of web failed: ImagePullBackOff
        1 of 3 tenants not started yet
`
	if got := b.String(); got != want {
		t.Errorf("writeView:\n%s\nwant:\n%s", got, want)
	}
}
