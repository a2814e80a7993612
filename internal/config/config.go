package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/prdeploy/prdeploy/planner"
)

// Config is prdeploy.yaml.
type Config struct {
	// Listen is the HTTP address of the webhook endpoints, the status
	// page and health (default ":8080").
	Listen string `yaml:"listen"`
	// PublicURL is where people reach this server: the status page's links
	// in check runs (default http://localhost:<port listened on>).
	PublicURL string   `yaml:"publicURL"`
	DataDir   string   `yaml:"dataDir"`
	Temporal  Temporal `yaml:"temporal"`
	GitHub    GitHub   `yaml:"github"`
	Slack     *Slack   `yaml:"slack"`
	Clusters  Clusters `yaml:"clusters"`
	Alerts    Alerts   `yaml:"alertmanager"`
	Payloads  Payloads `yaml:"payloads"`
	Metrics   Metrics  `yaml:"metrics"`
	Auth      Auth     `yaml:"auth"`
}

// Metrics is where /metrics is served: a listener of its own, on loopback
// unless the operator says otherwise.
type Metrics struct {
	// Listen is the address of /metrics (default 127.0.0.1:9090; "off"
	// turns it off).
	Listen string `yaml:"listen"`
}

// Who may see the status page and its JSON (/deployments), by Auth.Mode.
const (
	// ModeLocal (default): clients on loopback only.
	ModeLocal = "local"
	// ModeGitHub: a GitHub login, for people who can read github.repo or
	// are in one of auth.github.teams.
	ModeGitHub = "github"
	// ModeProxy: an authenticating proxy in front says who, in a header
	// honoured only from auth.proxy.trustedProxies.
	ModeProxy = "proxy"
	// ModeNone: anyone who reaches the listener.
	ModeNone = "none"
)

// Auth is the status page's login.
type Auth struct {
	// Mode is local (default), github, proxy or none.
	Mode   string      `yaml:"mode"`
	GitHub *AuthGitHub `yaml:"github"`
	Proxy  *AuthProxy  `yaml:"proxy"`
	// SessionKey signs the session cookies of mode github (at least 32
	// bytes; every replica needs the same). Default: derived from
	// auth.github.clientSecret.
	SessionKey Secret `yaml:"sessionKey"`
	// SessionHours is how long a login lasts (default 8, at most 168).
	SessionHours int `yaml:"sessionHours"`
}

// AuthGitHub is the GitHub login: the OAuth credentials of the same
// GitHub App, and who is let in.
type AuthGitHub struct {
	ClientID     string `yaml:"clientID"`
	ClientSecret Secret `yaml:"clientSecret"`
	// Teams ("org/slug") whose members are let in.
	Teams []string `yaml:"teams"`
	// RepositoryReaders lets in whoever can read github.repo (default
	// true; on a public repository that is everyone with a GitHub
	// account, so set false and name teams).
	RepositoryReaders *bool `yaml:"repositoryReaders"`
}

// ReadersAllowed says whether people who can read the repository are let in.
func (a *AuthGitHub) ReadersAllowed() bool { return a.RepositoryReaders == nil || *a.RepositoryReaders }

// AuthProxy is an authenticating proxy in front of prdeploy.
type AuthProxy struct {
	// Header names the user (default X-Forwarded-User).
	Header string `yaml:"header"`
	// TrustedProxies are the addresses (CIDRs or IPs) of the proxy: the
	// header is honoured from them only, and nobody else is let in.
	TrustedProxies []string `yaml:"trustedProxies"`
}

// Temporal is an external Temporal cluster; no address means the embedded
// server in DataDir.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	// TLS client certificate and key files, and the CA to trust.
	TLSCert string `yaml:"tlsCert"`
	TLSKey  string `yaml:"tlsKey"`
	TLSCA   string `yaml:"tlsCA"`
	// Listen is the embedded server's gRPC frontend, on loopback (default
	// 127.0.0.1:7233): the worker, `prdeploy status` and the Web UI dial it.
	Listen string `yaml:"listen"`
	// UIListen is the embedded server's Web UI (default 127.0.0.1:8233;
	// "off" turns it off).
	UIListen string `yaml:"uiListen"`
	// UIURL is where people reach the Temporal Web UI, for links to
	// workflow histories (default: the embedded UI's address; none for an
	// external cluster unless set).
	UIURL string `yaml:"uiURL"`
}

