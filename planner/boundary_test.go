package planner

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestBoundaryFixtures decides every object of testdata/boundary for the
// tenant whose namespace is tenant-acme and compares the rules it breaks
// with the fixture's "# want:" line ("allowed" for none). A "# boundary:"
// line replaces lists of the default boundary.
func TestBoundaryFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/boundary/*.yaml")
	if len(files) < 20 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(data), "\n")
			want, ok := strings.CutPrefix(lines[0], "# want: ")
			if !ok {
				t.Fatalf("%s has no # want: line", f)
			}
			b := DefaultBoundary()
			if over, ok := strings.CutPrefix(lines[1], "# boundary: "); ok {
				var o Boundary
				if err := yaml.Unmarshal([]byte(over), &o); err != nil {
					t.Fatal(err)
				}
				fleet := &Fleet{Boundary: &o}
				b = fleet.BoundaryOf("acme")
			}
			vs, err := b.CheckManifest("tenant-acme", data)
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, v := range vs {
				rules = append(rules, v.Rule)
				if !strings.Contains(v.Error(), v.Object) || v.Message == "" {
					t.Errorf("violation %q does not name the object and why", v.Error())
				}
			}
			got := "allowed"
			if len(rules) > 0 {
				got = strings.Join(rules, ",")
			}
			if got != want {
				t.Errorf("got %s, want %s: %v", got, want, vs)
			}
		})
	}
}

func TestBoundaryOfTenant(t *testing.T) {
	f := &Fleet{
		Boundary: &Boundary{Kinds: []string{"ConfigMap"}},
		Tenants: []FleetTenant{
			{Name: "acme", Boundary: &Boundary{ClusterKinds: []string{"rbac.authorization.k8s.io/ClusterRoleBinding"}}},
			{Name: "globex"},
		},
	}
	acme, globex := f.BoundaryOf("acme"), f.BoundaryOf("globex")
	if !slices.Equal(acme.Kinds, []string{"ConfigMap"}) || !slices.Equal(acme.ClusterKinds, []string{"rbac.authorization.k8s.io/ClusterRoleBinding"}) {
		t.Errorf("acme = %+v: want the fleet's kinds and its own clusterKinds", acme)
	}
	if !slices.Equal(globex.Kinds, []string{"ConfigMap"}) || len(globex.ClusterKinds) != 0 {
		t.Errorf("globex = %+v: want the fleet's lists", globex)
	}
	if !(&Fleet{}).BoundaryOf("x").IsDefault() || acme.IsDefault() {
		t.Error("IsDefault")
	}
}

func TestBoundaryInFleetYAML(t *testing.T) {
	fleet := `apiVersion: prdeploy.dev/v1
kind: Fleet
clusters: [{name: eu}]
boundary:
  kinds: [ConfigMap, apps/Deployment]
tenants:
  - name: acme
    cluster: eu
    namespace: tenant-acme
    boundary:
      clusterKinds: [rbac.authorization.k8s.io/ClusterRoleBinding, deployment]
`
	_, err := ParseFleet("fleet.yaml", []byte(fleet))
	want := `fleet.yaml:11:68: tenants[0].boundary.clusterKinds[1]: invalid kind "deployment"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %s", err, want)
	}
	f, err := ParseFleet("fleet.yaml", []byte(strings.Replace(fleet, ", deployment]", "]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if b := f.BoundaryOf("acme"); len(b.Kinds) != 2 || len(b.ClusterKinds) != 1 {
		t.Errorf("acme's boundary = %+v", b)
	}
}

// TestRenderRefusesWhatCrossesTheBoundary: objects that kustomize leaves
// without a namespace (cluster-scoped kinds) are refused at render, with
// the object and the rule.
func TestRenderRefusesWhatCrossesTheBoundary(t *testing.T) {
	fsys, _ := remoteFieldRepo(t, map[string]string{
		"kustomization.yaml": "resources:\n  - ../../../services/web\n  - crb.yaml\n",
		"crb.yaml":           "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: acme-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n  - {kind: ServiceAccount, name: default, namespace: tenant-alpha}\n",
	}, "", "")
	r, err := LoadRepo(fsys)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewRenderer(r)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	_, err = rd.Render(alphaWeb.tenant, alphaWeb.service)
	var be *BoundaryError
	if !errors.As(err, &be) || len(be.Violations) != 2 {
		t.Fatalf("err = %v, want a boundary error with two violations", err)
	}
	for _, want := range []string{`ClusterRoleBinding acme-admin: rbac.authorization.k8s.io/ClusterRoleBinding is cluster-scoped`, `(boundary rule "cluster-scoped")`, `(boundary rule "cluster-admin")`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant %q", err, want)
		}
	}
	// The other tenants of the fleet render the base alone, as before.
	if _, err := rd.Render(TenantTarget{Name: "bravo", Cluster: "eu", Namespace: "tenant-bravo"}, alphaWeb.service); err != nil {
		t.Fatal(err)
	}
}
