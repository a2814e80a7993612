package prepare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

// PlanCheckName is the check run a pull request's plans get.
const PlanCheckName = "prdeploy/plan"

// maxAnnotations bounds the annotations of one check run (GitHub takes 50
// per request; a plan with more problems than this is shown in the text).
const maxAnnotations = 500

// ClusterPreviewer tells what applying rendered manifests would do in
// each tenant's cluster now, changing nothing (internal/kube.Previewer).
// A cluster it cannot reach is said so in its tenants' previews.
type ClusterPreviewer interface {
	Preview(ctx context.Context, targets []planner.PreviewTarget) []planner.TenantPreview
}

// previewTimeout bounds the live diffs of one plan check together: they
// run inside the PlanPR activity (5 minutes), with the rendering.
const previewTimeout = 2 * time.Minute

// PlanChecker checks the plans a pull request adds or changes, and says
// what they will do, on the PR.
type PlanChecker struct {
	Repos    Checkouts
	Checks   workflows.CheckRuns
	Comments workflows.PRComments
	// Locks, when set, says which locks the plan would wait on now.
	Locks workflows.LockPreview
	// PullRequests, when set, reads the PR's facts from GitHub (labels,
	// changed files, the author's teams): the policies judge the PR by
	// the same facts as at its gates. Without it, the webhook's labels.
	PullRequests workflows.PullRequests
	// Preview, when set, diffs each tenant's rendered manifests against
	// its cluster (a server-side dry run); without it the check renders
	// only.
	Preview ClusterPreviewer
	// Archive, when set, keeps each head's complete preview (every tenant
	// of every plan) for the status page; PreviewURL is then the check
	// run's details URL.
	Archive    PreviewArchive
	PreviewURL func(repo string, pr int, headSHA string) string
	// StatusURL, when set, is the check run's details URL otherwise.
	StatusURL string
	Now       func() time.Time
}

// PreviewArchive keeps the complete preview of a pull request's head
// (internal/payload, encrypted like manifests).
type PreviewArchive interface {
	SavePreview(ctx context.Context, r planner.PreviewReport) error
}

var _ workflows.PlanPRChecker = (*PlanChecker)(nil)

// CheckPR reads the head commit (plans) and the base commit (policies,
// never the head's: a PR cannot loosen the rules it is judged by),
// publishes the prdeploy/plan check run on the head commit, and keeps one
// prdeploy comment on the PR with the same summary. Every changed plan is
// expanded, judged, rendered for every tenant × service and, with a
// Preview, diffed against the tenants' clusters. A PR that changes what the
// next deploys apply (services/, tenants/, fleet.yaml, what kustomizations
// refer to) gets a check listing those tenants and services and their
// diff, also without a plan. A PR that changes neither gets nothing.
func (c *PlanChecker) CheckPR(ctx context.Context, in workflows.PlanPRInput) (workflows.PlanPRResult, error) {
	k := &prCheck{c: c, in: in, now: c.Now, conclusion: "success", deployed: map[string]bool{}, previewDeadline: time.Now().Add(previewTimeout)}
	if k.now == nil {
		k.now = time.Now
	}
	if err := k.read(ctx); err != nil || (len(k.plans) == 0 && len(k.inputs) == 0) {
		return workflows.PlanPRResult{}, err
	}
	k.res.Plans = k.plans
	if len(k.plans) > 0 {
		if moved, err := k.checkPlans(ctx); err != nil || moved {
			return workflows.PlanPRResult{}, err
		}
	}
	if len(k.inputs) > 0 {
		k.checkNextDeploys(ctx)
	}
	return k.res, k.publish(ctx)
}

