package statuspage

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// AuthPath is where the login lives (GitHubLogin): AuthPath+"/login",
// "/callback" and "/logout". Mount the handler of New there too.
const AuthPath = "/auth"

// Access decides who may see the pages and their JSON. LocalOnly,
// Anyone, Proxy and a *GitHubLogin are the choices.
type Access interface {
	// authorize says who makes r. When nobody may see the pages, it has
	// answered w (a redirect to the login, 401 or 403) and ok is false.
	authorize(w http.ResponseWriter, r *http.Request, o *Options) (viewer string, ok bool)
}

// Outcomes of access checks, as Options.Observe is told them (with the
// event "session", or "login" for the GitHub login's callback).
const (
	AccessGranted   = "granted"   // a request let in
	AccessAnonymous = "anonymous" // no session: sent to the login (401 for JSON)
	AccessInvalid   = "invalid"   // a session cookie whose signature does not match: refused
	AccessExpired   = "expired"   // a session cookie past its expiry: sent to the login again
	AccessRefused   = "refused"   // someone who may not see the pages (403)
	AccessBadState  = "bad_state" // a login callback whose state is missing, stale or not the browser's
	AccessFailed    = "failed"    // GitHub could not be asked
)

type viewerKey struct{}

// viewer is who the guard let in, for the pages' header.
func viewer(r *http.Request) string {
	v, _ := r.Context().Value(viewerKey{}).(string)
	return v
}

// guard serves next to whoever Access lets in.
func (h *handler) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, ok := h.o.Access.authorize(w, r, &h.o)
		if !ok {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, who)))
	}
}

// LocalOnly lets in clients on a loopback address only: the default, for
// a status page nobody configured a login for. Behind a proxy on the same
// host everyone looks local: configure the proxy's mode instead.
func LocalOnly() Access { return localOnly{} }

type localOnly struct{}

func (localOnly) authorize(w http.ResponseWriter, r *http.Request, o *Options) (string, bool) {
	if a, ok := peer(r); ok && a.IsLoopback() {
		return "", true
	}
	o.observe("session", AccessRefused)
	refuse(w, r, http.StatusForbidden, "This status page answers on loopback only",
		"No login is configured for it (auth.mode is local). Configure auth.mode github or proxy to open it to people (docs/operations.md).")
	return "", false
}

// Anyone lets everyone in who reaches the listener (auth.mode none).
func Anyone() Access { return anyone{} }

type anyone struct{}

func (anyone) authorize(http.ResponseWriter, *http.Request, *Options) (string, bool) { return "", true }

// Proxy trusts an authenticating proxy in front: header names the user,
// and is honoured only on connections from trusted addresses; nobody
// else is let in, with or without the header.
func Proxy(header string, trusted []netip.Prefix) Access {
	return proxy{header: http.CanonicalHeaderKey(header), trusted: trusted}
}

type proxy struct {
	header  string
	trusted []netip.Prefix
}

func (p proxy) authorize(w http.ResponseWriter, r *http.Request, o *Options) (string, bool) {
	a, ok := peer(r)
	trusted := false
	for _, pf := range p.trusted {
		if ok && pf.Contains(a) {
			trusted = true
		}
	}
	if !trusted {
		o.observe("session", AccessRefused)
		refuse(w, r, http.StatusForbidden, "Not through the login proxy",
			"This status page is served to its authenticating proxy only.")
		return "", false
	}
	user := strings.TrimSpace(r.Header.Get(p.header))
	if user == "" || len(user) > 256 || strings.ContainsFunc(user, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		o.observe("session", AccessAnonymous)
		refuse(w, r, http.StatusUnauthorized, "No user", "The authenticating proxy did not say who you are ("+p.header+").")
		return "", false
	}
	o.observe("session", AccessGranted)
	return user, true
}

// peer is the address the connection comes from (never a header).
func peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// messagePage is a page that says why, without any deployment on it.
type messagePage struct {
	Title   string
	Refresh int
	Viewer  string
	Heading string
	Message string
	Link    string
	LinkTo  string
}

// refuse answers a request that may not see the pages: JSON for a JSON
// client, a short page otherwise.
func refuse(w http.ResponseWriter, r *http.Request, code int, heading, message string) {
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		writeJSONBody(w, map[string]string{"error": heading + ": " + message})
		return
	}
	renderMessage(w, code, messagePage{Title: heading, Heading: heading, Message: message})
}
