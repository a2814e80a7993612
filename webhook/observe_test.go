package webhook

import (
	"errors"
	"net/http"
	"slices"
	"testing"
)

// outcome is one call of an ObserveFunc.
type outcome struct{ source, event, result string }

// observed records what an ObserveFunc is told.
type observed struct{ got []outcome }

func (o *observed) observe(source, event, result string) {
	o.got = append(o.got, outcome{source, event, result})
}

// TestObserveGitHub: every way a delivery ends is told once, with the
// event named only when the signature vouches for it or prdeploy uses it.
func TestObserveGitHub(t *testing.T) {
	opened := readPayload(t, "pull_request/opened.payload.json")
	cases := []struct {
		name string
		req  deliveryReq
		fail error
		want outcome
		code int
	}{
		{"dispatched", deliveryReq{event: "pull_request", body: opened}, nil, outcome{SourceGitHub, "pull_request", ResultAccepted}, http.StatusAccepted},
		{"bad signature", deliveryReq{event: "pull_request", body: opened, signWith: "guessed"}, nil, outcome{SourceGitHub, "pull_request", ResultBadSignature}, http.StatusUnauthorized},
		{"unsigned", deliveryReq{event: "pull_request", body: opened, unsigned: true}, nil, outcome{SourceGitHub, "pull_request", ResultBadSignature}, http.StatusUnauthorized},
		{"forged, made-up event", deliveryReq{event: "x-made-up", body: opened, signWith: "guessed"}, nil, outcome{SourceGitHub, UnknownEvent, ResultBadSignature}, http.StatusUnauthorized},
		{"ping", deliveryReq{event: "ping", body: readPayload(t, "ping/payload.json")}, nil, outcome{SourceGitHub, "ping", ResultIgnored}, http.StatusOK},
		{"signed event not used", deliveryReq{event: "star", body: []byte(`{}`)}, nil, outcome{SourceGitHub, "star", ResultIgnored}, http.StatusNoContent},
		{"action not used", deliveryReq{event: "pull_request", body: edit(t, "pull_request/opened.payload.json", map[string]any{"action": "assigned"})}, nil, outcome{SourceGitHub, "pull_request", ResultIgnored}, http.StatusNoContent},
		{"no event header", deliveryReq{body: opened}, nil, outcome{SourceGitHub, UnknownEvent, ResultBadRequest}, http.StatusBadRequest},
		{"payload not JSON", deliveryReq{event: "pull_request", body: []byte("{nope")}, nil, outcome{SourceGitHub, "pull_request", ResultBadRequest}, http.StatusBadRequest},
		{"GET", deliveryReq{event: "pull_request", body: opened, method: http.MethodGet}, nil, outcome{SourceGitHub, "pull_request", ResultBadRequest}, http.StatusMethodNotAllowed},
		{"dispatcher failed", deliveryReq{event: "pull_request", body: opened}, errors.New("temporal unavailable"), outcome{SourceGitHub, "pull_request", ResultError}, http.StatusInternalServerError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o observed
			h, err := NewHandler(Config{Secrets: []Secret{testSecret}, Dispatcher: &recorder{err: c.fail}, Logger: quietLogger(), Observe: o.observe, Scope: testScope})
			if err != nil {
				t.Fatal(err)
			}
			if w := c.req.send(h); w.Code != c.code {
				t.Errorf("status %d, want %d", w.Code, c.code)
			}
			if want := []outcome{c.want}; !slices.Equal(o.got, want) {
				t.Errorf("observed %v, want %v", o.got, want)
			}
		})
	}
}

// TestObserveSlack: the interaction type is the event once the request is
// verified and decoded; before that it is unknown.
func TestObserveSlack(t *testing.T) {
	body := slackBody(readSlackPayload(t, "block_actions.json"))
	cases := []struct {
		name string
		req  slackReq
		fail error
		want outcome
	}{
		{"dispatched", slackReq{body: body}, nil, outcome{SourceSlack, "block_actions", ResultAccepted}},
		{"wrong secret", slackReq{body: body, signWith: "guess"}, nil, outcome{SourceSlack, UnknownEvent, ResultBadSignature}},
		{"stale", slackReq{body: body, timestamp: "1"}, nil, outcome{SourceSlack, UnknownEvent, ResultBadSignature}},
		{"view closed", slackReq{body: slackBody([]byte(`{"type":"view_closed","user":{"id":"U0CAROL12"},"team":{"id":"T0PRDEPLOY"}}`))}, nil, outcome{SourceSlack, "view_closed", ResultIgnored}},
		{"payload not JSON", slackReq{body: slackBody([]byte("{nope"))}, nil, outcome{SourceSlack, UnknownEvent, ResultBadRequest}},
		{"another workspace", slackReq{body: slackBody([]byte(`{"type":"view_closed","user":{"id":"U0MALLORY"},"team":{"id":"T0ELSEWHERE"}}`))}, nil, outcome{SourceSlack, UnknownEvent, ResultForbidden}},
		{"dispatcher failed", slackReq{body: body}, errors.New("temporal unavailable"), outcome{SourceSlack, "block_actions", ResultError}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o observed
			h, err := NewSlackHandler(SlackConfig{TeamID: slackTeam, SigningSecrets: []Secret{slackSecret}, Dispatcher: &recorder{err: c.fail}, Logger: quietLogger(), Now: slackClock, Observe: o.observe})
			if err != nil {
				t.Fatal(err)
			}
			c.req.send(h)
			if want := []outcome{c.want}; !slices.Equal(o.got, want) {
				t.Errorf("observed %v, want %v", o.got, want)
			}
		})
	}
}
