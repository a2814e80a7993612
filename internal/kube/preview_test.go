package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prdeploy/prdeploy/planner"
)

// previewWeb renders tenant's web service as the planner does: labelled
// with prdeploy's labels, in the tenant's namespace.
func previewWeb(tenant string, replicas int, image, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: tenant-%[1]s
  labels: {app.kubernetes.io/managed-by: prdeploy, prdeploy.dev/tenant: %[1]s, prdeploy.dev/service: web}
data: {LOG_LEVEL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: tenant-%[1]s
  labels: {app.kubernetes.io/managed-by: prdeploy, prdeploy.dev/tenant: %[1]s, prdeploy.dev/service: web}
spec:
  replicas: %[2]d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example.com/acme/web:%[3]s"}]}
%[4]s`, tenant, replicas, image, extra)
}

const previewSecretCanary = "canary-5e1f-secret-must-never-show"

func previewSecret(tenant, password string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Secret
metadata:
  name: web-db
  namespace: tenant-%[1]s
  labels: {app.kubernetes.io/managed-by: prdeploy, prdeploy.dev/tenant: %[1]s, prdeploy.dev/service: web}
stringData: {password: %[2]s, user: web}
`, tenant, password)
}

func previewTarget(tenant, manifests string) planner.PreviewTarget {
	return planner.PreviewTarget{Tenant: tenant, Cluster: "local", Namespace: "tenant-" + tenant, Boundary: planner.DefaultBoundary(),
		Services: []planner.PreviewService{{Name: "web", YAML: []byte(manifests)}}}
}

