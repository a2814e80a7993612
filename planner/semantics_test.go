package planner

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// expandYAML expands a plan written inline against the test fleet. head is
// prepended: the header and a one-service spec with the given extra lines.
func expandYAML(t *testing.T, spec string) (*ExecutionPlan, error) {
	t.Helper()
	src := "apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: t}\nspec:\n" + spec
	p, _ := ParsePlan("deploys/t.yaml", []byte(src))
	return Expand(p, loadTestRepo(t).Fleet)
}

func TestForClusterKeepsEveryGate(t *testing.T) {
	e, err := expandYAML(t, `  clusters: [eu, us]
  services: [{name: query, tag: "2"}]
  tenants: {names: [canary-eu, canary-us, alpha, bravo, charlie, delta, echo]}
  rollout:
    canary: {tenants: [canary-eu, canary-us]}
    batchSize: 2
    approval: after-canary
`)
	if err != nil {
		t.Fatal(err)
	}
	// batch-1 (alpha, bravo) lives entirely in eu and carries the gate.
	if e.Waves[1].Gate == nil || e.Waves[1].Tenants[0].Cluster != "eu" || e.Waves[1].Tenants[1].Cluster != "eu" {
		t.Fatalf("fixture no longer puts the gated batch in eu only: %+v", e.Waves[1])
	}
	us := e.ForCluster("us")
	var got []string
	for _, w := range us.Waves {
		g := ""
		if w.Gate != nil {
			g = "!" + w.Gate.ID
		}
		got = append(got, w.Name+g+"/"+strings.Repeat("t", len(w.Tenants)))
	}
	if want := "canary/t batch-1!after-canary/ batch-2/t batch-3/t"; strings.Join(got, " ") != want {
		t.Errorf("ForCluster(us) waves = %s, want %s", strings.Join(got, " "), want)
	}
	if us.TenantCount() != 3 {
		t.Errorf("us tenants = %d, want 3", us.TenantCount())
	}
}

func TestCheckDefaults(t *testing.T) {
	base := "  clusters: [eu]\n  services: [{name: query, tag: \"2\"}]\n  tenants: {names: [alpha]}\n"
	for _, tc := range []struct {
		name, checks string
		alerts, pods bool
		ratio        float64
		settle       string
	}{
		{"no block", "", true, true, 1, "2m"},
		{"only interval", "  checks: {interval: 10s}\n", true, true, 1, "2m"},
		{"empty block", "  checks: {}\n", true, true, 1, "2m"},
		{"null check", "  checks:\n    podsAvailable:\n", true, true, 1, "2m"},
		{"ratio", "  checks: {podsAvailable: {minReadyRatio: 0.75}}\n", true, true, 0.75, "2m"},
		{"alerts off", "  checks: {noCriticalAlerts: {enabled: false}}\n", false, true, 1, "2m"},
		{"both off", "  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}\n", false, false, 0, "2m"},
		{"settle zero", "  checks: {settle: 0s}\n", true, true, 1, "0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := expandYAML(t, base+tc.checks)
			if err != nil {
				t.Fatal(err)
			}
			c := e.Checks
			if (c.NoCriticalAlerts != nil) != tc.alerts || (c.PodsAvailable != nil) != tc.pods {
				t.Errorf("alerts on=%v pods on=%v, want %v %v", c.NoCriticalAlerts != nil, c.PodsAvailable != nil, tc.alerts, tc.pods)
			}
			if c.PodsAvailable != nil && c.PodsAvailable.MinReadyRatio != tc.ratio {
				t.Errorf("ratio = %g, want %g", c.PodsAvailable.MinReadyRatio, tc.ratio)
			}
			if c.Settle.String() != tc.settle {
				t.Errorf("settle = %s, want %s", c.Settle, tc.settle)
			}
			if !tc.alerts && !tc.pods && !strings.Contains(e.Markdown(), "both checks are off") {
				t.Error("Markdown does not say that every check is off")
			}
		})
	}
}

func TestEmptyValueMeansDefault(t *testing.T) {
	e, err := expandYAML(t, "  clusters: [eu]\n  services: [{name: query, tag: \"2\"}]\n  tenants: {names: [alpha]}\n  rollout:\n    maxParallel:\n    batchSize:\n  onFailure:\n    rollbackAfter:\n")
	if err != nil {
		t.Fatal(err)
	}
	if e.MaxParallel != DefaultMaxParallel || e.OnFailure.RollbackAfter != DefaultRollbackAfter {
		t.Errorf("maxParallel=%d rollbackAfter=%s, want defaults", e.MaxParallel, e.OnFailure.RollbackAfter)
	}
}

func TestOneDocumentPerFile(t *testing.T) {
	_, err := expandYAML(t, "  clusters: [eu]\n  services: [{name: query, tag: \"2\"}]\n  tenants: {names: [alpha]}\n---\nkind: DeployPlan\n")
	want := `deploys/t.yaml:9:1: a file holds one document; found another after "---": put each plan in its own file`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestRenderOnlyFromTheRepository(t *testing.T) {
	fleet, _ := os.ReadFile("testdata/repo/fleet.yaml")
	base := func() fstest.MapFS {
		fsys := fstest.MapFS{"fleet.yaml": {Data: fleet}}
		for _, f := range []string{"kustomization.yaml", "deployment.yaml", "configmap.yaml"} {
			data, _ := os.ReadFile("testdata/repo/services/web/" + f)
			fsys["services/web/"+f] = &fstest.MapFile{Data: data}
		}
		return fsys
	}
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"remote base", "tenants/alpha/web/kustomization.yaml", "resources:\n  - https://github.com/acme/bases//web?ref=main\n", `"https://github.com/acme/bases//web?ref=main" is not a file or directory of this repository`},
		{"outside", "tenants/alpha/web/kustomization.yaml", "resources:\n  - ../../../../etc\n", `"../../../../etc" is not a file or directory`},
		{"generator file", "tenants/alpha/web/kustomization.yaml", "resources: [../../../services/web]\nconfigMapGenerator:\n  - name: x\n    files: [conf=missing.conf]\n", `"missing.conf" is not a file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := base()
			fsys[tc.file] = &fstest.MapFile{Data: []byte(tc.content)}
			r, err := LoadRepo(fsys)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewRenderer(r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewRenderer err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("image not in base", func(t *testing.T) {
		fsys := base()
		data := strings.ReplaceAll(string(fsys["services/web/deployment.yaml"].Data), "registry.example.com/acme/web:1.0.0", "other.example.com/web:1.0.0")
		fsys["services/web/deployment.yaml"] = &fstest.MapFile{Data: []byte(data)}
		r, _ := LoadRepo(fsys)
		rd, err := NewRenderer(r)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		_, err = rd.Render(TenantTarget{Name: "alpha", Cluster: "eu", Namespace: "tenant-alpha"}, ServiceRollout{Name: "web", Image: "registry.example.com/acme/web:2.0.0"})
		if err == nil || !strings.Contains(err.Error(), "do not run registry.example.com/acme/web:2.0.0") {
			t.Errorf("err = %v", err)
		}
	})
}
