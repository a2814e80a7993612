package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Path is where GitHub delivers webhooks to prdeploy.
const Path = "/webhooks/github"

// MaxBodyBytes is the largest body accepted by default. GitHub caps
// payloads at 25 MB, a size only push events reach; prdeploy does not use
// them. The events it uses carry at most three texts of 65,536 characters
// (an issue and a comment body and its previous version, a check run's
// summary and text), about 1.2 MB even with every character escaped, and
// three times that form-encoded: 8 MB leaves room. A larger delivery gets
// 413 and is counted as a bad request.
const MaxBodyBytes = 8 << 20

// DefaultDispatchTimeout bounds Dispatch, under GitHub's 10 s delivery
// timeout.
const DefaultDispatchTimeout = 8 * time.Second

// Request headers GitHub sets on every delivery.
const (
	EventHeader    = "X-GitHub-Event"
	DeliveryHeader = "X-GitHub-Delivery"
)

// IgnoredHeader on a 204 says why a delivery was not acted on; GitHub shows
// it with the delivery.
const IgnoredHeader = "X-Prdeploy-Ignored"

// Config is what a Handler needs.
type Config struct {
	// Secrets are the webhook secrets deliveries may be signed with; more
	// than one while a secret is rotated. Required.
	Secrets []Secret
	// Dispatcher receives every event. Required.
	Dispatcher Dispatcher
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes defaults to MaxBodyBytes.
	MaxBodyBytes int64
	// DispatchTimeout defaults to DefaultDispatchTimeout.
	DispatchTimeout time.Duration
	// Observe, when set, is told the outcome of every delivery.
	Observe ObserveFunc
	// Scope is the deploy repository and branch; deliveries for anything
	// else are acknowledged (204), counted as ResultOutOfScope and start
	// nothing.
	Scope Scope
	// Gate bounds the requests whose signature is not checked yet; share
	// one between the handlers of a server. Default: a Gate of its own
	// with the default limits.
	Gate *Gate
}

// ObserveFunc is told, once per request, where it came from (SourceGitHub
// or SourceSlack), what it was (the X-GitHub-Event, or the Slack
// interaction type; UnknownEvent when that is missing or cannot be
// trusted) and how it ended (one of the Result constants). It is called
// after the answer is written, and must be quick and safe for concurrent
// use.
type ObserveFunc func(source, event, result string)

// Sources of requests, as ObserveFunc is told them.
const (
	SourceGitHub = "github"
	SourceSlack  = "slack"
)

// Results of requests, as ObserveFunc is told them.
const (
	// ResultAccepted: an event handed to the Dispatcher, which made it
	// durable.
	ResultAccepted = "accepted"
	// ResultIgnored: answered without acting (a ping, or an event, action
	// or interaction prdeploy does not use).
	ResultIgnored = "ignored"
	// ResultBadSignature: the signature (or Slack's timestamp) was
	// missing, stale or wrong; nothing else was looked at.
	ResultBadSignature = "bad_signature"
	// ResultBadRequest: not a POST, a body over the limit, or a payload
	// that does not decode.
	ResultBadRequest = "bad_request"
	// ResultError: the Dispatcher failed; the sender may try again.
	ResultError = "error"
	// ResultOverloaded: too many requests were waiting for their
	// signature check at once; answered 503 before reading the body.
	ResultOverloaded = "overloaded"
	// ResultForbidden: correctly signed, but from somewhere prdeploy does
	// not serve (a Slack workspace other than the configured one).
	ResultForbidden = "forbidden"
)

// UnknownEvent is the event ObserveFunc is told when the request did not
// say it, or said it before its signature was checked and named an event
// prdeploy does not use (anyone can send any header: naming it would let
// them grow the metrics without bound).
const UnknownEvent = "unknown"

// Handler answers GitHub webhook deliveries (POST Path): it checks the
// signature, turns the deliveries prdeploy acts on into Events, and hands
// them to the Dispatcher before answering.
//
//	405  not a POST
//	401  signature missing or malformed (before the body is read)
//	503  too many unverified requests at once (before the body is read)
//	413  body over the limit (at once when its Content-Length says so)
//	401  signature wrong (nothing else is done)
//	400  no X-GitHub-Event, or a payload that does not decode
//	200  ping ("pong")
//	204  a delivery prdeploy does not act on (IgnoredHeader says why)
//	202  dispatched
//	500  the Dispatcher failed; redeliver
type Handler struct {
	verifier   *Verifier
	dispatcher Dispatcher
	log        *slog.Logger
	maxBody    int64
	timeout    time.Duration
	observe    ObserveFunc
	scope      Scope
	gate       *Gate
}

// NewHandler checks cfg and returns a Handler.
func NewHandler(cfg Config) (*Handler, error) {
	v, err := NewVerifier(cfg.Secrets...)
	if err != nil {
		return nil, err
	}
	if cfg.Dispatcher == nil {
		return nil, errors.New("webhook handler needs a Dispatcher")
	}
	h := &Handler{verifier: v, dispatcher: cfg.Dispatcher, log: cfg.Logger, maxBody: cfg.MaxBodyBytes, timeout: cfg.DispatchTimeout, observe: cfg.Observe, scope: cfg.Scope, gate: cfg.Gate}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.gate == nil {
		h.gate = NewGate(0, 0)
	}
	if h.maxBody <= 0 {
		h.maxBody = MaxBodyBytes
	}
	if h.timeout <= 0 {
		h.timeout = DefaultDispatchTimeout
	}
	return h, nil
}

