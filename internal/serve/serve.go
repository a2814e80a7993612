package serve

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/prdeploy/prdeploy/internal/alerts"
	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/devserver"
	"github.com/prdeploy/prdeploy/internal/githubapp"
	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/metrics"
	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/internal/slack"
	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/internal/temporalui"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// Ready is called once everything listens, with the HTTP address.
type Ready func(addr string)

// Roles split the process for scaling out: webhook servers and workers
// share an external Temporal cluster.
const (
	RoleAll     = "all"
	RoleWebhook = "webhook"
	RoleWorker  = "worker"
)

// Options are how Serve runs, beyond the configuration.
type Options struct {
	// Role is RoleAll (default), RoleWebhook or RoleWorker.
	Role   string
	Logger *slog.Logger
	// Ready is called once everything listens.
	Ready func(Endpoints)
	// Cluster and Probes, when set, replace the Kubernetes and
	// Alertmanager adapters: the demo's simulated cluster.
	Cluster workflows.Cluster
	Probes  workflows.Prober
	// PolicyClock is the clock policies judge plans at, on pull requests
	// and at merges (nil: the wall clock, as in production). The demo
	// pins it, so that its story does not depend on the day.
	PolicyClock func() time.Time
	// TemporalSource names where the Temporal settings came from, for
	// errors (flags, environment variables; default the config's keys).
	TemporalSource TemporalSource
}

// Endpoints are where a running serve can be reached.
type Endpoints struct {
	// Addr is the HTTP listener's host:port.
	Addr string
	// StatusPage is the public URL of the status page.
	StatusPage string
	// TemporalUI is the Temporal Web UI's URL, if any.
	TemporalUI string
	// Temporal is the Temporal frontend's host:port.
	Temporal string
	// Metrics is the /metrics listener's host:port ("" when off).
	Metrics string
}

// Run serves all roles until ctx ends, then stops gracefully.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, ready Ready) error {
	return RunRole(ctx, cfg, RoleAll, log, ready)
}

// RunRole serves one role (or all): "webhook" answers webhooks and starts
// workflows, "worker" runs them; both need temporal.address. Every role
// answers /healthz, /readyz and the status page, and serves /metrics on
// metrics.listen.
func RunRole(ctx context.Context, cfg *config.Config, role string, log *slog.Logger, ready Ready) error {
	o := Options{Role: role, Logger: log}
	if ready != nil {
		o.Ready = func(e Endpoints) { ready(e.Addr) }
	}
	return Serve(ctx, cfg, o)
}

// Serve runs prdeploy until ctx ends, then stops gracefully: no more
// webhooks, then the worker drains, then Temporal stops.
func Serve(ctx context.Context, cfg *config.Config, o Options) error {
	p, err := newProcess(cfg, o)
	if err != nil {
		return err
	}
	defer p.close()
	// Listen first: the status page's links need the address.
	if err := p.listen(); err != nil {
		return err
	}
	if err := p.connect(ctx); err != nil {
		return err
	}
	if err := p.checkReadiness(ctx); err != nil {
		return err
	}
	p.wireActivities()
	if err := p.route(); err != nil {
		return err
	}
	if err := p.startWorker(ctx); err != nil {
		return err
	}
	if err := p.startMetrics(); err != nil {
		return err
	}
	return p.serve(ctx)
}

// process is one `prdeploy serve` as its phases build it up: each phase
// adds what the next ones need, and what must be stopped to close.
type process struct {
	cfg *config.Config
	o   Options
	log *slog.Logger
	// webhooks and work say which halves of the process this role runs.
	webhooks, work bool
	start          time.Time
	closers        []func() // run in reverse by close

	l      net.Listener
	public string // the status page's base URL

	metrics        *metrics.Metrics
	temporal       client.Client
	frontend, ui   string // the Temporal frontend's address, the Web UI's URL
	github         *githubapp.Client
	payloads       *payload.Store
	kube           *kube.Clients
	cluster        workflows.Cluster
	probes         workflows.Prober
	ready          *readiness
	acts           *workflows.Activities
	mux            *http.ServeMux
	stopWorker     func()
	metricsAddress string
}

