package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

// TestLockPreview: while a deployment rolls api out in t01, a preview of
// t01's and t02's api locks finds t01's held by that deployment.
func TestLockPreview(t *testing.T) {
	h := newHarness(t, 20*time.Second, 2)
	h.plan("slow", `  services: [{name: api, tag: "2"}]
  tenants: {names: [t01]}
`+noChecks)
	h.deploy("slow")
	h.eventually("the rollout to start", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "api") == 1 })
	held, err := temporalx.LockPreview{Client: h.c}.HeldLocks(context.Background(), []workflows.LockKey{
		{Cluster: "c1", Tenant: "t01", Service: "api"}, {Cluster: "c1", Tenant: "t02", Service: "api"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0].Key.Tenant != "t01" || !strings.Contains(held[0].Holder, "deploy:c1/slow") {
		t.Fatalf("held: %+v", held)
	}
}
