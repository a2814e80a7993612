package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/internal/slack"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// fakeSlack is Slack's Web API for chat.postMessage and chat.update, over
// HTTP with Slack's form-encoded requests and JSON answers; it keeps the
// messages, and can fail for a while. Also a response_url sink.
type fakeSlack struct {
	mu        sync.Mutex
	messages  map[string]string // ts → latest blocks JSON + text
	replies   []string
	ephemeral []string
	failNext  int
	ts        int
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/respond") {
		body, _ := io.ReadAll(r.Body)
		var m struct{ Text string }
		json.Unmarshal(body, &m)
		f.ephemeral = append(f.ephemeral, m.Text)
		return
	}
	if f.failNext > 0 {
		f.failNext--
		http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Authorization") != "Bearer xoxb-test" && r.Form.Get("token") != "xoxb-test" {
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if f.messages == nil {
		f.messages = map[string]string{}
	}
	content := r.Form.Get("text") + "\n" + r.Form.Get("blocks")
	switch {
	case strings.HasSuffix(r.URL.Path, "/chat.postMessage") && r.Form.Get("thread_ts") != "":
		f.replies = append(f.replies, r.Form.Get("text"))
		f.ts++
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0DEPLOYS", "ts": fmt.Sprintf("1700000000.%06d", f.ts)})
	case strings.HasSuffix(r.URL.Path, "/chat.postMessage"):
		f.ts++
		ts := fmt.Sprintf("1700000000.%06d", f.ts)
		f.messages[ts] = content
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0DEPLOYS", "ts": ts})
	case strings.HasSuffix(r.URL.Path, "/chat.update"):
		ts := r.Form.Get("ts")
		if _, ok := f.messages[ts]; !ok {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		f.messages[ts] = content
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0DEPLOYS", "ts": ts})
	default:
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (f *fakeSlack) state() (map[string]string, []string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]string{}
	for k, v := range f.messages {
		m[k] = v
	}
	return m, append([]string(nil), f.replies...), append([]string(nil), f.ephemeral...)
}

// TestSlackApprovals: a deployment's Slack message gets an Approve button
// at the gate; clicks, signed with a real signing secret and sent over
// HTTP, are judged by the same policy as /approve: an unmapped user is
// refused privately, ana's click is "1 of 2", forged and stale clicks are
// 401 and record nothing, bo's opens the gate; Slack failing for a while
// neither fails nor stalls anything, and the message converges to done.
func TestSlackApprovals(t *testing.T) {
	fs := &fakeSlack{failNext: 3}
	api := httptest.NewServer(fs)
	defer api.Close()
	chat, err := slack.New(slack.Config{Token: "xoxb-test", APIURL: api.URL + "/api/", UserMap: map[string]string{"ana": "U0ANA", "bo": "U0BO"}})
	if err != nil {
		t.Fatal(err)
	}
	host := &recordingHost{}
	h := newHarness(t, 50*time.Millisecond, 3, func(h *harness) {
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir,
			CheckRuns: host, Comments: host, Statuses: temporalx.Statuses{Client: h.c},
			Deployments: temporalx.Deployments{Client: h.c}, Permissions: permissions{"ana": "write", "bo": "write"},
			Chat: chat, ChatChannels: map[string]string{"*": "#deploys"}}
	})
	h.plan("web-11", `  services: [{name: web, tag: "11"}]
  tenants: {names: [t01, t02, t03]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary}
`+noChecks, policies.Requirement{Rule: "prod", Gate: "after-canary", Approvals: 2, Teams: []string{"acme/sre"}})
	ctx := context.Background()
	req := workflows.DeployRequest{Repo: "acme/deploys", SHA: strings.Repeat("c", 40), Cluster: "c1", DeploymentID: "web-11", PRAuthor: "author", PlanPath: "deploys/web-11.yaml"}
	h.deployWith(workflows.OrchestrationInput{Request: req})
	if _, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ReportWorkflowID("c1", "web-11"), TaskQueue: workflows.TaskQueue}, workflows.ReportWorkflow, workflows.ReportInput{Request: req, Every: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the Slack message to offer Approve", 60*time.Second, func() bool {
		msgs, _, _ := fs.state()
		for _, m := range msgs {
			if strings.Contains(m, `"action_id":"`+workflows.ApproveIdentifier("after-canary")+`"`) {
				return true
			}
		}
		return false
	})

	handler, err := webhook.NewSlackHandler(webhook.SlackConfig{TeamID: "T0PRDEPLOY", SigningSecrets: []webhook.Secret{"signing-secret"}, Dispatcher: temporalx.Dispatcher{Client: h.c}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	template, err := os.ReadFile("../webhook/testdata/slack/block_actions.json")
	if err != nil {
		t.Fatal(err)
	}
	clicks := 0
	actionID := workflows.ApproveIdentifier("after-canary")
	click := func(user string, secret webhook.Secret, age time.Duration) int {
		t.Helper()
		clicks++
		var p map[string]any
		json.Unmarshal(template, &p)
		p["user"].(map[string]any)["id"] = user
		p["response_url"] = api.URL + "/respond/" + strconv.Itoa(clicks)
		a := p["actions"].([]any)[0].(map[string]any)
		a["action_id"], a["value"], a["action_ts"] = actionID, workflows.DeployWorkflowID("c1", "web-11"), fmt.Sprintf("1714830123.%06d", clicks)
		payload, _ := json.Marshal(p)
		body := []byte("payload=" + url.QueryEscape(string(payload)))
		ts := strconv.FormatInt(time.Now().Add(-age).Unix(), 10)
		r, _ := http.NewRequest(http.MethodPost, srv.URL+webhook.SlackPath, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Slack-Request-Timestamp", ts)
		r.Header.Set("X-Slack-Signature", webhook.SignSlack(secret, ts, body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	answered := func(n int, want string) {
		t.Helper()
		h.eventually("the private answer "+want, 30*time.Second, func() bool {
			_, _, eph := fs.state()
			return len(eph) >= n && strings.Contains(eph[n-1], want)
		})
	}
	if code := click("U0NOBODY", "signing-secret", 0); code != http.StatusOK {
		t.Fatalf("unmapped: %d", code)
	}
	answered(1, "not linked to a GitHub login")
	// A press of a button shown for another gate approves nothing.
	actionID = workflows.ApproveIdentifier("before-prod")
	if code := click("U0ANA", "signing-secret", 0); code != http.StatusOK {
		t.Fatalf("other gate: %d", code)
	}
	answered(2, "this button was for a")
	actionID = workflows.ApproveIdentifier("after-canary")
	if code := click("U0ANA", "signing-secret", 0); code != http.StatusOK {
		t.Fatalf("ana: %d", code)
	}
	answered(3, "1 of 2 from @acme/sre")
	if code := click("U0BO", "not-the-secret", 0); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d", code)
	}
	if code := click("U0BO", "signing-secret", 6*time.Minute); code != http.StatusUnauthorized {
		t.Fatalf("stale: %d", code)
	}
	if st := h.status("web-11"); len(st.Gates[0].Approvals) != 1 {
		t.Fatalf("a refused click was recorded: %+v", st.Gates[0].Approvals)
	}
	if code := click("U0BO", "signing-secret", 0); code != http.StatusOK {
		t.Fatalf("bo: %d", code)
	}
	answered(4, "gate open")
	st := h.result(h.c.GetWorkflow(ctx, workflows.DeployWorkflowID("c1", "web-11"), ""))
	if st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("deployment: %s", st.Phase)
	}
	// A stale button: the gate is passed.
	click("U0ANA", "signing-secret", 0)
	answered(5, "refused")
	// The message is updated, then the thread's milestone is posted: wait
	// for both.
	h.eventually("the message and its thread to show the end", 30*time.Second, func() bool {
		msgs, replies, _ := fs.state()
		for _, m := range msgs {
			if strings.Contains(m, "done, 3 of 3 tenants") {
				return len(msgs) == 1 && strings.Contains(strings.Join(replies, "\n"), "completed: 3 tenants")
			}
		}
		return false
	})
	_, replies, _ := fs.state()
	if n := strings.Count(strings.Join(replies, "\n"), "completed: 3 tenants"); n != 1 {
		t.Fatalf("thread replies: %q", replies)
	}
}
