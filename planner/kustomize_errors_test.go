package planner

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// exampleWith is the example GitOps repository with some files replaced.
func exampleWith(t *testing.T, files map[string]string) *Repo {
	t.Helper()
	base := os.DirFS("../examples/gitops-repo")
	m := fstest.MapFS{}
	err := fs.WalkDir(base, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(base, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c)}
	}
	repo, err := LoadRepo(m)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

const overlayWithPatch = "resources:\n  - ../../../services/web\npatches:\n  - path: scale.yaml\n"

// TestKustomizeErrorsAtTheirLine: the usual kustomize mistakes are
// reported at the file and line to fix, as the pull request annotates
// them.
func TestKustomizeErrorsAtTheirLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		at    string // file:line:col
		msg   string
	}{
		{"a patch that is not valid YAML", map[string]string{
			"tenants/hooli/web/kustomization.yaml": overlayWithPatch,
			"tenants/hooli/web/scale.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n   foo: bar\n"},
			"tenants/hooli/web/scale.yaml:7:1", "the patch is not valid YAML: mapping values are not allowed in this context"},
		{"a patch whose target is not there", map[string]string{
			"tenants/hooli/web/kustomization.yaml": overlayWithPatch,
			"tenants/hooli/web/scale.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: webb\nspec:\n  replicas: 3\n"},
			"tenants/hooli/web/scale.yaml:4:3", `the patch targets Deployment "webb", which the resources do not hold`},
		{"an unknown field of a kustomization", map[string]string{
			"tenants/hooli/web/kustomization.yaml": "resources:\n  - ../../../services/web\npatchez:\n  - path: scale.yaml\n"},
			"tenants/hooli/web/kustomization.yaml:3:1", `unknown field "patchez" in a kustomization`},
		{"a resource added twice", map[string]string{
			"tenants/hooli/web/kustomization.yaml": "resources:\n  - ../../../services/web\n  - extra.yaml\n",
			"tenants/hooli/web/extra.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n"},
			"tenants/hooli/web/extra.yaml:4:3", `ConfigMap "web-config" is already in the kustomization`},
		{"a base file that is not valid YAML", map[string]string{
			"services/web/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: [\n"},
			"services/web/deployment.yaml:6:1", "not valid YAML: did not find expected node content"},
		{"a kustomization that is not valid YAML", map[string]string{
			"tenants/hooli/web/kustomization.yaml": "resources:\n  - ../../../services/web\n  foo: [\n"},
			"tenants/hooli/web/kustomization.yaml:2:1", "invalid kustomization: not valid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := exampleWith(t, tc.files)
			p, _ := repo.Plan("deploys/platform-2026-11.yaml")
			e, err := Expand(p, repo.Fleet)
			if err != nil {
				t.Fatal(err)
			}
			rd, err := NewRenderer(repo)
			if err == nil {
				defer rd.Close()
				svc, _ := e.Service("web")
				for _, w := range e.Waves {
					for _, tt := range w.Tenants {
						if tt.Name == "hooli" {
							_, err = rd.Render(tt, svc)
						}
					}
				}
			}
			var at Error
			if !errors.As(err, &at) {
				t.Fatalf("err = %v, want a planner.Error", err)
			}
			if got := strings.SplitN(at.Error(), ": ", 2)[0]; got != tc.at || !strings.Contains(at.Message, tc.msg) {
				t.Errorf("got %s, want %s: …%s…", at.Error(), tc.at, tc.msg)
			}
		})
	}
}
