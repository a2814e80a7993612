package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testSecret  Secret = "It's a Secret to Everybody"
	otherSecret Secret = "the next secret, after rotation"
	payloadDir         = "testdata/payloads"
)

// recorder is a Dispatcher that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	events []Event
	err    error
	// deadlines records whether each Dispatch had a deadline.
	deadlines []bool
}

var _ Dispatcher = (*recorder)(nil)

func (r *recorder) Dispatch(ctx context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := ctx.Deadline()
	r.events = append(r.events, e)
	r.deadlines = append(r.deadlines, ok)
	return r.err
}

func (r *recorder) got() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newHandler(t testing.TB, d Dispatcher, secrets ...Secret) *Handler {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []Secret{testSecret}
	}
	h, err := NewHandler(Config{Secrets: secrets, Dispatcher: d, Logger: quietLogger(), Scope: testScope})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// delivery is one request as GitHub would send it.
type deliveryReq struct {
	event     string
	body      []byte
	signature string // set as is when not empty
	signWith  Secret // used when signature is empty
	unsigned  bool
	method    string
	header    map[string]string
}

func (d deliveryReq) send(h http.Handler) *httptest.ResponseRecorder {
	method := d.method
	if method == "" {
		method = http.MethodPost
	}
	req := httptest.NewRequest(method, Path, bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	if d.event != "" {
		req.Header.Set(EventHeader, d.event)
	}
	req.Header.Set(DeliveryHeader, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	switch {
	case d.signature != "":
		req.Header.Set(SignatureHeader, d.signature)
	case !d.unsigned:
		s := d.signWith
		if s == "" {
			s = testSecret
		}
		req.Header.Set(SignatureHeader, Sign(s, d.body))
	}
	for k, v := range d.header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func readPayload(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(payloadDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	helloRepo = "Codertocat/Hello-World"
	helloHead = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	guid      = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
)

var wantOpened = PullRequestChanged{
	Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "Codertocat", DefaultBranch: "master"},
	Action:   "opened", Number: 2, HeadSHA: helloHead, HeadRef: "changes", HeadRepo: helloRepo,
	BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
	Author: "Codertocat", Labels: []string{"bug"}, UpdatedAt: time.Date(2019, 5, 15, 15, 20, 33, 0, time.UTC),
}

// TestRealPayloads posts every payload example GitHub documents through the
// Handler, signed, with X-GitHub-Event set to its folder.
func TestRealPayloads(t *testing.T) {
	const (
		changed = "pull_request.changed"
		action  = "check_run.requested_action"
	)
	withAction := func(a string) PullRequestChanged { e := wantOpened; e.Action = a; return e }
	labeled := func(a string, sec int) PullRequestChanged {
		e := withAction(a)
		e.UpdatedAt = e.UpdatedAt.Add(time.Duration(sec) * time.Second)
		return e
	}
	cases := []struct {
		file string
		code int
		kind string // of the dispatched event; "" when none
		want Event  // the whole event, when set
	}{
		{"pull_request/opened.payload.json", 202, changed, wantOpened},
		{"pull_request/opened.with-null-body.json", 202, changed, wantOpened},
		{"pull_request/opened.with-organization.payload.json", 202, changed, nil},
		{"pull_request/reopened.payload.json", 202, changed, withAction("reopened")},
		{"pull_request/reopened.with-organization.payload.json", 202, changed, nil},
		{"pull_request/synchronize.payload.json", 202, changed, withAction("synchronize")},
		// closed without merging (merged: false) is not a deployment
		{"pull_request/closed.payload.json", 204, "", nil},
		{"pull_request/closed.with-organization.payload.json", 204, "", nil},
		{"pull_request/assigned.payload.json", 204, "", nil},
		{"pull_request/assigned.with-organization.payload.json", 204, "", nil},
		{"pull_request/converted_to_draft.payload.json", 204, "", nil},
		{"pull_request/converted_to_draft.with-installation.payload.json", 204, "", nil},
		{"pull_request/converted_to_draft.with-organization.payload.json", 204, "", nil},
		// labels are policy facts: the plan is checked again (issue 13)
		{"pull_request/labeled.payload.json", 202, changed, labeled("labeled", 2)},
		{"pull_request/labeled.with-organization.payload.json", 202, changed, nil},
		{"pull_request/locked.payload.json", 204, "", nil},
		{"pull_request/locked.with-organization.payload.json", 204, "", nil},
		{"pull_request/ready_for_review.payload.json", 204, "", nil},
		{"pull_request/ready_for_review.with-installation.payload.json", 204, "", nil},
		{"pull_request/ready_for_review.with-organization.payload.json", 204, "", nil},
		{"pull_request/review_request_removed.payload.json", 204, "", nil},
		{"pull_request/review_requested.payload.json", 204, "", nil},
		{"pull_request/unassigned.payload.json", 204, "", nil},
		{"pull_request/unassigned.with-organization.payload.json", 204, "", nil},
		{"pull_request/unlabeled.payload.json", 202, changed, labeled("unlabeled", 3)},
		{"pull_request/unlabeled.with-organization.payload.json", 202, changed, nil},
		{"pull_request/unlocked.payload.json", 204, "", nil},
		{"pull_request/unlocked.with-organization.payload.json", 204, "", nil},
		// every documented comment is on an issue, not a pull request
		{"issue_comment/created.payload.json", 204, "", nil},
		{"issue_comment/created.1.payload.json", 204, "", nil},
		{"issue_comment/created.with-installation.payload.json", 204, "", nil},
		{"issue_comment/created.with-organization.payload.json", 204, "", nil},
		{"issue_comment/edited.payload.json", 204, "", nil},
		{"issue_comment/edited.with-organization.payload.json", 204, "", nil},
		{"issue_comment/deleted.payload.json", 204, "", nil},
		{"issue_comment/deleted.with-organization.payload.json", 204, "", nil},
		// "commented" reviews are not approvals; a dismissal withdraws one
		{"pull_request_review/submitted.payload.json", 204, "", nil},
		{"pull_request_review/submitted.with-organization.payload.json", 204, "", nil},
		{"pull_request_review/dismissed.payload.json", 202, "pull_request_review.dismissed", ReviewDismissed{
			Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "Codertocat", DefaultBranch: "master"},
			Number:   2, ReviewID: 237895671, Reviewer: "Codertocat", CommitID: helloHead,
		}},
		{"check_run/requested_action.payload.json", 202, action, CheckRunAction{
			Delivery:   Delivery{ID: guid, Repo: "electron/electron", InstallationID: 690857, Sender: "codebytere", DefaultBranch: "master"},
			Identifier: "lgtm|26764", CheckRunID: 1494503112, CheckName: "API Review",
			HeadSHA: "5bd5f196a46b8222fb7484f05faba41a73cf34bd", PullRequests: []int{26764},
			Shown: "a6d62a016899f2a985f412521726ba31",
		}},
		{"check_run/created.payload.json", 204, "", nil},
		{"check_run/created.with-organization.payload.json", 204, "", nil},
		{"check_run/completed.payload.json", 204, "", nil},
		{"check_run/completed.1.payload.json", 204, "", nil},
		{"check_run/completed.with-organization.payload.json", 204, "", nil},
		{"check_run/rerequested.payload.json", 204, "", nil},
		{"check_run/rerequested.with-organization.payload.json", 204, "", nil},
		{"ping/payload.json", 200, "", nil},
		{"ping/with-app_id.payload.json", 200, "", nil},
		{"ping/with-organization.payload.json", 200, "", nil},
	}

	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.file] = true
		t.Run(c.file, func(t *testing.T) {
			rec := &recorder{}
			event := filepath.Dir(c.file)
			body := readPayload(t, c.file)
			var repo struct {
				Repository struct {
					FullName string `json:"full_name"`
				} `json:"repository"`
			}
			_ = json.Unmarshal(body, &repo)
			h, err := NewHandler(Config{Secrets: []Secret{testSecret}, Dispatcher: rec, Logger: quietLogger(), Scope: Scope{Repo: repo.Repository.FullName}})
			if err != nil {
				t.Fatal(err)
			}
			w := deliveryReq{event: event, body: body}.send(h)
			if w.Code != c.code {
				t.Fatalf("status %d, want %d (%s%s)", w.Code, c.code, w.Header().Get(IgnoredHeader), w.Body)
			}
			got := rec.got()
			if c.kind == "" {
				if len(got) != 0 {
					t.Fatalf("dispatched %+v, want nothing", got)
				}
				if c.code == 204 && w.Header().Get(IgnoredHeader) == "" {
					t.Errorf("204 without %s", IgnoredHeader)
				}
				if c.code == 200 && strings.TrimSpace(w.Body.String()) != "pong" {
					t.Errorf("ping answered %q, want pong", w.Body)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("dispatched %d events, want 1", len(got))
			}
			if got[0].Kind() != c.kind {
				t.Fatalf("dispatched %s, want %s", got[0].Kind(), c.kind)
			}
			if got[0].Origin().ID != guid {
				t.Errorf("delivery ID %q, want the X-GitHub-Delivery header %q", got[0].Origin().ID, guid)
			}
			if c.want != nil && !reflect.DeepEqual(got[0], c.want) {
				t.Errorf("event\n got %+v\nwant %+v", got[0], c.want)
			}
		})
	}

	// Every example is in the table, so a new one is looked at.
	err := filepath.WalkDir(payloadDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, _ := filepath.Rel(payloadDir, path)
		if !covered[filepath.ToSlash(rel)] {
			t.Errorf("payload %s has no expectation in TestRealPayloads", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// edit returns the payload in file with the values at dotted paths set
// (nil deletes), for the cases GitHub's examples do not show.
func edit(t testing.TB, file string, set map[string]any) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readPayload(t, file), &doc); err != nil {
		t.Fatal(err)
	}
	for path, v := range set {
		keys := strings.Split(path, ".")
		m := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				t.Fatalf("%s: %s is not an object", file, path)
			}
			m = next
		}
		if v == nil {
			delete(m, keys[len(keys)-1])
		} else {
			m[keys[len(keys)-1]] = v
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var botUser = map[string]any{"login": "renovate[bot]", "id": 29139614, "type": "Bot"}

// onPR makes a documented issue comment a comment on pull request #1.
func onPR(body string, more map[string]any) map[string]any {
	set := map[string]any{
		"issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"},
		"comment.body":       body,
	}
	for k, v := range more {
		set[k] = v
	}
	return set
}

// TestRouting covers the rules on payloads derived from the documented
// ones: merges, commands on pull requests, approvals, bots.
func TestRouting(t *testing.T) {
	merged := map[string]any{
		"pull_request.merged":           true,
		"pull_request.merge_commit_sha": "c4295bd74fb0f4fda03689c3df3f2803b658fd85",
		"pull_request.merged_by":        map[string]any{"login": "octocat", "type": "User"},
	}
	cases := []struct {
		name  string
		event string
		body  []byte
		code  int
		want  Event // nil when nothing is dispatched
	}{
		{"merged pull request", "pull_request", edit(t, "pull_request/closed.payload.json", merged), 202, PullRequestMerged{
			Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "Codertocat", DefaultBranch: "master"},
			Number:   2, MergeCommitSHA: "c4295bd74fb0f4fda03689c3df3f2803b658fd85", HeadSHA: helloHead,
			BaseRef: "master", MergedBy: "octocat", Author: "Codertocat", Labels: []string{"bug"},
		}},
		{"merged by a merge queue bot is still deployed", "pull_request", edit(t, "pull_request/closed.payload.json", map[string]any{
			"pull_request.merged":           true,
			"pull_request.merge_commit_sha": "c4295bd74fb0f4fda03689c3df3f2803b658fd85",
			"pull_request.merged_by":        map[string]any{"login": "github-merge-queue[bot]", "type": "Bot"},
			"sender":                        map[string]any{"login": "github-merge-queue[bot]", "type": "Bot"},
		}), 202, PullRequestMerged{
			Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "github-merge-queue[bot]", DefaultBranch: "master"},
			Number:   2, MergeCommitSHA: "c4295bd74fb0f4fda03689c3df3f2803b658fd85", HeadSHA: helloHead,
			BaseRef: "master", MergedBy: "github-merge-queue[bot]", Author: "Codertocat", Labels: []string{"bug"},
		}},
		{"merged without merge commit is bad input", "pull_request", edit(t, "pull_request/closed.payload.json", map[string]any{
			"pull_request.merged": true, "pull_request.merge_commit_sha": nil,
		}), 400, nil},
		{"pull request opened by a bot is planned", "pull_request", edit(t, "pull_request/opened.payload.json", map[string]any{
			"sender": botUser, "pull_request.user": botUser, "pull_request.labels": []any{},
		}), 202, PullRequestChanged{
			Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "renovate[bot]", DefaultBranch: "master"},
			Action:   "opened", Number: 2, HeadSHA: helloHead, HeadRef: "changes", HeadRepo: helloRepo,
			BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
			Author: "renovate[bot]", AuthorIsBot: true, UpdatedAt: wantOpened.UpdatedAt,
		}},
		// Issue 13: the base branch is a policy fact; the title is not.
		{"pull request moved to another base", "pull_request", edit(t, "pull_request/opened.payload.json", map[string]any{
			"action": "edited", "changes": map[string]any{"base": map[string]any{"ref": map[string]any{"from": "release"}, "sha": map[string]any{"from": "1111111111111111111111111111111111111111"}}},
		}), 202, PullRequestChanged{
			Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "Codertocat", DefaultBranch: "master"},
			Action:   "edited", Number: 2, HeadSHA: helloHead, HeadRef: "changes", HeadRepo: helloRepo,
			BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", PreviousBaseRef: "release",
			Author: "Codertocat", Labels: []string{"bug"}, UpdatedAt: wantOpened.UpdatedAt,
		}},
		{"pull request title edited", "pull_request", edit(t, "pull_request/opened.payload.json", map[string]any{
			"action": "edited", "changes": map[string]any{"title": map[string]any{"from": "Update README"}},
		}), 204, nil},
		{"dismissal by a bot still withdraws", "pull_request_review", edit(t, "pull_request_review/dismissed.payload.json", map[string]any{
			"sender": botUser,
		}), 202, nil},
		{"dismissal without review id is bad input", "pull_request_review", edit(t, "pull_request_review/dismissed.payload.json", map[string]any{
			"review.id": nil,
		}), 400, nil},
		{"command on a pull request", "issue_comment", edit(t, "issue_comment/created.with-installation.payload.json",
			onPR("Looks right.\n/approve canary is green\n", nil)), 202, CommentCommand{
			Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "Codertocat", DefaultBranch: "master"},
			Number:   1, CommentID: 492700400, Author: "Codertocat", AuthorAssociation: "OWNER",
			Body: "Looks right.\n/approve canary is green\n",
			Commands: []Command{{Name: CommandApprove, Note: "canary is green", Line: 2,
				Text: "/approve canary is green"}},
		}},
		{"unknown command is dispatched for a reply", "issue_comment", edit(t, "issue_comment/created.payload.json",
			onPR("/deploy now", nil)), 202, nil},
		{"comment on a pull request without command", "issue_comment", edit(t, "issue_comment/created.payload.json",
			onPR("LGTM, but let's wait for the canary", nil)), 204, nil},
		{"command in a code block", "issue_comment", edit(t, "issue_comment/created.payload.json",
			onPR("```\n/approve\n```", nil)), 204, nil},
		{"edited comment with a command", "issue_comment", edit(t, "issue_comment/edited.payload.json",
			onPR("/approve", nil)), 204, nil},
		{"deleted comment with a command", "issue_comment", edit(t, "issue_comment/deleted.payload.json",
			onPR("/rollback", nil)), 204, nil},
		{"command by a bot type", "issue_comment", edit(t, "issue_comment/created.payload.json",
			onPR("/approve", map[string]any{"sender": map[string]any{"login": "prdeploy", "type": "Bot"}})), 204, nil},
		{"command by a [bot] login", "issue_comment", edit(t, "issue_comment/created.payload.json",
			onPR("/approve", map[string]any{
				"sender":       map[string]any{"login": "prdeploy[bot]", "type": "User"},
				"comment.user": map[string]any{"login": "prdeploy[bot]", "type": "User"},
			})), 204, nil},
		{"approving review", "pull_request_review", edit(t, "pull_request_review/submitted.payload.json", map[string]any{
			"review.state": "approved", "review.body": "ship it",
		}), 202, ReviewApproved{
			Delivery: Delivery{ID: guid, Repo: helloRepo, InstallationID: 1, Sender: "Codertocat", DefaultBranch: "master"},
			Number:   2, ReviewID: 237895671, Reviewer: "Codertocat", AuthorAssociation: "OWNER",
			CommitID: helloHead, Body: "ship it",
		}},
		{"approving review in upper case", "pull_request_review", edit(t, "pull_request_review/submitted.payload.json", map[string]any{
			"review.state": "APPROVED",
		}), 202, nil},
		{"changes requested", "pull_request_review", edit(t, "pull_request_review/submitted.payload.json", map[string]any{
			"review.state": "changes_requested",
		}), 204, nil},
		{"approving review by a bot", "pull_request_review", edit(t, "pull_request_review/submitted.payload.json", map[string]any{
			"review.state": "approved", "sender": botUser, "review.user": botUser,
		}), 204, nil},
		{"button pressed by a bot", "check_run", edit(t, "check_run/requested_action.payload.json", map[string]any{
			"sender": botUser,
		}), 204, nil},
		{"event not used", "push", []byte(`{"ref":"refs/heads/main"}`), 204, nil},
		{"event GitHub does not have", "made_up", []byte(`{}`), 204, nil},
		{"no event header", "", readPayload(t, "pull_request/opened.payload.json"), 400, nil},
		{"payload is not JSON", "pull_request", []byte(`{"action":`), 400, nil},
		{"payload without repository", "pull_request", edit(t, "pull_request/opened.payload.json", map[string]any{
			"repository": nil,
		}), 400, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			w := deliveryReq{event: c.event, body: c.body}.send(newHandler(t, rec))
			if w.Code != c.code {
				t.Fatalf("status %d, want %d (%s%s)", w.Code, c.code, w.Header().Get(IgnoredHeader), w.Body)
			}
			got := rec.got()
			switch {
			case c.code != 202 && len(got) > 0:
				t.Fatalf("dispatched %+v on a %d", got, c.code)
			case c.code == 202 && len(got) != 1:
				t.Fatalf("dispatched %d events, want 1", len(got))
			case c.want != nil && !reflect.DeepEqual(got[0], c.want):
				t.Errorf("event\n got %+v\nwant %+v", got[0], c.want)
			}
		})
	}
}

