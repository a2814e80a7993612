package workflows_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// BenchmarkWebhookLoad sends signed pull_request deliveries at 100 per
// second for 30 seconds (BENCH_WEBHOOK_SECONDS to change) over real HTTP
// to the webhook handler, whose dispatcher starts a PlanPR workflow on the
// embedded Temporal server for each, and reports acknowledgement latency
// (p50, p99, max) and how many plan checks ran (none may be lost).
func BenchmarkWebhookLoad(b *testing.B) {
	seconds := 30
	if s := os.Getenv("BENCH_WEBHOOK_SECONDS"); s != "" {
		fmt.Sscan(s, &seconds)
	}
	const rate = 100
	for b.Loop() {
		checker := &countingChecker{}
		h := newHarness(b, 0, 1, func(h *harness) {
			h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir, PlanChecks: checker}
		})
		handler, err := webhook.NewHandler(webhook.Config{Secrets: []webhook.Secret{"s"}, Dispatcher: temporalx.Dispatcher{Client: h.c}, Logger: slog.New(slog.DiscardHandler), Scope: webhook.Scope{Repo: "Codertocat/Hello-World"}})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(handler)
		raw, err := os.ReadFile("../webhook/testdata/payloads/pull_request/opened.payload.json")
		if err != nil {
			b.Fatal(err)
		}
		var payload map[string]any
		if err := json.Unmarshal(raw, &payload); err != nil {
			b.Fatal(err)
		}
		total := rate * seconds
		bodies := make([][]byte, total)
		for i := range bodies {
			// A new head commit per delivery: a new plan check each.
			payload["pull_request"].(map[string]any)["head"].(map[string]any)["sha"] = fmt.Sprintf("%040x", i+1)
			bodies[i], _ = json.Marshal(payload)
		}
		latencies := make([]time.Duration, total)
		codes := make([]int, total)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		start := time.Now()
		for i := range total {
			<-tick.C
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+webhook.Path, bytes.NewReader(bodies[i]))
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("delivery-%d", i))
				req.Header.Set("X-Hub-Signature-256", webhook.Sign("s", bodies[i]))
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				latencies[i] = time.Since(t0)
				if err == nil {
					codes[i] = resp.StatusCode
					resp.Body.Close()
				}
			})
		}
		tick.Stop()
		wg.Wait()
		sent := time.Since(start)
		h.eventually("every plan check", 5*time.Minute, func() bool {
			checker.mu.Lock()
			defer checker.mu.Unlock()
			return len(checker.calls) >= total
		})
		srv.Close()
		failed := 0
		for _, c := range codes {
			if c != http.StatusAccepted {
				failed++
			}
		}
		slices.Sort(latencies)
		q := func(p float64) float64 { return float64(latencies[int(p*float64(total-1))].Microseconds()) / 1000 }
		b.ReportMetric(q(0.50), "p50-ms")
		b.ReportMetric(q(0.99), "p99-ms")
		b.ReportMetric(q(1), "max-ms")
		b.ReportMetric(float64(failed), "not-accepted")
		checker.mu.Lock()
		b.ReportMetric(float64(len(checker.calls)), "checks")
		checker.mu.Unlock()
		b.Logf("%d deliveries in %v", total, sent.Round(time.Millisecond))
	}
}
