package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/serve"
)

func newServeCmd() *cobra.Command {
	var file, role string
	cmd := &cobra.Command{
		Use:   "serve --config prdeploy.yaml",
		Short: "Run the webhook server and the worker (and the embedded Temporal server unless one is configured)",
		Long: `Run prdeploy for real: the GitHub (and Slack) webhook endpoints, a worker with
every workflow and activity, and, unless temporal.address is set, an embedded
Temporal server whose data lives in dataDir (deployments survive a restart).
SIGTERM or Ctrl-C stops it gracefully: no more webhooks, the worker drains,
then Temporal stops. See examples/prdeploy.yaml for every option.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(file)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			return serve.RunRole(ctx, cfg, role, log, nil)
		},
	}
	cmd.Flags().StringVar(&file, "config", "prdeploy.yaml", "configuration file")
	cmd.Flags().StringVar(&role, "role", serve.RoleAll, "all, webhook (answer webhooks, start workflows) or worker (run them); split roles need temporal.address")
	return cmd
}
