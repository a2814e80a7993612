package planner

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// syntheticRepo builds a fleet of n tenants over two clusters and s services
// (each a copy of testdata/repo/services/query), plus one plan that deploys
// every service to every tenant in a canary and batches of 100, with the
// services chained in a DAG of depth 4.
func syntheticRepo(tb testing.TB, tenants, services int) (*Repo, *Plan) {
	tb.Helper()
	var fleet, plan strings.Builder
	fleet.WriteString("apiVersion: prdeploy.dev/v1\nkind: Fleet\nclusters:\n  - name: eu\n  - name: us\nservices:\n")
	fsys := fstest.MapFS{}
	base, err := os.ReadDir("testdata/repo/services/query")
	if err != nil {
		tb.Fatal(err)
	}
	for s := range services {
		fmt.Fprintf(&fleet, "  - name: svc%02d\n    image: registry.example.com/acme/query\n", s)
		for _, f := range base {
			data, _ := os.ReadFile("testdata/repo/services/query/" + f.Name())
			fsys[fmt.Sprintf("services/svc%02d/%s", s, f.Name())] = &fstest.MapFile{Data: data}
		}
	}
	fleet.WriteString("tenants:\n")
	for t := range tenants {
		cluster := []string{"eu", "us"}[t%2]
		tier := []string{"gold", "silver", "bronze"}[t%3]
		fmt.Fprintf(&fleet, "  - {name: t%04d, cluster: %s, namespace: tenant-t%04d, labels: {tier: %s}}\n", t, cluster, t, tier)
	}
	plan.WriteString("apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata:\n  name: big\nspec:\n  clusters: [eu, us]\n  services:\n")
	for s := range services {
		fmt.Fprintf(&plan, "    - name: svc%02d\n      tag: \"2.0.0\"\n", s)
		if s >= 4 {
			fmt.Fprintf(&plan, "      after: [svc%02d]\n", s-4)
		}
	}
	plan.WriteString("  tenants:\n    selector:\n      matchExpressions: [{key: tier, operator: Exists}]\n")
	plan.WriteString("  rollout:\n    canary:\n      tenants: [t0000, t0001]\n    batchSize: 100\n    maxParallel: 20\n    approval: after-canary\n")
	fsys["fleet.yaml"] = &fstest.MapFile{Data: []byte(fleet.String())}
	fsys["deploys/big.yaml"] = &fstest.MapFile{Data: []byte(plan.String())}
	r, err := LoadRepo(fsys)
	if err != nil {
		tb.Fatal(err)
	}
	return r, r.Plans[0]
}

// BenchmarkExpand: 2,000 tenants × 20 services (target < 1 s per expansion).
func BenchmarkExpand(b *testing.B) {
	r, p := syntheticRepo(b, 2000, 20)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e, err := Expand(p, r.Fleet)
		if err != nil {
			b.Fatal(err)
		}
		if e.TenantCount() != 2000 {
			b.Fatalf("expanded %d tenants", e.TenantCount())
		}
	}
}

// TestExpandLargeFleetIsFast guards the target in normal test runs with a
// generous margin (the benchmark gives the real figure).
func TestExpandLargeFleetIsFast(t *testing.T) {
	r, p := syntheticRepo(t, 2000, 20)
	start := time.Now()
	e, err := Expand(p, r.Fleet)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("expanding 2000 tenants × 20 services took %s; target is < 1s", d)
	}
	if n := len(e.Waves); n != 21 {
		t.Errorf("waves = %d, want canary + 20 batches", n)
	}
	if len(e.Levels) != 5 {
		t.Errorf("DAG levels = %d, want 5", len(e.Levels))
	}
}

// BenchmarkRender renders 1,000 manifests (334 tenants × 3 services) and
// reports the time per manifest.
func BenchmarkRender(b *testing.B) {
	r, p := syntheticRepo(b, 334, 3)
	e, err := Expand(p, r.Fleet)
	if err != nil {
		b.Fatal(err)
	}
	rd, err := NewRenderer(r)
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = 0
		for _, w := range e.Waves {
			for _, t := range w.Tenants {
				for _, s := range e.Services {
					if n == 1000 {
						break
					}
					if _, err := rd.Render(t, s); err != nil {
						b.Fatal(err)
					}
					n++
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e6, "ms/manifest")
}