// GitHub is the GitHub App (or a plain token) and the repository of plans.
type GitHub struct {
	APIURL string `yaml:"apiURL"`
	// WebURL is GitHub's web address, for links (default derived from
	// apiURL: https://github.com, or the Enterprise host).
	WebURL         string `yaml:"webURL"`
	AppID          int64  `yaml:"appID"`
	PrivateKey     Secret `yaml:"privateKey"`
	Token          Secret `yaml:"token"`
	WebhookSecrets Secret `yaml:"webhookSecrets"`
	Org            string `yaml:"org"`
	// Repo is the deploy repository ("owner/name"): deliveries from any
	// other repository the App is installed on start nothing.
	Repo string `yaml:"repo"`
	// Branch is the deploy branch (default: the repository's default
	// branch): only pull requests into it are checked and deployed.
	Branch string `yaml:"branch"`
}

// Slack is the Slack app, when deployments are reported there.
type Slack struct {
	// TeamID is the workspace prdeploy serves ("T…"): interactions from
	// any other are refused.
	TeamID         string            `yaml:"teamID"`
	Token          Secret            `yaml:"token"`
	SigningSecrets Secret            `yaml:"signingSecrets"`
	Channel        string            `yaml:"channel"`
	Channels       map[string]string `yaml:"channels"`
	Users          map[string]string `yaml:"users"`
}

// Clusters says how to reach the fleet's clusters.
type Clusters struct {
	Kubeconfig string `yaml:"kubeconfig"`
}

// Alerts is Alertmanager.
type Alerts struct {
	URL string `yaml:"url"`
}

// Payloads is the encrypted payload store.
type Payloads struct {
	Bucket     string            `yaml:"bucket"`
	Keys       map[string]Secret `yaml:"keys"`
	CurrentKey string            `yaml:"currentKey"`
	// RetentionDays: payloads of deployments closed longer ago are deleted
	// (default 30).
	RetentionDays int `yaml:"retentionDays"`
}

// Secret names where a secret is: "env:NAME" or "file:/path". Its value is
// read by Value and never printed.
type Secret string

// String is where the secret is ("env:NAME"), never its value.
func (s Secret) String() string { return string(s) }

// Value reads the secret.
func (s Secret) Value() (string, error) {
	kind, ref, ok := strings.Cut(string(s), ":")
	switch {
	case s == "":
		return "", nil
	case ok && kind == "env":
		v, set := os.LookupEnv(ref)
		if !set || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", ref)
		}
		return v, nil
	case ok && kind == "file":
		data, err := os.ReadFile(ref)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", ref, err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return "", errors.New(`a secret is given as "env:NAME" or "file:/path", never inline`)
}

// Load reads and checks a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// LoadClient reads a configuration file for a command that only talks to
// Temporal (prdeploy status, restart): checked like Load, except that the
// secrets, which it does not use, need not be readable here.
func LoadClient(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data, false, Temporal{})
}

// LoadWith reads and checks a configuration file whose temporal section
// is overridden by the non-empty fields of t (command-line flags), before
// it is checked.
func LoadWith(path string, t Temporal) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data, true, t)
}

// Parse reads and checks a configuration, applying defaults. Errors name
// the key, what is wrong, and an example.
func Parse(file string, data []byte) (*Config, error) { return parse(file, data, true, Temporal{}) }

