package demo

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"gocloud.dev/secrets/localsecrets"

	cfgpkg "github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/internal/serve"
	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// Options configure a demo run.
type Options struct {
	// Repo is the example GitOps repository to load into the simulator.
	Repo string
	Out  io.Writer
	// Interactive keeps everything running after the story, until the
	// context ends (Ctrl-C).
	Interactive bool
	// RolloutTime is how long the simulated cluster takes per service.
	RolloutTime time.Duration
	// Listen and UIListen are the status page's and the Temporal Web UI's
	// addresses (default 127.0.0.1:0: free ports).
	Listen, UIListen string
	// Kubeconfig, when set, is a real cluster (the local control plane of
	// hack/kube-up.sh) to deploy to instead of the simulated one.
	Kubeconfig string
	// PolicyTime is the instant the policies judge the demo's plan at
	// (default sim.PolicyTime, a Wednesday morning outside the example's
	// freezes): fixed, and printed, so that the story is the same on any
	// day. A time inside a freeze shows the plan check deny the plan.
	PolicyTime time.Time
	// WaitBound bounds every wait of the story (default 3 minutes): a
	// wait that gives up says what it waited for, and the demo fails.
	WaitBound time.Duration
}

// defaultWaitBound is Options.WaitBound's default: the story takes about
// 12 s; a step that takes minutes is stuck.
const defaultWaitBound = 3 * time.Minute

// Plan is the plan the demo's PR adds.
const Plan = `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata:
  name: web-7
  description: web 7.0.0 to three production tenants in prod-eu, canary first
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: "7.0.0"}]
  tenants: {names: [globex, initech, umbrella]}
  rollout:
    canary: {tenants: [globex]}
    approval: after-canary
    maxParallel: 2
  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`

const secret = "demo-webhook-secret"

// denials are the reasons a plan check's summary gives for the policies
// denying the plan: the list under "Denied:" (policies.Decision.Markdown).
func denials(summary string) []string {
	_, list, ok := strings.Cut(summary, "\nDenied:\n\n")
	if !ok {
		return nil
	}
	var out []string
	for _, l := range strings.Split(list, "\n") {
		item, ok := strings.CutPrefix(l, "- ")
		if !ok {
			break
		}
		out = append(out, item)
	}
	return out
}

// Run tells the story and returns when it is told (or, interactive, when
// ctx ends).
func Run(ctx context.Context, o Options) error {
	s := newStory(o)
	defer s.close()
	for _, phase := range []func(context.Context) error{
		s.startGitHub,
		s.startServe,
		s.openPullRequest,
		s.mergeUntilTheGate,
		s.approveTheGate,
		s.finish,
	} {
		if err := phase(ctx); err != nil {
			return err
		}
	}
	if !o.Interactive {
		return nil
	}
	return s.keepRunning(ctx)
}

// story is the demo as its phases tell it: each phase adds what the next
// ones need, and what must be stopped to close.
type story struct {
	o          Options
	out        io.Writer
	quiet      *slog.Logger
	start      time.Time
	bound      time.Duration // every wait's
	policyTime time.Time
	closers    []func() // run in reverse by close

	gh      *githubsim.Server
	kube    *realCluster // nil: the simulated cluster
	cfg     *cfgpkg.Config
	ep      serve.Endpoints
	tc      client.Client
	hookURL string

	pr       githubsim.PullRequest
	mergeSHA string
	follow   *follower
}

func newStory(o Options) *story {
	s := &story{o: o, out: o.Out, quiet: slog.New(slog.DiscardHandler), start: time.Now(),
		bound: cmp.Or(o.WaitBound, defaultWaitBound), policyTime: o.PolicyTime}
	if s.policyTime.IsZero() {
		s.policyTime = sim.PolicyTime()
	}
	return s
}

func (s *story) say(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }

func (s *story) step(format string, args ...any) { fmt.Fprintf(s.out, "\n==> "+format+"\n", args...) }

func (s *story) onClose(f func()) { s.closers = append(s.closers, f) }

// close stops what the phases started, last started first.
func (s *story) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// startGitHub starts the simulator with the people and acme/deploys.
func (s *story) startGitHub(ctx context.Context) error {
	s.step("Starting the GitHub simulator with acme/deploys (from %s)", s.o.Repo)
	s.gh = githubsim.New(githubsim.Options{})
	s.gh.Start()
	s.onClose(func() { s.gh.Close() })
	if err := SetupGitHub(ctx, s.gh, s.o.Repo, nil); err != nil {
		return err
	}
	s.say("    people: cy (opens the PR; in @acme/sre), ana and bo (@acme/sre), dan (write access, not an SRE)")
	return nil
}

