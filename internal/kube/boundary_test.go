package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// deployerClient applies examples/kubernetes/target-cluster/rbac.yaml (as
// an administrator) for the tenant namespace ns, and returns a client that
// acts as the ServiceAccount it creates.
func deployerClient(t *testing.T, admin *Client, ns string) *Client {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile("../../examples/kubernetes/target-cluster/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs := mustDecode(t, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\n", ns)+strings.ReplaceAll(string(data), "namespace: tenant-acme", "namespace: "+ns))
	if _, err := admin.Apply(ctx, objs, true); err != nil {
		t.Fatal(err)
	}
	cfg, err := controlPlane.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:prdeploy:prdeploy-deployer"}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBoundaryAndRBACBeforeApply: prdeploy, acting with the least-privilege
// role it ships, deploys an ordinary service; what crosses the tenant's
// boundary is refused before it reaches the cluster, and what the boundary
// was widened to allow but the role does not grant is refused by the
// apiserver: both as permanent errors that say why, and nothing of it is
// created.
func TestBoundaryAndRBACBeforeApply(t *testing.T) {
	ctx := context.Background()
	admin := newClient(t)
	const ns = "tenant-rbac"
	deployer := deployerClient(t, admin, ns)
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{deployer}, Store: store}

	// An ordinary service deploys under the shipped role.
	web := service(ns, "v1", "")
	web = web[strings.Index(web, "---\n")+4:] // the operator made the namespace
	if _, res, err := deploy(t, cl, stage(t, store, "ok", ns, web)); err != nil || res.Created != 2 {
		t.Fatalf("an ordinary service under the shipped role: %+v %v", res, err)
	}

	widened := planner.DefaultBoundary()
	widened.Kinds = append(widened.Kinds, "ResourceQuota")
	widened.ClusterKinds = []string{"rbac.authorization.k8s.io/ClusterRoleBinding"}
	crbView := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: rbac-view}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: default, namespace: " + ns + "}]\n"
	var table strings.Builder
	for _, tc := range []struct {
		object, manifests string
		boundary          *planner.Boundary
		want              []string
		gone              func() error
	}{
		{"ClusterRoleBinding to cluster-admin", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: rbac-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: " + ns + "}]\n", nil,
			[]string{`ClusterRoleBinding rbac-admin: rbac.authorization.k8s.io/ClusterRoleBinding is cluster-scoped`, `boundary rule "cluster-admin"`},
			func() error {
				_, err := admin.Typed.RbacV1().ClusterRoleBindings().Get(ctx, "rbac-admin", metav1.GetOptions{})
				return err
			}},
		{"MutatingWebhookConfiguration", "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: rbac-inject}\nwebhooks: []\n", nil,
			[]string{`boundary rule "admission-webhook"`},
			func() error {
				_, err := admin.Typed.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "rbac-inject", metav1.GetOptions{})
				return err
			}},
		{"ConfigMap without a namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray}\ndata: {a: b}\n", nil,
			[]string{`ConfigMap stray: the tenant's namespace is tenant-rbac (boundary rule "namespace")`}, nil},
		{"RoleBinding of another namespace's ServiceAccount", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: lend, namespace: " + ns + "}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: builder, namespace: tenant-other}]\n", nil,
			[]string{`boundary rule "subject"`}, nil},
		{"ResourceQuota (boundary widened, role not)", "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: " + ns + "}\nspec: {hard: {pods: '1000'}}\n", &widened,
			[]string{`ResourceQuota tenant-rbac/q`, `forbidden`, `cannot get resource "resourcequotas"`, `prdeploy's role in this cluster does not allow it`},
			func() error {
				_, err := admin.Typed.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
				return err
			}},
		{"ClusterRoleBinding to view (boundary widened, role not)", crbView, &widened,
			[]string{`ClusterRoleBinding rbac-view`, `forbidden`, `at the cluster scope`, `prdeploy's role in this cluster does not allow it`},
			func() error {
				_, err := admin.Typed.RbacV1().ClusterRoleBindings().Get(ctx, "rbac-view", metav1.GetOptions{})
				return err
			}},
		{"Role granting more than prdeploy holds", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: exec, namespace: " + ns + "}\nrules: [{apiGroups: [''], resources: [pods/exec], verbs: [create]}]\n", nil,
			[]string{`apply Role tenant-rbac/exec`, `forbidden`, `attempting to grant RBAC permissions not currently held`, `prdeploy's role in this cluster does not allow it`},
			func() error {
				_, err := admin.Typed.RbacV1().Roles(ns).Get(ctx, "exec", metav1.GetOptions{})
				return err
			}},
	} {
		t.Run(tc.object, func(t *testing.T) {
			tg := stage(t, store, "d-"+strings.ToLower(strings.Fields(tc.object)[0])+fmt.Sprint(len(tc.manifests)), ns, tc.manifests)
			tg.Boundary = tc.boundary
			_, err := cl.Apply(ctx, tg)
			var perm workflows.PermanentError
			if err == nil || !errors.As(err, &perm) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant %q", err, w)
				}
			}
			if tc.gone != nil {
				if err := tc.gone(); !apierrors.IsNotFound(err) {
					t.Errorf("the object is in the cluster: %v", err)
				}
			}
			by := "apiserver (RBAC)"
			if strings.Contains(err.Error(), "boundary rule") {
				by = "prdeploy (boundary)"
			}
			fmt.Fprintf(&table, "| %s | refused by %s | %s |\n", tc.object, by, err)
		})
	}
	t.Logf("object → verdict at apply\n%s", table.String())
}

// TestBoundaryFixturesAtApply decides planner's boundary fixtures (tenant
// namespace tenant-acme) as the Apply activity does, with each kind's
// scope from the real apiserver's discovery, and compares the verdict with
// the PR's (kustomize's built-in schema): they must agree.
func TestBoundaryFixturesAtApply(t *testing.T) {
	c := newClient(t)
	files, _ := filepath.Glob("../../planner/testdata/boundary/*.yaml")
	if len(files) < 20 {
		t.Fatalf("only %d fixtures", len(files))
	}
	var table strings.Builder
	table.WriteString("| fixture | at the PR | at apply |\n|---|---|---|\n")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		want := strings.TrimPrefix(lines[0], "# want: ")
		b := planner.DefaultBoundary()
		if over, ok := strings.CutPrefix(lines[1], "# boundary: "); ok {
			var o planner.Boundary
			if err := yaml.Unmarshal([]byte(over), &o); err != nil {
				t.Fatal(err)
			}
			b = (&planner.Fleet{Boundary: &o}).BoundaryOf("acme")
		}
		pr, err := b.CheckManifest("tenant-acme", data)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := c.Violations("tenant-acme", b, mustDecode(t, string(data)))
		if err != nil {
			t.Fatal(err)
		}
		rules := func(vs []planner.Violation) string {
			var out []string
			for _, v := range vs {
				out = append(out, v.Rule)
			}
			if len(out) == 0 {
				return "allowed"
			}
			return strings.Join(out, ",")
		}
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if got := rules(vs); got != want || rules(pr) != want {
			t.Errorf("%s: at apply %s, at the PR %s, want %s", name, got, rules(pr), want)
		}
		fmt.Fprintf(&table, "| %s | %s | %s |\n", name, rules(pr), rules(vs))
	}
	t.Logf("object → verdict\n%s", table.String())
}