// newProcess checks the role and the files the configuration names.
func newProcess(cfg *config.Config, o Options) (*process, error) {
	role := cmp.Or(o.Role, RoleAll)
	switch role {
	case RoleAll:
	case RoleWebhook, RoleWorker:
		if cfg.Temporal.Address == "" {
			return nil, fmt.Errorf("--role %s needs temporal.address: the embedded Temporal server lives in one process (use --role all)", role)
		}
	default:
		return nil, fmt.Errorf("--role must be all, webhook or worker, not %q", role)
	}
	o.Role = role
	p := &process{cfg: cfg, o: o, log: cmp.Or(o.Logger, slog.Default()), webhooks: role != RoleWorker, work: role != RoleWebhook,
		start: time.Now(), stopWorker: func() {}}
	if err := checkConfigFiles(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// close stops what the phases started, last started first.
func (p *process) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

func (p *process) onClose(f func()) { p.closers = append(p.closers, f) }

// listen opens the HTTP listener and settles the public URL.
func (p *process) listen() error {
	l, err := net.Listen("tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", p.cfg.Listen, err)
	}
	p.l = l
	p.onClose(func() { l.Close() })
	p.public = p.cfg.PublicURL
	if p.public == "" {
		p.public = "http://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// connect makes the adapters: Temporal (started here when embedded),
// GitHub, the payload store, and the clusters and their checks (or the
// Options' stand-ins).
func (p *process) connect(ctx context.Context) error {
	p.metrics = metrics.New()
	tc, frontend, ui, stopTemporal, err := temporalClient(ctx, p.cfg, p.log, p.metrics.TemporalHandler(), p.o.TemporalSource)
	if err != nil {
		return err
	}
	p.onClose(stopTemporal)
	p.onClose(tc.Close)
	p.temporal, p.frontend, p.ui = tc, frontend, ui
	if p.github, err = githubClient(p.cfg, p.log, p.metrics.ObserveGitHub); err != nil {
		return err
	}
	if p.payloads, err = payloadStore(ctx, p.cfg); err != nil {
		return err
	}
	p.onClose(func() { p.payloads.Close() })
	p.kube = &kube.Clients{Kubeconfig: p.cfg.Clusters.Kubeconfig}
	p.cluster = &kube.Cluster{Clients: p.kube, Store: p.payloads}
	if p.o.Cluster != nil {
		p.cluster = p.o.Cluster
	}
	probers := workflows.Probers{workflows.CheckPodsAvailable: &kube.PodsAvailable{Clients: p.kube}}
	if p.cfg.Alerts.URL != "" {
		probers[workflows.CheckNoCriticalAlerts] = &alerts.Client{URL: p.cfg.Alerts.URL}
	}
	p.probes = probers
	if p.o.Probes != nil {
		p.probes = p.o.Probes
	}
	return nil
}

// checkReadiness lists what /readyz probes and fails the start on what
// will not fix itself. A webhook role needs Temporal and GitHub; a worker
// also the payload bucket and the clusters.
func (p *process) checkReadiness(ctx context.Context) error {
	deps := readinessDeps{Temporal: p.temporal, GitHub: p.github}
	if p.work {
		deps.Payloads = p.payloads
		if p.o.Cluster == nil {
			deps.Kube = p.kube
		}
	}
	var err error
	p.ready, err = newReadiness(ctx, deps, p.log)
	return err
}

// wireActivities gives the workflows' activities their adapters.
func (p *process) wireActivities() {
	tc, gh := p.temporal, p.github
	p.acts = &workflows.Activities{
		Plans: &prepare.Preparer{Repos: gh, Store: p.payloads, Now: p.o.PolicyClock}, Cluster: p.cluster,
		Probes: p.probes, Directory: gh,
		Locks: temporalx.Locks{Client: tc}, Watcher: temporalx.Watcher{Client: tc},
		Janitor: p.payloads, Clock: temporalx.Clock{Client: tc},
		PlanChecks: &prepare.PlanChecker{Repos: gh, Checks: gh, Comments: gh, Locks: temporalx.LockPreview{Client: tc}, PullRequests: gh, Now: p.o.PolicyClock,
			Preview: p.previewer(), Archive: payload.Previews{Store: p.payloads},
			PreviewURL: func(repo string, pr int, sha string) string { return statuspage.PreviewURL(p.public, repo, pr, sha) }},
		Merges:       &prepare.MergeReader{Repos: gh, History: gh},
		PullRequests: gh,
		// Deployments are ordered by their merges' place in history.
		History:   gh,
		CheckRuns: gh, Comments: gh, Statuses: temporalx.Statuses{Client: tc},
		Deployments: temporalx.Deployments{Client: tc}, Permissions: gh,
		Links: statuspage.Linker{Base: p.public, History: p.historyLink()},
	}
}

// previewer diffs pull requests against the clusters, when they are real
// (a simulated cluster has nothing to diff).
func (p *process) previewer() prepare.ClusterPreviewer {
	if p.o.Cluster != nil {
		return nil
	}
	return &kube.Previewer{Clients: p.kube}
}

// historyLink links a workflow to its history in the Temporal Web UI, when
// there is one.
func (p *process) historyLink() func(workflowID string) string {
	if p.ui == "" {
		return nil
	}
	return func(id string) string { return temporalui.WorkflowURL(p.ui, p.cfg.Temporal.Namespace, id) }
}

// route mounts the status page, the GitHub webhook and, when configured,
// Slack (whose client the activities get too), and health.
func (p *process) route() error {
	cfg := p.cfg
	p.mux = http.NewServeMux()
	access, err := statusAccess(cfg, p.public)
	if err != nil {
		return err
	}
	pages := statuspage.New(statuspage.Options{Source: temporalx.Deployments{Client: p.temporal}, Previews: payload.Previews{Store: p.payloads}, Logger: p.log,
		Links: statuspage.Links{GitHubWeb: cfg.GitHub.WebURL, History: p.historyLink()}, Access: access, Observe: p.metrics.ObserveStatusAccess})
	p.mux.Handle(statuspage.Path, pages)
	p.mux.Handle(statuspage.Path+"/", pages)
	p.mux.Handle(statuspage.AuthPath+"/", pages)
	p.mux.Handle("GET /{$}", http.RedirectHandler(statuspage.Path, http.StatusFound))
	secrets, err := secretList(cfg.GitHub.WebhookSecrets)
	if err != nil {
		return err
	}
	dispatcher := temporalx.Dispatcher{Client: p.temporal, Logger: p.log}
	gate := webhook.NewGate(0, 0) // GitHub and Slack share the unverified requests' budget
	hook, err := webhook.NewHandler(webhook.Config{Secrets: secrets, Dispatcher: dispatcher, Logger: p.log, Observe: p.metrics.ObserveWebhook, Gate: gate,
		Scope: webhook.Scope{Repo: cfg.GitHub.Repo, Branch: cfg.GitHub.Branch}})
	if err != nil {
		return err
	}
	if p.webhooks {
		p.mux.Handle(webhook.Path, hook)
	}
	if err := p.routeSlack(dispatcher, gate); err != nil {
		return err
	}
	p.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	p.mux.Handle("GET /readyz", p.ready)
	return nil
}

// routeSlack, when Slack is configured, gives the activities its client
// and mounts its interactivity endpoint.
func (p *process) routeSlack(dispatcher webhook.Dispatcher, gate *webhook.Gate) error {
	s := p.cfg.Slack
	if s == nil {
		return nil
	}
	chat, err := slackClient(s, p.metrics.ObserveSlackError)
	if err != nil {
		return err
	}
	p.acts.Chat, p.acts.ChatChannels = chat, map[string]string{"*": s.Channel}
	for cluster, ch := range s.Channels {
		p.acts.ChatChannels[cluster] = ch
	}
	signing, err := secretList(s.SigningSecrets)
	if err != nil {
		return err
	}
	sh, err := webhook.NewSlackHandler(webhook.SlackConfig{TeamID: s.TeamID, SigningSecrets: signing, Dispatcher: dispatcher, Logger: p.log,
		Observe: p.metrics.ObserveWebhook, Gate: gate})
	if err != nil {
		return err
	}
	if p.webhooks {
		p.mux.Handle(webhook.SlackPath, sh)
	}
	return nil
}

// startWorker runs every workflow and activity (a worker role) and keeps
// the payload cleanup scheduled.
func (p *process) startWorker(ctx context.Context) error {
	if !p.work {
		return nil
	}
	// On SIGTERM, running activities get WorkerStopTimeout to finish
	// before they are cancelled (and retried by the next worker).
	w := worker.New(p.temporal, workflows.TaskQueue, worker.Options{WorkerStopTimeout: 20 * time.Second})
	workflows.Register(w, p.acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	var once sync.Once
	p.stopWorker = func() { once.Do(w.Stop) }
	p.onClose(p.stopWorker)
	_, err := temporalx.EnsureCleanupSchedule(ctx, p.temporal, 24*time.Hour, time.Duration(p.cfg.Payloads.RetentionDays)*24*time.Hour)
	return err
}

// startMetrics serves /metrics on its own listener. Deployments are
// counted by the role that answers webhooks (or the only one), so that
// split roles do not report them twice.
func (p *process) startMetrics() error {
	if p.webhooks {
		if err := p.metrics.CollectDeployments(metrics.TemporalDeployments{Client: p.temporal}, 0); err != nil {
			return err
		}
	}
	addr, stop, err := startMetrics(p.cfg, p.metrics.Handler(), p.log)
	if err != nil {
		return err
	}
	p.metricsAddress = addr
	p.onClose(stop)
	return nil
}

// serve answers HTTP until ctx ends, then stops gracefully: no more
// webhooks, then the worker drains (then close stops Temporal).
func (p *process) serve(ctx context.Context) error {
	srv := newHTTPServer(p.mux, defaultHTTPLimits, p.log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(p.l) }()
	addr, pages := p.l.Addr().String(), p.public+statuspage.Path
	p.log.Info("prdeploy is serving", "role", p.o.Role, "addr", addr, "status_page", pages,
		"status_access", p.cfg.Auth.Mode, "metrics", p.metricsAddress, "startup", time.Since(p.start).Round(time.Millisecond))
	if p.o.Ready != nil {
		p.o.Ready(Endpoints{Addr: addr, StatusPage: pages, TemporalUI: p.ui, Temporal: p.frontend, Metrics: p.metricsAddress})
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	}
	p.log.Info("stopping: no more webhooks, then the worker drains, then Temporal stops")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		p.log.Warn("http shutdown", "error", err)
	}
	p.stopWorker()
	return nil
}

// temporalClient connects to the external Temporal cluster, or starts the
// embedded server (and its Web UI). It returns the UI's address for links.
func temporalClient(ctx context.Context, cfg *config.Config, log *slog.Logger, mh client.MetricsHandler, src TemporalSource) (c client.Client, frontend, uiURL string, stop func(), err error) {
	uiURL = cfg.Temporal.UIURL
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	dialed := cfg
	if cfg.Temporal.Address == "" {
		_, port, err := net.SplitHostPort(cfg.Temporal.Listen)
		if err != nil && cfg.Temporal.Listen != "" {
			return nil, "", "", nil, fmt.Errorf("temporal.listen: %w", err)
		}
		frontend, _ := strconv.Atoi(port)
		ts, err := devserver.Start(ctx, devserver.Options{DataDir: filepath.Join(cfg.DataDir, "temporal"), Namespace: cfg.Temporal.Namespace, Logger: log, FrontendPort: frontend,
			Retention: time.Duration(cfg.Payloads.RetentionDays) * 24 * time.Hour})
		if err != nil {
			return nil, "", "", nil, fmt.Errorf("starting the embedded Temporal server: %w", err)
		}
		stops = append(stops, ts.Stop)
		// Dial the port it took (temporal.listen may say 0).
		local := *cfg
		local.Temporal.Listen = ts.FrontendAddress()
		dialed = &local
		if cfg.Temporal.UIListen != "off" {
			ui, err := temporalui.Start(ctx, temporalui.Options{Listen: cfg.Temporal.UIListen, FrontendAddress: ts.FrontendAddress(),
				Namespace: cfg.Temporal.Namespace, PublicURL: cfg.Temporal.UIURL})
			if err != nil {
				stop()
				return nil, "", "", nil, fmt.Errorf("starting the Temporal Web UI (temporal.uiListen %s; \"off\" turns it off): %w", cfg.Temporal.UIListen, err)
			}
			stops = append(stops, ui.Stop)
			uiURL = ui.URL()
			log.Info("Temporal Web UI", "url", uiURL)
		}
	}
	if c, err = dial(ctx, dialed, log, mh, src); err != nil {
		stop()
		return nil, "", "", nil, err
	}
	return c, cmp.Or(dialed.Temporal.Address, dialed.Temporal.Listen), uiURL, stop, nil
}

func tlsConfig(t config.Temporal) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(t.TLSCert, t.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("temporal.tlsCert/tlsKey: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if t.TLSCA != "" {
		pem, err := os.ReadFile(t.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("temporal.tlsCA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("temporal.tlsCA holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func githubClient(cfg *config.Config, log *slog.Logger, observe func(githubapp.APICall)) (*githubapp.Client, error) {
	g := cfg.GitHub
	token, err := g.Token.Value()
	if err != nil {
		return nil, fmt.Errorf("github.token: %w", err)
	}
	key, err := g.PrivateKey.Value()
	if err != nil {
		return nil, fmt.Errorf("github.privateKey: %w", err)
	}
	// The checkout cache lives in dataDir; without one (an external
	// Temporal cluster and bucket), in a temporary directory of its own.
	cache := filepath.Join(cfg.DataDir, "git")
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "prdeploy-git-")
		if err != nil {
			return nil, fmt.Errorf("making a git cache directory: %w", err)
		}
		cache = dir
	}
	c := githubapp.Config{BaseURL: g.APIURL, Token: token, AppID: g.AppID, Org: g.Org, CacheDir: cache, Logger: log, Observe: observe}
	if key != "" {
		c.PrivateKeyPEM = []byte(key)
	}
	return githubapp.New(c)
}

func payloadStore(ctx context.Context, cfg *config.Config) (*payload.Store, error) {
	keys := map[string]string{}
	for id, s := range cfg.Payloads.Keys {
		v, err := s.Value()
		if err != nil {
			return nil, fmt.Errorf("payloads.keys.%s: %w", id, err)
		}
		keys[id] = v
	}
	return payload.Open(ctx, payload.Config{BucketURL: cfg.Payloads.Bucket, Keys: keys, CurrentKey: cfg.Payloads.CurrentKey})
}

func slackClient(s *config.Slack, observe func(method string, err error)) (*slack.Client, error) {
	token, err := s.Token.Value()
	if err != nil {
		return nil, fmt.Errorf("slack.token: %w", err)
	}
	return slack.New(slack.Config{Token: token, UserMap: s.Users, ObserveError: observe})
}

// secretList reads a secret holding one or more comma-separated values
// (several during a rotation).
func secretList(s config.Secret) ([]webhook.Secret, error) {
	v, err := s.Value()
	if err != nil {
		return nil, err
	}
	var out []webhook.Secret
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, webhook.Secret(part))
		}
	}
	return out, nil
}
