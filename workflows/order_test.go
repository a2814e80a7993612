package workflows_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

// history is a deploy branch as MergeHistory sees it: merge SHAs with
// their generations (a fake of internal/gitrepo).
type history struct {
	mu   sync.Mutex
	gens map[string]int64
}

func (h *history) Generation(_ context.Context, _, sha string) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g, ok := h.gens[sha]
	if !ok {
		return 0, workflows.Permanent(fmt.Errorf("commit %s is not on the deploy branch", sha))
	}
	return g, nil
}

// mergeSHA is the merge commit of generation gen in these tests.
func mergeSHA(gen int64) string { return fmt.Sprintf("%040x", 0xabc0000+gen) }

// orderedHarness is a harness whose deployments are placed in merge order
// by the MergeGeneration activity, from a fake deploy branch.
func orderedHarness(t testing.TB, rollout time.Duration, tenants int) *harness {
	hist := &history{gens: map[string]int64{}}
	for g := int64(1); g <= 50; g++ {
		hist.gens[mergeSHA(g)] = g
	}
	return newHarness(t, rollout, tenants, func(h *harness) {
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir, History: hist}
	})
}

// deployMerge starts a deployment of the merge of generation gen (the
// Orchestration reads the generation from the branch's history).
func (h *harness) deployMerge(id string, gen int64) client.WorkflowRun {
	h.t.Helper()
	return h.deployWith(workflows.OrchestrationInput{Request: workflows.DeployRequest{
		Repo: "acme/deploys", SHA: mergeSHA(gen), Cluster: "c1", DeploymentID: id, PlanPath: "deploys/" + id + ".yaml", PRAuthor: "author",
	}})
}

// webPlan is a plan deploying web:tag to the tenants, one tenant at a time.
func (h *harness) webPlan(id, tag string, tenants []string, extra string) {
	h.t.Helper()
	h.plan(id, fmt.Sprintf("  services: [{name: web, tag: %q}]\n  tenants: {names: [%s]}\n  rollout: {maxParallel: 1}\n", tag, strings.Join(tenants, ", "))+extra+noChecks)
}

// neverBackInTime fails when an older merge changed a tenant's service
// after a newer one: the generations of the applies and rollbacks of each
// tenant/service, in the order they happened, never decrease.
func neverBackInTime(t *testing.T, h *harness, tenants []string, service string) {
	t.Helper()
	for _, tn := range tenants {
		var gens []int64
		for _, e := range h.cluster.Events() {
			if e.Key == tn+"/"+service && (e.Kind == "apply" || e.Kind == "rollback") {
				gens = append(gens, e.Generation)
			}
		}
		for i := 1; i < len(gens); i++ {
			if gens[i] < gens[i-1] {
				t.Errorf("%s/%s went back in time: generations applied in order %v", tn, service, gens)
				break
			}
		}
	}
}

// supersededOnce checks a finished deployment's account of superseded
// steps: each step not applied is reported superseded, by a newer merge,
// exactly once in the check run's summary and once in total in the PR's
// milestone comments; applied and superseded steps add up to every step.
func supersededOnce(t *testing.T, h *harness, st workflows.Status, gen int64, tenants []string, service string) {
	t.Helper()
	steps := workflows.SupersededSteps(st)
	if len(steps) != st.Superseded {
		t.Errorf("%s: Superseded = %d, steps %+v", st.Request.DeploymentID, st.Superseded, steps)
	}
	for _, s := range steps {
		if s.By.Generation <= gen || s.By.Deployment == "" {
			t.Errorf("%s: %s superseded by %+v, which is not newer", st.Request.DeploymentID, s.Tenant, s.By)
		}
	}
	applied := map[string]bool{}
	for _, e := range h.cluster.Events() {
		if e.Kind == "apply" && e.Deploy == st.Request.DeploymentID {
			applied[strings.TrimSuffix(e.Key, "/"+service)] = true
		}
	}
	for _, tn := range tenants {
		superseded := 0
		for _, s := range steps {
			if s.Tenant == tn && s.Service == service {
				superseded++
			}
		}
		if applied[tn] == (superseded == 1) || superseded > 1 {
			t.Errorf("%s: %s applied %v, reported superseded %d times; want exactly one of them", st.Request.DeploymentID, tn, applied[tn], superseded)
		}
	}
	r := workflows.BuildReport(st, workflows.ReportLinks{})
	if r.Conclusion != "success" {
		t.Errorf("%s: check run concludes %s", st.Request.DeploymentID, r.Conclusion)
	}
	for _, s := range steps {
		line := fmt.Sprintf("- `%s` %s: superseded by `%s` (merged after this one)", s.Tenant, s.Service, s.By.Deployment)
		if n := strings.Count(r.Summary, line); n != 1 {
			t.Errorf("%s: the check run reports %q %d times:\n%s", st.Request.DeploymentID, line, n, r.Summary)
		}
	}
	mentions := 0
	for _, m := range workflows.Milestones(st) {
		mentions += strings.Count(m.Body, "superseded")
	}
	if want := min(st.Superseded, 1); mentions != want {
		t.Errorf("%s: the PR comments mention superseded steps %d times, want %d: %+v", st.Request.DeploymentID, mentions, want, workflows.Milestones(st))
	}
}