// prCheck is one pull request's check as it is made: read the commits,
// check the plans, check the next deploys, publish.
type prCheck struct {
	c   *PlanChecker
	in  workflows.PlanPRInput
	now func() time.Time
	// previewDeadline bounds every live diff of the check together.
	previewDeadline time.Time

	head, base     fs.FS
	repo, baseRepo *planner.Repo
	loadErr        error
	plans          []string // the plan files the PR adds or changes
	inputs         []string // the other files that change what deploys apply

	view        checkView
	archive     planner.PreviewReport
	annotations []workflows.Annotation
	conclusion  string
	deployed    map[string]bool // tenant/service pairs the plans deploy
	res         workflows.PlanPRResult
}

// read checks out the head and the base and finds what the PR changes.
func (k *prCheck) read(ctx context.Context) error {
	var err error
	if k.head, err = k.c.Repos.Checkout(ctx, k.in.Repo, k.in.HeadSHA); err != nil {
		return k.c.unreadable(ctx, k.in, fmt.Errorf("checking out the head %s: %w", short(k.in.HeadSHA), err))
	}
	if k.base, err = k.c.Repos.Checkout(ctx, k.in.Repo, k.in.BaseSHA); err != nil {
		return k.c.unreadable(ctx, k.in, fmt.Errorf("checking out the base %s: %w", short(k.in.BaseSHA), err))
	}
	if k.plans, err = changedPlans(k.head, k.base); err != nil {
		return err
	}
	files, err := changedUnder(k.head, k.base, ".")
	if err != nil {
		return err
	}
	// A deployment id the PR reuses is blamed on the plan it adds.
	k.repo, k.loadErr = planner.LoadRepoWith(k.head, planner.LoadOptions{Changed: k.plans})
	var baseFleet *planner.Fleet
	if slices.ContainsFunc(files, func(f string) bool { return !planOrPolicy(f) }) {
		// The base's own problems are not this PR's: what does not load
		// there counts as changed.
		k.baseRepo, _ = planner.LoadRepo(k.base)
		baseFleet = k.baseRepo.Fleet
	}
	k.inputs = deployInputs(files, k.head, k.base, k.repo.Fleet, baseFleet)
	k.view = checkView{BaseRef: k.in.BaseRef}
	policiesChanged, err := changedUnder(k.head, k.base, planner.PoliciesDir)
	if err != nil {
		return err
	}
	if len(policiesChanged) > 0 {
		k.view.PoliciesChanged = codeList(policiesChanged)
	}
	k.archive = planner.PreviewReport{Repo: k.in.Repo, PR: k.in.PR, HeadSHA: k.in.HeadSHA, At: k.now().UTC()}
	return nil
}

func (k *prCheck) annotate(anns ...workflows.Annotation) {
	k.annotations = append(k.annotations, anns[:min(len(anns), maxAnnotations-len(k.annotations))]...)
}

// checkPlans judges, renders and previews each changed plan. moved says
// that the PR has a newer head, whose own check judges it.
func (k *prCheck) checkPlans(ctx context.Context) (moved bool, err error) {
	in := k.in
	rules, polErr := policies.Load(k.base, policies.Revision{Ref: in.BaseRef, SHA: in.BaseSHA})
	facts := workflows.PRFacts{Number: in.PR, Author: in.Author, Labels: in.Labels, BaseRef: in.BaseRef, HeadSHA: in.HeadSHA}
	var factsErr error
	if k.c.PullRequests != nil {
		f, err := k.c.PullRequests.PullRequestFacts(ctx, in.Repo, in.PR)
		switch {
		case err != nil && !errors.As(err, new(workflows.PermanentError)):
			return false, fmt.Errorf("reading the pull request's facts: %w", err)
		case err != nil:
			factsErr = err
		case f.HeadSHA != in.HeadSHA:
			// The PR moved since this event: the check of the new head
			// (its synchronize event) judges it.
			return true, nil
		default:
			facts = f
		}
	}
	judge := func(exec *planner.ExecutionPlan) (policies.Decision, error) {
		pr, actor := facts.Policy()
		switch {
		case factsErr != nil:
			return policies.LoadFailed(policies.Revision{Ref: in.BaseRef, SHA: in.BaseSHA}, fmt.Errorf("the pull request's facts could not be read from GitHub, so the policies cannot judge it: %w", factsErr)), nil
		case polErr != nil:
			return policies.LoadFailed(policies.Revision{Ref: in.BaseRef, SHA: in.BaseSHA}, polErr), nil
		}
		d, err := rules.Evaluate(policies.Input{Plan: exec, PR: pr, Actor: actor, Now: k.now()})
		if err != nil {
			return d, workflows.Permanent(err)
		}
		return d, nil
	}
	for _, file := range k.plans {
		if err := k.checkPlan(ctx, file, judge); err != nil {
			return false, err
		}
	}
	return false, nil
}