func TestUnknownCommandReachesDispatcher(t *testing.T) {
	rec := &recorder{}
	body := edit(t, "issue_comment/created.payload.json", onPR("/deploy now\n/status", nil))
	if w := (deliveryReq{event: "issue_comment", body: body}).send(newHandler(t, rec)); w.Code != 202 {
		t.Fatalf("status %d", w.Code)
	}
	cc := rec.got()[0].(CommentCommand)
	if len(cc.Commands) != 2 || cc.Commands[0].OK() || !strings.Contains(cc.Commands[0].Error, "/help") || cc.Commands[1].Name != CommandStatus {
		t.Fatalf("commands %+v: want an unknown-command result then /status", cc.Commands)
	}
}

func TestFormEncodedPayload(t *testing.T) {
	rec := &recorder{}
	form := url.Values{"payload": {string(readPayload(t, "pull_request/opened.payload.json"))}}.Encode()
	w := deliveryReq{event: "pull_request", body: []byte(form),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}.send(newHandler(t, rec))
	if w.Code != 202 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := rec.got(); len(got) != 1 || !reflect.DeepEqual(got[0], wantOpened) {
		t.Fatalf("dispatched %+v", got)
	}
}

// TestSignatureRejected: nothing is dispatched, whatever the payload, unless
// the signature is right.
func TestSignatureRejected(t *testing.T) {
	body := readPayload(t, "pull_request/opened.payload.json")
	tampered := bytes.Replace(body, []byte(helloHead), []byte("0000000000000000000000000000000000000000"), 1)
	cases := []struct {
		name string
		req  deliveryReq
	}{
		{"missing", deliveryReq{unsigned: true}},
		{"forged with another secret", deliveryReq{signWith: "guessed"}},
		{"body changed after signing", deliveryReq{signature: Sign(testSecret, tampered)}},
		{"sha1 signature", deliveryReq{signature: "sha1=" + strings.Repeat("ab", 20)}},
		{"not hex", deliveryReq{signature: "sha256=" + strings.Repeat("zz", 32)}},
		{"truncated", deliveryReq{signature: Sign(testSecret, body)[:40]}},
		{"upper-case prefix", deliveryReq{signature: "SHA256=" + strings.TrimPrefix(Sign(testSecret, body), "sha256=")}},
		{"empty prefix only", deliveryReq{signature: "sha256="}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			c.req.event, c.req.body = "pull_request", body
			w := c.req.send(newHandler(t, rec))
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", w.Code)
			}
			if n := len(rec.got()); n != 0 {
				t.Fatalf("dispatcher called %d times on a bad signature", n)
			}
		})
	}
	t.Run("ping too", func(t *testing.T) {
		w := deliveryReq{event: "ping", body: readPayload(t, "ping/payload.json"), signWith: "guessed"}.send(newHandler(t, &recorder{}))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	})
}

