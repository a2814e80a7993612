package prepare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	// StatusURL, when set, is the check run's details URL.
	StatusURL string
	Now       func() time.Time
}

var _ workflows.PlanPRChecker = (*PlanChecker)(nil)

// CheckPR reads the head commit (plans) and the base commit (policies,
// never the head's: a PR cannot loosen the rules it is judged by),
// publishes the prdeploy/plan check run on the head commit, and keeps one
// prdeploy comment on the PR with the same summary. A PR that changes no
// plan gets neither.
func (c *PlanChecker) CheckPR(ctx context.Context, in workflows.PlanPRInput) (workflows.PlanPRResult, error) {
	var res workflows.PlanPRResult
	head, err := c.Repos.Checkout(ctx, in.Repo, in.HeadSHA)
	if err != nil {
		return res, c.unreadable(ctx, in, fmt.Errorf("checking out the head %s: %w", short(in.HeadSHA), err))
	}
	base, err := c.Repos.Checkout(ctx, in.Repo, in.BaseSHA)
	if err != nil {
		return res, c.unreadable(ctx, in, fmt.Errorf("checking out the base %s: %w", short(in.BaseSHA), err))
	}
	changed, err := changedPlans(head, base)
	if err != nil {
		return res, err
	}
	if len(changed) == 0 {
		return res, nil
	}
	res.Plans = changed
	// A deployment id the PR reuses is blamed on the plan it adds.
	repo, loadErr := planner.LoadRepoWith(head, planner.LoadOptions{Changed: changed})
	rules, polErr := policies.Load(base, policies.Revision{Ref: in.BaseRef, SHA: in.BaseSHA})
	facts := workflows.PRFacts{Number: in.PR, Author: in.Author, Labels: in.Labels, BaseRef: in.BaseRef, HeadSHA: in.HeadSHA}
	var factsErr error
	if c.PullRequests != nil {
		f, err := c.PullRequests.PullRequestFacts(ctx, in.Repo, in.PR)
		switch {
		case err != nil && !errors.As(err, new(workflows.PermanentError)):
			return res, fmt.Errorf("reading the pull request's facts: %w", err)
		case err != nil:
			factsErr = err
		case f.HeadSHA != in.HeadSHA:
			// The PR moved since this event: the check of the new head
			// (its synchronize event) judges it.
			return workflows.PlanPRResult{}, nil
		default:
			facts = f
		}
	}
	policiesChanged, err := changedUnder(head, base, planner.PoliciesDir)
	if err != nil {
		return res, err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}

	conclusion := "success"
	var summary strings.Builder
	var annotations []workflows.Annotation
	for _, file := range changed {
		fmt.Fprintf(&summary, "## `%s`\n\n", file)
		errs := planner.Errors(loadErr, file)
		if len(errs) > 0 {
			conclusion = "failure"
			fmt.Fprintf(&summary, "❌ **%d problem%s** — see the annotations on the files.\n\n", len(errs), plural(len(errs)))
			for _, e := range errs {
				summary.WriteString("- " + strings.ReplaceAll(e.Error(), "\n", " ") + "\n")
				if len(annotations) < maxAnnotations {
					annotations = append(annotations, annotation(e, file))
				}
			}
			summary.WriteString("\n")
			continue
		}
		plan, _ := repo.Plan(file)
		exec, err := planner.Expand(plan, repo.Fleet)
		if err != nil {
			conclusion = "failure"
			for _, e := range planner.Errors(err, file) {
				summary.WriteString("- " + e.Error() + "\n")
				if len(annotations) < maxAnnotations {
					annotations = append(annotations, annotation(e, file))
				}
			}
			continue
		}
		res.Deployments = append(res.Deployments, exec.Deployment)
		summary.WriteString(exec.Markdown() + "\n")
		md, anns := renderProblems(repo, exec, file) // boundary.go
		summary.WriteString(md)
		if len(anns) > 0 {
			conclusion = "failure"
			annotations = append(annotations, anns[:min(len(anns), maxAnnotations-len(annotations))]...)
		}
		var decision policies.Decision
		pr, actor := facts.Policy()
		switch {
		case factsErr != nil:
			decision = policies.LoadFailed(policies.Revision{Ref: in.BaseRef, SHA: in.BaseSHA}, fmt.Errorf("the pull request's facts could not be read from GitHub, so the policies cannot judge it: %w", factsErr))
		case polErr != nil:
			decision = policies.LoadFailed(policies.Revision{Ref: in.BaseRef, SHA: in.BaseSHA}, polErr)
		default:
			if decision, err = rules.Evaluate(policies.Input{Plan: exec, PR: pr, Actor: actor, Now: now()}); err != nil {
				return res, workflows.Permanent(err)
			}
		}
		if decision.Verdict == policies.VerdictDeny {
			conclusion = "failure"
		}
		summary.WriteString(decision.Markdown() + "\n")
		summary.WriteString(c.lockConflicts(ctx, exec))
	}
	res.Conclusion = conclusion
	title := fmt.Sprintf("%d plan%s ready to deploy", len(changed), plural(len(changed)))
	if conclusion == "failure" {
		title = fmt.Sprintf("%d plan%s cannot deploy as they are", len(changed), plural(len(changed)))
	}
	body := summary.String()
	if len(policiesChanged) > 0 {
		body = fmt.Sprintf("> [!NOTE]\n> This pull request changes the policies (%s). It is judged by the policies of `%s` as they are before it, at its plan check and at every gate of its rollout; its own changes govern the pull requests merged after it.\n\n", codeList(policiesChanged), in.BaseRef) + body
	}
	report := workflows.Report{Title: title, Summary: clip(body), Status: "completed", Conclusion: conclusion}
	if len(annotations) == maxAnnotations {
		report.Text = fmt.Sprintf("Only the first %d problems are annotated.", maxAnnotations)
	}
	if _, err := c.Checks.PublishCheckRun(ctx, workflows.CheckRun{
		Repo: in.Repo, HeadSHA: in.HeadSHA, Name: PlanCheckName, ExternalID: fmt.Sprintf("plan:%s#%d", in.Repo, in.PR),
		DetailsURL: c.StatusURL, Report: report, Annotations: annotations,
	}); err != nil {
		return res, fmt.Errorf("publishing the plan check: %w", err)
	}
	comment := fmt.Sprintf("### prdeploy: %s\n\nChecked at %s (policies from `%s` at %s).\n\n%s", title, short(in.HeadSHA), in.BaseRef, short(in.BaseSHA), body)
	if err := c.Comments.UpsertComment(ctx, in.Repo, in.PR, "plan", clip(comment)); err != nil {
		return res, fmt.Errorf("updating the PR comment: %w", err)
	}
	return res, nil
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
func (c *PlanChecker) lockConflicts(ctx context.Context, exec *planner.ExecutionPlan) string {
	if c.Locks == nil {
		return ""
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
		return fmt.Sprintf("**Locks:** could not be checked (%v).\n\n", err)
	}
	if len(held) == 0 {
		return "**Locks:** none of this plan's tenant/service locks is held now.\n\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**Locks held now** — the rollout would wait for %d of them:\n\n| lock | held by | since | also waiting | deployments in flight (oldest merge first) |\n|---|---|---|---|---|\n", len(held))
	ordered := false
	for i, h := range held {
		if i == 20 {
			fmt.Fprintf(&b, "\n… and %d more.\n", len(held)-20)
			break
		}
		var merges []string
		for _, m := range h.Merges {
			merges = append(merges, fmt.Sprintf("`%s` (merge `%s`)", m.Deployment, m.Merge))
		}
		ordered = ordered || len(merges) > 0
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %s |\n", h.Key, h.Holder, h.Since, h.Queued, strings.Join(merges, ", "))
	}
	b.WriteString("\n")
	if ordered {
		b.WriteString("**Which wins:** merged now, this PR is the newest merge of these tenants × services, so what it asks for is what runs there in the end. The deployments in flight finish the steps they have begun; their steps that have not applied yet are skipped as *superseded* (see [merge order](https://github.com/prdeploy/prdeploy/blob/main/docs/workflows.md)).\n\n")
	}
	return b.String()
}
