package kube

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

const twoContexts = `apiVersion: v1
kind: Config
clusters:
- {name: eu, cluster: {server: "https://127.0.0.1:1"}}
- {name: us, cluster: {server: "https://127.0.0.1:2"}}
users:
- {name: u, user: {token: not-a-real-token}}
contexts:
- {name: prod-eu-admin, context: {cluster: eu, user: u}}
- {name: prod-us, context: {cluster: us, user: u}}
current-context: prod-us
`

// TestClientsPerContext: each fleet cluster gets the client of its
// kubeContext, opened once and reused; a cluster whose context is missing
// says which context it looked for.
func TestClientsPerContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	fleet, err := planner.ParseFleet("fleet.yaml", []byte(`apiVersion: prdeploy.dev/v1
kind: Fleet
clusters:
  - {name: prod-eu, kubeContext: prod-eu-admin}
  - {name: prod-us}
  - {name: prod-ap}
services: [{name: web, image: registry.example.com/web}]
tenants: [{name: acme, cluster: prod-eu, namespace: acme}]
`))
	if err != nil {
		t.Fatal(err)
	}
	cs := &Clients{Kubeconfig: path, Contexts: ContextsOf(fleet)}
	eu, err := cs.For("prod-eu", "")
	if err != nil {
		t.Fatal(err)
	}
	us, err := cs.For("prod-us", "")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := cs.For("prod-eu", ""); again != eu || eu == us {
		t.Fatal("one client per cluster, reused")
	}
	// A target carries its fleet's kubeContext: it wins over Contexts,
	// which serve does not know.
	bare := &Clients{Kubeconfig: path}
	host := func(c *Client) string { return c.Typed.CoreV1().RESTClient().Get().URL().Host }
	if c, err := bare.For("prod-eu", "prod-eu-admin"); err != nil || host(c) != "127.0.0.1:1" || host(us) != "127.0.0.1:2" {
		t.Fatalf("the target's kubeContext: %v", err)
	}
	if _, err := bare.For("prod-eu", ""); err == nil || !strings.Contains(err.Error(), `kubeconfig context "prod-eu"`) {
		t.Fatalf("without a kubeContext, the context named like the cluster: %v", err)
	}
	_, err = cs.For("prod-ap", "")
	if err == nil || !strings.Contains(err.Error(), `cluster prod-ap: kubeconfig context "prod-ap"`) {
		t.Fatalf("missing context: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "not-a-real-token") {
		t.Fatal("an error shows the credentials")
	}
}

func TestRetryable(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"unavailable", apierrors.NewServiceUnavailable("etcd"), true},
		{"timeout", apierrors.NewTimeoutError("slow", 1), true},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), true},
		{"internal", apierrors.NewInternalError(errors.New("boom")), true},
		{"502", apierrors.NewGenericServerResponse(502, "GET", gr, "web", "bad gateway", 0, true), true},
		{"connection refused", fmt.Errorf("get: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{"optimistic conflict", apierrors.NewConflict(gr, "web", errors.New("modified")), true},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil), false},
		{"forbidden", apierrors.NewForbidden(gr, "web", errors.New("no")), false},
		{"unauthorized", apierrors.NewUnauthorized("who"), false},
		{"not found", apierrors.NewNotFound(gr, "web"), false},
		{"no such kind", &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "example.com", Kind: "Widget"}}, false},
		{"field conflict", &ConflictError{Object: "Deployment a/web"}, false},
		{"rollout failed", &RolloutError{Object: "Deployment a/web", Reason: "deadline"}, false},
		{"permanent", workflows.Permanent(errors.New("x")), false},
	} {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("%s: Retryable = %v, want %v", c.name, got, c.want)
		}
		var perm workflows.PermanentError
		if got := errors.As(classify(c.err), &perm); got == c.want {
			t.Errorf("%s: classify permanent = %v", c.name, got)
		}
	}
}
