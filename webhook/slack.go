package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// SlackPath is where Slack delivers interactions (button clicks) to
// prdeploy: the Request URL of the Slack app's Interactivity settings.
const SlackPath = "/webhooks/slack/interactions"

// Request headers Slack signs every request with.
const (
	SlackSignatureHeader = "X-Slack-Signature"
	SlackTimestampHeader = "X-Slack-Request-Timestamp"
)

// SlackMaxBodyBytes is the largest interaction body accepted; a click's
// payload, the message included, is a few kilobytes.
const SlackMaxBodyBytes = 1 << 20

// SlackMaxSkew is how far a request's timestamp may be from the clock, in
// either direction, for its signature to count: a captured request cannot
// be replayed later than that.
const SlackMaxSkew = 5 * time.Minute

// DefaultSlackDispatchTimeout bounds Dispatch, under the 3 s Slack waits
// before it tells the person the click failed.
const DefaultSlackDispatchTimeout = 2500 * time.Millisecond

const slackSignaturePrefix = "v0="

// Errors of Slack request verification. None of them says anything about
// a secret.
var (
	ErrSlackNoSignature        = errors.New("missing " + SlackSignatureHeader + " or " + SlackTimestampHeader + " header")
	ErrSlackMalformedSignature = errors.New("malformed " + SlackSignatureHeader + ` header: want "v0=" and 64 hex digits`)
	ErrSlackBadTimestamp       = errors.New(SlackTimestampHeader + " is not a Unix time")
	ErrSlackStaleTimestamp     = fmt.Errorf("%s is more than %s from now", SlackTimestampHeader, SlackMaxSkew)
	ErrSlackSignatureMismatch  = errors.New(SlackSignatureHeader + " does not match the request under any configured signing secret")
	ErrSlackOtherWorkspace     = errors.New("the interaction comes from a Slack workspace prdeploy does not serve")
)

// SlackConfig is what a SlackHandler needs.
type SlackConfig struct {
	// SigningSecrets are the Slack app's signing secrets requests may be
	// signed with; more than one while a secret is rotated. Required.
	SigningSecrets []Secret
	// TeamID is the Slack workspace (team) prdeploy serves, "T…".
	// Required: an app installed in another workspace signs with the same
	// secret, so a correctly signed interaction from elsewhere is refused
	// (403).
	TeamID string
	// Dispatcher receives every SlackAction. Required.
	Dispatcher Dispatcher
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock timestamps are checked against; time.Now by
	// default.
	Now func() time.Time
	// DispatchTimeout defaults to DefaultSlackDispatchTimeout.
	DispatchTimeout time.Duration
	// Observe, when set, is told the outcome of every request, with the
	// interaction type as its event.
	Observe ObserveFunc
	// Gate bounds the requests whose signature is not checked yet; share
	// the GitHub handler's. Default: a Gate of its own.
	Gate *Gate
}

// SlackHandler answers Slack interactions (POST SlackPath): it checks the
// signature and the timestamp, turns a button click into a SlackAction,
// and hands it to the Dispatcher before answering.
//
//	405  not a POST
//	401  signature or timestamp missing, malformed or stale (before the body is read)
//	503  too many unverified requests at once (before the body is read)
//	413  body over SlackMaxBodyBytes
//	401  signature wrong (nothing else is done)
//	400  a body or payload that does not decode
//	403  an interaction from another workspace than TeamID
//	200  dispatched, or an interaction prdeploy does not act on; empty body
//	500  the Dispatcher failed
//
// The answer says nothing to the person who clicked: the workflow records
// the decision and answers through the interaction's response_url.
type SlackHandler struct {
	keys       [][]byte
	team       string
	dispatcher Dispatcher
	log        *slog.Logger
	now        func() time.Time
	timeout    time.Duration
	observe    ObserveFunc
	gate       *Gate
}

