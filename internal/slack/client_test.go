package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/workflows"
)

const deployment = "deploy:prod/checkout-v42"

func waitingReport() workflows.Report {
	return workflows.Report{
		Title:   "checkout-v42 in prod: waiting for approval (1 of 10 tenants done)",
		Summary: "**checkout-v42** → cluster `prod` · PR #7\n\n**Gates**\n\n| gate | state | approvals |\n|---|---|---|\n| `after-canary` | ⏳ waiting | none yet |\n\n[Live status](https://prdeploy.example/s?d=1&x=2)\n",
		Status:  "in_progress", Conclusion: "action_required",
		Actions: []workflows.ReportAction{
			{Label: "Approve", Description: "Approve gate after-canary", Identifier: workflows.ActionApprove},
			{Label: "Pause", Description: "Start no more tenants", Identifier: workflows.ActionPause},
			{Label: "Roll back", Description: "Roll back every deployed tenant", Identifier: workflows.ActionRollback},
		},
	}
}

func isPermanent(err error) bool {
	var p workflows.PermanentError
	return errors.As(err, &p)
}

// blockOf returns the first block with the ID.
func blockOf(blocks []map[string]any, id string) map[string]any {
	for _, b := range blocks {
		if b["block_id"] == id {
			return b
		}
	}
	return nil
}

func textOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["text"].(string)
	return s
}

type button struct {
	ActionID, Value, Text, Style string
	Confirm                      bool
}

func buttonsOf(block map[string]any) []button {
	if block == nil {
		return nil
	}
	var out []button
	els, _ := block["elements"].([]any)
	for _, e := range els {
		m := e.(map[string]any)
		b := button{Text: textOf(m["text"])}
		b.ActionID, _ = m["action_id"].(string)
		b.Value, _ = m["value"].(string)
		b.Style, _ = m["style"].(string)
		_, b.Confirm = m["confirm"]
		out = append(out, b)
	}
	return out
}

func TestUpsertPostsThenUpdatesInPlace(t *testing.T) {
	f := newFakeSlack(t)
	c := f.client(t, Config{})
	ctx := context.Background()
	m := workflows.ChatMessage{Channel: "#deploys", Report: waitingReport(), Deployment: deployment, Mention: "U0MERGER"}

	ref, err := c.UpsertMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	// The channel comes back as Slack's ID, so that chat.update works.
	if ref.Channel != "C0DEPLOYS" || ref.TS == "" {
		t.Fatalf("ref = %+v", ref)
	}
	posts := f.calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	p := posts[0]
	if got := p.Form.Get("text"); got != m.Report.Title {
		t.Errorf("fallback text = %q", got)
	}
	blocks := p.blocks(t)
	if h := blockOf(blocks, blockTitle); h == nil || h["type"] != "header" || textOf(h["text"]) != m.Report.Title {
		t.Errorf("header = %v", h)
	}
	summary := blockOf(blocks, blockSummary+"0")
	if summary == nil {
		t.Fatalf("no summary section in %v", blocks)
	}
	wantSummary := "*checkout-v42* → cluster `prod` · PR #7\n\n*Gates*\n\n• `after-canary` · ⏳ waiting · none yet\n\n<https://prdeploy.example/s?d=1&amp;x=2|Live status>"
	if got := textOf(summary["text"]); got != wantSummary {
		t.Errorf("summary =\n%s\nwant\n%s", got, wantSummary)
	}
	ctxBlock := blockOf(blocks, blockContext)
	if ctxBlock == nil || !strings.Contains(fmt.Sprint(ctxBlock), "<@U0MERGER>") {
		t.Errorf("context does not mention the merger: %v", ctxBlock)
	}
	wantButtons := []button{
		{ActionID: "approve", Value: deployment, Text: "Approve", Style: "primary"},
		{ActionID: "pause", Value: deployment, Text: "Pause"},
		{ActionID: "rollback", Value: deployment, Text: "Roll back", Style: "danger", Confirm: true},
	}
	if got := buttonsOf(blockOf(blocks, blockActions)); fmt.Sprint(got) != fmt.Sprint(wantButtons) {
		t.Errorf("buttons\n got %+v\nwant %+v", got, wantButtons)
	}
	if blockOf(blocks, blockPaused) != nil {
		t.Error("paused section without PausedOnFailure")
	}

	// The next report updates the same message.
	m.Ref = ref
	m.Report = workflows.Report{Title: "checkout-v42 in prod: done, 10 of 10 tenants", Summary: "all done", Status: "completed", Conclusion: "success"}
	ref2, err := c.UpsertMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if ref2 != ref {
		t.Errorf("update moved the message: %+v → %+v", ref, ref2)
	}
	updates := f.calls("chat.update")
	if len(updates) != 1 || len(f.calls("chat.postMessage")) != 1 {
		t.Fatalf("%d updates, %d posts", len(updates), len(f.calls("chat.postMessage")))
	}
	u := updates[0]
	if u.Form.Get("ts") != ref.TS || u.Form.Get("channel") != "C0DEPLOYS" {
		t.Errorf("update of %s/%s", u.Form.Get("channel"), u.Form.Get("ts"))
	}
	ublocks := u.blocks(t)
	// A finished deployment has no buttons left.
	if blockOf(ublocks, blockActions) != nil {
		t.Errorf("buttons on a completed report: %v", ublocks)
	}
	if !strings.Contains(fmt.Sprint(blockOf(ublocks, blockContext)), "Succeeded") {
		t.Errorf("context = %v", blockOf(ublocks, blockContext))
	}
}

