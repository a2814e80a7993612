package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/serve"
	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

// recentLimit is how many deployments `prdeploy status` lists.
const recentLimit = 20

// Environment variables that give the flags their defaults: the
// configuration file, and Temporal's address and namespace under the names
// the temporal CLI reads.
const (
	envConfig            = "PRDEPLOY_CONFIG"
	envTemporalAddress   = "TEMPORAL_ADDRESS"
	envTemporalNamespace = "TEMPORAL_NAMESPACE"
)

// temporalFlags say how a command reaches Temporal: through the
// configuration of `prdeploy serve`, or an address on the command line
// (or in TEMPORAL_ADDRESS).
type temporalFlags struct {
	config, address, namespace string
	// oldNamespace is --namespace, the deprecated name of
	// --temporal-namespace (kubectl users read it as Kubernetes').
	oldNamespace string
}

func (f *temporalFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", cmp.Or(os.Getenv(envConfig), "prdeploy.yaml"), "configuration `FILE` of prdeploy serve, which says where Temporal is; with --temporal-address, read only if given ($"+envConfig+")")
	cmd.Flags().StringVar(&f.address, "temporal-address", os.Getenv(envTemporalAddress), "Temporal frontend `host:port`, instead of the configuration's ($"+envTemporalAddress+")")
	cmd.Flags().StringVar(&f.namespace, "temporal-namespace", os.Getenv(envTemporalNamespace), "Temporal `namespace` (default: the configuration's, else \"default\") ($"+envTemporalNamespace+")")
	cmd.Flags().StringVar(&f.oldNamespace, "namespace", "", "Temporal namespace (deprecated: use --temporal-namespace)")
	_ = cmd.Flags().MarkHidden("namespace")
}

// source says where the address and namespace came from, for errors.
func (f *temporalFlags) source(cmd *cobra.Command) serve.TemporalSource {
	src := serve.TemporalSource{Serve: true}
	switch {
	case cmd.Flags().Changed("temporal-address"):
		src.Address = "--temporal-address"
	case f.address != "":
		src.Address = envTemporalAddress
	}
	switch {
	case cmd.Flags().Changed("temporal-namespace"):
		src.Namespace = "--temporal-namespace"
	case cmd.Flags().Changed("namespace"):
		src.Namespace = "--namespace"
	case f.namespace != "":
		src.Namespace = envTemporalNamespace
	default:
		src.Namespace = "temporal.namespace in " + f.config + " (or --temporal-namespace)"
	}
	return src
}

// dial connects to Temporal. Without --temporal-address the configuration
// file is required; with it, the file is read only when --config (or
// PRDEPLOY_CONFIG) is given (for its TLS options).
func (f *temporalFlags) dial(cmd *cobra.Command) (client.Client, error) {
	cfg := &config.Config{}
	configGiven := cmd.Flags().Changed("config") || os.Getenv(envConfig) != ""
	if f.address == "" || configGiven {
		if _, err := os.Stat(f.config); err != nil {
			return nil, usageError{fmt.Errorf("cannot read the configuration %s: %w; give --config FILE (or $%s), or --temporal-address host:port (or $%s)", f.config, err, envConfig, envTemporalAddress)}
		}
		c, err := config.LoadClient(f.config)
		if err != nil {
			return nil, fmt.Errorf("%w\n(the configuration of `prdeploy serve` is read to find Temporal; --temporal-address host:port skips it)", err)
		}
		cfg = c
	}
	if f.address != "" {
		cfg.Temporal.Address, cfg.Temporal.Listen = f.address, ""
	}
	if cmd.Flags().Changed("namespace") {
		fmt.Fprintln(cmd.ErrOrStderr(), "prdeploy: warning: --namespace is deprecated (it is Temporal's namespace, not Kubernetes'); use --temporal-namespace")
		if !cmd.Flags().Changed("temporal-namespace") {
			f.namespace = f.oldNamespace
		}
	}
	if f.namespace != "" {
		cfg.Temporal.Namespace = f.namespace
	}
	if cfg.Temporal.Namespace == "" {
		cfg.Temporal.Namespace = "default"
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return serve.DialFrom(cmd.Context(), cfg, log, f.source(cmd))
}

func newStatusCmd() *cobra.Command {
	var tf temporalFlags
	var output string
	cmd := &cobra.Command{
		Use:   "status [DEPLOYMENT | CLUSTER/DEPLOYMENT] [--output text|json]",
		Short: "Show recent deployments, or one deployment's waves, tenants, services and gates",
		Long: `Show what the deployments are doing, live from their workflows.

Without an argument: the running deployments, then the most recently
finished, with their phase and progress. With a deployment: in every cluster
it runs in (or only the one given as CLUSTER/DEPLOYMENT), its phase and
progress, why it paused or stopped, failed tenants, approval gates (who
approved, what they still need), and the grid of waves × tenants × services.

prdeploy reaches Temporal as ` + "`prdeploy serve`" + ` does, from its configuration:
temporal.address, or the embedded server on temporal.listen of a running
serve. --temporal-address overrides it (no configuration file needed then).`,
		Example: `  # What is deploying?
  prdeploy status --config /etc/prdeploy/prdeploy.yaml

  # One deployment, in every cluster it runs in
  prdeploy status web-7

  # As JSON, for scripts (a deployment gives a list: one view per cluster)
  prdeploy status prod-eu/web-7 --output json | jq '.[0].phase'`,
		Args: wrapArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
			}
			var ref workflows.DeploymentRef
			if len(args) == 1 {
				var ok bool
				if ref, ok = parseRef(args[0]); !ok {
					return usageError{fmt.Errorf("%q is not a deployment: give DEPLOYMENT or CLUSTER/DEPLOYMENT", args[0])}
				}
			}
			tc, err := tf.dial(cmd)
			if err != nil {
				return err
			}
			defer tc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			src := temporalx.Deployments{Client: tc}
			out := cmd.OutOrStdout()
			now := time.Now()
			if ref.Deployment == "" {
				entries, err := src.Recent(ctx, recentLimit)
				if err != nil {
					return err
				}
				if output == "json" {
					return writeJSON(out, listJSON(entries, now))
				}
				return writeList(out, entries, now)
			}
			views, err := deploymentViews(ctx, src, ref, now)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(out, views)
			}
			for i, v := range views {
				if i > 0 {
					fmt.Fprintln(out)
				}
				if err := statuspage.WriteText(out, v); err != nil {
					return err
				}
			}
			return nil
		},
	}
	tf.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// parseRef reads DEPLOYMENT or CLUSTER/DEPLOYMENT.
