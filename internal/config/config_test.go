package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const good = `listen: ":9090"
dataDir: /var/lib/prdeploy
github:
  appID: 42
  privateKey: file:KEYFILE
  webhookSecrets: env:TEST_WEBHOOK_SECRET
  repo: acme/deploys
  org: acme
slack:
  teamID: T0PRDEPLOY
  token: env:TEST_SLACK_TOKEN
  signingSecrets: env:TEST_SLACK_SIGNING
  channel: "#deploys"
  channels: {prod-eu: "#deploys-eu"}
  users: {ana: U0ANA}
clusters: {kubeconfig: /etc/prdeploy/kubeconfig}
alertmanager: {url: "http://alertmanager:9093"}
payloads:
  keys: {k1: env:TEST_PAYLOAD_KEY}
`

func TestParseGoodConfig(t *testing.T) {
	key := filepath.Join(t.TempDir(), "app.pem")
	os.WriteFile(key, []byte("-----BEGIN RSA PRIVATE KEY-----\nsecret-material\n"), 0o600)
	t.Setenv("TEST_WEBHOOK_SECRET", "hook-s3cret")
	t.Setenv("TEST_SLACK_TOKEN", "xoxb-s3cret")
	t.Setenv("TEST_SLACK_SIGNING", "sign-s3cret")
	t.Setenv("TEST_PAYLOAD_KEY", "base64key://AAAA")
	c, err := Parse("prdeploy.yaml", []byte(strings.Replace(good, "KEYFILE", key, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Namespace != "default" || c.Payloads.CurrentKey != "k1" || c.Payloads.RetentionDays != 30 ||
		c.Payloads.Bucket != "file:///var/lib/prdeploy/payloads?create_dir=true&no_tmp_dir=true" || c.Listen != ":9090" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Temporal.Listen != "127.0.0.1:7233" || c.Temporal.UIListen != "127.0.0.1:8233" || c.GitHub.WebURL != "https://github.com" || c.PublicURL != "" {
		t.Fatalf("defaults: temporal %+v, github web %q, public %q", c.Temporal, c.GitHub.WebURL, c.PublicURL)
	}
	if v, err := c.GitHub.WebhookSecrets.Value(); err != nil || v != "hook-s3cret" {
		t.Fatalf("secret: %q %v", v, err)
	}
	if v, _ := c.GitHub.PrivateKey.Value(); !strings.Contains(v, "secret-material") {
		t.Fatal("private key file not read")
	}
}

// TestBadConfigErrors: every problem at file:line:col, with what to write
// instead; no secret value in any message.
func TestBadConfigErrors(t *testing.T) {
	t.Setenv("TEST_PAYLOAD_KEY", "base64key://s3cret-value")
	bad := `listen: ":9090"
publicURL: prdeploy.example.com
temporal: {listen: "0.0.0.0:7233", uiListen: "8233"}
github:
  token: ghp_inline_s3cret
  apiURL: "not a url"
slack:
  token: env:NOT_SET_ANYWHERE
alertmanager: {url: "alertmanager:9093"}
payloads:
  keys: {k1: env:TEST_PAYLOAD_KEY, k2: env:TEST_PAYLOAD_KEY}
  currentKey: k3
  retentionDays: -1
  bukket: x
`
	_, err := Parse("prdeploy.yaml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`prdeploy.yaml:14:3: payloads: unknown field "bukket"; did you mean "bucket"?`,
		`dataDir is required for the embedded Temporal server`,
		`prdeploy.yaml:2:12: publicURL: publicURL "prdeploy.example.com" is not a URL (example: publicURL: https://prdeploy.example.com)`,
		`prdeploy.yaml:3:20: temporal.listen: the embedded Temporal server listens on loopback only (example: listen: 127.0.0.1:7233)`,
		`temporal.uiListen: uiListen "8233" is not host:port or off`,
		`prdeploy.yaml:5:10: github.token: a secret is given as "env:NAME" or "file:/path", never inline`,
		`prdeploy.yaml:6:11: github.apiURL: apiURL "not a url" is not a URL`,
		`webhookSecrets is required`,
		`github.repo is required`,
		// The hint names the variable the file uses, not an example's.
		`slack.token: environment variable NOT_SET_ANYWHERE is not set: export NOT_SET_ANYWHERE to prdeploy (the file says token: env:NOT_SET_ANYWHERE), or give a file: token: file:/path`,
		`slack needs a default channel`,
		`alertmanager.url: url "alertmanager:9093" is not a URL (example: http://alertmanager:9093)`,
		`payloads.currentKey: currentKey "k3" is not one of payloads.keys`,
		`payloads.retentionDays: retentionDays must be at least 1, got -1`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("a secret value is in the errors:\n%s", msg)
	}
}

// TestExampleConfigParses: examples/prdeploy.yaml stays valid.
func TestExampleConfigParses(t *testing.T) {
	key := filepath.Join(t.TempDir(), "app.pem")
	os.WriteFile(key, []byte("pem"), 0o600)
	for _, v := range []string{"PRDEPLOY_WEBHOOK_SECRETS", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRETS", "PRDEPLOY_PAYLOAD_KEY", "PRDEPLOY_OAUTH_CLIENT_SECRET"} {
		t.Setenv(v, "x")
	}
	data, err := os.ReadFile("../../examples/prdeploy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("examples/prdeploy.yaml", []byte(strings.ReplaceAll(string(data), "/etc/prdeploy/github-app.pem", key))); err != nil {
		t.Fatal(err)
	}
}

func TestGitHubWebURL(t *testing.T) {
	for api, want := range map[string]string{
		"":                                   "https://github.com",
		"https://api.github.com/":            "https://github.com",
		"https://github.example.com/api/v3/": "https://github.example.com",
		"http://127.0.0.1:4000/api/v3":       "http://127.0.0.1:4000",
	} {
		if got := webURL(api); got != want {
			t.Errorf("webURL(%q) = %q, want %q", api, got, want)
		}
	}
}

func TestExternalTemporalTakesNoEmbeddedListeners(t *testing.T) {
	t.Setenv("TEST_TOKEN", "x")
	t.Setenv("TEST_KEY", "base64key://x")
	_, err := Parse("prdeploy.yaml", []byte(`temporal: {address: "temporal:7233", uiListen: "127.0.0.1:8233", uiURL: "temporal.example.com"}
github: {token: env:TEST_TOKEN, webhookSecrets: env:TEST_TOKEN, repo: acme/deploys}
payloads: {bucket: "mem://", keys: {k1: env:TEST_KEY}}
`))
	if err == nil || !strings.Contains(err.Error(), "listen and uiListen are for the embedded server") || !strings.Contains(err.Error(), `uiURL "temporal.example.com" is not a URL`) {
		t.Fatalf("got %v", err)
	}
}

// TestLoadClientNeedsNoSecrets: prdeploy status reads serve's file in a
// shell without serve's secrets; an inline secret is still refused.
func TestLoadClientNeedsNoSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prdeploy.yaml")
	os.WriteFile(path, []byte(good), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "environment variable TEST_WEBHOOK_SECRET is not set") {
		t.Fatalf("serve's Load: %v", err)
	}
	c, err := LoadClient(path)
	if err != nil || c.Temporal.Listen != "127.0.0.1:7233" {
		t.Fatalf("LoadClient: %v", err)
	}
	os.WriteFile(path, []byte(strings.Replace(good, "env:TEST_WEBHOOK_SECRET", "inline-s3cret", 1)), 0o600)
	if _, err := LoadClient(path); err == nil || !strings.Contains(err.Error(), "never inline") {
		t.Fatalf("an inline secret: %v", err)
	}
}

// TestLoadWithTemporalFlags: serve's --temporal-* flags replace the file's
// temporal section before it is checked: with an address, no dataDir is
// needed.
func TestLoadWithTemporalFlags(t *testing.T) {
	t.Setenv("TEST_TOKEN", "x")
	t.Setenv("TEST_KEY", "base64key://x")
	path := filepath.Join(t.TempDir(), "prdeploy.yaml")
	os.WriteFile(path, []byte(`github: {token: env:TEST_TOKEN, webhookSecrets: env:TEST_TOKEN, repo: acme/deploys}
payloads: {bucket: "mem://", keys: {k1: env:TEST_KEY}}
`), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "dataDir is required") {
		t.Fatalf("without a flag: %v", err)
	}
	c, err := LoadWith(path, Temporal{Address: "temporal.example.com:7233", Namespace: "prdeploy", TLSCA: "/etc/ca.crt"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "temporal.example.com:7233" || c.Temporal.Namespace != "prdeploy" || c.Temporal.TLSCA != "/etc/ca.crt" || c.Temporal.Listen != "" {
		t.Fatalf("temporal: %+v", c.Temporal)
	}
}

// minimal is the smallest configuration serve accepts.
const minimal = `dataDir: /var/lib/prdeploy
github: {token: env:TEST_TOKEN, webhookSecrets: env:TEST_TOKEN, repo: acme/deploys}
payloads: {keys: {k1: env:TEST_TOKEN}}
`

// TestMetricsAndAuthDefaults is issue 14 item 4: /metrics on loopback and
// the status page for loopback clients only, unless the operator says
// otherwise.
func TestMetricsAndAuthDefaults(t *testing.T) {
	t.Setenv("TEST_TOKEN", "x")
	c, err := Parse("prdeploy.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Listen != "127.0.0.1:9090" || c.Auth.Mode != ModeLocal || c.Auth.SessionHours != 8 {
		t.Fatalf("metrics %+v, auth %+v", c.Metrics, c.Auth)
	}
	c, err = Parse("prdeploy.yaml", []byte(minimal+`publicURL: https://prdeploy.example.com
auth:
  mode: github
  github: {clientID: Iv1.abc, clientSecret: env:TEST_TOKEN, teams: [acme/sre], repositoryReaders: false}
metrics: {listen: "off"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Listen != "off" || c.Auth.GitHub.ReadersAllowed() || c.Auth.GitHub.Teams[0] != "acme/sre" {
		t.Fatalf("metrics %+v, auth %+v", c.Metrics, c.Auth.GitHub)
	}
	c, err = Parse("prdeploy.yaml", []byte(minimal+`auth:
  mode: proxy
  proxy: {trustedProxies: [10.0.0.0/8, 192.168.1.7]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth.Proxy.Header != "X-Forwarded-User" {
		t.Fatalf("proxy %+v", c.Auth.Proxy)
	}
}

func TestAuthConfigErrors(t *testing.T) {
	t.Setenv("TEST_TOKEN", "x")
	t.Setenv("TEST_SHORT_KEY", "short")
	for name, c := range map[string]struct{ yaml, want string }{
		"unknown mode":          {"auth: {mode: ldap}", `auth.mode: mode "ldap" is not local, github, proxy or none`},
		"github without client": {"publicURL: https://p.example.com\nauth: {mode: github}", "auth.github: mode github needs the GitHub App's OAuth client"},
		"nobody let in":         {"publicURL: https://p.example.com\nauth: {mode: github, github: {clientID: a, clientSecret: env:TEST_TOKEN, repositoryReaders: false}}", "auth.github.teams: nobody would be let in"},
		"bad team":              {"publicURL: https://p.example.com\nauth: {mode: github, github: {clientID: a, clientSecret: env:TEST_TOKEN, teams: [sre]}}", `auth.github.teams[0]: team "sre" is not org/slug`},
		"http public URL":       {"publicURL: http://p.example.com\nauth: {mode: github, github: {clientID: a, clientSecret: env:TEST_TOKEN}}", "publicURL: the session cookie is Secure"},
		"no public URL":         {"auth: {mode: github, github: {clientID: a, clientSecret: env:TEST_TOKEN, teams: [a/b]}}", "publicURL: the GitHub login sends people back"},
		"short session key":     {"auth: {mode: local, sessionKey: env:TEST_SHORT_KEY}", "auth.sessionKey: the session key must be at least 32 bytes"},
		"proxy without proxies": {"auth: {mode: proxy}", "auth.proxy: mode proxy needs the addresses of the proxy"},
		"bad proxy CIDR":        {"auth: {mode: proxy, proxy: {trustedProxies: [10.0.0.0/33]}}", `auth.proxy.trustedProxies[0]: "10.0.0.0/33" is not a CIDR`},
		"proxy section, local":  {"auth: {proxy: {trustedProxies: [10.0.0.1]}}", "auth.proxy: auth.proxy is for mode proxy, and mode is local"},
		"metrics listen":        {"metrics: {listen: 9090}", `metrics.listen: listen "9090" is not host:port or off`},
		"slack team":            {"slack: {token: env:TEST_TOKEN, signingSecrets: env:TEST_TOKEN, channel: x}", `slack.teamID: teamID "" is not a Slack workspace ID`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("prdeploy.yaml", []byte(minimal+strings.ReplaceAll(c.yaml, `\n`, "\n")+"\n"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}
