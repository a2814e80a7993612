package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
)

func newPlanCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Validate and show deploy plans",
	}
	cmd.AddCommand(newPlanValidateCmd(), newPlanShowCmd(), newPlanDiffCmd())
	return cmd
}

func newPlanValidateCmd() *cobra.Command {
	var repoDir, output string
	cmd := &cobra.Command{
		Use:   "validate [--repo DIR] [--output text|json] FILE|DIR...",
		Short: "Check deploy plans against the fleet and the policies; print file:line:col errors",
		Long: `Check deploy plans against the fleet (fleet.yaml) and check that the
repository's policies (policies/*.yaml) load, as the plan check of a pull
request does. A directory stands for every plan in it (the repository root
for its deploys/). The repository root is --repo, else the nearest directory
holding fleet.yaml above the first FILE or DIR (or the current directory).

Exit codes: 0 every plan is valid, 1 a problem was found, 2 the command line
is wrong. --output json prints the plans and the problems (file, line,
column, message) for CI annotations.`,
		Example: `  # Check one plan in the current GitOps repository
  prdeploy plan validate deploys/ingest-v42.yaml

  # Check every plan of another checkout
  prdeploy plan validate ../gitops/deploys/

  # In CI: problems as JSON, one annotation each
  prdeploy plan validate -o json deploys/ | jq -r '.problems[] | "::error file=\(.file),line=\(.line),col=\(.column)::\(.message)"'`,
		Args: wrapArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
			}
			c, err := checkPlans(repoDir, args, true)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				if err := writeJSON(out, c.report()); err != nil {
					return err
				}
			} else {
				for _, p := range c.plans {
					fmt.Fprintf(out, "ok: %s: deployment %s, %s in %s, %s\n", p.File, p.Deployment,
						count(p.TenantCount(), "tenant"), count(len(p.Waves), "wave"), count(len(p.Services), "service"))
				}
				c.printProblems(cmd.ErrOrStderr())
			}
			return c.err()
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", "", "root of the GitOps repository, which holds fleet.yaml (default: found from the first FILE or DIR)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text (problems on stderr) or json (everything on stdout)")
	return cmd
}

func newPlanShowCmd() *cobra.Command {
	var (
		repoDir, output, author, at string
		labels                      []string
		allowDeny                   bool
	)
	cmd := &cobra.Command{
		Use:   "show [--repo DIR] [--output text|markdown|json] FILE",
		Short: "Print the expanded execution plan and the policy decision",
		Long: `Print the expanded execution plan and the policy decision for it.

Policies are read from the working tree of the repository (on a pull
request, prdeploy reads them from the base branch instead). --author,
--label and --at set the pull-request facts and the time the policies see.

The output is text in a terminal, else Markdown as the pull request shows
it; --output picks one (json for scripts). The command exits 1 when the
policies deny the plan or cannot be loaded, as the pull request's check
would fail; --allow-deny exits 0 then (the decision is still printed).`,
		Example: `  # What will this plan do, wave by wave, and what do the policies require?
  prdeploy plan show deploys/ingest-v42.yaml

  # As the policies would judge a PR by alice labelled hotfix, on a Friday evening
  prdeploy plan show --author alice --label hotfix --at 2026-11-27T17:00:00+01:00 deploys/ingest-v42.yaml

  # The same as JSON, for scripts
  prdeploy plan show --output json deploys/ingest-v42.yaml | jq '.plan.waves[].name'`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				output = "markdown"
				if isTerminal(cmd.OutOrStdout()) {
					output = "text"
				}
			}
			if output != "text" && output != "markdown" && output != "json" {
				return usageError{fmt.Errorf("--output must be text, markdown or json, not %q", output)}
			}
			now := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageError{fmt.Errorf("--at must be an RFC 3339 time like 2026-11-27T17:00:00+01:00: %w", err)}
				}
				now = t
			}
			if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
				return usageError{fmt.Errorf("%s is a directory; plan show shows one plan FILE (plan validate takes directories)", args[0])}
			}
			c, err := checkPlans(repoDir, args, false)
			if err != nil {
				return err
			}
			c.printProblems(cmd.ErrOrStderr())
			if err := c.err(); err != nil {
				return err
			}
			e := c.plans[0]
			decision, loadErr := decide(c.root, policies.Input{
				Plan:  e,
				PR:    policies.PRFacts{Author: author, Labels: labels},
				Actor: policies.Actor{Login: author},
				Now:   now,
			})
			if loadErr != nil && !errors.As(loadErr, new(planner.ErrorList)) {
				return loadErr
			}
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				js, err := e.JSON()
				if err != nil {
					return err
				}
				err = writeJSON(out, struct {
					Plan   json.RawMessage   `json:"plan"`
					Policy policies.Decision `json:"policy"`
				}{js, decision})
				if err != nil {
					return err
				}
			case "markdown":
				if _, err := io.WriteString(out, e.Markdown()+"\n"+decision.Markdown()); err != nil {
					return err
				}
			default:
				if _, err := io.WriteString(out, markdownText(e.Markdown()+"\n"+decision.Markdown())); err != nil {
					return err
				}
			}
			if decision.Verdict != policies.VerdictDeny || allowDeny {
				return nil
			}
			if loadErr != nil {
				return invalidError{"the policies could not be loaded, so they deny every plan (fix policies/, see `prdeploy policy validate`; --allow-deny exits 0 anyway)"}
			}
			return invalidError{"the policies deny this plan (the reasons are above; --allow-deny exits 0 anyway)"}
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", "", "root of the GitOps repository, which holds fleet.yaml (default: found from FILE)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: text, markdown or json (default: text in a terminal, else markdown)")
	cmd.Flags().StringVar(&author, "author", "", "PR author the policies see (pr.author, actor.login)")
	cmd.Flags().StringSliceVar(&labels, "label", nil, "PR label the policies see (repeatable)")
	cmd.Flags().StringVar(&at, "at", "", "time the policies see, RFC 3339 (default: now)")
	cmd.Flags().BoolVar(&allowDeny, "allow-deny", false, "exit 0 when the policies deny the plan or do not load")
	return cmd
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// decide evaluates the repository's policies for a plan. Policies that do
// not load deny, as they would on a pull request; the load error is
// returned beside that decision.
func decide(root string, in policies.Input) (policies.Decision, error) {
	rules, rev, err := loadPolicies(root)
	if err != nil {
		return policies.LoadFailed(rev, err), err
	}
	d, err := rules.Evaluate(in)
	return d, err
}