func parseRef(arg string) (workflows.DeploymentRef, bool) {
	c, d, found := strings.Cut(arg, "/")
	if !found {
		return workflows.DeploymentRef{Deployment: arg}, arg != ""
	}
	return workflows.DeploymentRef{Cluster: c, Deployment: d}, c != "" && d != "" && !strings.Contains(d, "/")
}

// deploymentViews reads a deployment in the cluster given, or in every
// cluster it ran in.
func deploymentViews(ctx context.Context, src statuspage.Source, ref workflows.DeploymentRef, now time.Time) ([]statuspage.View, error) {
	refs := []workflows.DeploymentRef{ref}
	if ref.Cluster == "" {
		var err error
		if refs, err = src.Find(ctx, ref.Deployment); err != nil {
			return nil, err
		}
		if len(refs) == 0 {
			return nil, invalidError{fmt.Sprintf("no deployment %s (prdeploy status lists recent ones)", ref.Deployment)}
		}
	}
	var views []statuspage.View
	for _, r := range refs {
		st, err := src.Status(ctx, r)
		switch {
		case errors.Is(err, statuspage.ErrNotFound):
			return nil, invalidError{fmt.Sprintf("no deployment %s in cluster %s (prdeploy status lists recent ones)", r.Deployment, r.Cluster)}
		case err != nil:
			return nil, err
		}
		views = append(views, statuspage.Build(st, statuspage.Links{}, now))
	}
	return views, nil
}

// listItem is a deployment of the list as JSON (camelCase, like every
// JSON prdeploy prints).
type listItem struct {
	Deployment string           `json:"deployment"`
	Cluster    string           `json:"cluster"`
	Running    bool             `json:"running"`
	StartedAt  time.Time        `json:"startedAt,omitzero"`
	ClosedAt   time.Time        `json:"closedAt,omitzero"`
	View       *statuspage.View `json:"view,omitempty"`
	// Error says why the deployment's status could not be read.
	Error string `json:"error,omitempty"`
}

func listJSON(entries []statuspage.Entry, now time.Time) []listItem {
	items := []listItem{}
	for _, e := range entries {
		it := listItem{Deployment: e.Ref.Deployment, Cluster: e.Ref.Cluster, Running: e.Running, StartedAt: e.StartedAt, ClosedAt: e.ClosedAt, Error: e.Err}
		if e.Status != nil {
			v := statuspage.Build(*e.Status, statuspage.Links{}, now)
			it.View = &v
		}
		items = append(items, it)
	}
	return items
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeList prints the deployments as an aligned table.
func writeList(w io.Writer, entries []statuspage.Entry, now time.Time) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No deployments yet. Merge a pull request that adds a plan under deploys/.")
		return err
	}
	var tw strings.Builder
	fmt.Fprintln(&tw, "DEPLOYMENT\tCLUSTER\tPHASE\tDONE\tPR\tSTARTED\tTOOK")
	for _, e := range entries {
		if e.Status == nil {
			state := "closed"
			if e.Running {
				state = "running"
			}
			fmt.Fprintf(&tw, "%s\t%s\t%s\t-\t-\t-\t-\tstatus unavailable: %s\n", e.Ref.Deployment, e.Ref.Cluster, state, oneLine(e.Err))
			continue
		}
		v := statuspage.Build(*e.Status, statuspage.Links{}, now)
		pr := "-"
		if v.PR != 0 {
			pr = fmt.Sprintf("%s#%d", v.Repo, v.PR)
		}
		fmt.Fprintf(&tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", e.Ref.Deployment, e.Ref.Cluster, v.Phase, v.Done, v.Total, pr, dash(v.Started), dash(v.Elapsed))
	}
	return statuspage.Align(w, tw.String())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