// sixMerges merges web-1 … web-6 of the same service to the same tenants
// in quick succession, with Prepare durations that invert the order: the
// first merge's Prepare is the slowest. midway runs once the newest
// deployment has applied to the first tenant. It returns the deployments'
// final statuses.
func sixMerges(t *testing.T, h *harness, tenants []string, midway func()) []workflows.Status {
	var release []func()
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("web-%d", i)
		h.webPlan(id, strconv.Itoa(i), tenants, "")
		release = append(release, h.plans.Hold(id))
	}
	var runs []client.WorkflowRun
	for i := 1; i <= 6; i++ {
		runs = append(runs, h.deployMerge(fmt.Sprintf("web-%d", i), int64(i)))
	}
	// web-6 prepares first; web-5 and web-4 while web-6 holds the first
	// tenant (their requests meet a newer holder), web-3 … web-1 last.
	release[5]()
	h.eventually("web-6 to apply to "+tenants[0], 30*time.Second, func() bool { return h.applied("web-6", tenants[0]) })
	release[4]()
	release[3]()
	if midway != nil {
		midway()
	}
	h.eventually("web-6 to finish", time.Minute, func() bool { return h.finished("web-6") })
	release[2]()
	release[1]()
	release[0]()
	out := make([]workflows.Status, 6)
	for i, run := range runs {
		out[i] = h.result(run)
	}
	return out
}

func (h *harness) applied(deploy, tenant string) bool {
	for _, e := range h.cluster.Events() {
		if e.Kind == "apply" && e.Deploy == deploy && strings.HasPrefix(e.Key, tenant+"/") {
			return true
		}
	}
	return false
}

func (h *harness) finished(id string) bool {
	d, err := h.c.DescribeWorkflowExecution(context.Background(), workflows.DeployWorkflowID("c1", id), "")
	return err == nil && d.WorkflowExecutionInfo.CloseTime != nil
}

// checkNewestWins: every tenant runs what the newest merge asked for and
// carries its stamp; nothing went back in time; every deployment
// succeeded and reported what it left to newer merges once; the oldest
// three, prepared after web-6 had finished, applied nothing.
func checkNewestWins(t *testing.T, h *harness, tenants []string, sts []workflows.Status) {
	t.Helper()
	for _, tn := range tenants {
		if got := h.cluster.Live(tn, "web"); got != "registry.example.com/web:6" {
			t.Errorf("%s runs %s, want web:6 (the newest merge)", tn, got)
		}
		if s, _ := h.cluster.Stamp(tn, "web"); s.Deployment != "web-6" || s.Generation != 6 || s.Merge != mergeSHA(6)[:12] {
			t.Errorf("%s is stamped %+v", tn, s)
		}
	}
	neverBackInTime(t, h, tenants, "web")
	for i, st := range sts {
		gen := int64(i + 1)
		if st.Phase != workflows.PhaseSucceeded || st.Request.Generation != gen {
			t.Errorf("web-%d: phase %s generation %d; tenants %+v", gen, st.Phase, st.Request.Generation, st.Tenants)
		}
		supersededOnce(t, h, st, gen, tenants, "web")
	}
	for i := 0; i < 3; i++ {
		if st := sts[i]; st.Superseded != len(tenants) || st.Counts[workflows.TenantSuperseded] != len(tenants) {
			t.Errorf("web-%d: superseded %d steps, counts %v; want every tenant superseded", i+1, st.Superseded, st.Counts)
		}
	}
	if sts[5].Superseded != 0 || sts[5].Counts[workflows.TenantSucceeded] != len(tenants) {
		t.Errorf("web-6: %+v", sts[5].Counts)
	}
}

