package githubsim

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// GitHub's web flow for a GitHub App's user-to-server tokens
// (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app):
//
//	GET  /login/oauth/authorize?client_id&redirect_uri&state
//	     → 302 redirect_uri?code&state, for the user signed in to the
//	       simulator (SignIn); a "Sign in to GitHub" page when nobody is
//	POST /login/oauth/access_token  client_id, client_secret, code[, redirect_uri]
//	     → access_token (form-encoded, or JSON with Accept: application/json);
//	       errors as GitHub sends them: 200 with "error"
//
// A code is good once, for 10 minutes, with the redirect_uri it was
// issued for. The token ("ghu_…") acts as the user for 8 hours on the
// REST API: GET /user, and repositories as far as the user can read them.

const (
	oauthCodeTTL  = 10 * time.Minute
	oauthTokenTTL = 8 * time.Hour
)

// oauthState is the App's OAuth client and the codes it issued. Guarded
// by Server.mu.
type oauthState struct {
	signedIn string // lower-case login of the browser's user, "" for nobody
	codes    map[string]*oauthCode
	next     int
}

type oauthCode struct {
	user        *user
	clientID    string
	redirectURI string
	expires     time.Time
}

// OAuthClient returns the App's OAuth client ID and secret, as its
// settings page shows them.
func (s *Server) OAuthClient() (id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauthClientLocked()
}

func (s *Server) oauthClientLocked() (id, secret string) {
	return fmt.Sprintf("Iv1.sim%09d", s.app.id), fmt.Sprintf("sim-client-secret-%d-%s", s.app.id, s.app.slug)
}

// SignIn makes login the user signed in to the simulated github.com in
// the browser: the authorize page approves the App for them at once. An
// empty login signs out (the authorize page then asks to sign in).
func (s *Server) SignIn(login string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login == "" {
		s.oauth.signedIn = ""
		return nil
	}
	u, err := s.userLocked(login)
	if err != nil {
		return err
	}
	s.oauth.signedIn = strings.ToLower(u.login)
	return nil
}

// serveOAuth answers /login/oauth/…; it is reached before API
// authentication, as github.com's pages are.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/login/oauth/authorize" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.oauthAuthorize(w, r)
	case r.URL.Path == "/login/oauth/access_token" && r.Method == http.MethodPost:
		s.oauthAccessToken(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.oauthClientLocked()
	if q.Get("client_id") != id {
		oauthPage(w, http.StatusNotFound, "not-found", "Not Found", "No application has the client ID "+q.Get("client_id")+".")
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" {
		oauthPage(w, http.StatusBadRequest, "redirect-uri-mismatch", "Redirect URI mismatch", "The redirect_uri is not a URL of this application.")
		return
	}
	u := s.users[s.oauth.signedIn]
	if s.oauth.signedIn == "" || u == nil {
		oauthPage(w, http.StatusOK, "login", "Sign in to GitHub", "to continue to "+s.app.name+".")
		return
	}
	if s.oauth.codes == nil {
		s.oauth.codes = map[string]*oauthCode{}
	}
	s.oauth.next++
	code := fmt.Sprintf("simcode%013d", s.oauth.next)
	s.oauth.codes[code] = &oauthCode{user: u, clientID: id, redirectURI: redirect.String(), expires: s.now().Add(oauthCodeTTL)}
	back := redirect.Query()
	back.Set("code", code)
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) oauthAccessToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(code, desc string) {
		oauthAnswer(w, r, url.Values{"error": {code}, "error_description": {desc},
			"error_uri": {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + strings.ReplaceAll(code, "_", "-")}})
	}
	id, want := s.oauthClientLocked()
	if clientID != id || secret != want {
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	code := s.oauth.codes[r.PostForm.Get("code")]
	delete(s.oauth.codes, r.PostForm.Get("code")) // good once, even when refused
	if code == nil || code.clientID != clientID || !s.now().Before(code.expires) {
		fail("bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	if ru := r.PostForm.Get("redirect_uri"); ru != "" && ru != code.redirectURI {
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	t := &token{value: fmt.Sprintf("ghu_sim%029d", s.nextID(idToken)), user: code.user, expires: s.now().Add(oauthTokenTTL)}
	s.tokens[t.value] = t
	oauthAnswer(w, r, url.Values{"access_token": {t.value}, "token_type": {"bearer"}, "scope": {""},
		"expires_in": {fmt.Sprint(int(oauthTokenTTL.Seconds()))}})
}

// oauthAnswer writes v as GitHub does: form-encoded, or JSON when asked.
func oauthAnswer(w http.ResponseWriter, r *http.Request, v url.Values) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		m := map[string]any{}
		for k := range v {
			m[k] = v.Get(k)
			if n, err := strconv.Atoi(v.Get(k)); err == nil && k == "expires_in" {
				m[k] = n
			}
		}
		writeJSON(w, http.StatusOK, m)
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(v.Encode()))
}

// oauthPage is one of github.com's pages, reduced to what a test reads:
// data-githubsim names it.
func oauthPage(w http.ResponseWriter, code int, name, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, `<!doctype html><html><head><title>%s · GitHub</title></head><body data-githubsim="%s"><h1>%s</h1><p>%s</p>%s</body></html>`,
		html.EscapeString(title), name, html.EscapeString(title), html.EscapeString(text),
		map[bool]string{true: `<form id="login" action="/session" method="post"><input name="login"><input name="password" type="password"><button>Sign in</button></form>`}[name == "login"])
}