func TestSecretRotation(t *testing.T) {
	body := readPayload(t, "pull_request/synchronize.payload.json")
	cases := []struct {
		name     string
		accepted []Secret
		signWith Secret
		code     int
	}{
		{"old secret while rotating", []Secret{otherSecret, testSecret}, testSecret, 202},
		{"new secret while rotating", []Secret{otherSecret, testSecret}, otherSecret, 202},
		{"old secret after rotation", []Secret{otherSecret}, testSecret, 401},
		{"new secret after rotation", []Secret{otherSecret}, otherSecret, 202},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			w := deliveryReq{event: "pull_request", body: body, signWith: c.signWith}.send(newHandler(t, rec, c.accepted...))
			if w.Code != c.code {
				t.Fatalf("status %d, want %d", w.Code, c.code)
			}
			if want := map[bool]int{true: 1, false: 0}[c.code == 202]; len(rec.got()) != want {
				t.Fatalf("dispatched %d events, want %d", len(rec.got()), want)
			}
		})
	}
}

// endless is a reader of 'a' with no length, so the limit is found while
// reading (chunked upload) rather than from Content-Length.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestBodyLimit(t *testing.T) {
	over := int64(MaxBodyBytes + 1)
	t.Run("declared length over the limit", func(t *testing.T) {
		rec := &recorder{}
		req := httptest.NewRequest(http.MethodPost, Path, io.LimitReader(endless{}, over))
		req.ContentLength = over
		req.Header.Set(EventHeader, "pull_request")
		req.Header.Set(SignatureHeader, "sha256="+strings.Repeat("0", 64))
		w := httptest.NewRecorder()
		newHandler(t, rec).ServeHTTP(w, req)
		if w.Code != http.StatusRequestEntityTooLarge || len(rec.got()) != 0 {
			t.Fatalf("status %d, %d dispatched; want 413 and none", w.Code, len(rec.got()))
		}
	})
	t.Run("streamed body over the limit", func(t *testing.T) {
		rec := &recorder{}
		req := httptest.NewRequest(http.MethodPost, Path, io.LimitReader(endless{}, over))
		req.ContentLength = -1
		req.Header.Set(EventHeader, "pull_request")
		req.Header.Set(SignatureHeader, "sha256="+strings.Repeat("0", 64))
		w := httptest.NewRecorder()
		newHandler(t, rec).ServeHTTP(w, req)
		if w.Code != http.StatusRequestEntityTooLarge || len(rec.got()) != 0 {
			t.Fatalf("status %d, %d dispatched; want 413 and none", w.Code, len(rec.got()))
		}
	})
	t.Run("exactly the limit is read", func(t *testing.T) {
		// A signed ping padded to exactly MaxBodyBytes is answered.
		head, tail := []byte(`{"zen":"Keep it logically awesome.","hook_id":1,"pad":"`), []byte(`"}`)
		body := make([]byte, MaxBodyBytes)
		copy(body, head)
		for i := len(head); i < len(body)-len(tail); i++ {
			body[i] = 'a'
		}
		copy(body[len(body)-len(tail):], tail)
		w := deliveryReq{event: "ping", body: body}.send(newHandler(t, &recorder{}))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d at exactly %d bytes, want 200", w.Code, MaxBodyBytes)
		}
	})
}