// TestNewestMergeWins: six merges of web to the same tenants within
// moments of each other, prepared in the reverse order of their merges.
// The tenants end on the sixth merge's web, no tenant ever went back to an
// older merge's, and each deployment reports what it left to newer ones.
func TestNewestMergeWins(t *testing.T) {
	h := orderedHarness(t, 500*time.Millisecond, 3)
	tenants := []string{"t01", "t02", "t03"}
	sts := sixMerges(t, h, tenants, nil)
	checkNewestWins(t, h, tenants, sts)
	// web-5 and web-4 met web-6 at the lock of t01 and did not wait.
	for _, i := range []int{3, 4} {
		if sts[i].Tenants[0].Tenant != "t01" || sts[i].Tenants[0].Phase != workflows.TenantSuperseded {
			t.Errorf("web-%d at t01: %+v", i+1, sts[i].Tenants[0])
		}
	}
	h.recordHistory("orchestration-merge-order", workflows.DeployWorkflowID("c1", "web-5"), "")
	h.recordHistory("tenant-superseded-at-lock", workflows.TenantWorkflowID("c1", "web-5", "t01"), "")
}

// TestNewestMergeWinsAcrossWorkerRestart: the same six merges, with the
// worker stopped while web-6 rolls out and a new one started.
func TestNewestMergeWinsAcrossWorkerRestart(t *testing.T) {
	h := orderedHarness(t, time.Second, 3)
	tenants := []string{"t01", "t02", "t03"}
	sts := sixMerges(t, h, tenants, func() {
		h.eventually("web-6 to roll out to t02", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t02", "web") > 0 })
		h.stopWorker()
		h.startWorker()
	})
	checkNewestWins(t, h, tenants, sts)
	for _, tn := range tenants {
		if n := h.cluster.Count("apply", tn, "web"); n > 3 {
			t.Errorf("%s/web applied %d times", tn, n)
		}
	}
}

// TestNewerFailsAndRollsBackWhileOlderQueued: web-new (merged last) holds
// the tenant while its rollout fails, and rolls back; web-old (merged
// first, prepared late) asks for the tenant meanwhile and is superseded
// without waiting for it. A merge between the two that reaches the tenant
// after the rollback is superseded too: the newest merge's failure policy
// decided what runs.
func TestNewerFailsAndRollsBackWhileOlderQueued(t *testing.T) {
	h := orderedHarness(t, 2*time.Second, 1)
	h.cluster.SetLive("t01", "web", "registry.example.com/web:0")
	h.cluster.FailImage("registry.example.com/web:new", "ImagePullBackOff")
	tenants := []string{"t01"}
	h.webPlan("web-old", "old", tenants, "")
	h.webPlan("web-mid", "mid", tenants, "")
	h.webPlan("web-new", "new", tenants, "  onFailure: {action: rollback}\n")
	releaseOld := h.plans.Hold("web-old")
	old := h.deployMerge("web-old", 1)
	newer := h.deployMerge("web-new", 3)
	h.eventually("web-new to roll out", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "web") == 1 })
	releaseOld()
	oldSt := h.result(old)
	if h.cluster.Count("rollback", "t01", "web") != 0 {
		t.Errorf("web-old waited for web-new's rollback")
	}
	newSt := h.result(newer)
	if newSt.Phase != workflows.PhaseFailed || newSt.Tenants[0].Phase != workflows.TenantRolledBack {
		t.Fatalf("web-new: %s %+v", newSt.Phase, newSt.Tenants)
	}
	midSt := h.result(h.deployMerge("web-mid", 2))
	if got := h.cluster.Live("t01", "web"); got != "registry.example.com/web:0" {
		t.Errorf("t01 runs %s, want web:0 (web-new rolled back)", got)
	}
	if s, _ := h.cluster.Stamp("t01", "web"); s.Deployment != "web-new" || s.Generation != 3 {
		t.Errorf("t01 is stamped %+v, want web-new's rollback", s)
	}
	neverBackInTime(t, h, tenants, "web")
	for _, c := range []struct {
		st  workflows.Status
		gen int64
	}{{oldSt, 1}, {midSt, 2}} {
		if c.st.Phase != workflows.PhaseSucceeded || c.st.Superseded != 1 {
			t.Errorf("%s: %s %+v", c.st.Request.DeploymentID, c.st.Phase, c.st.Tenants)
		}
		supersededOnce(t, h, c.st, c.gen, tenants, "web")
	}
}

