package main

import (
	"cmp"
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
	var temporal config.Temporal
	cmd := &cobra.Command{
		Use:   "serve --config prdeploy.yaml",
		Short: "Run the webhook server and the worker (and the embedded Temporal server unless one is configured)",
		Long: `Run prdeploy for real: the GitHub (and Slack) webhook endpoints, a worker with
every workflow and activity, and, unless temporal.address is set, an embedded
Temporal server whose data lives in dataDir (deployments survive a restart).
SIGTERM or Ctrl-C stops it gracefully: no more webhooks, the worker drains,
then Temporal stops. See examples/prdeploy.yaml for every option.

At start it checks what it can: the configuration, the kubeconfig file, that
GitHub accepts the App's (or token's) credentials, and Temporal; it exits 1
with the reason if one is wrong. GET /readyz then reports each dependency
(Temporal, GitHub, the payload bucket, each kubeconfig context's API server)
as JSON, 503 while one does not answer.

Unlike status and restart, serve does not read TEMPORAL_ADDRESS or
TEMPORAL_NAMESPACE: its configuration file says where Temporal is, and a
shell's setting for the temporal CLI must not move a server to another
cluster; the --temporal-* flags override the file explicitly.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadWith(file, temporal)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			var src serve.TemporalSource
			if cmd.Flags().Changed("temporal-address") {
				src.Address = "--temporal-address"
			}
			if cmd.Flags().Changed("temporal-namespace") {
				src.Namespace = "--temporal-namespace"
			}
			return serve.Serve(ctx, cfg, serve.Options{Role: role, Logger: log, TemporalSource: src})
		},
	}
	cmd.Flags().StringVar(&file, "config", cmp.Or(os.Getenv(envConfig), "prdeploy.yaml"), "configuration `FILE` ($"+envConfig+")")
	cmd.Flags().StringVar(&temporal.Address, "temporal-address", "", "an existing Temporal cluster's frontend `host:port` instead of the embedded server (overrides temporal.address)")
	cmd.Flags().StringVar(&temporal.Namespace, "temporal-namespace", "", "Temporal `namespace` (overrides temporal.namespace)")
	cmd.Flags().StringVar(&temporal.TLSCert, "temporal-tls-cert", "", "client certificate `FILE` for Temporal mTLS (overrides temporal.tlsCert)")
	cmd.Flags().StringVar(&temporal.TLSKey, "temporal-tls-key", "", "client key `FILE` for Temporal mTLS (overrides temporal.tlsKey)")
	cmd.Flags().StringVar(&temporal.TLSCA, "temporal-tls-ca", "", "CA `FILE` to trust for Temporal (overrides temporal.tlsCA)")
	cmd.Flags().StringVar(&temporal.UIURL, "temporal-ui-url", "", "the Temporal Web UI's `URL`, for links (overrides temporal.uiURL)")
	cmd.Flags().StringVar(&role, "role", serve.RoleAll, "all, webhook (answer webhooks, start workflows) or worker (run them); split roles need temporal.address")
	return cmd
}
