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
// prdeploy_lock_wait_seconds, and drops every other metric the SDK emits.
// The SDK already drops metrics recorded while a workflow replays.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	return temporalHandler{m: m, cluster: "unknown"}
}

type temporalHandler struct {
	m       *Metrics
	cluster string
}

var _ client.MetricsHandler = temporalHandler{}

func (h temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	if c, ok := tags[workflows.MetricTagCluster]; ok {
		h.cluster = c
	}
	return h
}

func (h temporalHandler) Counter(name string) client.MetricsCounter {
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

func (f timerFunc) Record(d time.Duration) { f(d) }
