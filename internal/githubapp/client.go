package githubapp

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/prdeploy/prdeploy/workflows"
)

// DefaultBaseURL is GitHub.com's REST API.
const DefaultBaseURL = "https://api.github.com/"

// Config says how to reach GitHub and as whom: either a GitHub App
// (AppID and PrivateKeyPEM) or a plain Token.
type Config struct {
	// BaseURL is the REST API root, used as is: DefaultBaseURL when
	// empty, "https://HOST/api/v3/" for GitHub Enterprise Server, or a
	// simulator's URL.
	BaseURL string
	// UploadURL is the uploads API root (uploads.github.com for
	// GitHub.com, BaseURL otherwise when empty).
	UploadURL string

	// AppID and PrivateKeyPEM authenticate as a GitHub App.
	AppID         int64
	PrivateKeyPEM []byte
	// InstallationID is the App's installation to act as; 0 looks the
	// installation up per repository (GET /repos/{owner}/{repo}/installation)
	// and per organisation.
	InstallationID int64

	// Token is a plain token (a personal access token, or an installation
	// token minted elsewhere), instead of an App.
	Token string

	// Org is the organisation whose teams approvers are looked up in
	// (Teams); without it nobody is in a team.
	Org string
	// Login is who the App or token writes as ("<app-slug>[bot]" for an
	// App): UpsertComment only edits its comments. Looked up when empty
	// (GET /app, or GET /user with a token).
	Login string

	// ContentPerMinute bounds content-creating requests a minute
	// (DefaultContentPerMinute when 0; GitHub allows 80). Clients with the
	// same value share one process-wide budget; Limiter replaces it.
	ContentPerMinute int
	// Limiter, when set, is the budget shared by the clients given it.
	Limiter *Limiter
	// MaxAttempts and MaxWait bound retries (see Transport).
	MaxAttempts int
	MaxWait     time.Duration

	// UserAgent is sent with API requests ("prdeploy" when empty).
	UserAgent string
	// CacheDir keeps the bare repositories Checkout fetches into
	// (os.UserCacheDir()/prdeploy/git when empty).
	CacheDir string

	// HTTPTransport sends the requests (a clone of http.DefaultTransport
	// when nil).
	HTTPTransport http.RoundTripper
	// Clock is the system clock when nil.
	Clock Clock
	// Logger is slog.Default when nil.
	Logger *slog.Logger
	// Observe, when set, is told about every API request sent (see
	// Transport.Observe); git traffic is not included.
	Observe func(APICall)
}

// Client is prdeploy's GitHub adapter: check runs, PR comments, repository
// permissions, team membership and checkouts.
type Client struct {
	cfg       Config
	baseURL   *url.URL
	uploadURL *url.URL
	tr        *Transport
	clock     Clock
	key       *rsa.PrivateKey
	app       *github.Client // as the App (a JWT); nil with a plain token
	plain     *github.Client // with a plain token; nil for an App
	cacheDir  string

	mu        sync.Mutex
	installs  map[int64]*installation
	installOf map[string]cachedID // "repo:owner/name" or "org:login" → installation
	repos     map[string]repoInfo
	login     string
	teamList  *cachedTeams
	members   map[string]cachedMembership
	locks     map[string]*keyLock
}

type installation struct {
	tr *ghinstallation.Transport
	gh *github.Client
}

type cachedID struct {
	id      int64
	expires time.Time
}

// installationTTL is how long a repository's installation is trusted: an
// App reinstalled gets a new installation ID.
const installationTTL = time.Hour

var (
	_ workflows.CheckRuns   = (*Client)(nil)
	_ workflows.PRComments  = (*Client)(nil)
	_ workflows.Permissions = (*Client)(nil)
	_ workflows.Directory   = (*Client)(nil)
)

