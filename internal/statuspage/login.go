package statuspage

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Cookies of the GitHub login.
const (
	SessionCookie = "prdeploy_session"
	loginCookie   = "prdeploy_login"
)

// GitHubLoginOptions configure a GitHubLogin.
type GitHubLoginOptions struct {
	// ClientID and ClientSecret are the GitHub App's OAuth credentials.
	ClientID, ClientSecret string
	// WebURL is GitHub's web address (https://github.com, or the
	// Enterprise host): the login pages are under it.
	WebURL string
	// APIURL is GitHub's REST API (https://api.github.com/, or
	// https://<host>/api/v3/).
	APIURL string
	// PublicURL is where people reach prdeploy: GitHub sends them back
	// to PublicURL + AuthPath + "/callback".
	PublicURL string
	// Repo ("owner/name"): whoever can read it is let in. Empty: nobody
	// on that ground.
	Repo string
	// Teams ("org/slug"): their active members are let in.
	Teams []string
	// SessionKey signs the cookies (at least 32 bytes).
	SessionKey []byte
	// SessionTTL is how long a login lasts (default 8 h). Access is
	// checked at login: someone removed from the repository or a team
	// keeps their session until it expires.
	SessionTTL time.Duration
	// HTTPClient talks to GitHub (default: one with a 10 s timeout).
	HTTPClient *http.Client
}

// GitHubLogin lets in people who sign in with GitHub and can read the
// deploy repository or are in one of the teams. A signed session cookie
// (HMAC, expiry; Secure, HttpOnly, SameSite=Lax) remembers them; the
// OAuth state, in a cookie of its own, ties GitHub's answer to the
// browser that asked.
type GitHubLogin struct {
	o      GitHubLoginOptions
	oauth  oauth2.Config
	seal   sealer
	api    string
	secure bool
}

// NewGitHubLogin checks o and returns the login.
func NewGitHubLogin(o GitHubLoginOptions) (*GitHubLogin, error) {
	switch {
	case o.ClientID == "" || o.ClientSecret == "":
		return nil, errors.New("the GitHub login needs the App's client ID and client secret")
	case len(o.SessionKey) < 32:
		return nil, errors.New("the GitHub login needs a session key of at least 32 bytes")
	case o.Repo == "" && len(o.Teams) == 0:
		return nil, errors.New("the GitHub login lets nobody in: give the deploy repository or teams")
	}
	pub, err := url.Parse(o.PublicURL)
	if err != nil || pub.Host == "" {
		return nil, fmt.Errorf("the GitHub login needs prdeploy's public URL, not %q", o.PublicURL)
	}
	web := strings.TrimRight(o.WebURL, "/")
	if web == "" {
		web = "https://github.com"
	}
	api := o.APIURL
	if api == "" {
		api = "https://api.github.com/"
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	l := &GitHubLogin{o: o, api: api, seal: sealer{key: o.SessionKey},
		// Over http:// only on loopback (config checks it): a browser
		// keeps Secure cookies of http://localhost.
		secure: true,
		oauth: oauth2.Config{
			ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			Endpoint: oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams},
			RedirectURL: strings.TrimRight(o.PublicURL, "/") + AuthPath + "/callback",
		}}
	return l, nil
}

// SessionKey derives a session key from the App's client secret, for a
// configuration that names none: every replica derives the same one, and
// a new client secret signs everyone out.
func SessionKey(clientSecret string) []byte {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte("prdeploy status session key"))
	return m.Sum(nil)
}

func (l *GitHubLogin) authorize(w http.ResponseWriter, r *http.Request, o *Options) (string, bool) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		var s session
		switch err := l.seal.open(purposeSession, c.Value, o.Now(), &s, func() int64 { return s.Expires }); {
		case err == nil && s.Login != "":
			o.observe("session", AccessGranted)
			return s.Login, true
		case errors.Is(err, errSealExpired):
			o.observe("session", AccessExpired)
		default:
			o.observe("session", AccessInvalid)
			o.Logger.Warn("status page: a session cookie whose signature does not match", "remote", r.RemoteAddr)
		}
		l.clear(w, SessionCookie, "/")
	} else {
		o.observe("session", AccessAnonymous)
	}
	if wantsJSON(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		writeJSONBody(w, map[string]string{"error": "sign in first", "login": AuthPath + "/login"})
		return "", false
	}
	http.Redirect(w, r, AuthPath+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return "", false
}

// routes serves the login's pages on mux.
func (l *GitHubLogin) routes(mux *http.ServeMux, h *handler) {
	mux.HandleFunc("GET "+AuthPath+"/login", func(w http.ResponseWriter, r *http.Request) { l.login(w, r, &h.o) })
	mux.HandleFunc("GET "+AuthPath+"/callback", func(w http.ResponseWriter, r *http.Request) { l.callback(w, r, &h.o) })
	mux.HandleFunc("POST "+AuthPath+"/logout", func(w http.ResponseWriter, r *http.Request) {
		l.clear(w, SessionCookie, "/")
		http.Redirect(w, r, Path, http.StatusSeeOther)
	})
}

// login sends the browser to GitHub with a fresh state, kept in a cookie
// for the callback to compare.
func (l *GitHubLogin) login(w http.ResponseWriter, r *http.Request, o *Options) {
	raw := make([]byte, 32)
	rand.Read(raw)
	st := loginState{State: base64.RawURLEncoding.EncodeToString(raw), Next: safeNext(r.URL.Query().Get("next")),
		Expires: o.Now().Add(10 * time.Minute).Unix()}
	sealed, err := l.seal.seal(purposeLogin, st)
	if err != nil {
		http.Error(w, "starting the login failed", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, l.cookie(loginCookie, sealed, AuthPath, 600))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, l.oauth.AuthCodeURL(st.State), http.StatusFound)
}