func TestMethodNotAllowed(t *testing.T) {
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead} {
		t.Run(m, func(t *testing.T) {
			rec := &recorder{}
			w := deliveryReq{method: m, event: "pull_request", body: readPayload(t, "pull_request/opened.payload.json")}.send(newHandler(t, rec))
			if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
				t.Fatalf("status %d, Allow %q; want 405 and POST", w.Code, w.Header().Get("Allow"))
			}
			if len(rec.got()) != 0 {
				t.Fatal("dispatched on a", m)
			}
		})
	}
}

func TestDispatcherError(t *testing.T) {
	rec := &recorder{err: errors.New("temporal: connection refused to 10.0.0.7:7233")}
	w := deliveryReq{event: "pull_request", body: readPayload(t, "pull_request/opened.payload.json")}.send(newHandler(t, rec))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if len(rec.got()) != 1 {
		t.Fatalf("dispatcher called %d times, want 1", len(rec.got()))
	}
	if strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Errorf("500 body leaks the dispatcher's error: %q", w.Body)
	}
	if !rec.deadlines[0] {
		t.Error("Dispatch got a context without deadline")
	}
}

func TestNewHandlerConfig(t *testing.T) {
	d := &recorder{}
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no secret", Config{Dispatcher: d}},
		{"empty secret", Config{Secrets: []Secret{testSecret, ""}, Dispatcher: d}},
		{"no dispatcher", Config{Secrets: []Secret{testSecret}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewHandler(c.cfg); err == nil {
				t.Fatal("NewHandler accepted it")
			}
		})
	}
}

