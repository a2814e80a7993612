package policies

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prdeploy/prdeploy/planner"
)

var testRev = Revision{Ref: "main", SHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"}

// fleetYAML has twelve production tenants (t01..t12) and two staging tenants.
const fleetYAML = `apiVersion: prdeploy.dev/v1
kind: Fleet
clusters:
  - name: prod-eu
  - name: staging
services:
  - name: api
    image: registry.example.com/api
  - name: web
    image: registry.example.com/web
tenants:
  - {name: t01, cluster: prod-eu, namespace: t01, labels: {env: prod, tier: gold}}
  - {name: t02, cluster: prod-eu, namespace: t02, labels: {env: prod}}
  - {name: t03, cluster: prod-eu, namespace: t03, labels: {env: prod}}
  - {name: t04, cluster: prod-eu, namespace: t04, labels: {env: prod}}
  - {name: t05, cluster: prod-eu, namespace: t05, labels: {env: prod}}
  - {name: t06, cluster: prod-eu, namespace: t06, labels: {env: prod}}
  - {name: t07, cluster: prod-eu, namespace: t07, labels: {env: prod}}
  - {name: t08, cluster: prod-eu, namespace: t08, labels: {env: prod}}
  - {name: t09, cluster: prod-eu, namespace: t09, labels: {env: prod}}
  - {name: t10, cluster: prod-eu, namespace: t10, labels: {env: prod}}
  - {name: t11, cluster: prod-eu, namespace: t11, labels: {env: prod}}
  - {name: t12, cluster: prod-eu, namespace: t12, labels: {env: prod}}
  - {name: s1, cluster: staging, namespace: s1, labels: {env: staging}}
  - {name: s2, cluster: staging, namespace: s2, labels: {env: staging}}
`

// Plans used across tests. The spec is indented under "spec:".
const (
	// canaryPlan: canary t01, then t02 and t03 behind the after-canary gate.
	canaryPlan = `
  clusters: [prod-eu]
  services: [{name: api, tag: "1.2.3"}]
  tenants: {names: [t01, t02, t03]}
  rollout:
    canary: {tenants: [t01]}
    approval: after-canary`
	// canaryNoGatePlan is canaryPlan without approval.
	canaryNoGatePlan = `
  clusters: [prod-eu]
  services: [{name: api, tag: "1.2.3"}]
  tenants: {names: [t01, t02, t03]}
  rollout:
    canary: {tenants: [t01]}`
	// bigPlan: all twelve production tenants in one wave, no canary.
	bigPlan = `
  clusters: [prod-eu]
  services: [{name: api, tag: "1.2.3"}, {name: web, tag: "2.0.0", after: [api]}]
  tenants: {selector: {matchLabels: {env: prod}}}`
	// bigCanaryPlan: canary t01, then batches of four with a gate before each.
	bigCanaryPlan = `
  clusters: [prod-eu]
  services: [{name: api, tag: "1.2.3"}]
  tenants: {selector: {matchLabels: {env: prod}}}
  rollout:
    canary: {tenants: [t01]}
    batchSize: 4
    maxParallel: 4
    pauseBetweenWaves: 5m
    approval: every-wave`
	// stagingPlan: the staging tenant alone.
	stagingPlan = `
  clusters: [staging]
  services: [{name: api, tag: "1.2.3"}]
  tenants: {names: [s1]}`
	// twoClusterPlan: canaries t01 and s1; batch-1 (t02, t03), the wave
	// behind after-canary, holds only prod-eu tenants; batch-2 holds s2.
	// The approval mode is filled in with fmt.Sprintf.
	twoClusterPlan = `
  clusters: [prod-eu, staging]
  services: [{name: api, tag: "1.2.3"}]
  tenants: {names: [t01, t02, t03, s1, s2]}
  rollout:
    canary: {tenants: [t01, s1]}
    batchSize: 2
    approval: %s`
	// wavesPlan: explicit waves, the second behind a gate.
	wavesPlan = `
  clusters: [prod-eu]
  services: [{name: api, tag: "1.2.3"}]
  tenants: {names: [t02, t03, t04]}
  rollout:
    waves:
      - {name: first, tenants: [t02]}
      - {name: rest, tenants: [t03, t04], requireApproval: true}`
)

func mustPlan(t *testing.T, spec string) *planner.ExecutionPlan {
	t.Helper()
	fleet, err := planner.ParseFleet("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatalf("fleet: %v", err)
	}
	p, err := planner.ParsePlan("deploys/api.yaml", []byte("apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata:\n  name: api-v123\nspec:"+spec+"\n"))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	e, err := planner.Expand(p, fleet)
	if err != nil {
		t.Fatalf("expand: %v", err)
	}
	return e
}

// policy returns a policy file with the given rules (a YAML list, already
// indented by two spaces).
func policy(rules string) string {
	return "apiVersion: prdeploy.dev/v1\nkind: DeployPolicy\nmetadata:\n  name: production\nrules:\n" + rules
}

func mustLoad(t *testing.T, files map[string]string) *RuleSet {
	t.Helper()
	set, err := Load(mapFS(files), testRev)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return set
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func containsAll(t *testing.T, what string, got []string, want []string) {
	t.Helper()
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s: want one containing %q, got:\n%s", what, w, all)
		}
	}
}
