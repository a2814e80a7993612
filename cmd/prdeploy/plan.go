package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prdeploy/prdeploy/planner"
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
			plans, err := loadPlans(repoDir, args, out)
			for _, p := range plans {
				fmt.Fprintf(out, "ok: %s: deployment %s, %d tenants in %d waves, %d services\n",
					p.File, p.Deployment, p.TenantCount(), len(p.Waves), len(p.Services))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", ".", "root of the GitOps repository (holds fleet.yaml)")
	return cmd
}

func newPlanShowCmd() *cobra.Command {
	var repoDir, output string
	cmd := &cobra.Command{
		Use:   "show [--repo DIR] [--output markdown|json] FILE",
		Short: "Print the expanded execution plan",
		Example: `  # What will this plan do, wave by wave?
  prdeploy plan show deploys/ingest-v42.yaml

  # The same as JSON, for scripts
  prdeploy plan show --output json deploys/ingest-v42.yaml | jq '.waves[].name'`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "markdown" && output != "json" {
				return usageError{fmt.Errorf("--output must be markdown or json, not %q", output)}
			}
			out := cmd.OutOrStdout()
			plans, err := loadPlans(repoDir, args, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			e := plans[0]
			if output == "json" {
				js, err := e.JSON()
				if err != nil {
					return err
				}
				_, err = out.Write(js)
				return err
			}
			_, err = io.WriteString(out, e.Markdown())
			return err
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", ".", "root of the GitOps repository (holds fleet.yaml)")
	cmd.Flags().StringVarP(&output, "output", "o", "markdown", "output format: markdown or json")
	return cmd
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
	problems = uniqueSorted(problems)
	for _, e := range problems {
		fmt.Fprintln(errOut, e.Error())
	}
	if len(problems) > 0 {
		return plans, invalidError{fmt.Sprintf("%d problem%s found", len(problems), map[bool]string{true: "s"}[len(problems) > 1])}
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

func uniqueSorted(l planner.ErrorList) planner.ErrorList {
	seen := map[planner.Error]bool{}
	var out planner.ErrorList
	for _, e := range l {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	out.Sort()
	return out
}