// startServe runs `prdeploy serve` on the simulator (and the real cluster
// when there is one), connects to its Temporal server, and has the
// simulator deliver webhooks to it.
func (s *story) startServe(ctx context.Context) error {
	s.step("Starting prdeploy serve: embedded Temporal server and Web UI, webhook server, worker, status page")
	dir, err := os.MkdirTemp("", "prdeploy-demo-")
	if err != nil {
		return err
	}
	s.onClose(func() { os.RemoveAll(dir) })
	opts := serve.Options{Logger: s.quiet, Cluster: sim.NewCluster(s.o.RolloutTime), Probes: sim.NewProber(),
		PolicyClock: func() time.Time { return s.policyTime }}
	if s.o.Kubeconfig != "" {
		if s.kube, err = setUpCluster(ctx, s.o.Kubeconfig, dir, s.o.Repo, "prod-eu", []string{"globex", "initech", "umbrella"}); err != nil {
			return fmt.Errorf("setting up the cluster of %s: %w", s.o.Kubeconfig, err)
		}
		opts.Cluster, opts.Probes = nil, nil
	}
	if s.cfg, err = config(s.gh, dir, s.o, s.kube); err != nil {
		return err
	}
	if err := s.serve(ctx, opts); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, s.bound)
	s.tc, err = client.DialContext(dctx, client.Options{HostPort: s.ep.Temporal, Namespace: s.cfg.Temporal.Namespace, Logger: sdklog.NewStructuredLogger(s.quiet)})
	cancel()
	if err != nil {
		return fmt.Errorf("connecting to the embedded Temporal server at %s: %w", s.ep.Temporal, err)
	}
	s.onClose(s.tc.Close)
	s.hookURL = "http://" + s.ep.Addr + webhook.Path
	s.gh.AddHook(githubsim.Hook{URL: s.hookURL, Secret: secret, Repo: "acme/deploys"})
	s.sayWhereThingsAre()
	return nil
}

// serve runs `prdeploy serve` until the story closes, and waits until it
// listens.
func (s *story) serve(ctx context.Context, opts serve.Options) error {
	sctx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	ready, served := make(chan serve.Endpoints, 1), make(chan error, 1)
	opts.Ready = func(e serve.Endpoints) { ready <- e }
	go func() { served <- serve.Serve(sctx, s.cfg, opts) }()
	s.onClose(func() {
		stopServe()
		<-served
	})
	select {
	case s.ep = <-ready:
		return nil
	case err := <-served:
		return fmt.Errorf("prdeploy serve: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(s.bound):
		return fmt.Errorf("gave up after %v waiting for prdeploy serve to start (embedded Temporal server, webhook server, worker)", s.bound)
	}
}

func (s *story) sayWhereThingsAre() {
	s.say("    status page:     %s", s.ep.StatusPage)
	if s.ep.TemporalUI != "" {
		s.say("    Temporal Web UI: %s", s.ep.TemporalUI)
	}
	s.say("    webhooks:        %s (signed deliveries from the simulator); worker on task queue %q", s.hookURL, workflows.TaskQueue)
	if s.kube != nil {
		s.say("    cluster:         prod-eu = the local Kubernetes control plane (%s); namespaces %s created", s.o.Kubeconfig, strings.Join(slices.Sorted(maps.Values(s.kube.namespaces)), ", "))
	} else {
		s.say("    cluster:         SIMULATED — each service rolls out in %v (no Kubernetes control plane here yet: `make kube-binaries` builds one; `make test` runs the real adapters against it)", s.o.RolloutTime)
	}
	s.say("    policy clock:    %s, fixed so that the story is the same on any day (the example's policies/freezes.yaml", s.policyTime.Format("Mon 2006-01-02 15:04 MST"))
	s.say("                     denies production deploys in its holiday freeze and on Friday afternoons; prdeploy serve judges at the wall clock)")
	s.say("    started in %v", time.Since(s.start).Round(100*time.Millisecond))
}

// openPullRequest has cy open the PR and shows its plan check, which must
// succeed for the story to go on.
func (s *story) openPullRequest(ctx context.Context) error {
	s.step("cy pushes deploys/web-7.yaml and opens a pull request")
	if _, err := s.gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "web-7", Files: map[string]string{"deploys/web-7.yaml": Plan}, Message: "web 7.0.0"}); err != nil {
		return err
	}
	var err error
	s.pr, err = s.gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "web-7", Base: "main", Title: "web 7.0.0 to three prod-eu tenants", Author: "cy"})
	if err != nil {
		return err
	}
	planRun, err := waitRun(ctx, s.gh, s.pr.HeadSHA, prepare.PlanCheckName, s.bound, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	if err != nil {
		return err
	}
	s.say("    PR #%d; check run %s: %s — %s", s.pr.Number, prepare.PlanCheckName, planRun.Conclusion, planRun.Title)
	s.say("%s", indent(firstLines(planRun.Summary, 30)))
	if planRun.Conclusion != "success" {
		why := fmt.Sprintf("the demo's plan does not fit the fleet of %s (it deploys web to globex, initech and umbrella in prod-eu)", s.o.Repo)
		if reasons := denials(planRun.Summary); len(reasons) > 0 {
			why = fmt.Sprintf("the policies of %s deny the demo's plan at the policy clock, %s: %s", s.o.Repo, s.policyTime.Format(time.RFC3339), strings.Join(reasons, "; "))
		}
		return fmt.Errorf("the plan check of deploys/web-7.yaml failed (%s: %s): %s", planRun.Conclusion, planRun.Title, why)
	}
	return nil
}

