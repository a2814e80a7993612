package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	slackSecret     Secret = "8f742231b10e8888abcd99yyyzzz85a5"
	slackNextSecret Secret = "the signing secret after rotation"
	// slackTeam is the workspace of testdata/slack.
	slackTeam = "T0PRDEPLOY"
)

// slackNow is the clock of the tests: the request in the payload was sent
// at slackNow.
var slackNow = time.Unix(1714830124, 0)

func slackClock() time.Time { return slackNow }

func newSlackHandler(t testing.TB, d Dispatcher, secrets ...Secret) *SlackHandler {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []Secret{slackSecret}
	}
	h, err := NewSlackHandler(SlackConfig{TeamID: slackTeam, SigningSecrets: secrets, Dispatcher: d, Logger: quietLogger(), Now: slackClock})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// slackBody form-encodes an interaction payload as Slack does.
func slackBody(payload []byte) []byte {
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

func readSlackPayload(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/slack/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slackReq is one request as Slack would send it.
type slackReq struct {
	body      []byte
	at        time.Time // the timestamp; slackNow when zero
	signWith  Secret    // slackSecret when empty
	signature string    // set as is when not empty
	timestamp string    // set as is when not empty
	noHeaders bool
	method    string
}

func (s slackReq) send(h http.Handler) *httptest.ResponseRecorder {
	method := s.method
	if method == "" {
		method = http.MethodPost
	}
	req := httptest.NewRequest(method, SlackPath, bytes.NewReader(s.body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !s.noHeaders {
		at := s.at
		if at.IsZero() {
			at = slackNow
		}
		ts := strconv.FormatInt(at.Unix(), 10)
		if s.timestamp != "" {
			ts = s.timestamp
		}
		secret := s.signWith
		if secret == "" {
			secret = slackSecret
		}
		sig := SignSlack(secret, ts, s.body)
		if s.signature != "" {
			sig = s.signature
		}
		req.Header.Set(SlackTimestampHeader, ts)
		req.Header.Set(SlackSignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

var wantApprove = SlackAction{
	Delivery:    Delivery{ID: "1714830123.456789/U0CAROL12", Sender: "U0CAROL12"},
	UserID:      "U0CAROL12",
	UserName:    "carol",
	TeamID:      "T0PRDEPLOY",
	ActionID:    "approve",
	Value:       "deploy:prod/checkout-v42",
	ResponseURL: "https://hooks.slack.com/actions/T0PRDEPLOY/7045290419474/KrLBUyMcb3gHnsrTtm9JHuQe",
	TriggerID:   "7045290419474.5329612345.1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
	Channel:     "C0DEPLOYS",
	MessageTS:   "1714830000.000200",
}

func TestSlackBlockActionDispatched(t *testing.T) {
	rec := &recorder{}
	h := newSlackHandler(t, rec)
	w := slackReq{body: slackBody(readSlackPayload(t, "block_actions.json"))}.send(h)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("answer %d %q, want 200 and an empty body", w.Code, w.Body)
	}
	got := rec.got()
	if len(got) != 1 {
		t.Fatalf("%d events dispatched", len(got))
	}
	ev, ok := got[0].(SlackAction)
	if !ok {
		t.Fatalf("dispatched %T", got[0])
	}
	if ev != wantApprove {
		t.Errorf("event\n got %+v\nwant %+v", ev, wantApprove)
	}
	if ev.Kind() != "slack.block_actions" || ev.Origin().Sender != "U0CAROL12" {
		t.Errorf("kind %q, origin %+v", ev.Kind(), ev.Origin())
	}
	if !rec.deadlines[0] {
		t.Error("Dispatch had no deadline")
	}
	// Events are workflow inputs: they encode and decode as they are.
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back SlackAction
	if err := json.Unmarshal(b, &back); err != nil || back != ev {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
}

// TestSlackRollbackTenant clicks the paused tenant's "Roll back now".
func TestSlackRollbackTenant(t *testing.T) {
	payload := strings.NewReplacer(
		`"action_id": "approve",
      "block_id": "actions"`, `"action_id": "rollback-tenant",
      "block_id": "paused-actions"`,
		`"value": "deploy:prod/checkout-v42",
      "style": "primary"`, `"value": "deploy:prod/checkout-v42|acme",
      "style": "danger"`,
	).Replace(string(readSlackPayload(t, "block_actions.json")))
	rec := &recorder{}
	w := slackReq{body: slackBody([]byte(payload))}.send(newSlackHandler(t, rec))
	if w.Code != http.StatusOK {
		t.Fatalf("answer %d %q", w.Code, w.Body)
	}
	ev := rec.got()[0].(SlackAction)
	if ev.ActionID != "rollback-tenant" || ev.Value != "deploy:prod/checkout-v42|acme" {
		t.Errorf("event %+v", ev)
	}
}

func TestSlackRejected(t *testing.T) {
	body := slackBody(readSlackPayload(t, "block_actions.json"))
	forged := SignSlack("not the secret", strconv.FormatInt(slackNow.Unix(), 10), body)
	cases := []struct {
		name string
		req  slackReq
		code int
	}{
		{"forged signature", slackReq{body: body, signature: forged}, 401},
		{"wrong secret", slackReq{body: body, signWith: "guess"}, 401},
		{"body changed after signing", slackReq{body: body, signature: SignSlack(slackSecret, strconv.FormatInt(slackNow.Unix(), 10), append([]byte("x"), body...))}, 401},
		{"signed for another timestamp", slackReq{body: body, timestamp: strconv.FormatInt(slackNow.Unix()-1, 10), signature: SignSlack(slackSecret, strconv.FormatInt(slackNow.Unix(), 10), body)}, 401},
		{"stale timestamp, 6 minutes old", slackReq{body: body, at: slackNow.Add(-6 * time.Minute)}, 401},
		{"future timestamp, 6 minutes ahead", slackReq{body: body, at: slackNow.Add(6 * time.Minute)}, 401},
		{"timestamp not a number", slackReq{body: body, timestamp: "yesterday"}, 401},
		{"missing headers", slackReq{body: body, noHeaders: true}, 401},
		{"malformed signature", slackReq{body: body, signature: "v1=abc"}, 401},
		{"signature not hex", slackReq{body: body, signature: "v0=" + strings.Repeat("z", 64)}, 401},
		{"GET", slackReq{body: body, method: http.MethodGet}, 405},
		{"too big", slackReq{body: append(body, bytes.Repeat([]byte("a"), SlackMaxBodyBytes)...)}, 413},
		{"no payload", slackReq{body: []byte("foo=bar")}, 400},
		{"payload not JSON", slackReq{body: slackBody([]byte("{nope"))}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			w := tc.req.send(newSlackHandler(t, rec))
			if w.Code != tc.code {
				t.Errorf("answer %d %q, want %d", w.Code, w.Body, tc.code)
			}
			if n := len(rec.got()); n != 0 {
				t.Errorf("%d events dispatched", n)
			}
			if strings.Contains(w.Body.String(), string(slackSecret)) {
				t.Errorf("the answer holds the secret: %q", w.Body)
			}
		})
	}
}

func TestSlackTimestampWindowEdges(t *testing.T) {
	body := slackBody(readSlackPayload(t, "block_actions.json"))
	for _, at := range []time.Time{slackNow.Add(-SlackMaxSkew), slackNow.Add(SlackMaxSkew)} {
		rec := &recorder{}
		if w := (slackReq{body: body, at: at}).send(newSlackHandler(t, rec)); w.Code != http.StatusOK || len(rec.got()) != 1 {
			t.Errorf("timestamp %s from now: answer %d, %d events", at.Sub(slackNow), w.Code, len(rec.got()))
		}
	}
}

func TestSlackSigningSecretRotation(t *testing.T) {
	body := slackBody(readSlackPayload(t, "block_actions.json"))
	for _, s := range []Secret{slackSecret, slackNextSecret} {
		rec := &recorder{}
		h := newSlackHandler(t, rec, slackSecret, slackNextSecret)
		if w := (slackReq{body: body, signWith: s}).send(h); w.Code != http.StatusOK || len(rec.got()) != 1 {
			t.Errorf("signed with secret %d: answer %d, %d events", len(s), w.Code, len(rec.got()))
		}
	}
	// After the rotation the old secret no longer works.
	rec := &recorder{}
	if w := (slackReq{body: body, signWith: slackSecret}).send(newSlackHandler(t, rec, slackNextSecret)); w.Code != http.StatusUnauthorized || len(rec.got()) != 0 {
		t.Errorf("old secret after rotation: answer %d, %d events", w.Code, len(rec.got()))
	}
}

func TestSlackIgnored(t *testing.T) {
	cases := map[string]string{
		"view closed":  `{"type":"view_closed","user":{"id":"U0CAROL12"},"team":{"id":"T0PRDEPLOY"},"view":{"id":"V0"}}`,
		"shortcut":     `{"type":"shortcut","callback_id":"x","trigger_id":"1.2.3","user":{"id":"U0CAROL12"},"team":{"id":"T0PRDEPLOY"}}`,
		"no actions":   `{"type":"block_actions","user":{"id":"U0CAROL12"},"team":{"id":"T0PRDEPLOY"},"actions":[]}`,
		"two actions":  `{"type":"block_actions","user":{"id":"U0CAROL12"},"team":{"id":"T0PRDEPLOY"},"actions":[{"action_id":"a","type":"button"},{"action_id":"b","type":"button"}]}`,
		"no user":      `{"type":"block_actions","team":{"id":"T0PRDEPLOY"},"actions":[{"action_id":"approve","type":"button","value":"d"}]}`,
		"unknown type": `{"type":"something_new","team":{"id":"T0PRDEPLOY"}}`,
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			w := slackReq{body: slackBody([]byte(payload))}.send(newSlackHandler(t, rec))
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Errorf("answer %d %q, want 200 and nothing", w.Code, w.Body)
			}
			if n := len(rec.got()); n != 0 {
				t.Errorf("%d events dispatched", n)
			}
		})
	}
}

func TestSlackDispatcherError(t *testing.T) {
	rec := &recorder{err: errors.New("temporal unavailable")}
	w := slackReq{body: slackBody(readSlackPayload(t, "block_actions.json"))}.send(newSlackHandler(t, rec))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("answer %d, want 500", w.Code)
	}
	if strings.Contains(w.Body.String(), "temporal unavailable") {
		t.Errorf("the answer leaks the error: %q", w.Body)
	}
}

func TestSlackDispatchBounded(t *testing.T) {
	slow := DispatcherFunc(func(ctx context.Context, e Event) error {
		<-ctx.Done()
		return ctx.Err()
	})
	h, err := NewSlackHandler(SlackConfig{TeamID: slackTeam, SigningSecrets: []Secret{slackSecret}, Dispatcher: slow, Logger: quietLogger(), Now: slackClock, DispatchTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w := slackReq{body: slackBody(readSlackPayload(t, "block_actions.json"))}.send(h)
	if w.Code != http.StatusInternalServerError || time.Since(start) > 2*time.Second {
		t.Errorf("answer %d after %s", w.Code, time.Since(start))
	}
	if DefaultSlackDispatchTimeout >= 3*time.Second {
		t.Errorf("default dispatch timeout %s is not under Slack's 3 s", DefaultSlackDispatchTimeout)
	}
}

func TestSignSlack(t *testing.T) {
	// The example of Slack's "Verifying requests from Slack" guide.
	const (
		secret = Secret("8f742231b10e8888abcd99yyyzzz85a5")
		ts     = "1531420618"
		body   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		want   = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	if got := SignSlack(secret, ts, []byte(body)); got != want {
		t.Errorf("SignSlack = %s, want %s", got, want)
	}
}

func TestNewSlackHandlerChecksConfig(t *testing.T) {
	rec := &recorder{}
	for name, cfg := range map[string]SlackConfig{
		"no secret":     {TeamID: slackTeam, Dispatcher: rec},
		"no team":       {SigningSecrets: []Secret{slackSecret}, Dispatcher: rec},
		"empty secret":  {TeamID: slackTeam, SigningSecrets: []Secret{slackSecret, ""}, Dispatcher: rec},
		"no dispatcher": {TeamID: slackTeam, SigningSecrets: []Secret{slackSecret}},
	} {
		if _, err := NewSlackHandler(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	h, err := NewSlackHandler(SlackConfig{TeamID: slackTeam, SigningSecrets: []Secret{slackSecret}, Dispatcher: rec})
	if err != nil {
		t.Fatal(err)
	}
	if s := h.String(); strings.Contains(s, string(slackSecret)) {
		t.Errorf("String() = %q", s)
	}
}