// loadPolicies loads policies/ of the repository at root.
func loadPolicies(root string) (*policies.RuleSet, policies.Revision, error) {
	rev := workingTreeRevision(root)
	rules, err := policies.Load(os.DirFS(root), rev)
	return rules, rev, err
}

// workingTreeRevision names the revision the CLI read policies from: the
// checked-out commit when the repository is a git work tree without local
// changes to policies/, else the working tree.
func workingTreeRevision(dir string) policies.Revision {
	rev := policies.Revision{SHA: "working-tree"}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return rev
	}
	dirty, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--", planner.PoliciesDir).Output()
	if err != nil || len(bytes.TrimSpace(dirty)) > 0 {
		return rev
	}
	return policies.Revision{Ref: "HEAD", SHA: strings.TrimSpace(string(out))}
}

// planCheck is what checkPlans found: the plans that expanded and every
// problem, of the plans, the fleet and (when asked) the policies.
type planCheck struct {
	root     string // absolute
	files    []string
	plans    []*planner.ExecutionPlan
	problems planner.ErrorList
}

func (c *planCheck) printProblems(w io.Writer) {
	for _, e := range c.problems {
		fmt.Fprintln(w, e.Error())
	}
}

func (c *planCheck) err() error {
	if len(c.problems) > 0 {
		return invalidError{count(len(c.problems), "problem") + " found"}
	}
	return nil
}

// validateReport is `plan validate --output json`.
type validateReport struct {
	Valid    bool          `json:"valid"`
	Root     string        `json:"root"`
	Plans    []validPlan   `json:"plans"`
	Problems []problemJSON `json:"problems"`
}

type validPlan struct {
	File       string `json:"file"`
	Deployment string `json:"deployment"`
	Tenants    int    `json:"tenants"`
	Waves      int    `json:"waves"`
	Services   int    `json:"services"`
}

// problemJSON is a problem for CI annotations: a file relative to the
// repository root, 1-based line and column (0 when unknown).
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (c *planCheck) report() validateReport {
	r := validateReport{Valid: len(c.problems) == 0, Root: c.root, Plans: []validPlan{}, Problems: []problemJSON{}}
	for _, p := range c.plans {
		r.Plans = append(r.Plans, validPlan{File: p.File, Deployment: p.Deployment, Tenants: p.TenantCount(), Waves: len(p.Waves), Services: len(p.Services)})
	}
	for _, e := range c.problems {
		r.Problems = append(r.Problems, problemJSON{File: e.File, Line: e.Line, Column: e.Col, Path: e.Path, Message: e.Message})
	}
	return r
}

