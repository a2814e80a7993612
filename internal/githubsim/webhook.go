package githubsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// Hook is a webhook subscription.
type Hook struct {
	// URL receives deliveries by HTTP POST. With Handler set, it is only
	// reported (in ping payloads and requests) and Handler is called in process.
	URL     string
	Handler http.Handler
	// Secret signs deliveries (X-Hub-Signature-256, X-Hub-Signature); empty
	// means unsigned, as on GitHub.
	Secret string
	// Repo, when set ("owner/name"), makes this a repository webhook: it
	// receives that repository's events, without an "installation" field.
	// Otherwise it is the App's webhook: events of repositories whose owner
	// has the App installed, with "installation", and only the events the
	// App subscribes to.
	Repo string
	// Events filters deliveries by event name; empty means all.
	Events []string
}

type hook struct {
	Hook
	id      int64
	created time.Time
}

// Delivery records one webhook delivery.
type Delivery struct {
	// ID identifies the delivery for Redeliver.
	ID int64
	// GUID is the X-GitHub-Delivery header (kept by redeliveries).
	GUID   string
	HookID int64
	Event  string
	Action string
	// Repo is the repository's full name ("" for App pings).
	Repo    string
	Payload []byte
	// Header holds the request headers that were sent.
	Header http.Header
	// StatusCode is the receiver's answer; 0 when the request failed (Error).
	StatusCode int
	Error      string
	Redelivery bool
	At         time.Time
}

// event is a webhook about to be delivered: its payload for the App's hooks
// (with "installation") and for repository hooks (without).
type event struct {
	name, action string
	repo         string
	repoID       int64
	appBody      []byte // nil: the App is not installed on the repository's owner
	repoBody     []byte
}

// AddHook subscribes a webhook and returns its ID.
func (s *Server) AddHook(h Hook) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addHookLocked(h)
}

func (s *Server) addHookLocked(h Hook) int64 {
	hk := &hook{Hook: h, id: s.nextID(idHook), created: s.now()}
	s.hooks = append(s.hooks, hk)
	return hk.id
}

// newEvent renders a payload: the event's fields plus repository, sender,
// organization (for organization-owned repositories) and, for the App's
// hooks, installation. Call with s.mu held.
func (s *Server) newEvent(name, action string, rp *repo, sender *user, fields map[string]any) event {
	body := map[string]any{"repository": s.repoJSON(rp), "sender": s.userJSON(sender)}
	if action != "" {
		body["action"] = action
	}
	if org := s.orgJSON(rp.owner); org != nil {
		body["organization"] = org
	}
	for k, v := range fields {
		body[k] = v
	}
	ev := event{name: name, action: action, repo: rp.fullName(), repoID: rp.id}
	ev.repoBody = mustJSON(body)
	if in := s.installationFor(rp); in != nil {
		body["installation"] = installationLiteJSON{ID: in.id, NodeID: nodeID("IntegrationInstallation", in.id)}
		ev.appBody = mustJSON(body)
	}
	return ev
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("githubsim: rendering a payload: %v", err))
	}
	return b
}

func (s *Server) pullEvent(ctx context.Context, p *pull, action string, sender *user, extra map[string]any) event {
	fields := map[string]any{"number": p.number, "pull_request": s.pullJSON(ctx, p)}
	for k, v := range extra {
		fields[k] = v
	}
	return s.newEvent("pull_request", action, p.repo, sender, fields)
}

func (s *Server) commentEvent(p *pull, c *comment, action string, sender *user, extra map[string]any) event {
	fields := map[string]any{"issue": s.issueJSON(p), "comment": s.commentJSON(c)}
	for k, v := range extra {
		fields[k] = v
	}
	return s.newEvent("issue_comment", action, p.repo, sender, fields)
}

func (s *Server) reviewEvent(p *pull, rv *review, action string, sender *user) event {
	return s.newEvent("pull_request_review", action, p.repo, sender, map[string]any{
		"review": s.reviewJSON(rv, true), "pull_request": s.pullJSON(context.Background(), p).simplePullJSON,
	})
}

