// Package serve runs `prdeploy serve`: one process with the webhook server
// (GitHub, and Slack when configured), a worker with every workflow and
// activity on the real adapters, and the embedded Temporal server unless
// an external one is configured. It stops gracefully: first no more
// webhooks, then the worker drains, then Temporal stops.
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
	role, log := cmp.Or(o.Role, RoleAll), o.Logger
	switch role {
	case RoleAll:
	case RoleWebhook, RoleWorker:
		if cfg.Temporal.Address == "" {
			return fmt.Errorf("--role %s needs temporal.address: the embedded Temporal server lives in one process (use --role all)", role)
		}
	default:
		return fmt.Errorf("--role must be all, webhook or worker, not %q", role)
	}
	webhooks, work := role != RoleWorker, role != RoleWebhook
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	if err := checkConfigFiles(cfg); err != nil {
		return err
	}

	// Listen first: the status page's links need the address.
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	defer l.Close()
	public := cfg.PublicURL
	if public == "" {
		public = "http://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}

	m := metrics.New()
	tc, frontend, uiURL, stopTemporal, err := temporalClient(ctx, cfg, log, m.TemporalHandler(), o.TemporalSource)
	if err != nil {
		return err
	}
	defer stopTemporal()
	defer tc.Close()

	gh, err := githubClient(cfg, log, m.ObserveGitHub)
	if err != nil {
		return err
	}
	store, err := payloadStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	clients := &kube.Clients{Kubeconfig: cfg.Clusters.Kubeconfig}
	var cluster workflows.Cluster = &kube.Cluster{Clients: clients, Store: store}
	probers := workflows.Probers{workflows.CheckPodsAvailable: &kube.PodsAvailable{Clients: clients}}
	if cfg.Alerts.URL != "" {
		probers[workflows.CheckNoCriticalAlerts] = &alerts.Client{URL: cfg.Alerts.URL}
	}
	var probes workflows.Prober = probers
	if o.Cluster != nil {
		cluster = o.Cluster
	}
	if o.Probes != nil {
		probes = o.Probes
	}
	// A webhook role needs Temporal and GitHub; a worker also the payload
	// bucket and the clusters.
	deps := readinessDeps{Temporal: tc, GitHub: gh}
	if work {
		deps.Payloads = store
		if o.Cluster == nil {
			deps.Kube = clients
		}
	}
	ready, err := newReadiness(ctx, deps, log)
	if err != nil {
		return err
	}
	acts := &workflows.Activities{
		Plans: &prepare.Preparer{Repos: gh, Store: store}, Cluster: cluster,
		Probes: probes, Directory: gh,
		Locks: temporalx.Locks{Client: tc}, Watcher: temporalx.Watcher{Client: tc},
		Janitor: store, Clock: temporalx.Clock{Client: tc},
		PlanChecks: &prepare.PlanChecker{Repos: gh, Checks: gh, Comments: gh, Locks: temporalx.LockPreview{Client: tc}},
		Merges:     &prepare.MergeReader{Repos: gh, History: gh},
		// Deployments are ordered by their merges' place in history.
		History:   gh,
		CheckRuns: gh, Comments: gh, Statuses: temporalx.Statuses{Client: tc},
		Deployments: temporalx.Deployments{Client: tc}, Permissions: gh,
	}
	var history func(workflowID string) string
	if uiURL != "" {
		history = func(id string) string { return temporalui.WorkflowURL(uiURL, cfg.Temporal.Namespace, id) }
	}
	acts.Links = statuspage.Linker{Base: public, History: history}
	mux := http.NewServeMux()
	access, err := statusAccess(cfg, public)
	if err != nil {
		return err
	}
	pages := statuspage.New(statuspage.Options{Source: temporalx.Deployments{Client: tc}, Logger: log,
		Links: statuspage.Links{GitHubWeb: cfg.GitHub.WebURL, History: history}, Access: access, Observe: m.ObserveStatusAccess})
	mux.Handle(statuspage.Path, pages)
	mux.Handle(statuspage.Path+"/", pages)
	mux.Handle(statuspage.AuthPath+"/", pages)
	mux.Handle("GET /{$}", http.RedirectHandler(statuspage.Path, http.StatusFound))
	secrets, err := secretList(cfg.GitHub.WebhookSecrets)
	if err != nil {
		return err
	}
	dispatcher := temporalx.Dispatcher{Client: tc, Logger: log}
	gate := webhook.NewGate(0, 0) // GitHub and Slack share the unverified requests' budget
	hook, err := webhook.NewHandler(webhook.Config{Secrets: secrets, Dispatcher: dispatcher, Logger: log, Observe: m.ObserveWebhook, Gate: gate,
		Scope: webhook.Scope{Repo: cfg.GitHub.Repo, Branch: cfg.GitHub.Branch}})
	if err != nil {
		return err
	}
	if webhooks {
		mux.Handle(webhook.Path, hook)
	}
	if s := cfg.Slack; s != nil {
		chat, err := slackClient(s, m.ObserveSlackError)
		if err != nil {
			return err
		}
		acts.Chat, acts.ChatChannels = chat, map[string]string{"*": s.Channel}
		for cluster, ch := range s.Channels {
			acts.ChatChannels[cluster] = ch
		}
		signing, err := secretList(s.SigningSecrets)
		if err != nil {
			return err
		}
		sh, err := webhook.NewSlackHandler(webhook.SlackConfig{TeamID: s.TeamID, SigningSecrets: signing, Dispatcher: dispatcher, Logger: log,
			Observe: m.ObserveWebhook, Gate: gate})
		if err != nil {
			return err
		}
		if webhooks {
			mux.Handle(webhook.SlackPath, sh)
		}
	}

	stopWorker := func() {}
	if work {
		// On SIGTERM, running activities get WorkerStopTimeout to finish
		// before they are cancelled (and retried by the next worker).
		w := worker.New(tc, workflows.TaskQueue, worker.Options{WorkerStopTimeout: 20 * time.Second})
		workflows.Register(w, acts)
		if err := w.Start(); err != nil {
			return fmt.Errorf("starting the worker: %w", err)
		}
		var once sync.Once
		stopWorker = func() { once.Do(w.Stop) }
		defer stopWorker()
		if _, err := temporalx.EnsureCleanupSchedule(ctx, tc, 24*time.Hour, time.Duration(cfg.Payloads.RetentionDays)*24*time.Hour); err != nil {
			return err
		}
	}

	// Deployments are counted by the role that answers webhooks (or the
	// only one), so that split roles do not report them twice.
	if webhooks {
		if err := m.CollectDeployments(metrics.TemporalDeployments{Client: tc}, 0); err != nil {
			return err
		}
	}
	metricsAddr, stopMetrics, err := startMetrics(cfg, m.Handler(), log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", ready)
	srv := newHTTPServer(mux, defaultHTTPLimits, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	log.Info("prdeploy is serving", "role", role, "addr", l.Addr().String(), "status_page", public+statuspage.Path,
		"status_access", cfg.Auth.Mode, "metrics", metricsAddr, "startup", time.Since(start).Round(time.Millisecond))
	if o.Ready != nil {
		o.Ready(Endpoints{Addr: l.Addr().String(), StatusPage: public + statuspage.Path, TemporalUI: uiURL, Temporal: frontend, Metrics: metricsAddr})
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("stopping: no more webhooks, then the worker drains, then Temporal stops")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	stopWorker()
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