// NewSlackHandler checks cfg and returns a SlackHandler.
func NewSlackHandler(cfg SlackConfig) (*SlackHandler, error) {
	if len(cfg.SigningSecrets) == 0 {
		return nil, errors.New("no Slack signing secret configured: set the signing secret from the Slack app's Basic Information page")
	}
	if cfg.TeamID == "" {
		return nil, errors.New("no Slack workspace configured: set the team ID (T…) of the workspace prdeploy serves, so that interactions from others are refused")
	}
	h := &SlackHandler{team: cfg.TeamID, dispatcher: cfg.Dispatcher, log: cfg.Logger, now: cfg.Now, timeout: cfg.DispatchTimeout, observe: cfg.Observe, gate: cfg.Gate}
	for i, s := range cfg.SigningSecrets {
		if s == "" {
			return nil, fmt.Errorf("signing secret %d of %d for Slack is empty: every configured secret must be set", i+1, len(cfg.SigningSecrets))
		}
		h.keys = append(h.keys, []byte(s))
	}
	if h.dispatcher == nil {
		return nil, errors.New("the Slack interactions handler needs a Dispatcher")
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.gate == nil {
		h.gate = NewGate(0, 0)
	}
	if h.timeout <= 0 {
		h.timeout = DefaultSlackDispatchTimeout
	}
	return h, nil
}

// String describes the handler without its secrets.
func (h *SlackHandler) String() string {
	return fmt.Sprintf("webhook.SlackHandler(%d signing secrets)", len(h.keys))
}

// SlackAction is a person clicking a button on one of prdeploy's Slack
// messages (a block_actions interaction with one action). Delivery.Sender
// is the Slack user ID: who that is on GitHub, and whether they may do
// what the button asks, is decided by the workflow under the same
// policies as a /approve on the pull request.
type SlackAction struct {
	Delivery
	// UserID is the Slack user who clicked; UserName their Slack handle,
	// for logs only.
	UserID   string `json:"userId"`
	UserName string `json:"userName,omitempty"`
	TeamID   string `json:"teamId,omitempty"`
	// ActionID is the button's action_id ("approve", "rollback-tenant"…)
	// and Value its value (the deployment, or "<deployment>|<tenant>").
	ActionID string `json:"actionId"`
	Value    string `json:"value"`
	// ResponseURL answers the person who clicked (30 minutes, 5 uses).
	ResponseURL string `json:"responseUrl,omitempty"`
	TriggerID   string `json:"triggerId,omitempty"`
	// Channel and MessageTS are the message the button is on.
	Channel   string `json:"channel,omitempty"`
	MessageTS string `json:"messageTs,omitempty"`
}

// Kind names the event in logs.
func (SlackAction) Kind() string { return "slack.block_actions" }

func (SlackAction) isEvent() {}

// ServeHTTP answers one interaction.
func (h *SlackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event, result := h.serve(w, r)
	if h.observe != nil {
		h.observe(SourceSlack, event, result)
	}
}

// serve answers one interaction and says what it was (its type, once the
// signature is checked and the payload decoded) and how it ended.
func (h *SlackHandler) serve(w http.ResponseWriter, r *http.Request) (event, result string) {
	event = UnknownEvent
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "Slack interactions are POSTed")
		return event, ResultBadRequest
	}
	log := h.log.With("source", "slack")
	signature, timestamp := r.Header.Get(SlackSignatureHeader), r.Header.Get(SlackTimestampHeader)
	want, err := h.checkHeaders(signature, timestamp)
	if err != nil {
		log.Warn("slack interaction rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, err.Error())
		return event, ResultBadSignature
	}
	body, err := h.readSigned(r, timestamp, want)
	if err != nil {
		log.Warn("slack interaction rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		return event, refuseUnverified(w, err)
	}

	ic, err := slackInteraction(r.Header.Get("Content-Type"), body)
	if err != nil {
		log.Warn("slack interaction rejected", "reason", err.Error())
		reply(w, http.StatusBadRequest, err.Error())
		return event, ResultBadRequest
	}
	// Slack wrote the team: the signature covers it. An interaction
	// type is named only from the configured workspace.
	if team := interactionTeam(ic); team != h.team {
		log.Warn("slack interaction rejected", "reason", ErrSlackOtherWorkspace.Error(), "team", headerSafe(team), "slackUser", headerSafe(ic.User.ID))
		reply(w, http.StatusForbidden, ErrSlackOtherWorkspace.Error())
		return event, ResultForbidden
	}
	if ic.Type != "" {
		event = string(ic.Type)
	}
	ev, why := slackAction(ic)
	if ev == nil {
		log.Debug("slack interaction ignored", "type", string(ic.Type), "reason", why)
		w.WriteHeader(http.StatusOK)
		return event, ResultIgnored
	}

	log = log.With("kind", ev.Kind(), "delivery", ev.ID, "slackUser", ev.UserID, "action", ev.ActionID, "value", ev.Value)
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	if err := h.dispatcher.Dispatch(ctx, *ev); err != nil {
		log.Error("slack interaction dispatch failed", "err", err)
		reply(w, http.StatusInternalServerError, "dispatching the interaction failed")
		return event, ResultError
	}
	log.Info("slack interaction dispatched")
	w.WriteHeader(http.StatusOK)
	return event, ResultAccepted
}

// checkHeaders checks, before the body is read, that both headers are
// there, that the signature is well formed, and that the timestamp is
// within SlackMaxSkew of now. It returns the signature's bytes.
func (h *SlackHandler) checkHeaders(signature, timestamp string) ([]byte, error) {
	if signature == "" || timestamp == "" {
		return nil, ErrSlackNoSignature
	}
	hexSum, ok := strings.CutPrefix(signature, slackSignaturePrefix)
	if !ok || len(hexSum) != hex.EncodedLen(sha256.Size) {
		return nil, ErrSlackMalformedSignature
	}
	want := make([]byte, sha256.Size)
	if _, err := hex.Decode(want, []byte(hexSum)); err != nil {
		return nil, ErrSlackMalformedSignature
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return nil, ErrSlackBadTimestamp
	}
	skew := h.now().Sub(time.Unix(secs, 0))
	if skew > SlackMaxSkew || skew < -SlackMaxSkew {
		return nil, ErrSlackStaleTimestamp
	}
	return want, nil
}

// readSigned reads the body through the HMACs of the signing secrets
// (which sign "v0:<timestamp>:<body>"), within the gate, and returns it
// once the signature matches want. It compares in constant time against
// every secret, so the time taken tells neither which secret nor how much
// of the signature matched.
func (h *SlackHandler) readSigned(r *http.Request, timestamp string, want []byte) ([]byte, error) {
	if !h.gate.enter() {
		return nil, errOverloaded
	}
	defer h.gate.leave()
	body := unverifiedBody{gate: h.gate}
	defer body.release()
	mac := &macs{}
	for _, key := range h.keys {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("v0:" + timestamp + ":"))
		mac.sums = append(mac.sums, m)
	}
	if err := body.read(r.Body, r.ContentLength, SlackMaxBodyBytes, mac); err != nil {
		return nil, err
	}
	if err := mac.check(want, ErrSlackSignatureMismatch); err != nil {
		return nil, err
	}
	return body.bytes, nil
}

