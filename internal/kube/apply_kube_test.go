//go:build kube

// Tests against a real local control plane (hack/kube-up.sh). Run with
// `make test-kube`; they need the binaries from `make kube-binaries`.
package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

var kubeconfig string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "prdeploy-kube-")
	if err != nil {
		panic(err)
	}
	out, err := exec.Command("bash", "../../hack/kube-up.sh", dir).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the control plane: %v\n", err)
		exec.Command("bash", "../../hack/kube-down.sh", dir).Run()
		os.Exit(1)
	}
	kubeconfig = strings.TrimSpace(string(out))
	code := m.Run()
	exec.Command("bash", "../../hack/kube-down.sh", dir).Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newApplier(t *testing.T) *Applier {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Applier{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

const manifest = `apiVersion: v1
kind: Namespace
metadata: {name: tenant-acme}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: tenant-acme}
data: {LOG_LEVEL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: tenant-acme}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example.com/web:IMAGE"}]}
`

func actions(cs []Change) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind+"="+string(c.Action))
	}
	return strings.Join(out, " ")
}

func TestApplyChangeSetsAndConflicts(t *testing.T) {
	ctx := context.Background()
	a := newApplier(t)
	apply := func(image string, force bool) ([]Change, error) {
		objs, err := Decode([]byte(strings.ReplaceAll(manifest, "IMAGE", image)))
		if err != nil {
			t.Fatal(err)
		}
		return a.Apply(ctx, objs, force)
	}
	for _, step := range []struct{ image, want string }{
		{"1", "Namespace=created ConfigMap=created Deployment=created"},
		{"1", "Namespace=unchanged ConfigMap=unchanged Deployment=unchanged"},
		{"2", "Namespace=unchanged ConfigMap=unchanged Deployment=configured"},
	} {
		cs, err := apply(step.image, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := actions(cs); got != step.want {
			t.Errorf("apply image %s: %s, want %s", step.image, got, step.want)
		}
	}
	// The rollout really happens: kwok makes the new pods Ready.
	ri, _ := a.resource(mustDecode(t, manifest)[2])
	deadline := time.Now().Add(30 * time.Second)
	for {
		cur, err := ri.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h, err := WorkloadHealth(cur)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status == Healthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after 30s: %s", h.Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Someone scales by hand with their own field manager: prdeploy's next
	// apply of a different replica count is a conflict naming them.
	scaled := mustDecode(t, strings.ReplaceAll(strings.ReplaceAll(manifest, "IMAGE", "2"), "replicas: 3", "replicas: 5"))[2]
	scaled.Object["spec"] = map[string]any{"replicas": int64(5)}
	if _, err := ri.Apply(ctx, "web", scaled, metav1.ApplyOptions{FieldManager: "sre-hand-edit", Force: true}); err != nil {
		t.Fatal(err)
	}
	_, err := apply("2", false)
	var conflict *ConflictError
	if err == nil || !strings.Contains(err.Error(), `"sre-hand-edit"`) || !strings.Contains(err.Error(), ".spec.replicas") || !errors.As(err, &conflict) {
		t.Fatalf("want a conflict naming sre-hand-edit and .spec.replicas, got %v", err)
	}
	t.Logf("conflict as users see it: %v", err)
	cs, err := apply("2", true)
	if err != nil || actions(cs) != "Namespace=unchanged ConfigMap=unchanged Deployment=configured" {
		t.Fatalf("forced apply: %s %v", actions(cs), err)
	}
}

func mustDecode(t *testing.T, s string) []*unstructured.Unstructured {
	objs, err := Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