func TestUpsertRepostsADeletedMessage(t *testing.T) {
	f := newFakeSlack(t)
	c := f.client(t, Config{})
	ctx := context.Background()
	m := workflows.ChatMessage{Channel: "C0DEPLOYS", Report: waitingReport(), Deployment: deployment}
	ref, err := c.UpsertMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	f.deleteMessages()
	m.Ref = ref
	ref2, err := c.UpsertMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if ref2.TS == ref.TS || ref2.Channel != "C0DEPLOYS" {
		t.Errorf("ref after repost = %+v (was %+v)", ref2, ref)
	}
	if n := len(f.calls("chat.postMessage")); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
}

func TestButtonsFollowReportActions(t *testing.T) {
	cases := []struct {
		name    string
		actions []workflows.ReportAction
		want    []string
	}{
		{"none", nil, nil},
		{"resume and rollback", []workflows.ReportAction{
			{Label: "Resume", Identifier: workflows.ActionResume},
			{Label: "Roll back", Identifier: workflows.ActionRollback},
		}, []string{"resume", "rollback"}},
		{"approve only", []workflows.ReportAction{{Label: "Approve", Identifier: workflows.ActionApprove}}, []string{"approve"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := waitingReport()
			r.Actions = tc.actions
			blocks, _, err := messageBlocks(workflows.ChatMessage{Channel: "C0DEPLOYS", Report: r, Deployment: deployment})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range buttonsOf(blockJSON(t, blocks, blockActions)) {
				got = append(got, b.ActionID)
				if b.Value != deployment {
					t.Errorf("button %s has value %q", b.ActionID, b.Value)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("buttons %v, want %v", got, tc.want)
			}
		})
	}
	// Buttons need a deployment to name.
	_, err := (&Client{}).UpsertMessage(context.Background(), workflows.ChatMessage{Channel: "C0DEPLOYS", Report: waitingReport()})
	if !isPermanent(err) {
		t.Errorf("buttons without a deployment: err = %v, want permanent", err)
	}
}

// blockJSON encodes blocks as Slack receives them and returns the one with
// the ID.
func blockJSON(t testing.TB, blocks any, id string) map[string]any {
	t.Helper()
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	return blockOf(decoded, id)
}

func TestPausedOnFailure(t *testing.T) {
	f := newFakeSlack(t)
	c := f.client(t, Config{})
	at := time.Date(2026, 5, 4, 14, 3, 0, 0, time.UTC)
	r := waitingReport()
	r.Actions = []workflows.ReportAction{{Label: "Resume", Identifier: workflows.ActionResume}, {Label: "Roll back", Identifier: workflows.ActionRollback}}
	m := workflows.ChatMessage{
		Channel: "C0DEPLOYS", Report: r, Deployment: deployment, Mention: "U0MERGER",
		PausedOnFailure: &workflows.PausedOnFailure{Tenant: "acme", Reason: "alert HighErrorRate <firing> for 5m.", RollbackAt: at},
	}
	if _, err := c.UpsertMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	p := f.calls("chat.postMessage")[0]
	blocks := p.blocks(t)
	want := fmt.Sprintf("⏸️ <@U0MERGER> a safety check failed in tenant `acme`: alert HighErrorRate &lt;firing&gt; for 5m. "+
		"Automatic rollback at <!date^%d^{time} {date_short_pretty}|2026-05-04 14:03 UTC>.", at.Unix())
	if got := textOf(blockOf(blocks, blockPaused)["text"]); got != want {
		t.Errorf("paused section\n got %q\nwant %q", got, want)
	}
	wantButtons := []button{
		{ActionID: "investigate", Value: deployment + "|acme", Text: "Investigate (keep paused)"},
		{ActionID: "rollback-tenant", Value: deployment + "|acme", Text: "Roll back now", Style: "danger", Confirm: true},
	}
	if got := buttonsOf(blockOf(blocks, blockPausedActions)); fmt.Sprint(got) != fmt.Sprint(wantButtons) {
		t.Errorf("paused buttons\n got %+v\nwant %+v", got, wantButtons)
	}
	// The deployment's own buttons are still there.
	if got := buttonsOf(blockOf(blocks, blockActions)); len(got) != 2 {
		t.Errorf("deployment buttons = %+v", got)
	}
	// A new message notifies: the fallback text mentions the merger.
	if got := p.Form.Get("text"); !strings.HasPrefix(got, "<@U0MERGER> a safety check failed in tenant acme — ") {
		t.Errorf("fallback text = %q", got)
	}

	// No rollback time, no mention.
	m.Mention, m.PausedOnFailure.RollbackAt = "", time.Time{}
	blocksNoTime, _, err := messageBlocks(m)
	if err != nil {
		t.Fatal(err)
	}
	got := textOf(blockJSON(t, blocksNoTime, blockPaused)["text"])
	if !strings.HasPrefix(got, "⏸️ A safety check failed") || !strings.HasSuffix(got, "It stays paused until someone decides.") {
		t.Errorf("paused section without time = %q", got)
	}
}

func TestMentionMustBeAUserID(t *testing.T) {
	m := workflows.ChatMessage{Channel: "C0DEPLOYS", Report: waitingReport(), Deployment: deployment, Mention: "alice> <!channel"}
	blocks, _, err := messageBlocks(m)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(blockJSON(t, blocks, blockContext)); strings.Contains(s, "<!channel") || strings.Contains(s, "<@") {
		t.Errorf("context = %s", s)
	}
}

func TestLongSummaryStaysWithinLimits(t *testing.T) {
	var s strings.Builder
	s.WriteString("**Failures**\n\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&s, "- `tenant-%04d` failed: alert **HighErrorRate** firing, see [runbook](https://runbooks.example/%d)\n", i, i)
	}
	r := waitingReport()
	r.Summary = s.String()
	f := newFakeSlack(t)
	c := f.client(t, Config{})
	if _, err := c.UpsertMessage(context.Background(), workflows.ChatMessage{Channel: "C0DEPLOYS", Report: r, Deployment: deployment}); err != nil {
		t.Fatal(err)
	}
	blocks := f.calls("chat.postMessage")[0].blocks(t)
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks", len(blocks))
	}
	total, sections := 0, 0
	var last string
	for _, b := range blocks {
		if b["type"] != "section" {
			continue
		}
		text := textOf(b["text"])
		if n := slackLen(text); n > maxSectionText {
			t.Errorf("section %v is %d long", b["block_id"], n)
		}
		if strings.HasPrefix(b["block_id"].(string), blockSummary) {
			sections++
			total += slackLen(text)
			last = text
		}
	}
	if sections < 2 {
		t.Errorf("summary in %d sections, want it split", sections)
	}
	if total > maxSummaryText {
		t.Errorf("summary is %d long in all", total)
	}
	if !strings.HasSuffix(last, cutNote) {
		t.Errorf("no note that the summary was cut; last section ends %q", last[max(0, len(last)-80):])
	}
	if blockOf(blocks, blockActions) == nil {
		t.Error("buttons lost to the long summary")
	}

	// Many sections: the block limit holds too.
	secs := summarySections(strings.Repeat("x\n\n", 10), 3)
	if len(secs) > 3 {
		t.Errorf("%d sections for room 3", len(secs))
	}
}

func TestReply(t *testing.T) {
	f := newFakeSlack(t)
	c := f.client(t, Config{})
	ctx := context.Background()
	thread := workflows.ChatRef{Channel: "C0DEPLOYS", TS: "1700000000.000001"}
	if err := c.Reply(ctx, thread, "Wave **canary** done: [details](https://x.example)"); err != nil {
		t.Fatal(err)
	}
	p := f.calls("chat.postMessage")
	if len(p) != 1 {
		t.Fatalf("%d posts", len(p))
	}
	if p[0].Form.Get("thread_ts") != thread.TS || p[0].Form.Get("channel") != "C0DEPLOYS" {
		t.Errorf("reply to %s/%s", p[0].Form.Get("channel"), p[0].Form.Get("thread_ts"))
	}
	if got := p[0].Form.Get("text"); got != "Wave *canary* done: <https://x.example|details>" {
		t.Errorf("text = %q", got)
	}
	if err := c.Reply(ctx, workflows.ChatRef{Channel: "C0DEPLOYS"}, "x"); !isPermanent(err) {
		t.Errorf("reply without ts: %v", err)
	}
}

// TestReplyIsNotPostedTwice: a reply already in the thread (a reporter
// retried after a crash says it again) is not posted again; a thread that
// cannot be read does not stop the reply.
func TestReplyIsNotPostedTwice(t *testing.T) {
	f := newFakeSlack(t)
	c := f.client(t, Config{})
	ctx := context.Background()
	parent := f.postMessage(nil, url.Values{"channel": {"C0DEPLOYS"}, "text": {"web-7 in prod-eu"}}).(map[string]any)
	thread := workflows.ChatRef{Channel: "C0DEPLOYS", TS: parent["ts"].(string)}
	for range 2 {
		if err := c.Reply(ctx, thread, "🚀 `web-7` in `prod-eu` started"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.calls("chat.postMessage")); n != 1 {
		t.Fatalf("the same reply was posted %d times", n)
	}
	if err := c.Reply(ctx, thread, "✅ `web-7` in `prod-eu` completed"); err != nil {
		t.Fatal(err)
	}
	f.fail("conversations.replies", 2, http.StatusInternalServerError, "", nil)
	if err := c.Reply(ctx, thread, "↩️ rolled back"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.calls("chat.postMessage")); n != 3 {
		t.Fatalf("%d posts, want 3 (a new reply, and one while the thread could not be read)", n)
	}
}

func TestEphemeral(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var headers []http.Header
	status, answer := http.StatusOK, "ok"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body)
		headers = append(headers, r.Header.Clone())
		st, an := status, answer
		mu.Unlock()
		w.WriteHeader(st)
		io.WriteString(w, an)
	}))
	defer srv.Close()
	set := func(s int, a string) { mu.Lock(); status, answer = s, a; mu.Unlock() }

	f := newFakeSlack(t)
	c := f.client(t, Config{})
	ctx := context.Background()
	responseURL := srv.URL + "/actions/T0TEAM/123/SeCrEtPaTh"
	if err := c.Ephemeral(ctx, responseURL, "You may not approve: **needs** 2 approvals from @platform"); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"response_type": "ephemeral", "replace_original": false, "text": "You may not approve: *needs* 2 approvals from @platform"}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Errorf("posted %v, want %v", got[0], want)
	}
	if h := headers[0]; h.Get("Authorization") != "" || strings.Contains(fmt.Sprint(h), testToken) {
		t.Errorf("the bot token went to the response_url: %v", h)
	}
	if !strings.HasPrefix(headers[0].Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", headers[0].Get("Content-Type"))
	}

	set(http.StatusOK, `{"ok":true}`)
	if err := c.Ephemeral(ctx, responseURL, "fine"); err != nil {
		t.Errorf("ok:true answer: %v", err)
	}

	cases := []struct {
		name      string
		status    int
		answer    string
		permanent bool
	}{
		{"expired", http.StatusNotFound, "expired_url", true},
		{"refused in JSON", http.StatusOK, `{"ok":false,"error":"used_url"}`, true},
		{"server error", http.StatusInternalServerError, "oops", false},
		{"bad gateway", http.StatusBadGateway, "<html>", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set(tc.status, tc.answer)
			err := c.Ephemeral(ctx, responseURL, "x")
			if err == nil {
				t.Fatal("no error")
			}
			if isPermanent(err) != tc.permanent {
				t.Errorf("permanent = %t, want %t: %v", isPermanent(err), tc.permanent, err)
			}
			if strings.Contains(err.Error(), "SeCrEtPaTh") {
				t.Errorf("error holds the response_url: %v", err)
			}
		})
	}
	if err := c.Ephemeral(ctx, "not a url", "x"); !isPermanent(err) {
		t.Errorf("bad response_url: %v", err)
	}
	// A response_url nobody answers on is worth retrying, and the error
	// does not give the URL away.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/actions/SeCrEtPaTh"
	dead.Close()
	err := c.Ephemeral(ctx, deadURL, "x")
	if err == nil || isPermanent(err) || strings.Contains(err.Error(), "SeCrEtPaTh") {
		t.Errorf("dead response_url: %v", err)
	}
}