// lines writes a preview as one line per changed object and field, so
// that a test states exactly what it shows.
func lines(p planner.TenantPreview) string {
	if p.Status != planner.PreviewOK {
		return string(p.Status) + ": " + p.Message
	}
	var out []string
	for _, o := range p.Objects {
		if !o.Changed() {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s", o.Action, o.Ref()))
		for _, f := range o.Fields {
			out = append(out, "  "+f.String())
		}
		for _, c := range o.Conflicts {
			out = append(out, fmt.Sprintf("  conflict %s owned by %s", c.Field, c.Manager))
		}
		if o.Error != "" {
			out = append(out, "  error "+o.Error)
		}
	}
	return strings.Join(out, "\n")
}

// TestPreviewOnRunningTenants: three tenants run web; the preview of new
// manifests says exactly what an apply would change in each, without
// changing anything: a replica count, an image, a field another manager
// owns, an object the manifests no longer hold, a Secret's key (never its
// value), and objects that would be created.
func TestPreviewOnRunningTenants(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	tenants := []string{"pv-a", "pv-b", "pv-c", "pv-d"}
	for _, tn := range tenants {
		running := "apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant-" + tn + "}\n---\n" + previewWeb(tn, 2, "4.9.2", `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-legacy
  namespace: tenant-`+tn+`
  labels: {app.kubernetes.io/managed-by: prdeploy, prdeploy.dev/tenant: `+tn+`, prdeploy.dev/service: web}
`) + previewSecret(tn, "old-password")
		if _, err := c.Apply(ctx, mustDecode(t, running), false); err != nil {
			t.Fatal(err)
		}
	}
	// pv-c's replicas are owned by an autoscaler now.
	hpa := mustDecode(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: tenant-pv-c}\nspec: {replicas: 5}\n")[0]
	ri, _ := c.resource(hpa)
	if _, err := ri.Apply(ctx, "web", hpa, metav1.ApplyOptions{FieldManager: "horizontal-pod-autoscaler", Force: true}); err != nil {
		t.Fatal(err)
	}
	legacy := func(tn string) string { // still in the manifests, unchanged
		return "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-legacy\n  namespace: tenant-" + tn +
			"\n  labels: {app.kubernetes.io/managed-by: prdeploy, prdeploy.dev/tenant: " + tn + ", prdeploy.dev/service: web}\n"
	}
	p := &Previewer{Clients: oneCluster{c}}
	before := p.Requests()
	got := p.Preview(ctx, []planner.PreviewTarget{
		previewTarget("pv-a", previewWeb("pv-a", 3, "4.9.2", legacy("pv-a"))+previewSecret("pv-a", "old-password")),
		previewTarget("pv-b", previewWeb("pv-b", 2, "5.0.0", legacy("pv-b"))+previewSecret("pv-b", previewSecretCanary)),
		previewTarget("pv-c", previewWeb("pv-c", 2, "4.9.2", legacy("pv-c"))+previewSecret("pv-c", "old-password")),
		previewTarget("pv-d", previewWeb("pv-d", 2, "4.9.2", "")+previewSecret("pv-d", "old-password")+
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: tenant-pv-d, labels: {prdeploy.dev/service: web}}\nspec: {ports: [{port: 80}], selector: {app: web}}\n"),
	})
	t.Logf("apiserver requests per tenant: %.1f", float64(p.Requests()-before)/4)
	want := []string{
		"configured Deployment tenant-pv-a/web\n  .spec.replicas: 2 → 3",
		"configured Deployment tenant-pv-b/web\n  .spec.template.spec.containers[name=web].image: registry.example.com/acme/web:4.9.2 → registry.example.com/acme/web:5.0.0\n" +
			"configured Secret tenant-pv-b/web-db\n  .data.password changed",
		"configured Deployment tenant-pv-c/web\n  .spec.replicas: 5 → 2\n  conflict .spec.replicas owned by horizontal-pod-autoscaler",
		"created Service tenant-pv-d/web\nremoved ConfigMap tenant-pv-d/web-legacy",
	}
	for i, p := range got {
		if l := lines(p); l != want[i] {
			t.Errorf("%s:\n%s\nwant\n%s", p.Tenant, l, want[i])
		}
	}
	js, _ := json.Marshal(got)
	for _, secret := range []string{previewSecretCanary, "old-password"} {
		if strings.Contains(string(js), secret) || strings.Contains(string(js), base64.StdEncoding.EncodeToString([]byte(secret))) {
			t.Fatalf("a secret value is in the preview:\n%s", js)
		}
	}
	// Nothing was changed.
	d, err := c.Typed.AppsV1().Deployments("tenant-pv-a").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 {
		t.Fatalf("the preview changed the cluster: %v %v", d.Spec.Replicas, err)
	}
	if _, err := c.Typed.CoreV1().Services("tenant-pv-d").Get(ctx, "web", metav1.GetOptions{}); err == nil {
		t.Fatal("the preview created a Service")
	}

	// A PR without a plan renders with a placeholder image: each container
	// keeps the image it runs now, so only the PR's own change shows.
	keep := previewTarget("pv-a", previewWeb("pv-a", 3, planner.PreviewPlaceholderTag, legacy("pv-a"))+previewSecret("pv-a", "old-password"))
	keep.Services[0].KeepImage = "registry.example.com/acme/web"
	if l := lines(p.Preview(ctx, []planner.PreviewTarget{keep})[0]); l != "configured Deployment tenant-pv-a/web\n  .spec.replicas: 2 → 3" {
		t.Errorf("keeping the running image:\n%s", l)
	}
}

// TestPreviewOfAnUnreachableCluster: the tenants of a cluster that does not
// answer, or has no kubeconfig context, say so; the cluster is asked once.
func TestPreviewOfAnUnreachableCluster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Previewer{Clients: &Clients{Kubeconfig: path, Contexts: map[string]string{"down": "prod-eu-admin"}}}
	got := p.Preview(context.Background(), []planner.PreviewTarget{
		{Tenant: "a", Cluster: "down", Namespace: "tenant-a", Boundary: planner.DefaultBoundary(), Services: []planner.PreviewService{{Name: "web", YAML: []byte(previewWeb("a", 2, "1", ""))}}},
		{Tenant: "b", Cluster: "down", Namespace: "tenant-b", Boundary: planner.DefaultBoundary(), Services: []planner.PreviewService{{Name: "web", YAML: []byte(previewWeb("b", 2, "1", ""))}}},
		{Tenant: "c", Cluster: "nowhere", Namespace: "tenant-c", Boundary: planner.DefaultBoundary(), Services: []planner.PreviewService{{Name: "web", YAML: []byte(previewWeb("c", 2, "1", ""))}}},
	})
	for _, g := range got {
		if g.Status != planner.PreviewUnreachable || !strings.Contains(g.Message, "cluster "+g.Cluster+" unreachable") {
			t.Errorf("%s: %s %q", g.Tenant, g.Status, g.Message)
		}
	}
	if got[0].Message != got[1].Message {
		t.Errorf("the tenants of one cluster differ: %q, %q", got[0].Message, got[1].Message)
	}
}
