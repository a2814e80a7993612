package githubapp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// appKey is one RSA key for the tests of this package (2048 bits is slow
// to make).
var appKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func appKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey())})
}

// verifyJWT checks an App JWT: RS256, signed by key, issued by the App.
func verifyJWT(t *testing.T, auth string, pub *rsa.PublicKey, appID string) {
	t.Helper()
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		t.Errorf("Authorization %q is not a bearer JWT", auth)
		return
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Errorf("JWT has %d parts", len(parts))
		return
	}
	var header struct{ Alg, Typ string }
	var claims struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}
	for i, v := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	if header.Alg != "RS256" {
		t.Errorf("JWT alg = %q, want RS256", header.Alg)
	}
	if claims.Iss != appID {
		t.Errorf("JWT iss = %q, want the App ID %s", claims.Iss, appID)
	}
	if claims.Exp <= claims.Iat || claims.Exp-claims.Iat > 600 {
		t.Errorf("JWT lives from %d to %d: GitHub takes at most 10 minutes", claims.Iat, claims.Exp)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("JWT signature does not verify with the App's key: %v", err)
	}
}

func TestAppAuthentication(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	var mu sync.Mutex
	var appCalls []string
	f.onAppRoute = func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		appCalls = append(appCalls, r.Method+" "+r.URL.Path)
		verifyJWT(t, r.Header.Get("Authorization"), &appKey().PublicKey, "42")
	}
	f.perms["alice"] = [2]string{"write", "write"}
	c, err := New(Config{BaseURL: f.URL(), AppID: 42, PrivateKeyPEM: appKeyPEM(), Org: "acme",
		Limiter: NewLimiter(60, clock), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for range 2 {
		if p, err := c.Permission(ctx, "acme/deploys", "alice"); err != nil || p != "write" {
			t.Fatalf("permission = %q, %v", p, err)
		}
	}
	want := []string{"GET /repos/acme/deploys/installation", "POST /app/installations/7/access_tokens"}
	mu.Lock()
	got := strings.Join(appCalls, ",")
	mu.Unlock()
	if got != strings.Join(want, ",") {
		t.Errorf("App calls = %v, want %v (installation looked up and token minted once)", appCalls, want)
	}
	for _, s := range f.seen("GET", permPath) {
		if s.auth != "token ghs_installation" {
			t.Errorf("API call carried %q, want the installation token", s.auth)
		}
	}

	// As the App, comments are the bot's: "<slug>[bot]" from GET /app.
	if err := c.UpsertComment(ctx, "acme/deploys", 4, "plan", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := c.UpsertComment(ctx, "acme/deploys", 4, "plan", "v2"); err != nil {
		t.Fatal(err)
	}
	if mine := f.commentsBy("prdeploy[bot]"); len(mine) != 1 || !strings.HasSuffix(mine[0].Body, "v2") {
		t.Errorf("bot comments = %+v", mine)
	}

	// Teams are asked as the organisation's installation.
	f.teams = []string{"sre"}
	f.members["sre"] = map[string]string{"alice": "active"}
	if teams, err := c.Teams(ctx, "alice"); err != nil || strings.Join(teams, ",") != "acme/sre" {
		t.Errorf("teams = %v, %v", teams, err)
	}
	// Minting did not count as content creation.
	if st := c.Stats(); st.ContentRequests != 2 {
		t.Errorf("content requests = %d, want 2 (the two comment writes)", st.ContentRequests)
	}
}

func TestAppWithFixedInstallation(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"read", "read"}
	c, err := New(Config{BaseURL: f.URL(), AppID: 42, PrivateKeyPEM: appKeyPEM(), InstallationID: 7,
		Limiter: NewLimiter(60, clock), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Permission(context.Background(), "acme/deploys", "alice"); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET", "/repos/acme/deploys/installation"); n != 0 {
		t.Errorf("looked the installation up %d times; it was configured", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	const secret = "SUPERSECRETVALUE"
	badPEM := []byte("-----BEGIN RSA PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString([]byte(secret)) + "\n-----END RSA PRIVATE KEY-----\n")
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no credentials":      {Config{}, "no credentials"},
		"both":                {Config{Token: secret, AppID: 1, PrivateKeyPEM: appKeyPEM()}, "not both"},
		"app without key":     {Config{AppID: 1}, "PrivateKeyPEM is required"},
		"key without app":     {Config{PrivateKeyPEM: appKeyPEM()}, "AppID is required"},
		"not PEM":             {Config{AppID: 1, PrivateKeyPEM: []byte(secret)}, "no PEM block"},
		"not a key":           {Config{AppID: 1, PrivateKeyPEM: badPEM}, "not an RSA private key"},
		"bad base URL":        {Config{Token: secret, BaseURL: "ftp://example.com"}, "BaseURL"},
		"credentials in URL":  {Config{Token: secret, BaseURL: "https://user:" + secret + "@example.com/"}, "BaseURL"},
		"negative rate":       {Config{Token: secret, ContentPerMinute: -1}, "ContentPerMinute"},
		"negative install ID": {Config{AppID: 1, PrivateKeyPEM: appKeyPEM(), InstallationID: -1}, "InstallationID"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte(secret))) {
				t.Errorf("error %q shows secret material", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL.String() != DefaultBaseURL || c.uploadURL.String() != "https://uploads.github.com/" {
		t.Errorf("URLs = %s, %s", c.baseURL, c.uploadURL)
	}
	if c.tr.Limiter.PerMinute() != DefaultContentPerMinute {
		t.Errorf("limiter = %d/min", c.tr.Limiter.PerMinute())
	}
	other, _ := New(Config{Token: "y", ContentPerMinute: DefaultContentPerMinute})
	if other.tr.Limiter != c.tr.Limiter {
		t.Error("clients with the default budget do not share the process-wide limiter")
	}
	ghes, err := New(Config{Token: "x", BaseURL: "https://ghe.example.com/api/v3"})
	if err != nil {
		t.Fatal(err)
	}
	if ghes.baseURL.String() != "https://ghe.example.com/api/v3/" || ghes.uploadURL.String() != "https://ghe.example.com/api/v3/" {
		t.Errorf("GHES URLs = %s, %s", ghes.baseURL, ghes.uploadURL)
	}
}
