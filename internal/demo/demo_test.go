package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/workflows"
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

// TestDemoStopsOnABrokenFleet: with a fleet the story does not expect (a
// tenant of the demo's plan renamed), the demo stops at the failed plan
// check and says why, instead of merging and waiting for good.
func TestDemoStopsOnABrokenFleet(t *testing.T) {
	repo := t.TempDir()
	if err := os.CopyFS(repo, os.DirFS("../../examples/gitops-repo")); err != nil {
		t.Fatal(err)
	}
	fleet, err := os.ReadFile(filepath.Join(repo, "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(fleet), "- name: umbrella", "- name: umbrela", 1)
	if broken == string(fleet) {
		t.Fatal("the example fleet has no tenant umbrella any more; break it another way")
	}
	if err := os.WriteFile(filepath.Join(repo, "fleet.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	err = Run(ctx, Options{Repo: repo, Out: &out, RolloutTime: 10 * time.Millisecond, WaitBound: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "the plan check of deploys/web-7.yaml failed") || !strings.Contains(err.Error(), "does not fit the fleet of "+repo) {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("took %v to fail", d)
	}
	if strings.Contains(out.String(), "merges PR") {
		t.Errorf("the demo merged a PR whose plan check failed:\n%s", out.String())
	}
}

// TestFollowerGivesUp: every wait of the demo ends: when the deployment
// ended another way (the "0/0 failed" of a broken fleet) at once, and
// when it does not move, after its bound; both say what they waited for.
func TestFollowerGivesUp(t *testing.T) {
	var said strings.Builder
	say := func(format string, args ...any) { fmt.Fprintf(&said, format+"\n", args...) }
	failed := workflows.Status{OrchestrationState: workflows.OrchestrationState{Phase: workflows.PhaseFailed, Error: "prepare: no tenant matches"}}
	f := &follower{say: say, poll: time.Millisecond, bound: time.Minute,
		describe: func(context.Context) (workflows.Status, error) { return failed, nil }}
	start := time.Now()
	_, err := f.until(context.Background(), "the canary gate to wait", func(st workflows.Status) bool { return len(st.Gates) > 0 })
	if err == nil || err.Error() != "the deployment ended failed (0/0 tenants succeeded) (prepare: no tenant matches) while the demo waited for the canary gate to wait" {
		t.Errorf("ended: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a failed deployment took %v to give up on", d)
	}
	running := workflows.Status{OrchestrationState: workflows.OrchestrationState{Phase: workflows.PhaseRunning}, Total: 3}
	f = &follower{say: say, poll: time.Millisecond, bound: 50 * time.Millisecond,
		describe: func(context.Context) (workflows.Status, error) { return running, nil }}
	_, err = f.until(context.Background(), "the rollout to end", func(st workflows.Status) bool { return false })
	if err == nil || !strings.HasPrefix(err.Error(), "gave up after 50ms waiting for the rollout to end; it is [░") {
		t.Errorf("stuck: %v", err)
	}
	f = &follower{say: say, poll: time.Millisecond, bound: 50 * time.Millisecond,
		describe: func(context.Context) (workflows.Status, error) {
			return workflows.Status{}, errors.New("no such workflow")
		}}
	_, err = f.until(context.Background(), "the rollout to end", func(st workflows.Status) bool { return false })
	if err == nil || err.Error() != "gave up after 50ms waiting for the rollout to end; its status could not be read: no such workflow" {
		t.Errorf("unreadable: %v", err)
	}
}