// checkPlan expands, judges, renders and previews one plan.
func (k *prCheck) checkPlan(ctx context.Context, file string, judge func(*planner.ExecutionPlan) (policies.Decision, error)) error {
	pv := planView{File: file}
	defer func() { k.view.Plans = append(k.view.Plans, pv) }()
	errs := planner.Errors(k.loadErr, file)
	var exec *planner.ExecutionPlan
	if len(errs) == 0 {
		plan, _ := k.repo.Plan(file)
		var err error
		if exec, err = planner.Expand(plan, k.repo.Fleet); err != nil {
			errs = planner.Errors(err, file)
		}
	}
	if len(errs) > 0 {
		k.conclusion = "failure"
		for _, e := range errs {
			pv.Problems = append(pv.Problems, e.Error())
			k.annotate(annotation(e, file))
		}
		return nil
	}
	k.res.Deployments = append(k.res.Deployments, exec.Deployment)
	pv.Plan = exec.Markdown()
	for _, w := range exec.Waves {
		for _, t := range w.Tenants {
			for _, s := range t.Services {
				k.deployed[t.Name+"/"+s] = true
			}
		}
	}
	rendered := RenderPlan(k.repo, exec)
	pv.Render = newRenderView(rendered, false)
	if len(rendered.Problems) > 0 {
		k.conclusion = "failure"
		k.annotate(rendered.Annotations(maxAnnotations)...)
	}
	decision, err := judge(exec)
	if err != nil {
		return err
	}
	if decision.Verdict == policies.VerdictDeny {
		k.conclusion = "failure"
	}
	pv.Decision = decision.Markdown()
	pv.Locks = k.c.lockConflicts(ctx, exec)
	var ps []planner.TenantPreview
	pv.Preview, ps = k.preview(ctx, rendered, exec.TenantCount(), fmt.Sprintf("`prdeploy plan diff %s` prints every tenant", file))
	if pv.Preview != nil {
		k.archive.Plans = append(k.archive.Plans, planner.PreviewSection{File: file, Deployment: exec.Deployment, Problems: problemTexts(rendered), Tenants: ps})
	}
	return nil
}

// checkNextDeploys lists the tenant services whose next deploy the PR
// changes (beyond its plans') and previews them.
func (k *prCheck) checkNextDeploys(ctx context.Context) {
	nv := &nextView{Inputs: codeList(k.inputs), WithPlans: len(k.plans) > 0}
	k.view.Next = nv
	if fleetErrs := planner.Errors(k.loadErr, planner.FleetFile); len(fleetErrs) > 0 || k.repo.Fleet == nil {
		// The fleet does not load: its problems are the check's.
		k.conclusion = "failure"
		for _, e := range fleetErrs {
			k.annotate(annotation(e, planner.FleetFile))
			nv.Render.Problems = append(nv.Render.Problems, RenderProblem{Text: e.Error(), Targets: []string{"every tenant"}})
		}
		nv.Render.Next = true
		return
	}
	rendered := RenderNextDeploys(k.repo, k.baseRepo, k.deployed)
	nv.Render = newRenderView(rendered, true)
	if len(rendered.Problems) > 0 {
		k.conclusion = "failure"
		k.annotate(rendered.Annotations(maxAnnotations)...)
	}
	nv.Pairs = pairsByService(rendered.Changed)
	if len(rendered.Changed) == 0 {
		return
	}
	var ps []planner.TenantPreview
	nv.Preview, ps = k.preview(ctx, rendered, len(rendered.Targets), "`prdeploy plan diff --next` prints every tenant")
	if nv.Preview != nil {
		nv.Preview.Next, nv.Preview.Keep = true, true
		k.archive.Next = &planner.PreviewSection{Problems: problemTexts(rendered), Tenants: ps}
	}
}

