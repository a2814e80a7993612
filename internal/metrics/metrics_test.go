package metrics

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/githubapp"
	"github.com/prdeploy/prdeploy/internal/metrics/metricstest"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// The observer methods fit the fields they are meant for.
var (
	_ webhook.ObserveFunc            = (*Metrics)(nil).ObserveWebhook
	_ func(githubapp.APICall)        = (*Metrics)(nil).ObserveGitHub
	_ func(method string, err error) = (*Metrics)(nil).ObserveSlackError
	_ func(event, result string)     = (*Metrics)(nil).ObserveStatusAccess
)

// serve runs m's handler on a real HTTP server for the test.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	return metricstest.ScrapeURL(t, url)
}

func TestScrapeCountsObservations(t *testing.T) {
	m := New()
	url := serve(t, m)

	before := scrape(t, url)
	if _, ok := before["go_goroutines"]; !ok {
		t.Error("no go_goroutines: the Go collector is missing")
	}
	if _, ok := before["process_start_time_seconds"]; !ok {
		t.Error("no process_start_time_seconds: the process collector is missing")
	}
	if v, ok := before["prdeploy_github_rate_limit_remaining"]; ok {
		t.Errorf("rate limit remaining = %v before GitHub said anything, want absent", v)
	}

	m.ObserveWebhook(webhook.SourceGitHub, "pull_request", webhook.ResultAccepted)
	m.ObserveWebhook(webhook.SourceGitHub, "pull_request", webhook.ResultAccepted)
	m.ObserveWebhook(webhook.SourceGitHub, webhook.UnknownEvent, webhook.ResultBadSignature)
	m.ObserveWebhook(webhook.SourceSlack, "block_actions", webhook.ResultError)
	m.ObserveGitHub(githubapp.APICall{Method: "GET", StatusCode: 200, RateLimitRemaining: 4999})
	m.ObserveGitHub(githubapp.APICall{Method: "POST", StatusCode: 502, RateLimitRemaining: -1})
	m.ObserveGitHub(githubapp.APICall{Method: "GET", StatusCode: 0, RateLimitRemaining: -1})
	m.ObserveGitHub(githubapp.APICall{Method: "GET", StatusCode: 200, RateLimitRemaining: 4997})
	m.ObserveSlackError("chat.postMessage", errors.New("channel_not_found"))

	got := scrape(t, url)
	for series, want := range map[string]float64{
		`prdeploy_webhooks_total{event="pull_request",result="accepted",source="github"}`: 2,
		`prdeploy_webhooks_total{event="unknown",result="bad_signature",source="github"}`: 1,
		`prdeploy_webhooks_total{event="block_actions",result="error",source="slack"}`:    1,
		`prdeploy_github_requests_total{code="200",method="GET"}`:                         2,
		`prdeploy_github_requests_total{code="502",method="POST"}`:                        1,
		`prdeploy_github_requests_total{code="none",method="GET"}`:                        1,
		`prdeploy_github_rate_limit_remaining`:                                            4997,
		`prdeploy_slack_errors_total{method="chat.postMessage"}`:                          1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %t), want %v", series, v, ok, want)
		}
	}
	n := 0
	for series := range got {
		if strings.HasPrefix(series, "prdeploy_") {
			n++
		}
	}
	if n != 8 {
		t.Errorf("%d prdeploy series, want the 8 above: %v", n, got)
	}
}

// TestTemporalHandlerMapsWorkflowTimers: the two workflow timers land in
// their histograms by cluster, and ignored commands in their counter by
// reason, whatever other tags the SDK adds; the SDK's own metrics are
// dropped.
func TestTemporalHandlerMapsWorkflowTimers(t *testing.T) {
	m := New()
	url := serve(t, m)
	sdkTags := map[string]string{"namespace": "default", "task_queue": workflows.TaskQueue, "workflow_type": workflows.OrchestrationWorkflow}
	h := m.TemporalHandler().WithTags(sdkTags)

	h.WithTags(map[string]string{workflows.MetricTagCluster: "prod"}).Timer(workflows.MetricGateWait).Record(90 * time.Second)
	h.WithTags(map[string]string{workflows.MetricTagCluster: "prod"}).Timer(workflows.MetricGateWait).Record(2 * time.Hour)
	h.WithTags(map[string]string{workflows.MetricTagCluster: "staging"}).Timer(workflows.MetricLockWait).Record(3 * time.Second)
	h.WithTags(map[string]string{workflows.MetricTagReason: workflows.IgnoredNotWriter}).Counter(workflows.MetricCommandsIgnored).Inc(3)
	// What the SDK itself emits.
	h.Counter("temporal_workflow_completed").Inc(1)
	h.Gauge("temporal_worker_task_slots_available").Update(3)
	h.Timer("temporal_workflow_task_execution_latency").Record(time.Millisecond)

	got := scrape(t, url)
	for series, want := range map[string]float64{
		`prdeploy_gate_wait_seconds_count{cluster="prod"}`:            2,
		`prdeploy_gate_wait_seconds_sum{cluster="prod"}`:              90 + 7200,
		`prdeploy_gate_wait_seconds_bucket{cluster="prod",le="60"}`:   0,
		`prdeploy_gate_wait_seconds_bucket{cluster="prod",le="300"}`:  1,
		`prdeploy_gate_wait_seconds_bucket{cluster="prod",le="7200"}`: 2,
		`prdeploy_lock_wait_seconds_count{cluster="staging"}`:         1,
		`prdeploy_lock_wait_seconds_sum{cluster="staging"}`:           3,
		`prdeploy_commands_ignored_total{reason="not_writer"}`:        3,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %t), want %v", series, v, ok, want)
		}
	}
	for series := range got {
		if strings.HasPrefix(series, "temporal_") {
			t.Errorf("SDK metric exported: %s", series)
		}
		if strings.Contains(series, "prdeploy_gate_wait_seconds") && !strings.Contains(series, `cluster="prod"`) {
			t.Errorf("gate wait in another cluster: %s", series)
		}
	}
}
