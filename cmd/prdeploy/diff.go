package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/planner"
)

func newPlanDiffCmd() *cobra.Command {
	var (
		repoDir, output, kubeconfig string
		next                        bool
		timeout                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "diff [--repo DIR] [--output text|markdown|json] [--kubeconfig FILE] FILE|DIR... | --next",
		Short: "Show what applying plans would change in each tenant's cluster now (server-side dry run)",
		Long: `Render every tenant × service of the plans as a deploy would, and show what
applying them would change in each tenant's cluster now, changing nothing: a
server-side dry-run apply as prdeploy (field manager "prdeploy") compared with
what is live. Per object: created, configured (with the changed fields),
unchanged, or removed (applied by prdeploy before, no longer in the
manifests; deploys leave such objects in place), and the fields another field
manager owns, on which the apply would fail. A Secret's values are never
shown, only which keys change. Tenants with the same change are grouped.

--next previews the next deploy of every tenant × service of the fleet
instead: the working tree's manifests with the images the containers run now
(a plan sets images), as the check of a pull request without a plan does.

Each cluster of fleet.yaml is reached through its kubeconfig context
(kubeContext, else the cluster's name) in --kubeconfig, $KUBECONFIG or
~/.kube/config. A cluster that cannot be reached is said so for its tenants.

Exit codes: 0 the previews were made (unreachable clusters included), 1 a
plan is invalid or does not render, 2 the command line is wrong. --output
json prints every tenant's preview (camelCase keys).`,
		Example: `  # What would merging this plan change, tenant by tenant?
  prdeploy plan diff deploys/ingest-v42.yaml

  # Every tenant's objects and fields, for scripts
  prdeploy plan diff -o json deploys/ingest-v42.yaml | jq '.plans[].tenants[] | select(.status == "ok") | .objects[] | select(.action != "unchanged")'

  # What would the next deploys change, after editing services/ or tenants/?
  prdeploy plan diff --next`,
		Args: wrapArgs(func(cmd *cobra.Command, args []string) error {
			if next && len(args) > 0 {
				return fmt.Errorf("--next previews the whole fleet: give no FILE or DIR")
			}
			if !next && len(args) == 0 {
				return fmt.Errorf("give a plan FILE or DIR, or --next")
			}
			return nil
		}),
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
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout must be positive")}
			}
			d := planDiff{out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), output: output, kubeconfig: kubeconfig, timeout: timeout, now: time.Now()}
			if next {
				root, err := repoRoot(repoDir, nil)
				if err != nil {
					return err
				}
				return d.next(cmd.Context(), root)
			}
			return d.plans(cmd.Context(), repoDir, args)
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", "", "root of the GitOps repository, which holds fleet.yaml (default: found from the first FILE or DIR)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: text, markdown or json (default: text in a terminal, else markdown)")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	cmd.Flags().BoolVar(&next, "next", false, "preview the next deploy of every tenant × service instead of plans")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "time for the whole preview; tenants not reached by then are said so")
	return cmd
}

// planDiff runs `prdeploy plan diff`.
type planDiff struct {
	out, errOut io.Writer
	output      string
	kubeconfig  string
	timeout     time.Duration
	now         time.Time
}

// diffJSON is `plan diff --output json`.
type diffJSON struct {
	Root  string         `json:"root"`
	At    time.Time      `json:"at"`
	Plans []planDiffJSON `json:"plans,omitempty"`
	Next  *planDiffJSON  `json:"next,omitempty"`
}

type planDiffJSON struct {
	File       string                  `json:"file,omitempty"`
	Deployment string                  `json:"deployment,omitempty"`
	Rendered   int                     `json:"rendered"`
	Cut        bool                    `json:"cut,omitempty"`
	Problems   []renderProblemJSON     `json:"problems"`
	Tenants    []planner.TenantPreview `json:"tenants"`
}

// renderProblemJSON is a problem that stops a deploy, where it is, and the
// tenant/service pairs it concerns.
type renderProblemJSON struct {
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Message string   `json:"message"`
	Targets []string `json:"targets"`
}

func (d planDiff) previewer(fleet *planner.Fleet) *kube.Previewer {
	return &kube.Previewer{Clients: &kube.Clients{Kubeconfig: d.kubeconfig, Contexts: kube.ContextsOf(fleet)}}
}

func (d planDiff) preview(ctx context.Context, p *kube.Previewer, r prepare.RenderedPlan) []planner.TenantPreview {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return p.Preview(ctx, r.Targets)
}

func (d planDiff) plans(ctx context.Context, repoDir string, args []string) error {
	c, err := checkPlans(repoDir, args, false)
	if err != nil {
		return err
	}
	c.printProblems(d.errOut)
	if err := c.err(); err != nil {
		return err
	}
	repo, _ := planner.LoadRepo(os.DirFS(c.root)) // its problems were printed above
	previewer := d.previewer(repo.Fleet)
	report := diffJSON{Root: c.root, At: d.now.UTC()}
	var md string
	failed := false
	for _, e := range c.plans {
		r := prepare.RenderPlan(repo, e)
		ps := d.preview(ctx, previewer, r)
		failed = failed || len(r.Problems) > 0
		report.Plans = append(report.Plans, diffOf(e.File, e.Deployment, r, ps))
		md += prepare.DiffMarkdown(fmt.Sprintf("`%s` (deployment `%s`)", e.File, e.Deployment), r, ps, d.now, false)
	}
	return d.write(report, md, failed)
}

func (d planDiff) next(ctx context.Context, root string) error {
	repo, err := planner.LoadRepo(os.DirFS(root))
	if errs := planner.Errors(err, planner.FleetFile); len(errs) > 0 || repo.Fleet == nil {
		for _, e := range errs {
			fmt.Fprintln(d.errOut, e.Error())
		}
		return invalidError{"the fleet does not load"}
	}
	r := prepare.RenderNextDeploys(repo, nil, nil)
	ps := d.preview(ctx, d.previewer(repo.Fleet), r)
	n := diffOf("", "", r, ps)
	report := diffJSON{Root: root, At: d.now.UTC(), Next: &n}
	return d.write(report, prepare.DiffMarkdown("Next deploys", r, ps, d.now, true), len(r.Problems) > 0)
}

func diffOf(file, deployment string, r prepare.RenderedPlan, ps []planner.TenantPreview) planDiffJSON {
	out := planDiffJSON{File: file, Deployment: deployment, Rendered: r.Rendered, Cut: r.Cut, Problems: []renderProblemJSON{}, Tenants: ps}
	if out.Tenants == nil {
		out.Tenants = []planner.TenantPreview{}
	}
	for _, p := range r.Problems {
		out.Problems = append(out.Problems, renderProblemJSON{File: p.Annotation.Path, Line: p.Annotation.StartLine, Message: p.Text, Targets: p.Targets})
	}
	return out
}

func (d planDiff) write(report diffJSON, md string, failed bool) error {
	var err error
	switch d.output {
	case "json":
		err = writeJSON(d.out, report)
	case "markdown":
		_, err = io.WriteString(d.out, md)
	default:
		_, err = io.WriteString(d.out, markdownText(md))
	}
	if err != nil {
		return err
	}
	if failed {
		return invalidError{"manifests do not render (the problems are above); the deploy would stop at the merge"}
	}
	return nil
}