// TestQueuedOlderWaiterReleasedByNewer: web-b waits for the tenant that
// web-a (merged first) holds; web-c, merged after both, asks for it too:
// web-b is released at once, superseded by web-c, without waiting for
// web-a; then web-c deploys.
func TestQueuedOlderWaiterReleasedByNewer(t *testing.T) {
	h := orderedHarness(t, 100*time.Millisecond, 1)
	tenants := []string{"t01"}
	for _, id := range []string{"web-a", "web-b", "web-c"} {
		h.webPlan(id, strings.TrimPrefix(id, "web-"), tenants, "")
	}
	// web-a's rollout lasts until the test has seen web-b released.
	release := h.cluster.HoldRollouts()
	defer release()
	a := h.deployMerge("web-a", 1)
	h.eventually("web-a to roll out", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "web") == 1 })
	b := h.deployMerge("web-b", 2)
	h.eventually("web-b to wait for the lock", 30*time.Second, func() bool {
		st := h.status("web-b")
		return len(st.Tenants) == 1 && st.Tenants[0].LockWait != nil
	})
	c := h.deployMerge("web-c", 3)
	bSt := h.result(b)
	// What a PR's plan check sees now: web-a holds, web-c waits.
	held, err := temporalx.LockPreview{Client: h.c}.HeldLocks(context.Background(), []workflows.LockKey{{Cluster: "c1", Tenant: "t01", Service: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.cluster.Count("rollout-done", "t01", "web") != 0 {
		t.Errorf("web-b waited for web-a's rollout before it was released")
	}
	if len(held) != 1 || len(held[0].Merges) != 2 || held[0].Merges[0].Deployment != "web-a" || held[0].Merges[1].Deployment != "web-c" || held[0].Merges[1].Generation != 3 {
		t.Errorf("lock preview: %+v", held)
	}
	if bSt.Phase != workflows.PhaseSucceeded || bSt.Tenants[0].Phase != workflows.TenantSuperseded || bSt.Tenants[0].LockWait != nil {
		t.Errorf("web-b: %s %+v", bSt.Phase, bSt.Tenants)
	}
	supersededOnce(t, h, bSt, 2, tenants, "web")
	if steps := workflows.SupersededSteps(bSt); len(steps) != 1 || steps[0].By.Deployment != "web-c" {
		t.Errorf("web-b superseded by %+v, want web-c", steps)
	}
	release()
	h.result(a)
	if st := h.result(c); st.Phase != workflows.PhaseSucceeded || st.Superseded != 0 {
		t.Errorf("web-c: %s %+v", st.Phase, st.Tenants)
	}
	if got := h.cluster.Live("t01", "web"); got != "registry.example.com/web:c" {
		t.Errorf("t01 runs %s, want web:c", got)
	}
	neverBackInTime(t, h, tenants, "web")
	h.recordHistory("lock-superseded-waiter", workflows.LockKey{Cluster: "c1", Tenant: "t01", Service: "web"}.WorkflowID(), "")
	h.recordHistory("tenant-superseded-waiting", workflows.TenantWorkflowID("c1", "web-b", "t01"), "")
}

// TestNewerMergeDeploysOlderImage: a rollback by plan (a newer merge with
// an older image) is applied; a merge before it with a higher version that
// arrives late is superseded. Order is by merge, not by version.
func TestNewerMergeDeploysOlderImage(t *testing.T) {
	h := orderedHarness(t, 100*time.Millisecond, 2)
	tenants := []string{"t01", "t02"}
	h.webPlan("web-8", "8", tenants, "")
	h.webPlan("web-8-revert", "7", tenants, "")
	h.webPlan("web-9-late", "9", tenants, "")
	release := h.plans.Hold("web-9-late")
	late := h.deployMerge("web-9-late", 10)
	if st := h.result(h.deployMerge("web-8", 11)); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("web-8: %s", st.Phase)
	}
	if st := h.result(h.deployMerge("web-8-revert", 12)); st.Phase != workflows.PhaseSucceeded || st.Superseded != 0 {
		t.Fatalf("web-8-revert: %s %+v", st.Phase, st.Tenants)
	}
	release()
	lateSt := h.result(late)
	for _, tn := range tenants {
		if got := h.cluster.Live(tn, "web"); got != "registry.example.com/web:7" {
			t.Errorf("%s runs %s, want web:7 (the newest merge rolled back by plan)", tn, got)
		}
	}
	if lateSt.Superseded != 2 {
		t.Errorf("web-9-late: %+v", lateSt.Tenants)
	}
	supersededOnce(t, h, lateSt, 10, tenants, "web")
	neverBackInTime(t, h, tenants, "web")
	h.recordHistory("tenant-superseded-live", workflows.TenantWorkflowID("c1", "web-9-late", "t01"), "")
	h.recordHistory("service-superseded", workflows.ServiceWorkflowID("c1", "web-9-late", "t01", "web"), "")
}

// TestRollbackOfOlderMergeLeavesNewer: /rollback of an older deployment
// restores the tenants it deployed, except one that a newer merge changed
// since: that one keeps the newer merge's version, and says so.
func TestRollbackOfOlderMergeLeavesNewer(t *testing.T) {
	h := orderedHarness(t, 100*time.Millisecond, 3)
	for _, tn := range []string{"t01", "t02", "t03"} {
		h.cluster.SetLive(tn, "web", "registry.example.com/web:0")
	}
	// web-1 deploys t01 and t02, then waits at its gate.
	h.plan("web-1", "  services: [{name: web, tag: \"1\"}]\n  tenants: {names: [t01, t02, t03]}\n  rollout: {canary: {tenants: [t01, t02]}, approval: after-canary}\n"+noChecks)
	h.webPlan("web-2", "2", []string{"t01"}, "")
	first := h.deployMerge("web-1", 1)
	h.eventually("web-1 to wait at its gate", 30*time.Second, func() bool { return h.status("web-1").Phase == workflows.PhaseWaitingApproval })
	if st := h.result(h.deployMerge("web-2", 2)); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("web-2: %s", st.Phase)
	}
	if _, err := h.update("web-1", workflows.UpdateRollback, workflows.CommandRequest{By: "ana"}); err != nil {
		t.Fatal(err)
	}
	st := h.result(first)
	if got := h.cluster.Live("t01", "web"); got != "registry.example.com/web:2" {
		t.Errorf("t01 runs %s, want web:2 (merged after web-1)", got)
	}
	if got := h.cluster.Live("t02", "web"); got != "registry.example.com/web:0" {
		t.Errorf("t02 runs %s, want web:0 (web-1 rolled back)", got)
	}
	t01, t02 := st.Tenants[slicesIndex(st.Tenants, "t01")], st.Tenants[slicesIndex(st.Tenants, "t02")]
	if st.Phase != workflows.PhaseRolledBack || t01.Phase != workflows.TenantSuperseded || t02.Phase != workflows.TenantRolledBack {
		t.Fatalf("web-1: %s, t01 %+v, t02 %+v", st.Phase, t01, t02)
	}
	steps := workflows.SupersededSteps(st)
	if len(steps) != 1 || steps[0].Tenant != "t01" || steps[0].By.Deployment != "web-2" {
		t.Errorf("superseded steps: %+v", steps)
	}
	if r := workflows.BuildReport(st, workflows.ReportLinks{}); strings.Count(r.Summary, "superseded by `web-2` (merged after this one)") != 1 {
		t.Errorf("the check run does not say once that t01 was left to web-2:\n%s", r.Summary)
	}
	neverBackInTime(t, h, []string{"t01", "t02"}, "web")
}