// publish keeps the complete preview for the status page, and publishes
// the check run and (for plans) the PR comment.
func (k *prCheck) publish(ctx context.Context) error {
	in := k.in
	k.res.Conclusion = k.conclusion
	details := k.c.StatusURL
	if k.c.Archive != nil && (len(k.archive.Plans) > 0 || k.archive.Next != nil) {
		if err := k.c.Archive.SavePreview(ctx, k.archive); err != nil {
			k.view.ArchiveErr = err.Error()
		} else if k.c.PreviewURL != nil {
			details = k.c.PreviewURL(in.Repo, in.PR, in.HeadSHA)
			k.view.eachPreview(func(p *previewView) { p.Elsewhere = "the status page (the check's Details link) and " + p.Elsewhere })
		}
	}
	title := checkTitle(len(k.plans), k.view.Next, k.conclusion)
	body := renderCheck(k.view, workflows.MaxReportText-400)
	report := workflows.Report{Title: title, Summary: clip(body), Status: "completed", Conclusion: k.conclusion}
	if len(k.annotations) == maxAnnotations {
		report.Text = fmt.Sprintf("Only the first %d problems are annotated.", maxAnnotations)
	}
	if _, err := k.c.Checks.PublishCheckRun(ctx, workflows.CheckRun{
		Repo: in.Repo, HeadSHA: in.HeadSHA, Name: PlanCheckName, ExternalID: fmt.Sprintf("plan:%s#%d", in.Repo, in.PR),
		DetailsURL: details, Report: report, Annotations: k.annotations,
	}); err != nil {
		return fmt.Errorf("publishing the plan check: %w", err)
	}
	if len(k.plans) == 0 {
		return nil // the check says it; a comment would repeat it on every such PR
	}
	comment := fmt.Sprintf("### prdeploy: %s\n\nChecked at %s (policies from `%s` at %s).\n\n%s", title, short(in.HeadSHA), in.BaseRef, short(in.BaseSHA), body)
	if err := k.c.Comments.UpsertComment(ctx, in.Repo, in.PR, "plan", clip(comment)); err != nil {
		return fmt.Errorf("updating the PR comment: %w", err)
	}
	return nil
}

// preview diffs the rendered tenants against their clusters, or says
// nothing without a Preview. Every preview of the check shares one
// deadline: the tenants it leaves say so.
func (k *prCheck) preview(ctx context.Context, r RenderedPlan, tenants int, elsewhere string) (*previewView, []planner.TenantPreview) {
	if k.c.Preview == nil {
		return nil, nil
	}
	ctx, cancel := context.WithDeadline(ctx, k.previewDeadline)
	defer cancel()
	trusted, refused := whereTheBaseSays(r.Targets, k.baseFleet())
	ps := append(k.c.Preview.Preview(ctx, trusted), refused...)
	return newPreviewView(ps, k.now(), max(0, tenants-len(r.Targets)), elsewhere), ps
}

// baseFleet is the base's fleet, or nil when it does not load.
func (k *prCheck) baseFleet() *planner.Fleet {
	if k.baseRepo == nil {
		k.baseRepo, _ = planner.LoadRepo(k.base)
	}
	return k.baseRepo.Fleet
}