// checkPlans reads the repository and expands the named plan files (a
// directory names every plan in it), with the problems of those plans, of
// the fleet and, withPolicies, of policies/. Its error is for the command
// line only (exit 2); problems of the files are in the result.
func checkPlans(repoFlag string, args []string, withPolicies bool) (*planCheck, error) {
	root, err := repoRoot(repoFlag, args)
	if err != nil {
		return nil, err
	}
	c := &planCheck{root: root}
	repo, loadErr := planner.LoadRepo(os.DirFS(root))
	for _, a := range args {
		files, err := planFiles(root, a)
		if err != nil {
			return nil, usageError{err}
		}
		for _, f := range files {
			if !slices.Contains(c.files, f) {
				c.files = append(c.files, f)
			}
		}
	}
	c.problems = planner.Errors(loadErr, c.files...)
	for _, rel := range c.files {
		p, ok := repo.Plan(rel)
		if !ok {
			// A plan outside deploys/ is read on its own.
			data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
			if err != nil {
				return nil, usageError{fmt.Errorf("cannot read plan: %w", err)}
			}
			p, _ = planner.ParsePlan(rel, data)
		}
		if repo.Fleet == nil {
			continue
		}
		e, err := planner.Expand(p, repo.Fleet)
		if err != nil {
			c.problems = append(c.problems, planner.Errors(err, rel)...)
			continue
		}
		c.plans = append(c.plans, e)
	}
	if withPolicies {
		if _, _, err := loadPolicies(root); err != nil {
			var list planner.ErrorList
			if errors.As(err, &list) {
				c.problems = append(c.problems, list...)
			} else {
				c.problems = append(c.problems, planner.Error{File: planner.PoliciesDir, Message: err.Error()})
			}
		}
	}
	c.problems = c.problems.Unique()
	c.problems.Sort()
	return c, nil
}

// repoRoot is --repo, else the nearest directory holding fleet.yaml at or
// above the first argument (a file or a directory), else above the
// current directory.
func repoRoot(repoFlag string, args []string) (string, error) {
	if repoFlag != "" {
		root, err := filepath.Abs(repoFlag)
		if err != nil {
			return "", usageError{err}
		}
		if _, err := os.Stat(filepath.Join(root, planner.FleetFile)); err != nil {
			return "", usageError{fmt.Errorf("%s is not a GitOps repository root: no %s (use --repo DIR)", repoFlag, planner.FleetFile)}
		}
		return root, nil
	}
	var starts []string
	if len(args) > 0 {
		if fi, err := os.Stat(args[0]); err == nil {
			if fi.IsDir() {
				starts = append(starts, args[0])
			} else {
				starts = append(starts, filepath.Dir(args[0]))
			}
		}
	}
	starts = append(starts, ".")
	for _, s := range starts {
		dir, err := filepath.Abs(s)
		if err != nil {
			return "", usageError{err}
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, planner.FleetFile)); err == nil {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", usageError{fmt.Errorf("no %s in %s or above: run inside a GitOps repository, or give --repo DIR", planner.FleetFile, strings.Join(starts, " or "))}
}

// planFiles resolves an argument to plan files relative to the root: a
// file, or every *.yaml/*.yml of a directory (of deploys/ for the root).
func planFiles(root, arg string) ([]string, error) {
	abs, err := resolve(root, arg)
	if err != nil {
		return nil, fmt.Errorf("cannot read plan %s: %w", arg, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("cannot read plan %s: %w", arg, err)
	}
	if !fi.IsDir() {
		rel, err := repoRel(root, abs, arg)
		if err != nil {
			return nil, err
		}
		return []string{rel}, nil
	}
	dir := abs
	if dir == root {
		dir = filepath.Join(root, planner.PlansDir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot read the directory %s: %w", arg, err)
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			rel, err := repoRel(root, filepath.Join(dir, n), arg)
			if err != nil {
				return nil, err
			}
			files = append(files, rel)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no plans (*.yaml) in %s", filepath.Join(arg, strings.TrimPrefix(dir, abs)))
	}
	return files, nil
}

// resolve makes arg absolute: relative to the current directory, else
// (when nothing is there) to the repository root.
func resolve(root, arg string) (string, error) {
	if filepath.IsAbs(arg) {
		return arg, nil
	}
	abs, err := filepath.Abs(arg)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		abs = filepath.Join(root, arg)
	}
	return abs, nil
}

// repoRel returns abs relative to the repository root, slash-separated.
func repoRel(root, abs, arg string) (string, error) {
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("plan %s is outside the repository %s", arg, root)
	}
	return filepath.ToSlash(rel), nil
}

// count says "1 tenant" or "3 tenants".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
