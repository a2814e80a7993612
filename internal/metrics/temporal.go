package metrics

import (
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/workflows"
)

// TemporalHandler is a client.MetricsHandler for the Temporal client the
// worker runs on (client.Options.MetricsHandler): it turns the timers the
// workflows record (workflows.MetricGateWait and MetricLockWait, tagged
// with the cluster) into prdeploy_gate_wait_seconds and
// prdeploy_lock_wait_seconds, the counter of ignored commands
// (workflows.MetricCommandsIgnored, tagged with the reason) into
// prdeploy_commands_ignored_total, and drops every other metric the SDK
// emits.
// The SDK already drops metrics recorded while a workflow replays.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	return temporalHandler{m: m, cluster: "unknown", reason: "unknown"}
}

type temporalHandler struct {
	m       *Metrics
	cluster string
	reason  string
}

var _ client.MetricsHandler = temporalHandler{}

func (h temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	if c, ok := tags[workflows.MetricTagCluster]; ok {
		h.cluster = c
	}
	if r, ok := tags[workflows.MetricTagReason]; ok {
		h.reason = r
	}
	return h
}

func (h temporalHandler) Counter(name string) client.MetricsCounter {
	if name == workflows.MetricCommandsIgnored {
		return counterFunc(h.m.commandsIgnored.WithLabelValues(h.reason).Add)
	}
	return client.MetricsNopHandler.Counter(name)
}

func (h temporalHandler) Gauge(name string) client.MetricsGauge {
	return client.MetricsNopHandler.Gauge(name)
}

func (h temporalHandler) Timer(name string) client.MetricsTimer {
	switch name {
	case workflows.MetricGateWait:
		return timer(h.m.gateWait.WithLabelValues(h.cluster))
	case workflows.MetricLockWait:
		return timer(h.m.lockWait.WithLabelValues(h.cluster))
	}
	return client.MetricsNopHandler.Timer(name)
}

// timer records durations into a histogram, in seconds.
func timer(o interface{ Observe(float64) }) client.MetricsTimer {
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type timerFunc func(time.Duration)

type counterFunc func(float64)

func (f counterFunc) Inc(n int64) { f(float64(n)) }

func (f timerFunc) Record(d time.Duration) { f(d) }
