package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/planner"
)

// unreachableKubeconfig has the example fleet's contexts, for clusters
// that do not answer.
const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts:
- {name: prod-eu, context: {cluster: gone, user: u}}
- {name: prod-us, context: {cluster: gone, user: u}}
`

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlanDiffExitCodes: previews of unreachable clusters still exit 0 and
// say so for every tenant; a plan that does not render exits 1 with the
// problem at its file and line; a wrong command line exits 2.
func TestPlanDiffExitCodes(t *testing.T) {
	repo := t.TempDir()
	copyDir(t, exampleRepo, repo)
	kc := writeFile(t, filepath.Join(t.TempDir(), "kubeconfig"), unreachableKubeconfig)
	plan := filepath.Join(repo, "deploys/ingest-v42.yaml")

	code, out, errOut := runCLI(t, "plan", "diff", "-o", "json", "--kubeconfig", kc, plan)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got diffJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got.Plans) != 1 || got.Plans[0].Deployment != "ingest-v42" || len(got.Plans[0].Tenants) != 11 || got.Plans[0].Rendered != 11 {
		t.Fatalf("plans %+v", got.Plans)
	}
	for _, tp := range got.Plans[0].Tenants {
		if tp.Status != planner.PreviewUnreachable || !strings.Contains(tp.Message, "cluster "+tp.Cluster+" unreachable") {
			t.Errorf("%s: %s %s", tp.Tenant, tp.Status, tp.Message)
		}
	}
	if !strings.Contains(out, `"status": "unreachable"`) || !strings.Contains(out, `"rendered": 11`) {
		t.Errorf("JSON keys are not camelCase:\n%s", out)
	}

	writeFile(t, filepath.Join(repo, "tenants/hooli/ingest/kustomization.yaml"), "resources:\n  - ../../../services/ingest\npatchez: []\n")
	code, out, _ = runCLI(t, "plan", "diff", "-o", "json", "--kubeconfig", kc, plan)
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d", code, exitInvalid)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if p := got.Plans[0].Problems; len(p) != 1 || p[0].File != "tenants/hooli/ingest/kustomization.yaml" || p[0].Line != 3 || p[0].Targets[0] != "hooli/ingest" {
		t.Errorf("problems %+v", p)
	}

	for _, args := range [][]string{
		{"plan", "diff"},
		{"plan", "diff", "--next", plan},
		{"plan", "diff", "-o", "yaml", plan},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestPlanDiffOnTheLocalControlPlane: prod-eu is the local control plane
// (its tenants' namespaces exist, web runs in globex), prod-us does not
// answer. The text output shows the diff per tenant; --next previews the
// whole fleet with the images that run now.
func TestPlanDiffOnTheLocalControlPlane(t *testing.T) {
	cp := kubetest.StartT(t)
	data, err := os.ReadFile(cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc := writeFile(t, filepath.Join(t.TempDir(), "kubeconfig"),
		strings.Replace(string(data), "contexts:\n", "contexts:\n- name: prod-eu\n  context: {cluster: local, user: admin}\n", 1))
	cfg, err := cp.Config()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kube.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	copyDir(t, exampleRepo, repo)
	fleet, _ := planner.LoadRepo(os.DirFS(repo))
	for _, ft := range fleet.Fleet.Tenants {
		if ft.Cluster == "prod-eu" {
			ns, _ := kube.Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ft.Namespace + "}\n"))
			if _, err := c.Apply(context.Background(), ns, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, out, errOut := runCLI(t, "plan", "diff", "-o", "text", "--kubeconfig", kc, filepath.Join(repo, "deploys/ingest-v42.yaml"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"  + Deployment ingest (ingest): created",
		"— the same change in each; shown for staging-eu:",
		"cluster prod-us unreachable",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "```") || strings.Contains(out, "**") {
		t.Errorf("Markdown left in the text:\n%s", out)
	}
	code, out, errOut = runCLI(t, "plan", "diff", "--next", "-o", "json", "--kubeconfig", kc, "--repo", repo)
	var got diffJSON
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || got.Next == nil || len(got.Next.Tenants) != 17 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
}