// New checks cfg and returns a client. It sends nothing yet.
func New(cfg Config) (*Client, error) {
	c := &Client{
		cfg:       cfg,
		installs:  map[int64]*installation{},
		installOf: map[string]cachedID{},
		repos:     map[string]repoInfo{},
		members:   map[string]cachedMembership{},
		locks:     map[string]*keyLock{},
	}
	var err error
	if c.baseURL, c.uploadURL, err = apiURLs(cfg.BaseURL, cfg.UploadURL); err != nil {
		return nil, err
	}
	app := cfg.AppID != 0 || len(cfg.PrivateKeyPEM) > 0 || cfg.InstallationID != 0
	switch {
	case app && cfg.Token != "":
		return nil, errors.New("githubapp: set either Token or AppID and PrivateKeyPEM, not both")
	case !app && cfg.Token == "":
		return nil, errors.New("githubapp: no credentials: set AppID and PrivateKeyPEM (a GitHub App) or Token")
	case app && cfg.AppID <= 0:
		return nil, errors.New("githubapp: AppID is required with PrivateKeyPEM or InstallationID (the App's numeric ID from its settings page)")
	case app && len(cfg.PrivateKeyPEM) == 0:
		return nil, errors.New("githubapp: PrivateKeyPEM is required with AppID (the .pem file generated in the App's settings)")
	case cfg.InstallationID < 0:
		return nil, errors.New("githubapp: InstallationID must not be negative")
	case cfg.ContentPerMinute < 0:
		return nil, errors.New("githubapp: ContentPerMinute must not be negative")
	case cfg.Org != "" && !loginRE.MatchString(cfg.Org):
		return nil, fmt.Errorf("githubapp: Org %q is not a GitHub organisation login", cfg.Org)
	}
	if app {
		if c.key, err = parseKey(cfg.PrivateKeyPEM); err != nil {
			return nil, err
		}
	}
	if cfg.UserAgent == "" {
		c.cfg.UserAgent = "prdeploy"
	}
	c.clock = cfg.Clock
	if c.clock == nil {
		c.clock = SystemClock()
	}
	limiter := cfg.Limiter
	if limiter == nil {
		limiter = sharedLimiter(cfg.ContentPerMinute)
	}
	base := cfg.HTTPTransport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		base = t
	}
	c.tr = &Transport{Base: base, Limiter: limiter, Clock: c.clock, MaxAttempts: cfg.MaxAttempts, MaxWait: cfg.MaxWait, Logger: cfg.Logger, Observe: cfg.Observe}
	if app {
		c.app = c.newGitHub(c.appsTransport())
	} else {
		c.plain = c.newGitHub(tokenTransport{token: cfg.Token, base: c.tr})
	}
	c.cacheDir = cfg.CacheDir
	if c.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		c.cacheDir = filepath.Join(dir, "prdeploy", "git")
	}
	return c, nil
}

// Stats returns the API requests sent so far (git traffic not included).
func (c *Client) Stats() Stats { return c.tr.Stats() }

func apiURLs(base, upload string) (*url.URL, *url.URL, error) {
	if base == "" {
		base = DefaultBaseURL
	}
	b, err := parseRoot(base)
	if err != nil {
		return nil, nil, fmt.Errorf("githubapp: BaseURL: %w", err)
	}
	if upload == "" {
		upload = base
		if b.String() == DefaultBaseURL {
			upload = "https://uploads.github.com/"
		}
	}
	u, err := parseRoot(upload)
	if err != nil {
		return nil, nil, fmt.Errorf("githubapp: UploadURL: %w", err)
	}
	return b, u, nil
}

func parseRoot(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", s)
	}
	if u.User != nil {
		return nil, errors.New("credentials do not belong in the URL: use Token or the App's key")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// parseKey reads an App's RSA private key (PKCS#1 or PKCS#8). Its errors
// never quote the key.
func parseKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("githubapp: PrivateKeyPEM holds no PEM block: pass the contents of the .pem file the App's settings generated")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("githubapp: PrivateKeyPEM is not an RSA private key (PEM type %q)", block.Type)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("githubapp: PrivateKeyPEM is a %T, not an RSA private key", k)
	}
	return rk, nil
}

// apiRoot is the base URL as ghinstallation wants it (no trailing slash).
func (c *Client) apiRoot() string { return strings.TrimSuffix(c.baseURL.String(), "/") }

func (c *Client) newGitHub(rt http.RoundTripper) *github.Client {
	gh := github.NewClient(&http.Client{Transport: rt})
	gh.BaseURL = c.baseURL
	gh.UploadURL = c.uploadURL
	gh.UserAgent = c.cfg.UserAgent
	return gh
}

// appsTransport authenticates as the App itself (a JWT signed with its
// key); one per installation, since ghinstallation writes to it.
func (c *Client) appsTransport() *ghinstallation.AppsTransport {
	atr := ghinstallation.NewAppsTransportFromPrivateKey(c.tr, c.cfg.AppID, c.key)
	atr.BaseURL = c.apiRoot()
	return atr
}

// tokenTransport sends a plain token.
type tokenTransport struct {
	token string
	base  http.RoundTripper
}

func (t tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "token "+t.token)
	return t.base.RoundTrip(r)
}

// installation returns the client acting as installation id.
func (c *Client) installation(id int64) *installation {
	c.mu.Lock()
	defer c.mu.Unlock()
	if in, ok := c.installs[id]; ok {
		return in
	}
	itr := ghinstallation.NewFromAppsTransport(c.appsTransport(), id)
	itr.BaseURL = c.apiRoot()
	in := &installation{tr: itr, gh: c.newGitHub(itr)}
	c.installs[id] = in
	return in
}

// tokenFunc returns a token for git over HTTPS.
type tokenFunc func(ctx context.Context) (string, error)