// whereTheBaseSays keeps the targets whose tenant the base's fleet.yaml
// has in the same cluster and namespace, with the base's kubeconfig
// context: a pull request cannot point the preview, which reads live
// objects and shows their fields, at another cluster or namespace. The
// others are not previewed, and say why.
func whereTheBaseSays(targets []planner.PreviewTarget, base *planner.Fleet) (kept []planner.PreviewTarget, refused []planner.TenantPreview) {
	for _, t := range targets {
		var ft *planner.FleetTenant
		if base != nil {
			for i := range base.Tenants {
				if base.Tenants[i].Name == t.Tenant {
					ft = &base.Tenants[i]
				}
			}
		}
		if ft == nil || ft.Cluster != t.Cluster || ft.Namespace != t.Namespace {
			refused = append(refused, planner.TenantPreview{Tenant: t.Tenant, Cluster: t.Cluster, Namespace: t.Namespace, Status: planner.PreviewSkipped,
				Message: "not previewed: the base's fleet.yaml does not have this tenant in this cluster and namespace (a pull request cannot point the preview elsewhere)"})
			continue
		}
		t.KubeContext = ""
		if c, ok := base.Cluster(t.Cluster); ok {
			t.KubeContext = c.KubeContext
		}
		kept = append(kept, t)
	}
	return kept, refused
}

// problemTexts are the render problems as the check lists them.
func problemTexts(r RenderedPlan) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, fmt.Sprintf("%s: %s", strings.Join(p.Targets, ", "), p.Text))
	}
	return out
}

// checkTitle is the check run's title.
func checkTitle(plans int, next *nextView, conclusion string) string {
	switch {
	case plans > 0 && conclusion == "failure":
		return fmt.Sprintf("%d plan%s cannot deploy as they are", plans, plural(plans))
	case plans > 0:
		return fmt.Sprintf("%d plan%s ready to deploy", plans, plural(plans))
	case conclusion == "failure":
		return "No plan: the next deploys would fail to render"
	}
	n := 0
	for _, p := range next.Pairs {
		n += len(p.Tenants)
	}
	if n == 0 {
		return "No plan: the next deploys apply the same manifests"
	}
	if n == 1 {
		return "No plan: 1 tenant service changes at its next deploy"
	}
	return fmt.Sprintf("No plan: %d tenant services change at their next deploy", n)
}

// pairsByService groups tenant/service pairs by service, services sorted,
// tenants in the order given.
func pairsByService(pairs []string) []pairView {
	by := map[string][]string{}
	for _, p := range pairs {
		tenant, service, _ := strings.Cut(p, "/")
		by[service] = append(by[service], tenant)
	}
	var out []pairView
	for _, s := range slices.Sorted(maps.Keys(by)) {
		out = append(out, pairView{Service: s, Tenants: by[s]})
	}
	return out
}

// planOrPolicy says whether a file is a plan or a policy (or below
// their directories).
func planOrPolicy(name string) bool {
	return strings.HasPrefix(name, planner.PlansDir+"/") || strings.HasPrefix(name, planner.PoliciesDir+"/")
}

// unreadable fails the plan check of a PR whose commits cannot be read
// for good (a commit larger than prdeploy reads), so the PR says why
// instead of showing no check at all; other errors are returned to be
// retried.
func (c *PlanChecker) unreadable(ctx context.Context, in workflows.PlanPRInput, err error) error {
	if !errors.As(err, new(workflows.PermanentError)) {
		return err
	}
	report := workflows.Report{Title: "prdeploy cannot read this pull request", Status: "completed", Conclusion: "failure",
		Summary: clip(fmt.Sprintf("❌ %s\n\nNothing in this pull request can deploy until its commits can be read.\n", strings.ReplaceAll(err.Error(), "\n", " ")))}
	if _, perr := c.Checks.PublishCheckRun(ctx, workflows.CheckRun{
		Repo: in.Repo, HeadSHA: in.HeadSHA, Name: PlanCheckName, ExternalID: fmt.Sprintf("plan:%s#%d", in.Repo, in.PR),
		DetailsURL: c.StatusURL, Report: report,
	}); perr != nil {
		return fmt.Errorf("publishing the plan check: %w", perr)
	}
	return err
}

