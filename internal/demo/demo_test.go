package demo

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
)

// TestDemoTellsTheWholeStory runs `prdeploy demo` non-interactively, as
// `make demo` does in CI, and checks each step of the story happened.
func TestDemoTellsTheWholeStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, Options{Repo: "../../examples/gitops-repo", Out: &out, RolloutTime: 100 * time.Millisecond}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"check run prdeploy/plan: success — 1 plan ready to deploy",
		"prdeploy[bot]: ### prdeploy: 1 plan ready to deploy",
		"gate after-canary waits",
		"dan  \"/approve\"",
		"needs a member of @acme/sre; you are not",
		"the PR author cannot approve this gate",
		"1 of 2 from @acme/sre",
		"2 of 2 from @acme/sre; gate open",
		"[████████████████████] 3/3  succeeded",
		"check run prdeploy/deploy on",
		"success — web-7 in prod-eu: done, 3 of 3 tenants",
		"✅ `web-7` in `prod-eu` completed: 3 tenants.",
		"/deployments/prod-eu/web-7",
		"Temporal Web UI: http://127.0.0.1:",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo did not say %q", want)
		}
	}
	if !regexp.MustCompile(`its details link: http://localhost:\d+/deployments/prod-eu/web-7\n`).Match(out.Bytes()) {
		t.Error("the deploy check run does not link to the status page")
	}
	if t.Failed() {
		t.Log(out.String())
	}
}

// TestDemoOnTheLocalControlPlane tells the story against a real
// kube-apiserver (hack/kube-up.sh, as `make demo` does once the control
// plane is built): prdeploy's own Kubernetes adapters apply the three
// tenants' web Deployments and wait for their rollouts.
func TestDemoOnTheLocalControlPlane(t *testing.T) {
	cp := kubetest.StartT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, Options{Repo: "../../examples/gitops-repo", Out: &out, Kubeconfig: cp.Kubeconfig}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"cluster:         prod-eu = the local Kubernetes control plane",
		"[████████████████████] 3/3  succeeded",
		"success — web-7 in prod-eu: done, 3 of 3 tenants",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo did not say %q", want)
		}
	}
	for _, ns := range []string{"tenant-globex", "tenant-initech", "tenant-umbrella"} {
		re := regexp.MustCompile(ns + `/web  registry\.example\.com/acme/web:7\.0\.0  ready (\d+)/(\d+)  generation 1  \(managed by prdeploy\)`)
		if m := re.FindStringSubmatch(out.String()); m == nil || m[1] != m[2] {
			t.Errorf("%s: web 7.0.0 is not rolled out once by prdeploy", ns)
		}
	}
	if t.Failed() {
		t.Log(out.String())
	}
}