// parse checks the configuration; readSecrets also checks that every
// secret can be read (not only that it names where it is); the non-empty
// fields of override replace the file's.
func parse(file string, data []byte, readSecrets bool, override Temporal) (*Config, error) {
	var c Config
	pos, errs := planner.Decode(file, data, &c)
	t0 := &c.Temporal
	for _, f := range []struct {
		dst *string
		v   string
	}{{&t0.Address, override.Address}, {&t0.Namespace, override.Namespace},
		{&t0.TLSCert, override.TLSCert}, {&t0.TLSKey, override.TLSKey}, {&t0.TLSCA, override.TLSCA}, {&t0.UIURL, override.UIURL}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	add := func(path, format string, args ...any) {
		errs = append(errs, planner.Error{File: file, Pos: pos.At(path), Path: path, Message: fmt.Sprintf(format, args...)})
	}
	secret := func(path string, s Secret) {
		if s == "" {
			return
		}
		if kind, _, _ := strings.Cut(string(s), ":"); !readSecrets && (kind == "env" || kind == "file") {
			return
		}
		if _, err := s.Value(); err != nil {
			// The hint names what the file says, not an example's name.
			key := path[strings.LastIndex(path, ".")+1:]
			switch kind, ref, _ := strings.Cut(string(s), ":"); kind {
			case "env":
				add(path, "%v: export %s to prdeploy (the file says %s: env:%s), or give a file: %s: file:/path", err, ref, key, ref, key)
			case "file":
				add(path, "%v (the file says %s: file:%s)", err, key, ref)
			default:
				add(path, "%v (example: %s: env:PRDEPLOY_%s)", err, key, strings.ToUpper(key))
			}
		}
	}
	if c.Listen == "" {
		c.Listen = ":8080"
	}
	if c.Temporal.Address == "" && c.DataDir == "" {
		add("dataDir", "dataDir is required for the embedded Temporal server (example: dataDir: /var/lib/prdeploy), or set temporal.address")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
			add("publicURL", "publicURL %q is not a URL (example: publicURL: https://prdeploy.example.com)", c.PublicURL)
		}
	}
	t := &c.Temporal
	if t.Address == "" {
		if t.Listen == "" {
			t.Listen = "127.0.0.1:7233"
		}
		if host, _, err := net.SplitHostPort(t.Listen); err != nil || (host != "127.0.0.1" && host != "localhost") {
			add("temporal.listen", "the embedded Temporal server listens on loopback only (example: listen: 127.0.0.1:7233)")
		}
		if t.UIListen == "" {
			t.UIListen = "127.0.0.1:8233"
		}
		if t.UIListen != "off" {
			if _, _, err := net.SplitHostPort(t.UIListen); err != nil {
				add("temporal.uiListen", "uiListen %q is not host:port or off (example: uiListen: 127.0.0.1:8233)", t.UIListen)
			}
		}
	} else if t.Listen != "" || t.UIListen != "" {
		add("temporal.listen", "listen and uiListen are for the embedded server; with temporal.address set, give uiURL for links to your cluster's Web UI")
	}
	if t.UIURL != "" {
		if u, err := url.Parse(t.UIURL); err != nil || u.Scheme == "" || u.Host == "" {
			add("temporal.uiURL", "uiURL %q is not a URL (example: uiURL: https://temporal.example.com)", t.UIURL)
		}
	}
	if c.Temporal.Namespace == "" {
		c.Temporal.Namespace = "default"
	}
	if (c.Temporal.TLSCert == "") != (c.Temporal.TLSKey == "") {
		add("temporal.tlsCert", "tlsCert and tlsKey go together")
	}
	if c.GitHub.AppID == 0 && c.GitHub.Token == "" {
		add("github", "github needs appID and privateKey (a GitHub App), or token (example: token: env:GITHUB_TOKEN)")
	}
	if owner, name, ok := strings.Cut(c.GitHub.Repo, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		add("github.repo", "github.repo is required: the one repository of plans prdeploy deploys from, as owner/name (example: repo: acme/deploys)")
	}
	if c.GitHub.Branch != "" && plumbingBranchInvalid(c.GitHub.Branch) {
		add("github.branch", "github.branch %q is not a branch name (example: branch: main)", c.GitHub.Branch)
	}
	if c.GitHub.AppID != 0 && c.GitHub.PrivateKey == "" {
		add("github.privateKey", "a GitHub App needs its private key (example: privateKey: file:/etc/prdeploy/app.pem)")
	}
	if c.GitHub.WebhookSecrets == "" {
		add("github.webhookSecrets", "webhookSecrets is required: deliveries are verified with it (example: webhookSecrets: env:PRDEPLOY_WEBHOOK_SECRET; several separated by commas)")
	}
	if c.GitHub.APIURL != "" {
		if u, err := url.Parse(c.GitHub.APIURL); err != nil || u.Scheme == "" || u.Host == "" {
			add("github.apiURL", "apiURL %q is not a URL (example: https://github.example.com/api/v3/)", c.GitHub.APIURL)
		}
	}
	if c.GitHub.WebURL == "" {
		c.GitHub.WebURL = webURL(c.GitHub.APIURL)
	}
	secret("github.privateKey", c.GitHub.PrivateKey)
	secret("github.token", c.GitHub.Token)
	secret("github.webhookSecrets", c.GitHub.WebhookSecrets)
	if s := c.Slack; s != nil {
		if s.Token == "" || s.SigningSecrets == "" {
			add("slack", "slack needs token and signingSecrets (example: token: env:SLACK_BOT_TOKEN)")
		}
		if s.Channel == "" && len(s.Channels) == 0 {
			add("slack.channel", "slack needs a default channel or channels per cluster (example: channel: \"#deploys\")")
		}
		if !slackTeamRE.MatchString(s.TeamID) {
			add("slack.teamID", "teamID %q is not a Slack workspace ID: interactions from other workspaces are refused, so name yours (example: teamID: T0123ABCD, from the workspace's URL or auth.test)", s.TeamID)
		}
		secret("slack.token", s.Token)
		secret("slack.signingSecrets", s.SigningSecrets)
	}
	if c.Alerts.URL != "" {
		if u, err := url.Parse(c.Alerts.URL); err != nil || u.Scheme == "" || u.Host == "" {
			add("alertmanager.url", "url %q is not a URL (example: http://alertmanager:9093)", c.Alerts.URL)
		}
	}
	p := &c.Payloads
	if p.Bucket == "" && c.DataDir != "" {
		// no_tmp_dir: write temporary files next to the payloads, not
		// in /tmp (another filesystem, or read-only, in a container).
		p.Bucket = "file://" + c.DataDir + "/payloads?create_dir=true&no_tmp_dir=true"
	}
	if p.Bucket == "" && c.DataDir == "" {
		add("payloads.bucket", "bucket is required when there is no dataDir (example: bucket: s3://prdeploy-payloads?region=eu-west-1)")
	}
	if len(p.Keys) == 0 {
		add("payloads.keys", "payloads need at least one key (example: keys: {k1: env:PRDEPLOY_PAYLOAD_KEY} holding base64key://…)")
	}
	if p.CurrentKey == "" && len(p.Keys) == 1 {
		for id := range p.Keys {
			p.CurrentKey = id
		}
	}
	if _, ok := p.Keys[p.CurrentKey]; len(p.Keys) > 0 && !ok {
		add("payloads.currentKey", "currentKey %q is not one of payloads.keys", p.CurrentKey)
	}
	for id, k := range p.Keys {
		secret("payloads.keys."+id, k)
	}
	if p.RetentionDays == 0 {
		p.RetentionDays = 30
	}
	if p.RetentionDays < 1 {
		add("payloads.retentionDays", "retentionDays must be at least 1, got %d", p.RetentionDays)
	}
	m := &c.Metrics
	if m.Listen == "" {
		m.Listen = "127.0.0.1:9090"
	}
	if m.Listen != "off" {
		if _, _, err := net.SplitHostPort(m.Listen); err != nil {
			add("metrics.listen", "listen %q is not host:port or off (example: listen: 127.0.0.1:9090; 0.0.0.0:9090 for a scraper on the network)", m.Listen)
		}
	}
	checkAuth(&c, add, secret)
	errs.Sort()
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// webURL is GitHub's web address for an API address: github.com for
// api.github.com, the host of a GitHub Enterprise server's /api/v3/.
func webURL(api string) string {
	u, err := url.Parse(api)
	if api == "" || err != nil || u.Host == "api.github.com" {
		return "https://github.com"
	}
	u.Path, u.RawQuery = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3"), ""
	return strings.TrimSuffix(u.String(), "/")
}

// plumbingBranchInvalid reports whether name cannot be a Git branch name.
func plumbingBranchInvalid(name string) bool {
	return strings.HasPrefix(name, "refs/") || strings.ContainsAny(name, " ~^:?*[\\") || strings.Contains(name, "..") ||
		strings.HasPrefix(name, "-") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".lock")
}