// mergeUntilTheGate has dan merge, and follows the rollout until the
// canary gate waits and prdeploy said so on the PR.
func (s *story) mergeUntilTheGate(ctx context.Context) error {
	s.step("dan merges PR #%d (the merger cannot approve its gates)", s.pr.Number)
	var err error
	if s.mergeSHA, err = s.gh.MergePullRequest(ctx, "acme/deploys", s.pr.Number, githubsim.MergeOptions{Actor: "dan"}); err != nil {
		return err
	}
	s.say("    merge commit %s; prdeploy starts deploy:prod-eu/web-7 — watch it live at %s/prod-eu/web-7", s.mergeSHA[:12], s.ep.StatusPage)
	s.follow = &follower{say: s.say, poll: 200 * time.Millisecond, bound: s.bound,
		describe: func(ctx context.Context) (workflows.Status, error) {
			return workflows.Describe(ctx, s.tc, "prod-eu", "web-7")
		}}
	atGate, err := s.follow.until(ctx, "the canary gate after-canary to wait for approvals", func(st workflows.Status) bool {
		return len(st.Gates) > 0 && !st.Gates[0].WaitingSince.IsZero()
	})
	if err != nil {
		return err
	}
	table(s.out, atGate)
	// The reporter posts the gate's milestone; wait for it, as people would.
	return waitComment(ctx, s.gh, s.pr.Number, "waiting at gate `after-canary`", s.bound)
}

// approveTheGate: a non-SRE and the PR's author are refused, two SREs
// open the gate.
func (s *story) approveTheGate(ctx context.Context) error {
	s.step("The canary is healthy; gate after-canary waits (prdeploy said so on the PR). People comment:")
	for _, c := range []struct{ who, body string }{{"dan", "/approve"}, {"cy", "/approve"}, {"ana", "/approve canary looks good"}, {"bo", "/approve"}} {
		cm, err := s.gh.AddComment(ctx, "acme/deploys", s.pr.Number, c.who, c.body)
		if err != nil {
			return err
		}
		outcome, err := commandOutcome(ctx, s.tc, cm.ID, s.bound)
		if err != nil {
			return err
		}
		s.say("    %-4s %-28q → %s", c.who, c.body, outcome)
	}
	return nil
}

