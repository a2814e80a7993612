package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// restartIDFormat names a restart by the UTC second it was asked for.
const restartIDFormat = "20060102T150405Z"

// restartPoll is how often --wait asks the restart how far it got.
const restartPoll = 500 * time.Millisecond

func newRestartCmd() *cobra.Command {
	var (
		tf              temporalFlags
		req             planner.RestartRequest
		repoDir, id, as string
		maxParallel     int
		timeout, settle time.Duration
		wait            bool
		waitTimeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "restart SERVICE --cluster C (--tenants a,b | --all) [--repo DIR] [--wait]",
		Short: "Restart a service in some tenants, one tenant after another, with the safety checks",
		Long: `Start a rolling restart of a service (a new pod template revision of its
workloads) in tenants of one cluster. It takes the same lock as deployments,
so it waits for a deployment of that service in that tenant, and runs the
safety checks a plan gets by default beside each restart. A failed tenant
stops the restart of the tenants not started yet.

The tenants, their namespaces and the services they run are read from the
fleet of the GitOps repository at --repo. The restart is named by --id (by
default the UTC second, like 20261126T153000Z): the same ID again is not run
twice. With --wait, the command follows the restart until it ends and exits
1 if a tenant failed (Ctrl-C stops following, not the restart).

Temporal is found as for ` + "`prdeploy status`" + `: --config, or --temporal-address.`,
		Example: `  # Restart web in two tenants, one at a time, and follow it
  prdeploy restart web --cluster prod-eu --tenants globex,initech --wait

  # Every tenant of prod-us that runs query, three at a time
  prdeploy restart query --cluster prod-us --all --max-parallel 3 --repo ../gitops`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Service = args[0]
			switch {
			case req.Cluster == "":
				return usageError{errors.New("--cluster is required: the cluster whose tenants restart")}
			case req.All == (len(req.Tenants) > 0):
				return usageError{errors.New("give either --tenants a,b or --all")}
			case maxParallel < 1:
				return usageError{fmt.Errorf("--max-parallel must be at least 1, not %d", maxParallel)}
			case timeout <= 0:
				return usageError{fmt.Errorf("--timeout must be positive, not %v", timeout)}
			case settle < 0:
				return usageError{fmt.Errorf("--settle must not be negative, not %v", settle)}
			case waitTimeout <= 0:
				return usageError{fmt.Errorf("--wait-timeout must be positive, not %v", waitTimeout)}
			case strings.Contains(id, "/"):
				return usageError{fmt.Errorf("--id %q must not contain /", id)}
			}
			if as == "" {
				if as = os.Getenv("USER"); as == "" {
					return usageError{errors.New("who restarts? give --as LOGIN ($USER is not set)")}
				}
			}
			fleet, err := loadFleet(repoDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if id == "" {
				id = time.Now().UTC().Format(restartIDFormat)
			}
			in, err := restartInput(fleet, req, id)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("settle") {
				in.Checks.Settle = planner.Duration(settle)
			}
			in.Requester, in.MaxParallel, in.Timeout = as, maxParallel, timeout

			tc, err := tf.dial(cmd)
			if err != nil {
				return err
			}
			defer tc.Close()
			ctx := cmd.Context()
			if wait {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, waitTimeout)
				defer cancel()
			}
			return startRestart(ctx, tc, in, wait, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	tf.add(cmd)
	cmd.Flags().StringVar(&req.Cluster, "cluster", "", "cluster of the tenants (required)")
	cmd.Flags().StringSliceVar(&req.Tenants, "tenants", nil, "tenants to restart, in this order (comma-separated)")
	cmd.Flags().BoolVar(&req.All, "all", false, "restart every tenant of the cluster that runs the service")
	cmd.Flags().StringVar(&repoDir, "repo", ".", "root of the GitOps repository (holds fleet.yaml)")
	cmd.Flags().IntVar(&maxParallel, "max-parallel", 1, "tenants restarting at once")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long one tenant's restart may take, rollout included")
	cmd.Flags().DurationVar(&settle, "settle", planner.DefaultSettle.D(), "how long the checks keep watching a tenant after its restart (a plan's default)")
	cmd.Flags().StringVar(&as, "as", "", "who asks for the restart: it holds the locks in that name (default $USER)")
	cmd.Flags().StringVar(&id, "id", "", "name of the restart; the same ID again is not run twice (default: the UTC second, 20261126T153000Z)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the restart until it ends; exit 1 if a tenant failed")
	cmd.Flags().DurationVar(&waitTimeout, "wait-timeout", time.Hour, "with --wait, stop following after this long (exit 1; the restart goes on)")
	return cmd
}

// loadFleet reads fleet.yaml of the repository at dir, printing its
// problems as file:line:col: message. Problems of plans do not matter here.
func loadFleet(dir string, errOut io.Writer) (*planner.Fleet, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, usageError{err}
	}
	if _, err := os.Stat(filepath.Join(root, planner.FleetFile)); err != nil {
		return nil, usageError{fmt.Errorf("%s is not a GitOps repository root: no %s (use --repo DIR)", dir, planner.FleetFile)}
	}
	repo, err := planner.LoadRepo(os.DirFS(root))
	problems := planner.Errors(err) // only the fleet's
	for _, e := range problems {
		fmt.Fprintln(errOut, e.Error())
	}
	if len(problems) > 0 || repo.Fleet == nil {
		return nil, invalidError{fmt.Sprintf("%s has %s", planner.FleetFile, count(len(problems), "problem"))}
	}
	return repo.Fleet, nil
}

// restartInput resolves the restart in the fleet (the planner decides
// which tenants and which checks) and names it id.
func restartInput(f *planner.Fleet, req planner.RestartRequest, id string) (workflows.RestartInput, error) {
	r, err := planner.ResolveRestart(f, req)
	if err != nil {
		// One problem a line, each as the CLI says its errors.
		return workflows.RestartInput{}, invalidError{strings.ReplaceAll(err.Error(), "\n", "\nprdeploy: ")}
	}
	in := workflows.RestartInput{ID: id, Checks: r.Checks}
	for _, t := range r.Targets {
		in.Targets = append(in.Targets, workflows.ServiceTarget{Deployment: id, Cluster: t.Cluster, KubeContext: t.KubeContext,
			Tenant: t.Tenant, Namespace: t.Namespace, Service: t.Service})
	}
	return in, nil
}

// startRestart starts the RollingRestart; a restart with the same ID that
// already ran or runs is reported, not started again. With wait, it
// follows the restart to its end.
func startRestart(ctx context.Context, tc client.Client, in workflows.RestartInput, wait bool, out, errOut io.Writer) error {
	svc, cluster := in.Targets[0].Service, in.Targets[0].Cluster
	id := workflows.RestartWorkflowID(cluster, svc, in.ID)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.RollingRestartWorkflow, in)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &dup):
		fmt.Fprintf(errOut, "%s was already started (a restart with ID %s ran or runs); not started again\n", id, in.ID)
		if !wait {
			fmt.Fprintln(out, id)
			return nil
		}
		run = tc.GetWorkflow(ctx, id, "")
	case err != nil:
		return fmt.Errorf("starting the restart %s: %w", id, err)
	default:
		var names []string
		for _, t := range in.Targets {
			names = append(names, t.Tenant)
		}
		fmt.Fprintf(errOut, "started the restart of %s in %s of %s (%s), %d at a time, as %s\n",
			svc, count(len(in.Targets), "tenant"), cluster, strings.Join(names, ", "), max(in.MaxParallel, 1), in.Requester)
	}
	fmt.Fprintln(out, id)
	if !wait {
		return nil
	}
	res, err := followRestart(ctx, tc, run, out)
	if err != nil {
		return err
	}
	return restartOutcome(res, out)
}

