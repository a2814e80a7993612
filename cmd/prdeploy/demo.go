package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/prdeploy/prdeploy/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var repo string
	var rollout time.Duration
	var nonInteractive bool
	var listen, uiListen, kubeconfig, policyTime string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story on embedded defaults: PR → plan check → merge → rollout → /approve",
		Long: `Run prdeploy end to end on this machine, with nothing to set up: an embedded
Temporal server and its Web UI, a GitHub simulator holding the example GitOps
repository, the webhook server, a worker and the status page (prdeploy serve),
and a simulated cluster, or a real one with --kubeconfig. The demo opens a pull
request with a plan, shows the plan check, merges, prints the rollout's
progress, has SREs approve the canary gate (after two refused approvals), and
shows how it ended. Then everything keeps running until Ctrl-C, unless
--non-interactive (or DEMO_NONINTERACTIVE=1).

The policies judge the demo's plan at a fixed, printed instant (a Wednesday
morning outside the example's freezes), so that the story is the same on any
day; --policy-time picks another, e.g. one inside the holiday freeze to see
the plan check deny the plan. prdeploy serve always judges at the wall clock.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Getenv("DEMO_NONINTERACTIVE") == "1" {
				nonInteractive = true
			}
			var at time.Time
			if policyTime != "" {
				t, err := time.Parse(time.RFC3339, policyTime)
				if err != nil {
					return usageError{fmt.Errorf("--policy-time must be an RFC 3339 time like 2026-12-24T10:00:00+01:00: %w", err)}
				}
				at = t
			}
			return demo.Run(cmd.Context(), demo.Options{Repo: repo, Out: cmd.OutOrStdout(), Interactive: !nonInteractive, RolloutTime: rollout,
				Listen: listen, UIListen: uiListen, Kubeconfig: kubeconfig, PolicyTime: at})
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "examples/gitops-repo", "GitOps repository to load into the GitHub simulator")
	cmd.Flags().DurationVar(&rollout, "rollout", 300*time.Millisecond, "how long a service takes to roll out in the simulated cluster")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address of the webhooks and the status page")
	cmd.Flags().StringVar(&uiListen, "ui-listen", "127.0.0.1:0", "address of the Temporal Web UI")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "deploy to this cluster (e.g. hack/kube-up.sh's local control plane) instead of a simulated one")
	cmd.Flags().StringVar(&policyTime, "policy-time", "", "judge the policies at this RFC 3339 instant (default: a fixed Wednesday morning outside the example's freezes)")
	cmd.Flags().BoolVar(&nonInteractive, "non-interactive", false, "exit when the story is told (DEMO_NONINTERACTIVE=1 does the same)")
	return cmd
}
