package githubsim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestOAuthWebFlow: the App's web flow as golang.org/x/oauth2 drives it:
// the authorize page redirects back with a code and the state for the
// signed-in user, the code becomes a user token once, and the token acts
// as that user: GET /user, a private repository they can read, 404 for
// one they cannot.
func TestOAuthWebFlow(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Clock: clock.Now, RequireAuth: true})
	ctx := context.Background()
	for _, u := range []string{"ana", "mallory"} {
		if _, err := s.AddUser(u, UserOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateRepo(ctx, RepoSpec{Repo: "acme/deploys", Private: true, Files: map[string]string{"README.md": "deploys\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPermission("acme/deploys", "ana", "read"); err != nil {
		t.Fatal(err)
	}
	id, secret := s.OAuthClient()
	cfg := oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: "http://127.0.0.1:1/auth/callback",
		Endpoint: oauth2.Endpoint{AuthURL: s.URL() + "/login/oauth/authorize", TokenURL: s.URL() + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Nobody signed in: GitHub's sign-in page.
	resp, err := noFollow.Get(cfg.AuthCodeURL("st-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Fatalf("authorize with nobody signed in: %d → %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}

	authorize := func(login string) (code string) {
		t.Helper()
		if err := s.SignIn(login); err != nil {
			t.Fatal(err)
		}
		resp, err := noFollow.Get(cfg.AuthCodeURL("st-" + login))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(back.String(), cfg.RedirectURL+"?") || back.Query().Get("state") != "st-"+login {
			t.Fatalf("authorize as %s: %d → %q", login, resp.StatusCode, resp.Header.Get("Location"))
		}
		return back.Query().Get("code")
	}
	code := authorize("ana")
	tok, err := cfg.Exchange(ctx, code)
	if err != nil || !strings.HasPrefix(tok.AccessToken, "ghu_") {
		t.Fatalf("exchange: %v %+v", err, tok)
	}
	if _, err := cfg.Exchange(ctx, code); err == nil || !strings.Contains(err.Error(), "bad_verification_code") {
		t.Errorf("the same code again: %v, want bad_verification_code", err)
	}
	me, _, err := client(t, s, tok.AccessToken).Users.Get(ctx, "")
	if err != nil || me.GetLogin() != "ana" {
		t.Fatalf("GET /user with ana's token: %q %v", me.GetLogin(), err)
	}
	if _, _, err := client(t, s, tok.AccessToken).Repositories.Get(ctx, "acme", "deploys"); err != nil {
		t.Errorf("ana reads acme/deploys: %v", err)
	}

	mtok, err := cfg.Exchange(ctx, authorize("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client(t, s, mtok.AccessToken).Repositories.Get(ctx, "acme", "deploys"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("mallory reads acme/deploys: %v, want 404", err)
	}

	wrong := cfg
	wrong.ClientSecret = "guessed"
	if _, err := wrong.Exchange(ctx, authorize("ana")); err == nil || !strings.Contains(err.Error(), "incorrect_client_credentials") {
		t.Errorf("exchange with a wrong secret: %v", err)
	}
	late := authorize("ana")
	clock.Advance(11 * time.Minute)
	if _, err := cfg.Exchange(ctx, late); err == nil || !strings.Contains(err.Error(), "bad_verification_code") {
		t.Errorf("a code 11 minutes old: %v", err)
	}
	clock.Advance(8 * time.Hour)
	if _, _, err := client(t, s, tok.AccessToken).Users.Get(ctx, ""); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("ana's token after 8 hours: %v, want 401", err)
	}
}