// sim.Plans must stay a PlanSource.
var _ workflows.PlanSource = (*sim.Plans)(nil)

// TestPausedOlderDeploymentResumedLater: web-1 is paused after its first
// tenant; web-2, merged after it, deploys every tenant; when web-1 is
// resumed, the tenants it had not reached are superseded, not taken back
// to web-1.
func TestPausedOlderDeploymentResumedLater(t *testing.T) {
	h := orderedHarness(t, 300*time.Millisecond, 3)
	tenants := []string{"t01", "t02", "t03"}
	h.webPlan("web-1", "1", tenants, "")
	h.webPlan("web-2", "2", tenants, "")
	first := h.deployMerge("web-1", 1)
	h.eventually("web-1 to roll out to t01", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "web") == 1 })
	if _, err := h.update("web-1", workflows.UpdatePause, workflows.CommandRequest{By: "ana"}); err != nil {
		t.Fatal(err)
	}
	if st := h.result(h.deployMerge("web-2", 2)); st.Phase != workflows.PhaseSucceeded || st.Superseded != 0 {
		t.Fatalf("web-2: %s %+v", st.Phase, st.Tenants)
	}
	if _, err := h.update("web-1", workflows.UpdateResume, workflows.CommandRequest{By: "ana"}); err != nil {
		t.Fatal(err)
	}
	st := h.result(first)
	for _, tn := range tenants {
		if got := h.cluster.Live(tn, "web"); got != "registry.example.com/web:2" {
			t.Errorf("%s runs %s, want web:2", tn, got)
		}
	}
	if st.Phase != workflows.PhaseSucceeded || st.Superseded != 2 || st.Counts[workflows.TenantSucceeded] != 1 {
		t.Errorf("web-1: %s superseded %d counts %v", st.Phase, st.Superseded, st.Counts)
	}
	supersededOnce(t, h, st, 1, tenants, "web")
	neverBackInTime(t, h, tenants, "web")
}