// followRestart prints each tenant's phase as it changes until the
// restart ends, and returns its result (also when it failed).
func followRestart(ctx context.Context, tc client.Client, run client.WorkflowRun, out io.Writer) (workflows.RestartResult, error) {
	type ended struct {
		res workflows.RestartResult
		err error
	}
	done := make(chan ended, 1)
	go func() {
		var e ended
		e.err = run.Get(ctx, &e.res)
		done <- e
	}()
	shown := map[string]string{}
	show := func(res workflows.RestartResult) {
		for _, t := range res.Tenants {
			if t.Tenant != "" && t.Phase != shown[t.Tenant] {
				shown[t.Tenant] = t.Phase
				fmt.Fprintf(out, "  %s: %s\n", t.Tenant, t.Phase)
			}
		}
	}
	tick := time.NewTicker(restartPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return workflows.RestartResult{}, gaveUp(ctx, run.GetID(), shown)
		case e := <-done:
			var app *temporal.ApplicationError
			if errors.As(e.err, &app) && app.Type() == "RestartFailed" && app.HasDetails() {
				if err := app.Details(&e.res); err != nil {
					return e.res, fmt.Errorf("reading the failed restart's result: %w", err)
				}
			} else if e.err != nil && ctx.Err() != nil {
				return e.res, gaveUp(ctx, run.GetID(), shown)
			} else if e.err != nil {
				return e.res, fmt.Errorf("restart %s: %w", run.GetID(), e.err)
			}
			show(e.res)
			return e.res, nil
		case <-tick.C:
			v, err := tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryStatus)
			var res workflows.RestartResult
			if err == nil && v.Get(&res) == nil {
				show(res)
			}
		}
	}
}

// gaveUp says why following a restart stopped, and what it was waiting for.
func gaveUp(ctx context.Context, id string, shown map[string]string) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	var waiting []string
	for _, t := range slices.Sorted(maps.Keys(shown)) {
		if p := shown[t]; p != workflows.TenantSucceeded && p != workflows.TenantFailed {
			waiting = append(waiting, t+" "+p)
		}
	}
	what := "no tenant had started"
	if len(waiting) > 0 {
		what = "still going: " + strings.Join(waiting, ", ")
	}
	return fmt.Errorf("gave up waiting for restart %s to end after --wait-timeout (%s); it goes on (see the Temporal UI, or run again with --wait and the same --id)", id, what)
}

// restartOutcome prints how each tenant ended; a tenant that did not
// succeed makes it an error.
func restartOutcome(res workflows.RestartResult, out io.Writer) error {
	var tw strings.Builder
	fmt.Fprintln(&tw, "TENANT\tPHASE\tNOTE")
	failed := 0
	for _, t := range res.Tenants {
		if t.Phase != workflows.TenantSucceeded {
			failed++
		}
		fmt.Fprintf(&tw, "%s\t%s\t%s\n", t.Tenant, statuspage.Marked(t.Phase), oneLine(t.Failure))
	}
	if err := statuspage.Align(out, tw.String()); err != nil {
		return err
	}
	if failed > 0 {
		return invalidError{fmt.Sprintf("the restart failed: %d of %d tenants did not restart", failed, len(res.Tenants))}
	}
	return nil
}