// changedUnder lists the files under dir that head and base hold
// differently (added, changed or removed), sorted.
func changedUnder(head, base fs.FS, dir string) ([]string, error) {
	files := map[string]bool{}
	for _, fsys := range []fs.FS{head, base} {
		err := fs.WalkDir(fsys, dir, func(name string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && name == dir {
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files[name] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	return differing(head, base, names)
}

// differing keeps the names head and base hold differently, sorted.
func differing(head, base fs.FS, names []string) ([]string, error) {
	var out []string
	for _, name := range names {
		d, err := differ(head, base, name)
		if err != nil {
			return nil, err
		}
		if d {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// digester is a file system that knows its files' Git blob hashes
// (gitrepo's), so files are compared without reading them: a file too
// large to read still compares.
type digester interface {
	Digest(name string) (string, bool)
}

// differ says whether head and base hold name differently (one of them
// lacking it counts).
func differ(head, base fs.FS, name string) (bool, error) {
	if hd, ok := head.(digester); ok {
		if bd, ok := base.(digester); ok {
			h, hok := hd.Digest(name)
			b, bok := bd.Digest(name)
			return hok != bok || h != b, nil
		}
	}
	h, herr := fs.ReadFile(head, name)
	b, berr := fs.ReadFile(base, name)
	for _, err := range []error{herr, berr} {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return (herr == nil) != (berr == nil) || !bytes.Equal(h, b), nil
}

// codeList writes names as inline code, at most a few.
func codeList(names []string) string {
	const most = 5
	var parts []string
	for i, n := range names {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(names)-most))
			break
		}
		parts = append(parts, "`"+n+"`")
	}
	return strings.Join(parts, ", ")
}

// changedPlans lists the plan files of head that base lacks or holds
// differently, sorted.
func changedPlans(head, base fs.FS) ([]string, error) {
	names, err := fs.Glob(head, planner.PlansDir+"/*")
	if err != nil {
		return nil, err
	}
	var plans []string
	for _, name := range names {
		if planner.IsPlanFile(name) {
			plans = append(plans, name)
		}
	}
	return differing(head, base, plans)
}

func annotation(e planner.Error, file string) workflows.Annotation {
	path := e.File
	if path == "" {
		path = file
	}
	line := max(e.Line, 1)
	return workflows.Annotation{Path: path, StartLine: line, EndLine: line, Level: "failure", Title: "prdeploy", Message: e.Message}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// clip fits Markdown into a check-run summary or a comment.
func clip(s string) string {
	const limit = workflows.MaxReportText - 100
	if len(s) <= limit {
		return s
	}
	cut := s[:limit]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + "\n\n… (cut to fit GitHub's limit)\n"
}

// maxPreviewLocks bounds how many locks a plan check looks at.
const maxPreviewLocks = 5000

// lockConflicts says which locks of the plan are held now, and by whom:
// the rollout would wait for them.
func (c *PlanChecker) lockConflicts(ctx context.Context, exec *planner.ExecutionPlan) locksView {
	if c.Locks == nil {
		return locksView{Off: true}
	}
	var keys []workflows.LockKey
	for _, w := range exec.Waves {
		for _, t := range w.Tenants {
			for _, s := range t.Services {
				if len(keys) < maxPreviewLocks {
					keys = append(keys, workflows.LockKey{Cluster: t.Cluster, Tenant: t.Name, Service: s})
				}
			}
		}
	}
	held, err := c.Locks.HeldLocks(ctx, keys)
	if err != nil {
		return locksView{Err: err.Error()}
	}
	return locksView{Held: held}
}
