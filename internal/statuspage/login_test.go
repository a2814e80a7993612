package statuspage

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/githubsim"
)

// loginWorld is the GitHub simulator with a private deploy repository
// and its people, and the status page behind the GitHub login.
type loginWorld struct {
	gh       *githubsim.Server
	srv      *httptest.Server
	key      []byte
	observed *observations
}

type observations struct {
	mu  sync.Mutex
	got map[string]int
}

func (o *observations) observe(event, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got[event+"/"+result]++
}

func (o *observations) count(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.got[k]
}

// startLoginWorld: ana can read acme/deploys, sam is in @acme/sre (and
// cannot read the repository), mallory is neither.
func startLoginWorld(t *testing.T) *loginWorld {
	t.Helper()
	gh := githubsim.New(githubsim.Options{Dir: t.TempDir(), RequireAuth: true})
	gh.Start()
	t.Cleanup(func() { gh.Close() })
	ctx := context.Background()
	for _, u := range []string{"ana", "sam", "mallory"} {
		if _, err := gh.AddUser(u, githubsim.UserOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gh.CreateRepo(ctx, githubsim.RepoSpec{Repo: "acme/deploys", Private: true, Files: map[string]string{"fleet.yaml": "{}\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := gh.SetPermission("acme/deploys", "ana", "read"); err != nil {
		t.Fatal(err)
	}
	if err := gh.AddTeam("acme", "sre", githubsim.TeamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := gh.AddTeamMember("acme", "sre", "sam", githubsim.TeamMember{}); err != nil {
		t.Fatal(err)
	}
	w := &loginWorld{gh: gh, key: []byte("0123456789abcdef0123456789abcdef-test"), observed: &observations{got: map[string]int{}}}
	src := &source{}
	src.add(gateStatus())
	mux := http.NewServeMux()
	w.srv = httptest.NewUnstartedServer(mux)
	public := "http://" + w.srv.Listener.Addr().String()
	id, secret := gh.OAuthClient()
	login, err := NewGitHubLogin(GitHubLoginOptions{ClientID: id, ClientSecret: secret, WebURL: gh.URL(), APIURL: gh.APIURL(),
		PublicURL: public, Repo: "acme/deploys", Teams: []string{"acme/sre"}, SessionKey: w.key})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Source: src, Now: func() time.Time { return t0 }, Access: login, Observe: w.observed.observe, Logger: slog.New(slog.DiscardHandler)})
	mux.Handle(Path, h)
	mux.Handle(Path+"/", h)
	mux.Handle(AuthPath+"/", h)
	w.srv.Start()
	t.Cleanup(w.srv.Close)
	return w
}

// browser follows redirects and keeps the cookies each site sets, as a
// browser does (Secure cookies of http://127.0.0.1 included, as Chromium
// keeps them for loopback).
type browser struct {
	t       *testing.T
	cookies map[string]map[string]*http.Cookie // host → name →
	visited []string
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, cookies: map[string]map[string]*http.Cookie{}}
}

func (b *browser) set(host string, c *http.Cookie) {
	if b.cookies[host] == nil {
		b.cookies[host] = map[string]*http.Cookie{}
	}
	if c.MaxAge < 0 {
		delete(b.cookies[host], c.Name)
		return
	}
	b.cookies[host][c.Name] = c
}

// get loads u as a browser would, following redirects; it returns the
// last answer.
func (b *browser) get(u string, accept string) (int, string, *http.Response) {
	b.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 10 {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			b.t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		for _, c := range b.cookies[req.URL.Host] {
			if strings.HasPrefix(req.URL.Path, c.Path) {
				req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
		}
		b.visited = append(b.visited, req.URL.Path)
		resp, err := client.Do(req)
		if err != nil {
			b.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			b.set(req.URL.Host, c)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || loc == "" {
			return resp.StatusCode, string(body), resp
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			b.t.Fatal(err)
		}
		u = next.String()
	}
	b.t.Fatalf("more than 10 redirects from %s", u)
	return 0, "", nil
}

const pageMark = `<tr data-tenant="umbrella" data-phase="paused">`

// TestGitHubLogin is issue 14 item 4: the status page and its JSON are
// behind a GitHub login. An anonymous visitor is sent to GitHub (JSON:
// 401); a reader of the deploy repository and a member of a configured
// team get in with a Secure, HttpOnly, SameSite=Lax session cookie; a
// non-member is refused and gets no cookie.
func TestGitHubLogin(t *testing.T) {
	w := startLoginWorld(t)
	page := w.srv.URL + "/deployments/prod-eu/web-7"

	// Anonymous, nobody signed in to GitHub: the trail ends at GitHub's
	// sign-in page, and no deployment is shown.
	b := newBrowser(t)
	code, body, _ := b.get(page, "")
	if code != http.StatusOK || !strings.Contains(body, `data-githubsim="login"`) || strings.Contains(body, pageMark) {
		t.Fatalf("anonymous: %d, visited %v:\n%s", code, b.visited, body)
	}
	if want := []string{"/deployments/prod-eu/web-7", "/auth/login", "/login/oauth/authorize"}; strings.Join(b.visited, " ") != strings.Join(want, " ") {
		t.Errorf("anonymous visited %v, want %v", b.visited, want)
	}
	for _, accept := range []string{"application/json"} {
		code, body, _ := newBrowser(t).get(page, accept)
		if code != http.StatusUnauthorized || strings.Contains(body, "umbrella") {
			t.Errorf("anonymous JSON: %d %s", code, body)
		}
	}
	if code, body, _ := newBrowser(t).get(w.srv.URL+"/deployments?format=json", ""); code != http.StatusUnauthorized || strings.Contains(body, "web-7") {
		t.Errorf("anonymous list JSON: %d %s", code, body)
	}

	for _, who := range []string{"ana", "sam"} {
		t.Run("member "+who, func(t *testing.T) {
			if err := w.gh.SignIn(who); err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t)
			code, body, _ := b.get(page, "")
			if code != http.StatusOK || !strings.Contains(body, pageMark) || !strings.Contains(body, "signed in as @"+who) {
				t.Fatalf("%d, visited %v:\n%s", code, b.visited, body)
			}
			c := b.cookies[strings.TrimPrefix(w.srv.URL, "http://")][SessionCookie]
			if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 8*3600 {
				t.Errorf("session cookie %+v", c)
			}
			if code, body, _ := b.get(page, "application/json"); code != http.StatusOK || !strings.Contains(body, `"umbrella"`) {
				t.Errorf("JSON once signed in: %d", code)
			}
		})
	}

	t.Run("non-member", func(t *testing.T) {
		if err := w.gh.SignIn("mallory"); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		code, body, _ := b.get(page, "")
		if code != http.StatusForbidden || !strings.Contains(body, "@mallory may not see") || strings.Contains(body, pageMark) {
			t.Fatalf("%d:\n%s", code, body)
		}
		if c := b.cookies[strings.TrimPrefix(w.srv.URL, "http://")][SessionCookie]; c != nil {
			t.Errorf("mallory got a session cookie")
		}
	})
	if w.observed.count("login/granted") != 2 || w.observed.count("login/refused") != 1 {
		t.Errorf("observed %v", w.observed.got)
	}
}

// TestForgedSessionsRefused: a session cookie not signed with the key,
// one whose login was changed, one past its expiry, and a login-state
// cookie passed off as a session are all refused: the visitor is sent
// to the login, and the page is not shown.
func TestForgedSessionsRefused(t *testing.T) {
	w := startLoginWorld(t)
	host := strings.TrimPrefix(w.srv.URL, "http://")
	good, _ := sealer{key: w.key}.seal(purposeSession, session{Login: "ana", Expires: t0.Add(time.Hour).Unix()})
	_, mac, _ := strings.Cut(good, ".")
	changed, _ := sealer{key: w.key}.seal(purposeSession, session{Login: "mallory", Expires: t0.Add(time.Hour).Unix()})
	changedPayload, _, _ := strings.Cut(changed, ".")
	otherKey, _ := sealer{key: []byte("not the key, not the key, not the key!")}.seal(purposeSession, session{Login: "ana", Expires: t0.Add(time.Hour).Unix()})
	expired, _ := sealer{key: w.key}.seal(purposeSession, session{Login: "ana", Expires: t0.Unix()})
	state, _ := sealer{key: w.key}.seal(purposeLogin, session{Login: "ana", Expires: t0.Add(time.Hour).Unix()})

	b := newBrowser(t)
	b.set(host, &http.Cookie{Name: SessionCookie, Value: good, Path: "/"})
	if code, body, _ := b.get(w.srv.URL+"/deployments/prod-eu/web-7", ""); code != http.StatusOK || !strings.Contains(body, pageMark) {
		t.Fatalf("the genuine cookie: %d", code)
	}
	for name, value := range map[string]string{
		"another key":          otherKey,
		"login changed":        changedPayload + "." + mac,
		"expired":              expired,
		"login state":          state,
		"garbage":              "ana",
		"empty signature":      changedPayload + ".",
		"signature of nothing": "." + mac,
	} {
		t.Run(name, func(t *testing.T) {
			b := newBrowser(t)
			b.set(host, &http.Cookie{Name: SessionCookie, Value: value, Path: "/"})
			code, body, _ := b.get(w.srv.URL+"/deployments/prod-eu/web-7", "")
			if strings.Contains(body, pageMark) || !strings.Contains(body, `data-githubsim="login"`) {
				t.Fatalf("%d, visited %v:\n%s", code, b.visited, body)
			}
			if c := b.cookies[host][SessionCookie]; c != nil {
				t.Errorf("the forged cookie was not cleared")
			}
		})
	}
	if w.observed.count("session/invalid") != 6 || w.observed.count("session/expired") != 1 {
		t.Errorf("observed %v", w.observed.got)
	}
}

// TestLoginStateAgainstCSRF: GitHub's answer is accepted only in the
// browser that started the login: a code sent to someone else's browser
// (login CSRF), a changed state or a replayed callback are refused.
func TestLoginStateAgainstCSRF(t *testing.T) {
	w := startLoginWorld(t)
	if err := w.gh.SignIn("mallory"); err != nil {
		t.Fatal(err)
	}
	// Mallory starts a login and stops at GitHub's answer.
	attacker := newBrowser(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(w.srv.URL + AuthPath + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		attacker.set(strings.TrimPrefix(w.srv.URL, "http://"), c)
	}
	resp, err = client.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if !strings.Contains(callback, AuthPath+"/callback?") {
		t.Fatalf("GitHub answered %s", callback)
	}
	// The victim opens mallory's callback: no state of theirs.
	victim := newBrowser(t)
	if code, body, _ := victim.get(callback, ""); code != http.StatusBadRequest || !strings.Contains(body, "stale or not yours") {
		t.Errorf("someone else's callback: %d %s", code, body)
	}
	// Mallory's own browser, with the state changed.
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("state", "guessed")
	u.RawQuery = q.Encode()
	if code, _, _ := attacker.get(u.String(), ""); code != http.StatusBadRequest {
		t.Errorf("changed state: %d", code)
	}
	if w.observed.count("login/bad_state") != 2 {
		t.Errorf("observed %v", w.observed.got)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/deployments/prod-eu/web-7?format=json": "/deployments/prod-eu/web-7?format=json",
		"/deployments":                           "/deployments",
		"//evil.example/deployments":             "/deployments",
		"https://evil.example/deployments":       "/deployments",
		`/\evil.example`:                         "/deployments",
		"/metrics":                               "/deployments",
		"/deploymentsx":                          "/deployments",
		"":                                       "/deployments",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestProxyAndLocalAccess: the proxy's header is honoured from the
// trusted proxy only; without a login configured, only loopback clients
// see the pages.
func TestProxyAndLocalAccess(t *testing.T) {
	src := &source{}
	src.add(gateStatus())
	serve := func(a Access, remote string, header map[string]string) (int, string) {
		h := New(Options{Source: src, Now: func() time.Time { return t0 }, Access: a})
		req := httptest.NewRequest(http.MethodGet, "/deployments/prod-eu/web-7", nil)
		req.RemoteAddr = remote
		for k, v := range header {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	proxy := Proxy("X-Forwarded-User", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	for name, c := range map[string]struct {
		access Access
		remote string
		header map[string]string
		code   int
	}{
		"proxy says ana":              {proxy, "10.1.2.3:5555", map[string]string{"X-Forwarded-User": "ana"}, 200},
		"proxy says nobody":           {proxy, "10.1.2.3:5555", nil, 401},
		"header from outside":         {proxy, "203.0.113.9:5555", map[string]string{"X-Forwarded-User": "ana"}, 403},
		"header from loopback":        {proxy, "127.0.0.1:5555", map[string]string{"X-Forwarded-User": "ana"}, 403},
		"IPv4-mapped proxy address":   {proxy, "[::ffff:10.1.2.3]:5555", map[string]string{"X-Forwarded-User": "ana"}, 200},
		"local: loopback":             {nil, "127.0.0.1:5555", nil, 200},
		"local: IPv6 loopback":        {nil, "[::1]:5555", nil, 200},
		"local: from the network":     {nil, "192.0.2.7:5555", nil, 403},
		"local: forwarded-for is not": {nil, "192.0.2.7:5555", map[string]string{"X-Forwarded-For": "127.0.0.1"}, 403},
		"none":                        {Anyone(), "192.0.2.7:5555", nil, 200},
	} {
		t.Run(name, func(t *testing.T) {
			code, body := serve(c.access, c.remote, c.header)
			if code != c.code || (code == 200) != strings.Contains(body, pageMark) {
				t.Errorf("%d, want %d:\n%s", code, c.code, body)
			}
			if code == 200 && c.header["X-Forwarded-User"] != "" && !strings.Contains(body, "signed in as @ana") {
				t.Errorf("the page does not say who")
			}
		})
	}
}
