package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

const testToken = "xoxb-1234567890-0987654321-SeCrEtToKeNvAlUe"

// request is one Web API call the fake Slack received.
type request struct {
	Method string // "chat.postMessage"
	Form   url.Values
}

// blocks decodes the blocks a chat call sent.
func (r request) blocks(t testing.TB) []map[string]any {
	t.Helper()
	var b []map[string]any
	if err := json.Unmarshal([]byte(r.Form.Get("blocks")), &b); err != nil {
		t.Fatalf("blocks of %s: %v", r.Method, err)
	}
	return b
}

// failure is how the fake answers the next calls of a method.
type failure struct {
	times  int
	status int               // HTTP status; 200 when only code is set
	code   string            // Slack error code, for {"ok":false}
	header map[string]string // e.g. Retry-After
}

// slackUser is a user of the fake workspace.
type slackUser struct {
	ID, Email string
	Deleted   bool
	Bot       bool
}

// fakeSlack is slacktest's server with stateful chat and users methods
// that record what they are sent.
type fakeSlack struct {
	*slacktest.Server
	t testing.TB

	mu       sync.Mutex
	requests []request
	failures map[string]*failure
	messages map[string]url.Values // "<channel>/<ts>" → last form
	seq      int
	users    []slackUser
}

// channelIDs are the channels of the fake workspace, by name.
var channelIDs = map[string]string{"#deploys": "C0DEPLOYS", "C0DEPLOYS": "C0DEPLOYS", "C0OTHER": "C0OTHER"}

func newFakeSlack(t testing.TB) *fakeSlack {
	t.Helper()
	f := &fakeSlack{t: t, failures: map[string]*failure{}, messages: map[string]url.Values{}}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.handle("chat.postMessage", f.postMessage))
		c.Handle("/chat.update", f.handle("chat.update", f.update))
		c.Handle("/users.lookupByEmail", f.handle("users.lookupByEmail", f.lookupByEmail))
		c.Handle("/users.info", f.handle("users.info", f.usersInfo))
		c.Handle("/conversations.replies", f.handle("conversations.replies", f.replies))
	})
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

func (f *fakeSlack) client(t testing.TB, cfg Config) *Client {
	t.Helper()
	cfg.Token = testToken
	cfg.APIURL = f.GetAPIURL()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.retryWait = 0
	return c
}

// fail makes the next n calls of method answer with status and code.
func (f *fakeSlack) fail(method string, n, status int, code string, header map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[method] = &failure{times: n, status: status, code: code, header: header}
}

func (f *fakeSlack) calls(method string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

type handler func(w http.ResponseWriter, form url.Values) any

// handle records the call, checks the token, answers a planned failure,
// or the method's answer as JSON.
func (f *fakeSlack) handle(method string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, request{Method: method, Form: form})
		fl := f.failures[method]
		if fl != nil && fl.times > 0 {
			fl.times--
		} else {
			fl = nil
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if fl != nil {
			for k, v := range fl.header {
				w.Header().Set(k, v)
			}
			status := fl.status
			if status == 0 {
				status = http.StatusOK
			}
			w.WriteHeader(status)
			if fl.code != "" {
				json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": fl.code})
			} else {
				io.WriteString(w, "<html>upstream error</html>")
			}
			return
		}
		token := form.Get("token")
		if auth := r.Header.Get("Authorization"); auth != "" {
			token = strings.TrimPrefix(auth, "Bearer ")
		}
		if token != testToken {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		json.NewEncoder(w).Encode(h(w, form))
	}
}

func slackErr(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

func (f *fakeSlack) postMessage(_ http.ResponseWriter, form url.Values) any {
	ch, ok := channelIDs[form.Get("channel")]
	if !ok {
		return slackErr("channel_not_found")
	}
	if form.Get("text") == "" && form.Get("blocks") == "" {
		return slackErr("no_text")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	ts := fmt.Sprintf("1700000000.%06d", f.seq)
	f.messages[ch+"/"+ts] = form
	return map[string]any{"ok": true, "channel": ch, "ts": ts, "message": map[string]any{"text": form.Get("text"), "ts": ts}}
}

func (f *fakeSlack) update(_ http.ResponseWriter, form url.Values) any {
	ch, ts := form.Get("channel"), form.Get("ts")
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.messages[ch+"/"+ts]; !ok {
		return slackErr("message_not_found")
	}
	f.messages[ch+"/"+ts] = form
	return map[string]any{"ok": true, "channel": ch, "ts": ts, "text": form.Get("text")}
}

// replies answers conversations.replies: the thread's parent, then its
// replies in order, as Slack does.
func (f *fakeSlack) replies(_ http.ResponseWriter, form url.Values) any {
	ch, ts := form.Get("channel"), form.Get("ts")
	f.mu.Lock()
	defer f.mu.Unlock()
	parent, ok := f.messages[ch+"/"+ts]
	if !ok {
		return slackErr("thread_not_found")
	}
	msgs := []map[string]any{{"type": "message", "ts": ts, "text": parent.Get("text")}}
	for seq := 1; seq <= f.seq; seq++ {
		rts := fmt.Sprintf("1700000000.%06d", seq)
		if m, ok := f.messages[ch+"/"+rts]; ok && m.Get("thread_ts") == ts {
			msgs = append(msgs, map[string]any{"type": "message", "ts": rts, "thread_ts": ts, "text": m.Get("text")})
		}
	}
	return map[string]any{"ok": true, "messages": msgs, "has_more": false}
}

// deleteMessages forgets every message, as if someone deleted them.
func (f *fakeSlack) deleteMessages() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages = map[string]url.Values{}
}

func (f *fakeSlack) userJSON(u slackUser) map[string]any {
	return map[string]any{"ok": true, "user": slackapi.User{
		ID: u.ID, TeamID: "T0TEAM", Name: strings.ToLower(u.ID), Deleted: u.Deleted, IsBot: u.Bot,
		Profile: slackapi.UserProfile{Email: u.Email},
	}}
}

func (f *fakeSlack) lookupByEmail(_ http.ResponseWriter, form url.Values) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if strings.EqualFold(u.Email, form.Get("email")) {
			return f.userJSON(u)
		}
	}
	return slackErr("users_not_found")
}

func (f *fakeSlack) usersInfo(_ http.ResponseWriter, form url.Values) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.ID == form.Get("user") {
			return f.userJSON(u)
		}
	}
	return slackErr("user_not_found")
}