func TestUserMapping(t *testing.T) {
	f := newFakeSlack(t)
	f.users = []slackUser{
		{ID: "U0CAROL", Email: "carol@example.com"},
		{ID: "U0GONE", Email: "gone@example.com", Deleted: true},
		{ID: "U0BOT", Email: "bot@example.com", Bot: true},
		{ID: "U0MALLORY", Email: "alice@example.com"}, // claims alice's address
		{ID: "U0NOMAP", Email: "nobody@example.com"},
	}
	cfg := Config{
		UserMap: map[string]string{"Alice": "U0ALICE", "bob": "W0BOB"},
		Emails: map[string]string{
			"carol": "Carol@Example.com", "gone": "gone@example.com", "bot": "bot@example.com",
			"alice": "alice@example.com", "dave": "dave@example.com",
		},
	}
	ctx := context.Background()

	t.Run("map only", func(t *testing.T) {
		c := f.client(t, cfg)
		for _, tc := range []struct{ login, id string }{{"alice", "U0ALICE"}, {"ALICE", "U0ALICE"}, {"bob", "W0BOB"}, {"carol", ""}, {"", ""}} {
			id, ok, err := c.LookupUser(ctx, tc.login)
			if err != nil || id != tc.id || ok != (tc.id != "") {
				t.Errorf("LookupUser(%q) = %q, %t, %v; want %q", tc.login, id, ok, err, tc.id)
			}
		}
		for _, tc := range []struct{ id, login string }{{"U0ALICE", "Alice"}, {"W0BOB", "bob"}, {"U0CAROL", ""}} {
			login, ok, err := c.GitHubLogin(ctx, tc.id)
			if err != nil || login != tc.login || ok != (tc.login != "") {
				t.Errorf("GitHubLogin(%q) = %q, %t, %v; want %q", tc.id, login, ok, err, tc.login)
			}
		}
		if n := len(f.calls("users.lookupByEmail")) + len(f.calls("users.info")); n != 0 {
			t.Errorf("%d user look-ups without LookupByEmail", n)
		}
	})

	t.Run("by email", func(t *testing.T) {
		cfg := cfg
		cfg.LookupByEmail = true
		c := f.client(t, cfg)
		for _, tc := range []struct{ login, id string }{
			{"alice", "U0ALICE"}, // the map wins
			{"Carol", "U0CAROL"},
			{"gone", ""}, {"bot", ""}, // deactivated, bot
			{"dave", ""}, // no Slack user with the address
			{"erin", ""}, // no address
		} {
			id, ok, err := c.LookupUser(ctx, tc.login)
			if err != nil || id != tc.id || ok != (tc.id != "") {
				t.Errorf("LookupUser(%q) = %q, %t, %v; want %q", tc.login, id, ok, err, tc.id)
			}
		}
		for _, tc := range []struct{ id, login string }{
			{"U0ALICE", "Alice"},
			{"U0CAROL", "carol"},
			{"U0GONE", ""}, {"U0BOT", ""},
			{"U0MALLORY", ""}, // alice's address, but the map gives alice to U0ALICE
			{"U0NOMAP", ""},   // an address no login has
			{"U0UNKNOWN", ""}, // user_not_found
			{"not an id", ""},
		} {
			login, ok, err := c.GitHubLogin(ctx, tc.id)
			if err != nil || login != tc.login || ok != (tc.login != "") {
				t.Errorf("GitHubLogin(%q) = %q, %t, %v; want %q", tc.id, login, ok, err, tc.login)
			}
		}
	})

	t.Run("look-up errors", func(t *testing.T) {
		cfg := cfg
		cfg.LookupByEmail = true
		c := f.client(t, cfg)
		f.fail("users.info", 1, http.StatusOK, "missing_scope", nil)
		if _, _, err := c.GitHubLogin(ctx, "U0CAROL"); !isPermanent(err) || !strings.Contains(err.Error(), "add the missing scope") {
			t.Errorf("missing scope: %v", err)
		}
		f.fail("users.lookupByEmail", 2, http.StatusServiceUnavailable, "", nil)
		if _, _, err := c.LookupUser(ctx, "carol"); err == nil || isPermanent(err) {
			t.Errorf("503 twice: %v", err)
		}
		f.fail("users.lookupByEmail", 1, http.StatusServiceUnavailable, "", nil)
		if id, ok, err := c.LookupUser(ctx, "carol"); err != nil || !ok || id != "U0CAROL" {
			t.Errorf("503 once, then fine: %q %t %v", id, ok, err)
		}
	})

	t.Run("bad config", func(t *testing.T) {
		for name, cfg := range map[string]Config{
			"not an id":     {Token: testToken, UserMap: map[string]string{"alice": "@alice"}},
			"shared id":     {Token: testToken, UserMap: map[string]string{"alice": "U0A", "bob": "U0A"}},
			"empty login":   {Token: testToken, UserMap: map[string]string{" ": "U0A"}},
			"shared email":  {Token: testToken, Emails: map[string]string{"alice": "a@x.example", "bob": "A@x.example"}},
			"not an email":  {Token: testToken, Emails: map[string]string{"alice": "alice"}},
			"no token":      {},
			"bad API URL":   {Token: testToken, APIURL: "slack.example"},
			"same login 2x": {Token: testToken, UserMap: map[string]string{"alice": "U0A", "Alice": "U0B"}},
		} {
			if _, err := New(cfg); err == nil {
				t.Errorf("%s: no error", name)
			} else if strings.Contains(err.Error(), testToken) {
				t.Errorf("%s: error holds the token: %v", name, err)
			}
		}
	})
}

