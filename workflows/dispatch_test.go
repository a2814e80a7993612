package workflows_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// countingChecker counts plan checks.
type countingChecker struct {
	mu    sync.Mutex
	calls []workflows.PlanPRInput
}

func (c *countingChecker) CheckPR(_ context.Context, in workflows.PlanPRInput) (workflows.PlanPRResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, in)
	return workflows.PlanPRResult{Plans: []string{"deploys/x.yaml"}, Conclusion: "success"}, nil
}

// TestWebhookDeliveredThriceChecksOnce: GitHub's own "pull_request opened"
// example, signed, POSTed over real HTTP to the webhook handler three times
// (a redelivery, a second replica), starts one PlanPR, which checks the
// plans once; a forged signature starts nothing.
func TestWebhookDeliveredThriceChecksOnce(t *testing.T) {
	checker := &countingChecker{}
	h := newHarness(t, 0, 1, func(h *harness) {
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir, PlanChecks: checker}
	})
	handler, err := webhook.NewHandler(webhook.Config{Secrets: []webhook.Secret{"s3cret"}, Dispatcher: temporalx.Dispatcher{Client: h.c}, Scope: webhook.Scope{Repo: "Codertocat/Hello-World"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	body, err := os.ReadFile("../webhook/testdata/payloads/pull_request/opened.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+webhook.Path, bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(webhook.Sign("not-the-secret", body)); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d", code)
	}
	for i := range 3 {
		if code := post(webhook.Sign("s3cret", body)); code != http.StatusAccepted {
			t.Fatalf("delivery %d: %d", i, code)
		}
		if i == 0 { // let the first run finish, so the later ones meet a closed workflow
			h.eventually("the plan check", 30*time.Second, func() bool {
				checker.mu.Lock()
				defer checker.mu.Unlock()
				return len(checker.calls) == 1
			})
		}
	}
	checker.mu.Lock()
	defer checker.mu.Unlock()
	if len(checker.calls) != 1 {
		t.Fatalf("%d plan checks, want 1", len(checker.calls))
	}
	in := checker.calls[0]
	if in.PR == 0 || len(in.HeadSHA) != 40 || in.Repo == "" {
		t.Fatalf("check input %+v", in)
	}
	if _, err := h.c.DescribeWorkflowExecution(context.Background(), workflows.PlanPRWorkflowID(in), ""); err != nil {
		t.Fatal(err)
	}
}