// finish follows the rollout to its end, shows how it ended, and fails
// unless it succeeded.
func (s *story) finish(ctx context.Context) error {
	final, err := s.follow.until(ctx, "the rollout to end", func(st workflows.Status) bool { return statuspage.Finished(st.Phase) })
	if err != nil {
		return err
	}
	deployRun, err := waitRun(ctx, s.gh, s.mergeSHA, workflows.DeployCheckName, s.bound, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	if err != nil {
		return err
	}
	if final.Phase == workflows.PhaseSucceeded {
		// The reporter posts the last milestone after the check run.
		if err := waitComment(ctx, s.gh, s.pr.Number, "`web-7` in `prod-eu` completed", s.bound); err != nil {
			return err
		}
	}

	if err := s.showTheEnd(ctx, final, deployRun); err != nil {
		return err
	}
	if final.Phase != workflows.PhaseSucceeded || deployRun.Conclusion != "success" {
		return fmt.Errorf("the deployment ended %s (check run: %s)", final.Phase, deployRun.Conclusion)
	}
	return nil
}

// showTheEnd shows the rollout, its deploy check run, the PR's comments
// and, on a real cluster, the Deployments.
func (s *story) showTheEnd(ctx context.Context, final workflows.Status, deployRun githubsim.CheckRun) error {
	s.step("Done in %v: %s", time.Since(s.start).Round(100*time.Millisecond), final.Phase)
	table(s.out, final)
	s.say("    check run %s on %s: %s — %s", workflows.DeployCheckName, s.mergeSHA[:12], deployRun.Conclusion, deployRun.Title)
	s.say("    its details link: %s", deployRun.DetailsURL)
	comments, _ := s.gh.Comments("acme/deploys", s.pr.Number)
	s.say("    comments on PR #%d:", s.pr.Number)
	for _, c := range comments {
		s.say("      %s: %s", c.Author, headline(c.Body))
	}
	if s.kube != nil {
		deps, err := s.kube.deployments(ctx)
		if err != nil {
			return err
		}
		s.say("    in the cluster:")
		for _, d := range deps {
			s.say("      %s", d)
		}
	}
	return nil
}

// keepRunning says where everything is and waits for Ctrl-C (or ctx).
func (s *story) keepRunning(ctx context.Context) error {
	s.step("Everything keeps running; Ctrl-C to stop")
	s.say("    status page:          %s", s.ep.StatusPage)
	if s.ep.TemporalUI != "" {
		s.say("    Temporal Web UI:      %s", s.ep.TemporalUI)
	}
	s.say("    GitHub simulator API: %s   Temporal frontend: %s   webhooks: %s", s.gh.APIURL(), s.ep.Temporal, s.hookURL)
	sig, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-sig.Done()
	return nil
}

// SetupGitHub gives the simulator the demo's people and the repository
// acme/deploys made from repo plus files: cy, ana, bo and dan have write
// access; ana, bo and cy are in @acme/sre (cy opens the PRs).
func SetupGitHub(ctx context.Context, gh *githubsim.Server, repo string, files map[string]string) error {
	for _, u := range []string{"cy", "ana", "bo", "dan"} {
		if _, err := gh.AddUser(u, githubsim.UserOptions{}); err != nil {
			return err
		}
	}
	if err := gh.AddTeam("acme", "sre", githubsim.TeamOptions{}); err != nil {
		return err
	}
	for _, u := range []string{"ana", "bo", "cy"} {
		if err := gh.AddTeamMember("acme", "sre", u, githubsim.TeamMember{}); err != nil {
			return err
		}
	}
	if _, err := gh.CreateRepo(ctx, githubsim.RepoSpec{Repo: "acme/deploys", Dir: repo, Files: files}); err != nil {
		return fmt.Errorf("loading %s: %w", repo, err)
	}
	for _, u := range []string{"cy", "ana", "bo", "dan"} {
		if err := gh.SetPermission("acme/deploys", u, "write"); err != nil {
			return err
		}
	}
	return nil
}

// waitRun waits for a check run that satisfies ok.
func waitRun(ctx context.Context, gh *githubsim.Server, sha, name string, bound time.Duration, ok func(githubsim.CheckRun) bool) (githubsim.CheckRun, error) {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		runs, _ := gh.CheckRuns("acme/deploys", sha)
		for _, r := range runs {
			if r.Name == name && ok(r) {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return githubsim.CheckRun{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return githubsim.CheckRun{}, fmt.Errorf("gave up after %v waiting for check run %s on %s to complete", bound, name, sha[:12])
}

// commandOutcome waits for the PRCommand of a comment and says how it went.
func commandOutcome(ctx context.Context, c client.Client, commentID int64, bound time.Duration) (string, error) {
	id := workflows.PRCommandWorkflowID("acme/deploys", workflows.SourceComment, fmt.Sprint(commentID))
	deadline := time.Now().Add(bound)
	for {
		var out []workflows.CommandOutcome
		// Get waits for the workflow to close: bounded too.
		gctx, cancel := context.WithDeadline(ctx, deadline)
		err := c.GetWorkflow(gctx, id, "").Get(gctx, &out)
		cancel()
		if err == nil {
			if len(out) == 0 {
				return "nothing to do", nil
			}
			if out[0].OK {
				return "👍 " + out[0].Message, nil
			}
			return "✗ " + out[0].Message, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("gave up after %v waiting for the command of comment %d to be handled (workflow %s): %w", bound, commentID, id, err)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		select { // the workflow may not have started yet
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// follower prints a deployment's progress line each time it changes.
type follower struct {
	describe func(context.Context) (workflows.Status, error)
	say      func(format string, args ...any)
	poll     time.Duration
	bound    time.Duration
	last     string
}

// until waits until the deployment satisfies ok. It gives up, saying what
// it waited for and where the deployment is, when the deployment ended
// another way or after f.bound.
func (f *follower) until(ctx context.Context, what string, ok func(workflows.Status) bool) (workflows.Status, error) {
	deadline := time.Now().Add(f.bound)
	var st workflows.Status
	var lastErr error
	for {
		cur, err := f.describe(ctx)
		if err == nil {
			st, lastErr = cur, nil
			if line := progressLine(st); line != f.last {
				f.say("    %s", line)
				f.last = line
			}
			if ok(st) {
				return st, nil
			}
			if statuspage.Finished(st.Phase) {
				return st, fmt.Errorf("the deployment ended %s (%d/%d tenants succeeded)%s while the demo waited for %s", st.Phase, st.Counts[workflows.TenantSucceeded], st.Total, why(st), what)
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			where := "its status could not be read"
			if lastErr == nil {
				where = "it is " + progressLine(st) + why(st)
			} else {
				where += ": " + lastErr.Error()
			}
			return st, fmt.Errorf("gave up after %v waiting for %s; %s", f.bound, what, where)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(f.poll):
		}
	}
}

// why says why a deployment stopped or paused, when it says.
func why(st workflows.Status) string {
	var reasons []string
	for _, r := range []string{st.Error, st.StopReason, st.PauseReason} {
		if r != "" {
			reasons = append(reasons, r)
		}
	}
	for _, t := range st.Tenants {
		if t.Failure != "" {
			reasons = append(reasons, t.Tenant+": "+t.Failure)
		}
	}
	if len(reasons) == 0 {
		return ""
	}
	return " (" + strings.Join(reasons, "; ") + ")"
}

func progressLine(st workflows.Status) string {
	done := st.Counts[workflows.TenantSucceeded]
	const width = 20
	n := 0
	if st.Total > 0 {
		n = done * width / st.Total
	}
	bar := strings.Repeat("█", n) + strings.Repeat("░", width-n)
	var running []string
	for _, t := range st.Tenants {
		if t.Phase != workflows.TenantSucceeded {
			running = append(running, t.Tenant+" "+t.Phase)
		}
	}
	line := fmt.Sprintf("[%s] %d/%d  %s", bar, done, st.Total, st.Phase)
	if len(running) > 0 {
		line += "  (" + strings.Join(running, ", ") + ")"
	}
	return line
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "    | " + strings.ReplaceAll(s, "\n", "\n    | ")
}

// headline is a comment's first line of text (not a hidden marker).
func headline(body string) string {
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "<!--") {
			return l
		}
	}
	return ""
}

// waitComment waits for a comment on the PR that contains text.
func waitComment(ctx context.Context, gh *githubsim.Server, pr int, text string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		comments, _ := gh.Comments("acme/deploys", pr)
		for _, c := range comments {
			if strings.Contains(c.Body, text) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("gave up after %v waiting for a comment saying %q on PR #%d", bound, text, pr)
}

// config is serve's configuration for the demo: the simulator as GitHub,
// everything else embedded in dir; secrets in files, as in production.
func config(gh *githubsim.Server, dir string, o Options, kube *realCluster) (*cfgpkg.Config, error) {
	token, err := gh.Token(gh.BotLogin())
	if err != nil {
		return nil, err
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		return nil, err
	}
	files := map[string]string{"token": token, "webhook-secret": secret, "payload-key": "base64key://" + base64.URLEncoding.EncodeToString(key[:])}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			return nil, err
		}
	}
	yaml := fmt.Sprintf(`listen: %q
dataDir: %s
temporal: {listen: "127.0.0.1:0", uiListen: %q}
metrics: {listen: "127.0.0.1:0"}
github:
  apiURL: %s
  token: file:%s
  webhookSecrets: file:%s
  repo: acme/deploys
  org: acme
payloads:
  keys: {demo: file:%s}
`, cmp.Or(o.Listen, "127.0.0.1:0"), dir, cmp.Or(o.UIListen, "127.0.0.1:0"), gh.APIURL(),
		filepath.Join(dir, "token"), filepath.Join(dir, "webhook-secret"), filepath.Join(dir, "payload-key"))
	if kube != nil {
		yaml += fmt.Sprintf("clusters: {kubeconfig: %s}\n", kube.kubeconfig)
	}
	return cfgpkg.Parse("demo.yaml", []byte(yaml))
}

// table prints the deployment as `prdeploy status` does, indented.
func table(out io.Writer, st workflows.Status) {
	var b strings.Builder
	_ = statuspage.WriteText(&b, statuspage.Build(st, statuspage.Links{}, time.Now()))
	fmt.Fprint(out, indent(strings.TrimRight(b.String(), "\n"))+"\n")
}
