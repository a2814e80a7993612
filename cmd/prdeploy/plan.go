package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	cmd.AddCommand(newPlanValidateCmd(), newPlanShowCmd())
	return cmd
}

func newPlanValidateCmd() *cobra.Command {
	var repoDir string
	cmd := &cobra.Command{
		Use:   "validate [--repo DIR] FILE...",
		Short: "Check deploy plans against the fleet; print file:line:col errors",
		Example: `  # Check one plan in the current GitOps repository
  prdeploy plan validate deploys/ingest-v42.yaml

  # Check every plan of another checkout
  prdeploy plan validate --repo ../gitops deploys/*.yaml`,
		Args: wrapArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			plans, err := loadPlans(repoDir, args, cmd.ErrOrStderr())
			for _, p := range plans {
				fmt.Fprintf(out, "ok: %s: deployment %s, %s in %s, %s\n", p.File, p.Deployment,
					count(p.TenantCount(), "tenant"), count(len(p.Waves), "wave"), count(len(p.Services), "service"))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", ".", "root of the GitOps repository (holds fleet.yaml)")
	return cmd
}

func newPlanShowCmd() *cobra.Command {
	var (
		repoDir, output, author, at string
		labels                      []string
	)
	cmd := &cobra.Command{
		Use:   "show [--repo DIR] [--output markdown|json] FILE",
		Short: "Print the expanded execution plan and the policy decision",
		Long: `Print the expanded execution plan and the policy decision for it.

Policies are read from the working tree of --repo (on a pull request, prdeploy
reads them from the base branch instead). --author, --label and --at set the
pull-request facts and the time the policies see.`,
		Example: `  # What will this plan do, wave by wave, and what do the policies require?
  prdeploy plan show deploys/ingest-v42.yaml

  # As the policies would judge a PR by alice labelled hotfix, on a Friday evening
  prdeploy plan show --author alice --label hotfix --at 2026-11-27T17:00:00+01:00 deploys/ingest-v42.yaml

  # The same as JSON, for scripts
  prdeploy plan show --output json deploys/ingest-v42.yaml | jq '.plan.waves[].name'`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "markdown" && output != "json" {
				return usageError{fmt.Errorf("--output must be markdown or json, not %q", output)}
			}
			now := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageError{fmt.Errorf("--at must be an RFC 3339 time like 2026-11-27T17:00:00+01:00: %w", err)}
				}
				now = t
			}
			plans, err := loadPlans(repoDir, args, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			e := plans[0]
			decision, err := decide(repoDir, policies.Input{
				Plan:  e,
				PR:    policies.PRFacts{Author: author, Labels: labels},
				Actor: policies.Actor{Login: author},
				Now:   now,
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				js, err := e.JSON()
				if err != nil {
					return err
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Plan   json.RawMessage   `json:"plan"`
					Policy policies.Decision `json:"policy"`
				}{js, decision})
			}
			_, err = io.WriteString(out, e.Markdown()+"\n"+decision.Markdown())
			return err
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", ".", "root of the GitOps repository (holds fleet.yaml)")
	cmd.Flags().StringVarP(&output, "output", "o", "markdown", "output format: markdown or json")
	cmd.Flags().StringVar(&author, "author", "", "PR author the policies see (pr.author, actor.login)")
	cmd.Flags().StringSliceVar(&labels, "label", nil, "PR label the policies see (repeatable)")
	cmd.Flags().StringVar(&at, "at", "", "time the policies see, RFC 3339 (default: now)")
	return cmd
}

// decide evaluates the repository's policies for a plan. Policies that do
// not load deny, as they would on a pull request.
func decide(repoDir string, in policies.Input) (policies.Decision, error) {
	rev := workingTreeRevision(repoDir)
	rules, err := policies.Load(os.DirFS(repoDir), rev)
	if err != nil {
		return policies.LoadFailed(rev, err), nil
	}
	return rules.Evaluate(in)
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

// loadPlans reads the repository and expands the named plan files, printing
// every error about them (and about the fleet) as file:line:col: message.
// It returns the plans that expanded, and an invalidError if any did not.
func loadPlans(repoDir string, files []string, errOut io.Writer) ([]*planner.ExecutionPlan, error) {
	root, err := filepath.Abs(repoDir)
	if err != nil {
		return nil, usageError{err}
	}
	if _, err := os.Stat(filepath.Join(root, planner.FleetFile)); err != nil {
		return nil, usageError{fmt.Errorf("%s is not a GitOps repository root: no %s (use --repo DIR)", repoDir, planner.FleetFile)}
	}
	repo, loadErr := planner.LoadRepo(os.DirFS(root))
	var rels []string
	for _, f := range files {
		rel, err := repoPath(root, f)
		if err != nil {
			return nil, usageError{err}
		}
		rels = append(rels, rel)
	}
	problems := planner.Errors(loadErr, rels...)
	var plans []*planner.ExecutionPlan
	for _, rel := range rels {
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
			problems = append(problems, planner.Errors(err, rel)...)
			continue
		}
		plans = append(plans, e)
	}
	problems = problems.Unique()
	problems.Sort()
	for _, e := range problems {
		fmt.Fprintln(errOut, e.Error())
	}
	if len(problems) > 0 {
		return plans, invalidError{count(len(problems), "problem") + " found"}
	}
	return plans, nil
}

// repoPath returns file's path relative to the repository root, slash-separated.
func repoPath(root, file string) (string, error) {
	abs := file
	if !filepath.IsAbs(file) {
		var err error
		if abs, err = filepath.Abs(file); err != nil {
			return "", err
		}
		// A path relative to --repo is accepted too.
		if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
			abs = filepath.Join(root, file)
		}
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("cannot read plan %s: %w", file, err)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("plan %s is outside the repository %s", file, root)
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