// ServeHTTP answers one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event, result := h.serve(w, r)
	if h.observe != nil {
		h.observe(SourceGitHub, event, result)
	}
}

// serve answers one delivery and says what it was and how it ended.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (event, result string) {
	eventType := r.Header.Get(EventHeader)
	event = untrustedEvent(eventType)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "GitHub webhooks are POSTed")
		return event, ResultBadRequest
	}
	deliveryID := r.Header.Get(DeliveryHeader)
	log := h.log.With("delivery", deliveryID, "event", eventType)

	want, err := parseSignature(r.Header.Get(SignatureHeader))
	if err != nil {
		log.Warn("webhook rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, err.Error())
		return event, ResultBadSignature
	}
	body, err := h.readSigned(r, want)
	if err != nil {
		log.Warn("webhook rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		return event, refuseUnverified(w, err)
	}
	// Signed by GitHub: its event names are a bounded set.
	if eventType != "" {
		event = eventType
	}

	switch {
	case eventType == "":
		reply(w, http.StatusBadRequest, "missing "+EventHeader+" header")
		return event, ResultBadRequest
	case eventType == "ping":
		log.Info("webhook ping")
		reply(w, http.StatusOK, "pong")
		return event, ResultIgnored
	case usedActions[eventType] == nil:
		ignore(w, log, "event "+eventType+" is not used")
		return event, ResultIgnored
	}
	payload, err := formPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		log.Warn("webhook rejected", "reason", err.Error())
		reply(w, http.StatusBadRequest, err.Error())
		return event, ResultBadRequest
	}
	ev, why, err := route(deliveryID, eventType, payload)
	if err != nil {
		log.Warn("webhook rejected", "reason", err.Error())
		reply(w, http.StatusBadRequest, err.Error())
		return event, ResultBadRequest
	}
	if ev == nil {
		ignore(w, log, why)
		return event, ResultIgnored
	}
	if why := h.scope.check(ev); why != "" {
		log.Warn("webhook out of scope: nothing started", "reason", why, "repo", ev.Origin().Repo)
		w.Header().Set(IgnoredHeader, headerSafe(why))
		w.WriteHeader(http.StatusNoContent)
		return event, ResultOutOfScope
	}

	log = log.With("kind", ev.Kind(), "repo", ev.Origin().Repo)
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	if err := h.dispatcher.Dispatch(ctx, ev); err != nil {
		log.Error("webhook dispatch failed", "err", err)
		reply(w, http.StatusInternalServerError, "dispatching the event failed; redeliver it")
		return event, ResultError
	}
	log.Info("webhook dispatched")
	reply(w, http.StatusAccepted, "accepted")
	return event, ResultAccepted
}

// untrustedEvent names the event of a delivery whose signature is not
// checked yet: the events prdeploy uses by name, anything else unknown.
func untrustedEvent(eventType string) string {
	if eventType == "ping" || usedActions[eventType] != nil {
		return eventType
	}
	return UnknownEvent
}

// readSigned reads the body through the HMACs of the configured secrets,
// within the gate, and returns it once its signature matches want.
func (h *Handler) readSigned(r *http.Request, want []byte) ([]byte, error) {
	if !h.gate.enter() {
		return nil, errOverloaded
	}
	defer h.gate.leave()
	body := unverifiedBody{gate: h.gate}
	defer body.release()
	mac := h.verifier.newMAC()
	if err := body.read(r.Body, r.ContentLength, h.maxBody, mac); err != nil {
		return nil, err
	}
	if err := mac.check(want, ErrSignatureMismatch); err != nil {
		return nil, err
	}
	return body.bytes, nil
}

// refuseUnverified answers a request refused before its signature
// matched, and says how it ended.
func refuseUnverified(w http.ResponseWriter, err error) (result string) {
	var tooLarge *tooLargeError
	switch {
	case errors.Is(err, ErrSignatureMismatch), errors.Is(err, ErrSlackSignatureMismatch):
		reply(w, http.StatusUnauthorized, err.Error())
		return ResultBadSignature
	case errors.Is(err, errOverloaded):
		w.Header().Set("Retry-After", "1")
		reply(w, http.StatusServiceUnavailable, err.Error()+"; try again")
		return ResultOverloaded
	case errors.As(err, &tooLarge):
		reply(w, http.StatusRequestEntityTooLarge, err.Error())
		return ResultBadRequest
	}
	reply(w, http.StatusBadRequest, "reading body failed")
	return ResultBadRequest
}

// formPayload returns the JSON payload of a body: the body itself, or its
// "payload" field when the webhook is configured for form encoding.
func formPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("decoding form-encoded body: %w", err)
	}
	p := form.Get("payload")
	if p == "" {
		return nil, errors.New(`form-encoded body has no "payload" field`)
	}
	return []byte(p), nil
}

func ignore(w http.ResponseWriter, log *slog.Logger, why string) {
	log.Debug("webhook ignored", "reason", why)
	w.Header().Set(IgnoredHeader, headerSafe(why))
	w.WriteHeader(http.StatusNoContent)
}

func reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// headerSafe keeps printable ASCII of s, at most 120 bytes.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