// TestSecretsNotLogged: a rejected delivery, a config printed by mistake,
// and an error do not show the secret.
func TestSecretsNotLogged(t *testing.T) {
	var logs bytes.Buffer
	cfg := Config{Secrets: []Secret{testSecret}, Dispatcher: &recorder{}, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	body := readPayload(t, "pull_request/opened.payload.json")
	deliveryReq{event: "pull_request", body: body, signWith: "wrong"}.send(h)
	deliveryReq{event: "pull_request", body: body}.send(h)
	cfg.Logger.Info("config", "cfg", cfg, "secret", testSecret)
	printed := fmt.Sprintf("%v %+v %#v %s %v", cfg, cfg, cfg, testSecret, h.verifier)
	for _, out := range []string{logs.String(), printed} {
		if strings.Contains(out, string(testSecret)) {
			t.Fatalf("secret in output: %s", out)
		}
	}
	if !strings.Contains(logs.String(), "webhook rejected") {
		t.Fatalf("no rejection logged: %s", logs.String())
	}
}

// BenchmarkHandler is the time to answer one signed pull_request delivery
// (28 kB, opened) with a dispatcher that does nothing.
func BenchmarkHandler(b *testing.B) {
	body := readPayload(b, "pull_request/opened.payload.json")
	sig := Sign(testSecret, body)
	h := newHandler(b, DispatcherFunc(func(context.Context, Event) error { return nil }))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		req.Header.Set(EventHeader, "pull_request")
		req.Header.Set(DeliveryHeader, guid)
		req.Header.Set(SignatureHeader, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkHandlerIgnored is the time to answer a signed delivery prdeploy
// does not use (pull_request assigned, same size): signature and action only.
func BenchmarkHandlerIgnored(b *testing.B) {
	body := readPayload(b, "pull_request/assigned.payload.json")
	sig := Sign(testSecret, body)
	h := newHandler(b, DispatcherFunc(func(context.Context, Event) error { return nil }))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		req.Header.Set(EventHeader, "pull_request")
		req.Header.Set(SignatureHeader, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// testScope is the deploy repository of GitHub's example payloads.
var testScope = Scope{Repo: "Codertocat/Hello-World"}