// forRepo returns the client (and git token source) for a repository.
func (c *Client) forRepo(ctx context.Context, owner, name string) (*github.Client, tokenFunc, error) {
	if c.plain != nil {
		return c.plain, func(context.Context) (string, error) { return c.cfg.Token, nil }, nil
	}
	id, err := c.installationID(ctx, "repo:"+owner+"/"+name, func() (int64, error) {
		in, _, err := c.app.Apps.FindRepositoryInstallation(ctx, owner, name)
		if err != nil {
			return 0, classify(err, "finding the App's installation on %s/%s (is the App installed there?)", owner, name)
		}
		return in.GetID(), nil
	})
	if err != nil {
		return nil, nil, err
	}
	in := c.installation(id)
	return in.gh, in.tr.Token, nil
}

// forOrg returns the client for an organisation.
func (c *Client) forOrg(ctx context.Context, org string) (*github.Client, error) {
	if c.plain != nil {
		return c.plain, nil
	}
	id, err := c.installationID(ctx, "org:"+strings.ToLower(org), func() (int64, error) {
		opts := &github.ListOptions{PerPage: 100}
		for {
			list, resp, err := c.app.Apps.ListInstallations(ctx, opts)
			if err != nil {
				return 0, classify(err, "listing the App's installations")
			}
			for _, in := range list {
				if strings.EqualFold(in.GetAccount().GetLogin(), org) {
					return in.GetID(), nil
				}
			}
			if resp.NextPage == 0 {
				return 0, workflows.Permanent(fmt.Errorf("the App is not installed on the organisation %s: install it there, or set the installation ID", org))
			}
			opts.Page = resp.NextPage
		}
	})
	if err != nil {
		return nil, err
	}
	return c.installation(id).gh, nil
}

func (c *Client) installationID(ctx context.Context, key string, lookup func() (int64, error)) (int64, error) {
	if c.cfg.InstallationID != 0 {
		return c.cfg.InstallationID, nil
	}
	c.mu.Lock()
	e, ok := c.installOf[key]
	c.mu.Unlock()
	if ok && c.clock.Now().Before(e.expires) {
		return e.id, nil
	}
	id, err := lookup()
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.installOf[key] = cachedID{id: id, expires: c.clock.Now().Add(installationTTL)}
	c.mu.Unlock()
	return id, nil
}

// identity is the login the client writes as.
func (c *Client) identity(ctx context.Context) (string, error) {
	if c.cfg.Login != "" {
		return c.cfg.Login, nil
	}
	c.mu.Lock()
	login := c.login
	c.mu.Unlock()
	if login != "" {
		return login, nil
	}
	if c.app != nil {
		a, _, err := c.app.Apps.Get(ctx, "")
		if err != nil {
			return "", classify(err, "reading the App (GET /app)")
		}
		if a.GetSlug() == "" {
			return "", errors.New("GET /app returned no slug")
		}
		login = a.GetSlug() + "[bot]"
	} else {
		u, _, err := c.plain.Users.Get(ctx, "")
		if err != nil {
			return "", classify(err, "reading the token's user (GET /user); set Login to skip it")
		}
		login = u.GetLogin()
	}
	c.mu.Lock()
	c.login = login
	c.mu.Unlock()
	return login, nil
}

// do sends one request and decodes the answer into out (when not nil).
func do(ctx context.Context, gh *github.Client, method, path string, body, out any) error {
	req, err := gh.NewRequest(method, path, body)
	if err != nil {
		return err
	}
	_, err = gh.Do(ctx, req, out)
	return err
}

var (
	// loginRE is a GitHub login (bots end in "[bot]").
	loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$`)
	// nameRE is a repository name or owner, or a team slug.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
)

// splitRepo checks "owner/name".
func splitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !nameRE.MatchString(owner) || !nameRE.MatchString(name) || name == "." || name == ".." || owner == "." || owner == ".." {
		return "", "", workflows.Permanent(fmt.Errorf("%q is not a repository: want owner/name", repo))
	}
	return owner, name, nil
}

func checkLogin(login string) error {
	if !loginRE.MatchString(login) {
		return workflows.Permanent(fmt.Errorf("%q is not a GitHub login", login))
	}
	return nil
}

// classify says whether a GitHub error is worth retrying: a rate limit or
// a server error is; 400, 401, 403, 404, 410 and 422 are not (GitHub's
// message says what to fix).
func classify(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &abuse) {
		return fmt.Errorf("%s: %w", what, err)
	}
	status := 0
	var er *github.ErrorResponse
	var he *ghinstallation.HTTPError
	switch {
	case errors.As(err, &er) && er.Response != nil:
		status = er.Response.StatusCode
	case errors.As(err, &he) && he.Response != nil:
		status = he.Response.StatusCode
	}
	if status == http.StatusForbidden && er != nil && strings.Contains(strings.ToLower(er.Message), "rate limit") {
		return fmt.Errorf("%s: %w", what, err)
	}
	if permanentStatus(status) {
		return workflows.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func permanentStatus(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusGone, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// statusOf returns the HTTP status of a GitHub error (0 when none).
func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}