// TestOlderTenantPausedOnFailureKeepsItsTurn: web-1's tenant fails and
// pauses, holding its lock; web-2, merged after it, waits for the lock
// (it is newer: it is not superseded). /resume retries web-1, which then
// succeeds; web-2 follows, and the tenant ends on web-2.
func TestOlderTenantPausedOnFailureKeepsItsTurn(t *testing.T) {
	h := orderedHarness(t, 200*time.Millisecond, 1)
	tenants := []string{"t01"}
	h.cluster.FailImage("registry.example.com/web:1", "ImagePullBackOff")
	h.webPlan("web-1", "1", tenants, "  onFailure: {action: pause, rollbackAfter: 1h}\n")
	h.webPlan("web-2", "2", tenants, "")
	first := h.deployMerge("web-1", 1)
	h.eventually("web-1 to pause", 30*time.Second, func() bool { return h.status("web-1").Paused })
	second := h.deployMerge("web-2", 2)
	h.eventually("web-2 to wait for t01", 30*time.Second, func() bool {
		st := h.status("web-2")
		return len(st.Tenants) == 1 && st.Tenants[0].LockWait != nil
	})
	h.cluster.FailImage("registry.example.com/web:1", "")
	if _, err := h.update("web-1", workflows.UpdateResume, workflows.CommandRequest{By: "ana"}); err != nil {
		t.Fatal(err)
	}
	if st := h.result(first); st.Phase != workflows.PhaseSucceeded || st.Superseded != 0 {
		t.Errorf("web-1: %s %+v", st.Phase, st.Tenants)
	}
	if st := h.result(second); st.Phase != workflows.PhaseSucceeded || st.Superseded != 0 {
		t.Errorf("web-2: %s %+v", st.Phase, st.Tenants)
	}
	if got := h.cluster.Live("t01", "web"); got != "registry.example.com/web:2" {
		t.Errorf("t01 runs %s, want web:2", got)
	}
	neverBackInTime(t, h, tenants, "web")
}
