package githubsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

func TestGitHubAppAuthenticationWithGhinstallation(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	// ghinstallation signs with the wall clock, so the simulator uses it too.
	s := newSim(t, Options{Clock: time.Now, RequireAuth: true, App: AppOptions{ID: 4242, Slug: "prdeploy-sim", PublicKey: &key.PublicKey}})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "f", Files: map[string]string{"a": "2\n"}})).must(t)
	try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "f", Title: "t"})).must(t)

	// As the App (JWT): list installations.
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, 4242, pemKey)
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = s.URL() + "/api/v3"
	appClient, err := github.NewClient(&http.Client{Transport: atr}).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	insts := res(appClient.Apps.ListInstallations(bg, nil)).must(t)
	if len(insts) != 1 || insts[0].GetAccount().GetLogin() != "acme" || insts[0].GetAppID() != 4242 {
		t.Fatalf("installations %v", insts)
	}
	app := res(appClient.Apps.Get(bg, "")).must(t)
	if app.GetSlug() != "prdeploy-sim" {
		t.Errorf("app %v", app)
	}
	ri := res(appClient.Apps.FindRepositoryInstallation(bg, "acme", "gitops")).must(t)
	if ri.GetID() != insts[0].GetID() {
		t.Errorf("repository installation %d", ri.GetID())
	}

	// As the installation: ghinstallation exchanges the JWT for a token.
	itr, err := ghinstallation.New(http.DefaultTransport, 4242, insts[0].GetID(), pemKey)
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = s.URL() + "/api/v3"
	gh, err := github.NewClient(&http.Client{Transport: itr}).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := res(gh.Issues.CreateComment(bg, "acme", "gitops", 1, &github.IssueComment{Body: github.String("from the app")})).must(t)
	if c.GetUser().GetLogin() != "prdeploy-sim[bot]" {
		t.Errorf("comment author %s", c.GetUser().GetLogin())
	}
	if n := s.CallCount("POST", "/app/installations/"); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}

	// A JWT signed by another key is refused.
	other, _ := rsa.GenerateKey(rand.Reader, 1024)
	bad := ghinstallation.NewAppsTransportFromPrivateKey(http.DefaultTransport, 4242, other)
	bad.BaseURL = s.URL() + "/api/v3"
	badClient, _ := github.NewClient(&http.Client{Transport: bad}).WithEnterpriseURLs(s.URL(), s.URL())
	if _, _, err := badClient.Apps.ListInstallations(bg, nil); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("JWT from another key: %v", err)
	}
	// An installation token is not an App JWT, nor a user (GET /user).
	tok := try(s.InstallationToken(insts[0].GetID())).must(t)
	if _, _, err := client(t, s, tok).Users.Get(bg, ""); !isStatus(err, http.StatusForbidden) {
		t.Errorf("installation token on /user: %v", err)
	}
	if _, _, err := client(t, s, tok).Apps.ListInstallations(bg, nil); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("installation token on /app: %v", err)
	}
}

func TestInstallationTokensExpireAfterAnHour(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Clock: clock.Now, RequireAuth: true})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	gh := client(t, s, try(s.InstallationToken(101)).must(t))
	res(gh.Repositories.Get(bg, "acme", "gitops")).must(t)
	clock.Advance(59 * time.Minute)
	res(gh.Repositories.Get(bg, "acme", "gitops")).must(t)
	clock.Advance(time.Minute)
	if _, _, err := gh.Repositories.Get(bg, "acme", "gitops"); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("expired token: %v", err)
	}
	if _, _, err := client(t, s, "ghs_bogus").Repositories.Get(bg, "acme", "gitops"); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("unknown token: %v", err)
	}
}