func (s *Server) checkRunEvent(c *checkRun, action string, sender *user, extra map[string]any) event {
	fields := map[string]any{"check_run": s.checkRunJSON(c)}
	for k, v := range extra {
		fields[k] = v
	}
	return s.newEvent("check_run", action, c.repo, sender, fields)
}

// target is one hook an event goes to, with the body it gets.
type target struct {
	hook *hook
	body []byte
}

// targetsLocked picks the hooks of an event. Call with s.mu held.
func (s *Server) targetsLocked(ev event) []target {
	var out []target
	for _, h := range s.hooks {
		if len(h.Events) > 0 && !contains(h.Events, ev.name) && !contains(h.Events, "*") {
			continue
		}
		if h.Repo != "" {
			if strings.EqualFold(h.Repo, ev.repo) {
				out = append(out, target{h, ev.repoBody})
			}
			continue
		}
		if ev.appBody != nil && contains(s.app.events, ev.name) {
			out = append(out, target{h, ev.appBody})
		}
	}
	return out
}

// deliverAll delivers events, one after the other, synchronously (so a test
// sees the receiver's effects as soon as the call that caused them
// returns), and returns the deliveries.
func (s *Server) deliverAll(ctx context.Context, evs []event) []Delivery {
	var out []Delivery
	for _, ev := range evs {
		s.mu.Lock()
		ts := s.targetsLocked(ev)
		s.mu.Unlock()
		for _, t := range ts {
			out = append(out, s.deliver(ctx, t.hook, ev.name, ev.action, ev.repo, ev.repoID, t.body, "", false))
		}
	}
	return out
}

var deliveryClient = &http.Client{}

// deliver POSTs one payload with GitHub's headers and records the outcome.
// An empty guid allocates a new one.
func (s *Server) deliver(ctx context.Context, h *hook, name, action, repoName string, repoID int64, body []byte, guid string, redelivery bool) Delivery {
	s.mu.Lock()
	n := s.nextID(idDelivery)
	if guid == "" {
		guid = fmt.Sprintf("%08x-0000-4000-8000-%012x", s.app.id, n)
	}
	targetType, targetID := "integration", s.app.id
	if h.Repo != "" {
		targetType, targetID = "repository", repoID
	}
	timeout := s.opts.DeliveryTimeout
	at := s.now()
	s.mu.Unlock()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}

	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("User-Agent", "GitHub-Hookshot/githubsim")
	hdr.Set("Accept", "*/*")
	hdr.Set("X-GitHub-Event", name)
	hdr.Set("X-GitHub-Delivery", guid)
	hdr.Set("X-GitHub-Hook-ID", strconv.FormatInt(h.id, 10))
	hdr.Set("X-GitHub-Hook-Installation-Target-Type", targetType)
	hdr.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(targetID, 10))
	if h.Secret != "" {
		hdr.Set("X-Hub-Signature", "sha1="+hmacHex(sha1.New, h.Secret, body))
		hdr.Set("X-Hub-Signature-256", "sha256="+hmacHex(sha256.New, h.Secret, body))
	}
	d := Delivery{ID: n, GUID: guid, HookID: h.id, Event: name, Action: action, Repo: repoName,
		Payload: body, Header: hdr, Redelivery: redelivery, At: at}

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	url := h.URL
	if url == "" {
		url = "http://webhook.invalid/"
	}
	req, err := http.NewRequestWithContext(dctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		d.Error = err.Error()
	} else {
		req.Header = hdr.Clone()
		req.ContentLength = int64(len(body))
		if h.Handler != nil {
			rec := httptest.NewRecorder()
			h.Handler.ServeHTTP(rec, req)
			d.StatusCode = rec.Code
		} else if resp, err := deliveryClient.Do(req); err != nil {
			d.Error = err.Error()
		} else {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			d.StatusCode = resp.StatusCode
		}
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d
}