func TestErrorClassification(t *testing.T) {
	ctx := context.Background()
	m := workflows.ChatMessage{Channel: "C0DEPLOYS", Report: waitingReport(), Deployment: deployment}
	cases := []struct {
		name      string
		method    string
		times     int
		status    int
		code      string
		header    map[string]string
		update    bool
		permanent bool
		ok        bool // the quick retry succeeds
		calls     int  // requests sent
		hint      string
	}{
		{name: "channel not found", method: "chat.postMessage", times: 1, code: "channel_not_found", permanent: true, calls: 1, hint: "check the Slack channel"},
		{name: "not in channel", method: "chat.postMessage", times: 1, code: "not_in_channel", permanent: true, calls: 1, hint: "/invite @prdeploy"},
		{name: "invalid auth", method: "chat.postMessage", times: 1, code: "invalid_auth", permanent: true, calls: 1, hint: "bot token"},
		{name: "account inactive", method: "chat.postMessage", times: 1, code: "account_inactive", permanent: true, calls: 1},
		{name: "msg too long", method: "chat.postMessage", times: 1, code: "msg_too_long", permanent: true, calls: 1},
		{name: "invalid blocks", method: "chat.update", update: true, times: 1, code: "invalid_blocks", permanent: true, calls: 1},
		{name: "internal error", method: "chat.postMessage", times: 1, code: "internal_error", calls: 1},
		// A post is not repeated after a server error: it may have posted.
		{name: "500 on post", method: "chat.postMessage", times: 1, status: 500, calls: 1},
		// An update is idempotent: one quick retry.
		{name: "500 on update, retried", method: "chat.update", update: true, times: 1, status: 500, ok: true, calls: 2},
		{name: "500 on update twice", method: "chat.update", update: true, times: 5, status: 500, calls: 2},
		{name: "502 on update twice", method: "chat.update", update: true, times: 5, status: 502, calls: 2},
		{name: "404 is permanent", method: "chat.postMessage", times: 1, status: 404, permanent: true, calls: 1},
		// A rate limit means Slack did nothing: a short wait is retried once.
		{name: "rate limited briefly", method: "chat.postMessage", times: 1, status: 429, header: map[string]string{"Retry-After": "0"}, ok: true, calls: 2},
		{name: "rate limited twice", method: "chat.postMessage", times: 2, status: 429, header: map[string]string{"Retry-After": "0"}, calls: 2},
		{name: "rate limited long", method: "chat.postMessage", times: 1, status: 429, header: map[string]string{"Retry-After": "30"}, calls: 1},
		{name: "429 without Retry-After", method: "chat.postMessage", times: 1, status: 429, calls: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSlack(t)
			c := f.client(t, Config{})
			msg := m
			if tc.update {
				ref, err := c.UpsertMessage(ctx, m)
				if err != nil {
					t.Fatal(err)
				}
				msg.Ref = ref
			}
			f.fail(tc.method, tc.times, tc.status, tc.code, tc.header)
			before := len(f.calls(tc.method))
			_, err := c.UpsertMessage(ctx, msg)
			if n := len(f.calls(tc.method)) - before; n != tc.calls {
				t.Errorf("%d requests, want %d", n, tc.calls)
			}
			if tc.ok {
				if err != nil {
					t.Errorf("err = %v, want the retry to succeed", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if isPermanent(err) != tc.permanent {
				t.Errorf("permanent = %t, want %t: %v", isPermanent(err), tc.permanent, err)
			}
			if tc.code != "" && ErrorCode(err) != tc.code {
				t.Errorf("ErrorCode = %q, want %q", ErrorCode(err), tc.code)
			}
			if tc.hint != "" && !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("error %q lacks the hint %q", err, tc.hint)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error holds the token: %v", err)
			}
		})
	}

	t.Run("network error", func(t *testing.T) {
		f := newFakeSlack(t)
		c := f.client(t, Config{})
		f.Stop()
		_, err := c.UpsertMessage(ctx, m)
		if err == nil || isPermanent(err) {
			t.Errorf("err = %v, want retryable", err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("error holds the token: %v", err)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		f := newFakeSlack(t)
		c := f.client(t, Config{})
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.UpsertMessage(ctx, m); err == nil || isPermanent(err) {
			t.Errorf("err = %v, want retryable", err)
		}
	})
}

func TestTokenNeverPrinted(t *testing.T) {
	cfg := Config{Token: testToken, APIURL: "http://127.0.0.1:1/", UserMap: map[string]string{"alice": "U0ALICE"}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "slack", cfg)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%v %+v", &cfg, []Config{cfg}),
		logged.String(),
	} {
		if strings.Contains(s, testToken) || strings.Contains(s, "SeCrEt") {
			t.Errorf("token printed: %s", s)
		}
	}

	// A server that echoes the token in its error: the error is scrubbed.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth for " + r.Form.Get("token")})
	}))
	defer echo.Close()
	c, err = New(Config{Token: testToken, APIURL: echo.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpsertMessage(context.Background(), workflows.ChatMessage{Channel: "C0DEPLOYS", Report: waitingReport(), Deployment: deployment})
	if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), redacted) {
		t.Errorf("err = %v", err)
	}
	if !isPermanent(err) {
		t.Errorf("unknown Slack error code should be permanent: %v", err)
	}
	_, _, err = c.GitHubLogin(context.Background(), "U0X")
	if err != nil {
		t.Errorf("GitHubLogin without email look-up: %v", err)
	}
}
