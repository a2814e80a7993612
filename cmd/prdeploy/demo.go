package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/prdeploy/prdeploy/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var repo string
	var rollout time.Duration
	var nonInteractive bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story on embedded defaults: PR → plan check → merge → rollout → /approve",
		Long: `Run prdeploy end to end on this machine, with nothing to set up: an embedded
Temporal server, a GitHub simulator holding the example GitOps repository, the
webhook server and a worker, and a simulated cluster. The demo opens a pull
request with a plan, shows the plan check, merges, prints the rollout's
progress, has SREs approve the canary gate (after two refused approvals), and
shows how it ended. Then everything keeps running until Ctrl-C, unless
--non-interactive (or DEMO_NONINTERACTIVE=1).`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Getenv("DEMO_NONINTERACTIVE") == "1" {
				nonInteractive = true
			}
			return demo.Run(cmd.Context(), demo.Options{Repo: repo, Out: cmd.OutOrStdout(), Interactive: !nonInteractive, RolloutTime: rollout})
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "examples/gitops-repo", "GitOps repository to load into the GitHub simulator")
	cmd.Flags().DurationVar(&rollout, "rollout", 300*time.Millisecond, "how long a service takes to roll out in the simulated cluster")
	cmd.Flags().BoolVar(&nonInteractive, "non-interactive", false, "exit when the story is told (DEMO_NONINTERACTIVE=1 does the same)")
	return cmd
}