var (
	slackTeamRE = regexp.MustCompile(`^[TE][A-Z0-9]{2,}$`)
	teamRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	headerRE    = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
)

// checkAuth checks and completes the auth section.
func checkAuth(c *Config, add func(path, format string, args ...any), secret func(path string, s Secret)) {
	a := &c.Auth
	if a.Mode == "" {
		a.Mode = ModeLocal
	}
	if a.SessionHours == 0 {
		a.SessionHours = 8
	}
	if a.SessionHours < 1 || a.SessionHours > 168 {
		add("auth.sessionHours", "sessionHours must be between 1 and 168, got %d", a.SessionHours)
	}
	if a.GitHub != nil && a.Mode != ModeGitHub {
		add("auth.github", "auth.github is for mode github, and mode is %s", a.Mode)
	}
	if a.Proxy != nil && a.Mode != ModeProxy {
		add("auth.proxy", "auth.proxy is for mode proxy, and mode is %s", a.Mode)
	}
	switch a.Mode {
	case ModeLocal, ModeNone:
	case ModeGitHub:
		g := a.GitHub
		if g == nil {
			add("auth.github", "mode github needs the GitHub App's OAuth client (example: github: {clientID: Iv1.0123456789abcdef, clientSecret: env:PRDEPLOY_OAUTH_CLIENT_SECRET, teams: [acme/sre]})")
			break
		}
		if g.ClientID == "" || g.ClientSecret == "" {
			add("auth.github", "clientID and clientSecret are required: the GitHub App's client ID and a client secret from its settings page (example: clientSecret: env:PRDEPLOY_OAUTH_CLIENT_SECRET)")
		}
		secret("auth.github.clientSecret", g.ClientSecret)
		for i, t := range g.Teams {
			if !teamRE.MatchString(t) {
				add(fmt.Sprintf("auth.github.teams[%d]", i), "team %q is not org/slug (example: acme/sre)", t)
			}
		}
		if !g.ReadersAllowed() && len(g.Teams) == 0 {
			add("auth.github.teams", "nobody would be let in: name teams, or let repository readers in")
		}
		u, err := url.Parse(c.PublicURL)
		switch {
		case c.PublicURL == "" || err != nil:
			add("publicURL", "the GitHub login sends people back to publicURL/auth/callback: set publicURL (example: publicURL: https://prdeploy.example.com)")
		case u.Scheme != "https" && !loopbackHost(u.Hostname()):
			add("publicURL", "the session cookie is Secure: publicURL must be https:// (or a loopback address, for trials)")
		}
	case ModeProxy:
		p := a.Proxy
		if p == nil || len(p.TrustedProxies) == 0 {
			add("auth.proxy", "mode proxy needs the addresses of the proxy, whose header alone is trusted (example: proxy: {header: X-Forwarded-User, trustedProxies: [10.0.0.0/8]})")
			break
		}
		if p.Header == "" {
			p.Header = "X-Forwarded-User"
		}
		if !headerRE.MatchString(p.Header) {
			add("auth.proxy.header", "header %q is not an HTTP header name (example: header: X-Forwarded-User)", p.Header)
		}
		for i, cidr := range p.TrustedProxies {
			if _, err := ParsePrefix(cidr); err != nil {
				add(fmt.Sprintf("auth.proxy.trustedProxies[%d]", i), "%q is not a CIDR or an IP address (example: 10.0.0.0/8)", cidr)
			}
		}
	default:
		add("auth.mode", "mode %q is not local, github, proxy or none (example: mode: github)", a.Mode)
	}
	if a.SessionKey != "" {
		secret("auth.sessionKey", a.SessionKey)
		if v, err := a.SessionKey.Value(); err == nil && v != "" && len(v) < 32 {
			add("auth.sessionKey", "the session key must be at least 32 bytes (example: openssl rand -base64 48)")
		}
	}
}

// ParsePrefix reads a CIDR, or an IP address as the prefix of that one
// address.
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}