func hmacHex(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Deliveries returns every delivery so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// LastDelivery returns the most recent delivery, if any.
func (s *Server) LastDelivery() (Delivery, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.deliveries) == 0 {
		return Delivery{}, false
	}
	return s.deliveries[len(s.deliveries)-1], true
}

// DeliveriesOf returns the deliveries of one event (and action, if not empty).
func (s *Server) DeliveriesOf(eventName, action string) []Delivery {
	var out []Delivery
	for _, d := range s.Deliveries() {
		if d.Event == eventName && (action == "" || d.Action == action) {
			out = append(out, d)
		}
	}
	return out
}

// Redeliver sends a past delivery again: same hook, same body, same GUID,
// signed with the hook's current secret (GitHub's "Redeliver" button).
func (s *Server) Redeliver(ctx context.Context, deliveryID int64) (Delivery, error) {
	s.mu.Lock()
	var orig *Delivery
	for i := range s.deliveries {
		if s.deliveries[i].ID == deliveryID {
			orig = &s.deliveries[i]
			break
		}
	}
	if orig == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("no delivery %d", deliveryID)
	}
	d := *orig
	var h *hook
	for _, hk := range s.hooks {
		if hk.id == d.HookID {
			h = hk
		}
	}
	var repoID int64
	if rp, ok := s.repos[strings.ToLower(d.Repo)]; ok {
		repoID = rp.id
	}
	s.mu.Unlock()
	if h == nil {
		return Delivery{}, fmt.Errorf("hook %d of delivery %d is gone", d.HookID, deliveryID)
	}
	return s.deliver(ctx, h, d.Event, d.Action, d.Repo, repoID, d.Payload, d.GUID, true), nil
}

var zen = []string{
	"Design for failure.", "Keep it logically awesome.", "Speak like a human.", "Favor focus over features.",
	"Approachable is better than simple.", "Mind your words, they are important.", "Anything added dilutes everything else.",
}

// Ping delivers a ping event to one hook, as GitHub does when a hook is
// created.
func (s *Server) Ping(ctx context.Context, hookID int64) (Delivery, error) {
	s.mu.Lock()
	var h *hook
	for _, hk := range s.hooks {
		if hk.id == hookID {
			h = hk
		}
	}
	if h == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("no hook %d", hookID)
	}
	events := h.Events
	if len(events) == 0 {
		events = []string{"*"}
	}
	url := h.URL
	if url == "" {
		url = "http://webhook.invalid/"
	}
	id := strconv.FormatInt(h.id, 10)
	hk := map[string]any{
		"type": "App", "id": h.id, "name": "web", "active": true, "events": events,
		"config":     map[string]string{"content_type": "json", "insecure_ssl": "0", "url": url},
		"updated_at": ts(h.created), "created_at": ts(h.created),
		"url": s.apiURL("app", "hook", "config"), "ping_url": s.apiURL("app", "hook", "pings"),
		"deliveries_url": s.apiURL("app", "hook", "deliveries"),
	}
	body := map[string]any{"zen": zen[int(h.id)%len(zen)], "hook_id": h.id, "hook": hk}
	repoName := ""
	var repoID int64
	if h.Repo != "" {
		rp, err := s.repoLocked(h.Repo)
		if err != nil {
			s.mu.Unlock()
			return Delivery{}, err
		}
		api := s.repoAPI(rp, "hooks", id)
		hk["type"], hk["url"], hk["ping_url"], hk["deliveries_url"], hk["test_url"] = "Repository", api, api+"/pings", api+"/deliveries", api+"/test"
		hk["last_response"] = map[string]any{"code": nil, "status": "unused", "message": nil}
		body["repository"], body["sender"] = s.repoJSON(rp), s.userJSON(rp.owner)
		if org := s.orgJSON(rp.owner); org != nil {
			body["organization"] = org
		}
		repoName, repoID = rp.fullName(), rp.id
	} else {
		hk["app_id"] = s.app.id
		hk["events"] = s.app.events
	}
	b := mustJSON(body)
	s.mu.Unlock()
	return s.deliver(ctx, h, "ping", "", repoName, repoID, b, "", false), nil
}
