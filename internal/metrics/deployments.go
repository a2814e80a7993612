package metrics

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/workflows"
)

// DefaultCountTimeout bounds the counting of deployments in one scrape,
// well under Prometheus' default scrape timeout of 10 s.
const DefaultCountTimeout = 3 * time.Second

// DeploymentCounter counts deployments (Orchestration runs) whose
// execution status is status, one of Temporal's names: "Running",
// "Completed", "Failed", "Canceled", "Terminated", "TimedOut". Closed
// deployments are counted for as long as Temporal keeps them (the
// namespace's retention).
type DeploymentCounter interface {
	CountDeployments(ctx context.Context, status string) (int64, error)
}

// TemporalDeployments counts deployments in Temporal's visibility store,
// with one CountWorkflow a status, in the client's namespace.
type TemporalDeployments struct {
	Client client.Client
}

var _ DeploymentCounter = TemporalDeployments{}

// CountDeployments counts the Orchestration runs in status.
func (d TemporalDeployments) CountDeployments(ctx context.Context, status string) (int64, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = '%s'", workflows.OrchestrationWorkflow, status)
	resp, err := d.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	if err != nil {
		return 0, fmt.Errorf("counting deployments (%s): %w", q, err)
	}
	return resp.GetCount(), nil
}

// deploymentStates are the execution statuses counted, with their state
// label. ContinuedAsNew is left out: the run that continues is counted.
var deploymentStates = []struct{ status, state string }{
	{"Running", "running"},
	{"Completed", "completed"},
	{"Failed", "failed"},
	{"Canceled", "canceled"},
	{"Terminated", "terminated"},
	{"TimedOut", "timed_out"},
}

// deploymentsCollector asks a DeploymentCounter at every scrape. When a
// count fails it exports no deployment count at all (a partial set would
// read as deployments that vanished) and counts the failed scrape.
type deploymentsCollector struct {
	counter DeploymentCounter
	timeout time.Duration
	errors  atomic.Int64

	deployments, scrapeErrors *prometheus.Desc
}

func newDeploymentsCollector(counter DeploymentCounter, timeout time.Duration) *deploymentsCollector {
	if timeout <= 0 {
		timeout = DefaultCountTimeout
	}
	return &deploymentsCollector{
		counter: counter,
		timeout: timeout,
		deployments: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "deployments"),
			"Deployments (Orchestration workflows) known to Temporal, by state (running, completed, failed, canceled, terminated, timed_out); closed ones for as long as the namespace keeps them. Counted at scrape time.",
			[]string{"state"}, nil),
		scrapeErrors: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "deployments_scrape_errors_total"),
			"Scrapes in which counting deployments in Temporal failed or timed out (prdeploy_deployments is then absent).",
			nil, nil),
	}
}

func (c *deploymentsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deployments
	ch <- c.scrapeErrors
}

func (c *deploymentsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts := make([]int64, len(deploymentStates))
	var err error
	for i, s := range deploymentStates {
		if counts[i], err = c.counter.CountDeployments(ctx, s.status); err != nil {
			break
		}
	}
	if err != nil {
		c.errors.Add(1)
	} else {
		for i, s := range deploymentStates {
			ch <- prometheus.MustNewConstMetric(c.deployments, prometheus.GaugeValue, float64(counts[i]), s.state)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.CounterValue, float64(c.errors.Load()))
}
