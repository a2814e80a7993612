package webhook

import (
	"bytes"
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
)

// SlackConfig is what a SlackHandler needs.
type SlackConfig struct {
	// SigningSecrets are the Slack app's signing secrets requests may be
	// signed with; more than one while a secret is rotated. Required.
	SigningSecrets []Secret
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
}

// SlackHandler answers Slack interactions (POST SlackPath): it checks the
// signature and the timestamp, turns a button click into a SlackAction,
// and hands it to the Dispatcher before answering.
//
//	405  not a POST
//	401  signature or timestamp missing, stale or wrong (nothing else is done)
//	413  body over SlackMaxBodyBytes
//	400  a body or payload that does not decode
//	200  dispatched, or an interaction prdeploy does not act on; empty body
//	500  the Dispatcher failed
//
// The answer says nothing to the person who clicked: the workflow records
// the decision and answers through the interaction's response_url.
type SlackHandler struct {
	keys       [][]byte
	dispatcher Dispatcher
	log        *slog.Logger
	now        func() time.Time
	timeout    time.Duration
	observe    ObserveFunc
}

// NewSlackHandler checks cfg and returns a SlackHandler.
func NewSlackHandler(cfg SlackConfig) (*SlackHandler, error) {
	if len(cfg.SigningSecrets) == 0 {
		return nil, errors.New("no Slack signing secret configured: set the signing secret from the Slack app's Basic Information page")
	}
	h := &SlackHandler{dispatcher: cfg.Dispatcher, log: cfg.Logger, now: cfg.Now, timeout: cfg.DispatchTimeout, observe: cfg.Observe}
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
	if err := h.checkTimestamp(signature, timestamp); err != nil {
		log.Warn("slack interaction rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, err.Error())
		return event, ResultBadSignature
	}
	body, err := readLimited(w, r, SlackMaxBodyBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			log.Warn("slack interaction rejected", "reason", "body too large", "limit", SlackMaxBodyBytes, "remote", r.RemoteAddr)
			reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", SlackMaxBodyBytes))
			return event, ResultBadRequest
		}
		log.Warn("slack interaction rejected", "reason", "reading body", "err", err)
		reply(w, http.StatusBadRequest, "reading body failed")
		return event, ResultBadRequest
	}
	if err := h.verify(signature, timestamp, body); err != nil {
		log.Warn("slack interaction rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, err.Error())
		return event, ResultBadSignature
	}

	ic, err := slackInteraction(r.Header.Get("Content-Type"), body)
	if err != nil {
		log.Warn("slack interaction rejected", "reason", err.Error())
		reply(w, http.StatusBadRequest, err.Error())
		return event, ResultBadRequest
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

// checkTimestamp checks, before the body is read, that both headers are
// there and that the timestamp is within SlackMaxSkew of now.
func (h *SlackHandler) checkTimestamp(signature, timestamp string) error {
	if signature == "" || timestamp == "" {
		return ErrSlackNoSignature
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrSlackBadTimestamp
	}
	skew := h.now().Sub(time.Unix(secs, 0))
	if skew > SlackMaxSkew || skew < -SlackMaxSkew {
		return ErrSlackStaleTimestamp
	}
	return nil
}

// verify compares the signature, in constant time, against the one of
// every secret, so the time taken tells neither which secret nor how much
// of the signature matched.
func (h *SlackHandler) verify(signature, timestamp string, body []byte) error {
	hexSum, ok := strings.CutPrefix(signature, slackSignaturePrefix)
	if !ok || len(hexSum) != hex.EncodedLen(sha256.Size) {
		return ErrSlackMalformedSignature
	}
	got := make([]byte, sha256.Size)
	if _, err := hex.Decode(got, []byte(hexSum)); err != nil {
		return ErrSlackMalformedSignature
	}
	match := false
	for _, key := range h.keys {
		if hmac.Equal(got, slackSum(key, timestamp, body)) {
			match = true
		}
	}
	if !match {
		return ErrSlackSignatureMismatch
	}
	return nil
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

// readLimited reads at most limit bytes of the body; a longer body is an
// *http.MaxBytesError, found before reading when Content-Length says so.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
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
	team := ic.Team.ID
	if team == "" {
		team = ic.User.TeamID
	}
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