// interactionTeam is the workspace an interaction comes from: its team,
// else its user's.
func interactionTeam(ic slackapi.InteractionCallback) string {
	if ic.Team.ID != "" {
		return ic.Team.ID
	}
	return ic.User.TeamID
}

// SignSlack returns the X-Slack-Signature Slack sends for body, sent at
// ts (Unix seconds, the X-Slack-Request-Timestamp), signed with secret.
// Tests and the simulator sign interactions with it.
func SignSlack(secret Secret, ts string, body []byte) string {
	return slackSignaturePrefix + hex.EncodeToString(slackSum([]byte(secret), ts, body))
}

func slackSum(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return m.Sum(nil)
}

// slackInteraction decodes the "payload" field of a form-encoded body.
func slackInteraction(contentType string, body []byte) (slackapi.InteractionCallback, error) {
	var ic slackapi.InteractionCallback
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/x-www-form-urlencoded" {
		return ic, fmt.Errorf("want an application/x-www-form-urlencoded body, have %q", contentType)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ic, fmt.Errorf("decoding form-encoded body: %w", err)
	}
	p := form.Get("payload")
	if p == "" {
		return ic, errors.New(`form-encoded body has no "payload" field`)
	}
	if err := json.Unmarshal([]byte(p), &ic); err != nil {
		return ic, fmt.Errorf("decoding the interaction payload: %w", err)
	}
	return ic, nil
}

// slackAction turns a block_actions interaction with one action into a
// SlackAction, or says why it is not one.
func slackAction(ic slackapi.InteractionCallback) (*SlackAction, string) {
	if ic.Type != slackapi.InteractionTypeBlockActions {
		return nil, "interaction type " + string(ic.Type) + " is not used"
	}
	actions := ic.ActionCallback.BlockActions
	if len(actions) != 1 {
		return nil, fmt.Sprintf("block_actions with %d actions, want 1", len(actions))
	}
	a := actions[0]
	if ic.User.ID == "" || a.ActionID == "" {
		return nil, "block_actions without a user or an action_id"
	}
	id := ic.TriggerID
	if a.ActionTs != "" {
		id = a.ActionTs + "/" + ic.User.ID
	}
	team := interactionTeam(ic)
	name := ic.User.Name
	if name == "" {
		name = ic.User.Username
	}
	channel := ic.Channel.ID
	if channel == "" {
		channel = ic.Container.ChannelID
	}
	ts := ic.Container.MessageTs
	if ts == "" {
		ts = ic.Message.Timestamp
	}
	return &SlackAction{
		Delivery:    Delivery{ID: id, Sender: ic.User.ID},
		UserID:      ic.User.ID,
		UserName:    name,
		TeamID:      team,
		ActionID:    a.ActionID,
		Value:       a.Value,
		ResponseURL: ic.ResponseURL,
		TriggerID:   ic.TriggerID,
		Channel:     channel,
		MessageTS:   ts,
	}, ""
}
