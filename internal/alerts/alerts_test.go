package alerts_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/alerts"
	"github.com/prdeploy/prdeploy/internal/alerts/alertstest"
	"github.com/prdeploy/prdeploy/workflows"
)

func target(tenant string) workflows.CheckTarget {
	return workflows.CheckTarget{Tenant: tenant, Matchers: []string{`severity="critical"`, `tenant="` + tenant + `"`}}
}

// TestNoCriticalAlertsOnRealAlertmanager posts alerts to a real
// Alertmanager and probes the check as a deployment would.
func TestNoCriticalAlertsOnRealAlertmanager(t *testing.T) {
	am := alertstest.Start(t)
	c := &alerts.Client{URL: am.URL}
	ctx := context.Background()
	probe := func(tenant string) workflows.CheckResult {
		t.Helper()
		r, err := c.Probe(ctx, workflows.CheckNoCriticalAlerts, target(tenant))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := probe("acme"); !r.OK {
		t.Fatalf("no alerts yet, got %+v", r)
	}

	am.Fire(t, "5xx above 5% for 5m", map[string]string{"alertname": "HighErrorRate", "severity": "critical", "tenant": "acme"})
	am.Fire(t, "disk 85% full", map[string]string{"alertname": "DiskFilling", "severity": "warning", "tenant": "acme"})
	am.Fire(t, "queue backed up", map[string]string{"alertname": "QueueBacklog", "severity": "critical", "tenant": "beta"})

	r := probe("acme")
	want := `1 alert firing matching severity="critical", tenant="acme": HighErrorRate: 5xx above 5% for 5m`
	if r.OK || r.Reason != want {
		t.Fatalf("acme: got %+v, want failure %q", r, want)
	}
	if r := probe("beta"); r.OK || !strings.Contains(r.Reason, "QueueBacklog") {
		t.Fatalf("beta: got %+v", r)
	}
	if r := probe("gamma"); !r.OK {
		t.Fatalf("gamma has no alert, got %+v", r)
	}

	// A silenced alert does not block.
	am.Silence(t, map[string]string{"alertname": "QueueBacklog", "tenant": "beta"})
	if r := probe("beta"); !r.OK {
		t.Fatalf("beta's alert is silenced, got %+v", r)
	}
	// A resolved alert does not block.
	am.Resolve(t, map[string]string{"alertname": "HighErrorRate", "severity": "critical", "tenant": "acme"})
	if r := probe("acme"); !r.OK {
		t.Fatalf("acme's alert is resolved, got %+v", r)
	}

	// A matcher Alertmanager cannot parse is the plan's fault: permanent.
	_, err := c.Probe(ctx, workflows.CheckNoCriticalAlerts, workflows.CheckTarget{Matchers: []string{`severity=="critical`}})
	var perm workflows.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "400 Bad Request") {
		t.Fatalf("bad matcher: got %v, want a permanent 400", err)
	}
}

// TestUnreachableAlertmanagerIsRetryable: a probe that cannot reach
// Alertmanager is an error to retry (WatchCheck counts them), not a
// failed check and not a permanent error.
func TestUnreachableAlertmanagerIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	c := &alerts.Client{URL: srv.URL, HTTP: &http.Client{Timeout: time.Second}}
	_, err := c.Probe(context.Background(), workflows.CheckNoCriticalAlerts, target("acme"))
	var perm workflows.PermanentError
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: got %v, want a retryable error naming it", err)
	}
	srv.Close()
	_, err = c.Probe(context.Background(), workflows.CheckNoCriticalAlerts, target("acme"))
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("closed server: got %v, want a retryable error", err)
	}
}

func TestDescribeNamesAtMostThree(t *testing.T) {
	var as []alerts.Alert
	for _, n := range []string{"D", "B", "A", "C", "E"} {
		as = append(as, alerts.Alert{Labels: map[string]string{"alertname": n}})
	}
	got := alerts.Describe(as, []string{`severity="critical"`})
	want := `5 alerts firing matching severity="critical": A; B; C and 2 more`
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
