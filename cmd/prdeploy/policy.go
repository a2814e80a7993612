package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check deploy policies",
	}
	cmd.AddCommand(newPolicyValidateCmd())
	return cmd
}

func newPolicyValidateCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "validate [DIR] [--output text|json]",
		Short: "Check the policies of a GitOps repository (policies/*.yaml); print file:line:col errors",
		Long: `Load every policy file of the repository at DIR (default: the repository
holding the current directory, found by its fleet.yaml) as prdeploy loads them
to judge a pull request, and print every problem at file:line:col.
A policy file that does not load makes every plan denied, so check them here
before they reach the deploy branch.

Exit codes: 0 the policies load, 1 a problem was found, 2 the command line
is wrong.`,
		Example: `  prdeploy policy validate
  prdeploy policy validate ../gitops -o json`,
		Args: wrapArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
			}
			root, err := policyRoot(args)
			if err != nil {
				return err
			}
			rules, _, err := loadPolicies(root)
			var problems planner.ErrorList
			if err != nil && !errors.As(err, &problems) {
				problems = planner.ErrorList{{File: planner.PoliciesDir, Message: err.Error()}}
			}
			problems.Sort()
			c := &planCheck{root: root, problems: problems}
			out := cmd.OutOrStdout()
			if output == "json" {
				r := c.report()
				return errors.Join(writeJSON(out, struct {
					Valid    bool          `json:"valid"`
					Root     string        `json:"root"`
					Files    []string      `json:"files"`
					Rules    int           `json:"rules"`
					Problems []problemJSON `json:"problems"`
				}{r.Valid, root, policyFiles(rules), ruleCount(rules), r.Problems}), c.err())
			}
			c.printProblems(cmd.ErrOrStderr())
			if err := c.err(); err != nil {
				return err
			}
			fmt.Fprintf(out, "ok: %s in %s\n", count(ruleCount(rules), "rule"), count(len(policyFiles(rules)), "policy file"))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text (problems on stderr) or json (everything on stdout)")
	return cmd
}

// policyRoot is the repository at or above DIR, or above the current
// directory.
func policyRoot(args []string) (string, error) {
	if len(args) == 0 {
		return repoRoot("", nil)
	}
	if fi, err := os.Stat(args[0]); err != nil || !fi.IsDir() {
		return "", usageError{fmt.Errorf("%s is not a directory: give the GitOps repository's root", args[0])}
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return "", usageError{err}
	}
	root, err := repoRoot("", args)
	if err != nil || (root != dir && !strings.HasPrefix(dir, root+string(filepath.Separator))) {
		return "", usageError{fmt.Errorf("no %s in %s or above: give the GitOps repository's root", planner.FleetFile, args[0])}
	}
	return root, nil
}

func policyFiles(rules *policies.RuleSet) []string {
	if rules == nil {
		return []string{}
	}
	return append([]string{}, rules.Files...)
}

func ruleCount(rules *policies.RuleSet) int {
	if rules == nil {
		return 0
	}
	return len(rules.Rules)
}