// callback is where GitHub sends the browser back: the state must be
// the one of this browser's login, the code becomes a token, and the
// token says who it is and what they can read.
func (l *GitHubLogin) callback(w http.ResponseWriter, r *http.Request, o *Options) {
	q := r.URL.Query()
	var st loginState
	c, err := r.Cookie(loginCookie)
	if err == nil {
		err = l.seal.open(purposeLogin, c.Value, o.Now(), &st, func() int64 { return st.Expires })
	}
	l.clear(w, loginCookie, AuthPath)
	if err != nil || q.Get("state") == "" || !hmac.Equal([]byte(q.Get("state")), []byte(st.State)) {
		o.observe("login", AccessBadState)
		o.Logger.Warn("status page: a login callback without its state", "remote", r.RemoteAddr)
		renderMessage(w, http.StatusBadRequest, messagePage{Title: "Sign in again", Heading: "This sign-in is stale or not yours",
			Message: "The answer from GitHub does not belong to a sign-in started in this browser in the last 10 minutes.", Link: "Sign in", LinkTo: AuthPath + "/login"})
		return
	}
	if e := q.Get("error"); e != "" {
		o.observe("login", AccessRefused)
		renderMessage(w, http.StatusForbidden, messagePage{Title: "Not signed in", Heading: "GitHub did not sign you in",
			Message: "GitHub answered: " + e + ".", Link: "Try again", LinkTo: AuthPath + "/login"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	login, allowed, err := l.check(ctx, q.Get("code"))
	switch {
	case err != nil:
		o.observe("login", AccessFailed)
		o.Logger.Warn("status page: signing in with GitHub failed", "error", err)
		renderMessage(w, http.StatusBadGateway, messagePage{Title: "Sign-in failed", Heading: "Signing in with GitHub failed",
			Message: "GitHub could not be asked who you are; try again.", Link: "Try again", LinkTo: AuthPath + "/login"})
		return
	case !allowed:
		o.observe("login", AccessRefused)
		o.Logger.Info("status page: refused a GitHub user", "login", login)
		renderMessage(w, http.StatusForbidden, messagePage{Title: "Not allowed", Heading: "@" + login + " may not see prdeploy's deployments",
			Message: l.who()})
		return
	}
	sealed, err := l.seal.seal(purposeSession, session{Login: login, Expires: o.Now().Add(l.o.SessionTTL).Unix()})
	if err != nil {
		http.Error(w, "signing in failed", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, l.cookie(SessionCookie, sealed, "/", int(l.o.SessionTTL.Seconds())))
	o.observe("login", AccessGranted)
	o.Logger.Info("status page: signed in", "login", login)
	http.Redirect(w, r, st.Next, http.StatusFound)
}

// who says who may see the pages.
func (l *GitHubLogin) who() string {
	var b []string
	if l.o.Repo != "" {
		b = append(b, "people who can read "+l.o.Repo)
	}
	for _, t := range l.o.Teams {
		b = append(b, "members of @"+t)
	}
	return "Only " + strings.Join(b, " and ") + " may. Ask one of them to give you access, then sign in again."
}

// check turns the code into a user token and asks GitHub, with it, who
// the user is and whether they can read the repository or are in a team.
// The token is not kept.
func (l *GitHubLogin) check(ctx context.Context, code string) (login string, allowed bool, err error) {
	if code == "" {
		return "", false, errors.New("no code in GitHub's answer")
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, l.o.HTTPClient)
	tok, err := l.oauth.Exchange(ctx, code)
	if err != nil {
		return "", false, fmt.Errorf("exchanging the code for a token: %w", err)
	}
	c := l.oauth.Client(ctx, tok)
	var user struct {
		Login string `json:"login"`
	}
	if code, err := l.get(ctx, c, "user", &user); err != nil || code != http.StatusOK || user.Login == "" {
		return "", false, fmt.Errorf("GET /user: %d %v", code, err)
	}
	if l.o.Repo != "" {
		code, err := l.get(ctx, c, "repos/"+l.o.Repo, nil)
		switch {
		case err != nil:
			return user.Login, false, err
		case code == http.StatusOK:
			return user.Login, true, nil
		case code != http.StatusNotFound && code != http.StatusForbidden:
			return user.Login, false, fmt.Errorf("GET /repos/%s: %d", l.o.Repo, code)
		}
	}
	for _, t := range l.o.Teams {
		org, slug, _ := strings.Cut(t, "/")
		var m struct {
			State string `json:"state"`
		}
		code, err := l.get(ctx, c, "orgs/"+url.PathEscape(org)+"/teams/"+url.PathEscape(slug)+"/memberships/"+url.PathEscape(user.Login), &m)
		switch {
		case err != nil:
			return user.Login, false, err
		case code == http.StatusOK && m.State == "active":
			return user.Login, true, nil
		case code != http.StatusOK && code != http.StatusNotFound && code != http.StatusForbidden:
			return user.Login, false, fmt.Errorf("team %s membership: %d", t, code)
		}
	}
	return user.Login, false, nil
}

// get GETs an API path with the user's client and decodes a 200 into v.
func (l *GitHubLogin) get(ctx context.Context, c *http.Client, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.api+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding %s: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}

func (l *GitHubLogin) cookie(name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, Secure: l.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

func (l *GitHubLogin) clear(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, l.cookie(name, "", path, -1))
}

// safeNext keeps a return address on this site's status page: a path
// under Path, never another host ("//evil", "/\evil").
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "//") || (u.Path != Path && !strings.HasPrefix(u.Path, Path+"/")) {
		return Path
	}
	return u.RequestURI()
}
