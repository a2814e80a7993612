package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/prdeploy/prdeploy/internal/githubapp"
)

// Namespace prefixes every metric of prdeploy's own.
const Namespace = "prdeploy"

// Buckets of the wait histograms, in seconds. A gate waits for people
// (minutes to days); a lock for another deployment of the same service
// (seconds to an hour or two).
var (
	GateWaitBuckets = []float64{10, 60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600}
	LockWaitBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 2 * 3600}
)

// Metrics are the metrics `prdeploy serve` exposes on /metrics, in a
// registry of their own (with the Go runtime's and the process's). Its
// Observe methods fit the observer fields of webhook.Config,
// webhook.SlackConfig, githubapp.Config and slack.Config, and
// TemporalHandler fits client.Options.MetricsHandler. It is safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	webhooks           *prometheus.CounterVec
	statusAccess       *prometheus.CounterVec
	githubRequests     *prometheus.CounterVec
	githubRateLimit    *prometheus.GaugeVec // no labels: absent until GitHub sends the header
	slackErrors        *prometheus.CounterVec
	commandsIgnored    *prometheus.CounterVec
	gateWait, lockWait *prometheus.HistogramVec

	deployments *deploymentsCollector
}

// New returns the metrics, registered and at zero.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "webhooks_total",
			Help: "Webhook requests answered, by source (github, slack), event (the X-GitHub-Event or Slack interaction type; unknown when missing or unverified) and result (accepted, ignored, bad_signature, bad_request, error, overloaded: refused before the signature because too many unverified requests were in flight, forbidden: signed but from another Slack workspace).",
		}, []string{"source", "event", "result"}),
		statusAccess: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "status_access_total",
			Help: "Access checks of the status page, by event (session: a request; login: a GitHub login's callback) and result (granted, anonymous, invalid: a forged or damaged session cookie, expired, refused, bad_state: a callback not started in that browser, failed: GitHub could not be asked).",
		}, []string{"event", "result"}),
		githubRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "github_requests_total",
			Help: "HTTP requests sent to GitHub's API, retries included, by method and status code (none when no answer came).",
		}, []string{"method", "code"}),
		githubRateLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "github_rate_limit_remaining",
			Help: "X-RateLimit-Remaining of the latest GitHub API answer that had it: requests left in the current window of whoever sent it (the App, an installation or a token).",
		}, nil),
		slackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "slack_errors_total",
			Help: "Slack API calls that failed after their retry, by method (chat.postMessage, chat.update, users.lookupByEmail, users.info, response_url).",
		}, []string{"method"}),
		commandsIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "commands_ignored_total",
			Help: "Pull request commands (comments, reviews, buttons) prdeploy neither ran nor answered, by reason (not_writer: the sender has no write access to the repository).",
		}, []string{"reason"}),
		gateWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "gate_wait_seconds",
			Help:    "How long approval gates waited, from the wave reaching the gate to the approval that opened it, by cluster.",
			Buckets: GateWaitBuckets,
		}, []string{"cluster"}),
		lockWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "lock_wait_seconds",
			Help:    "How long lock requests waited behind another holder before the grant, by cluster; locks granted at once are not counted.",
			Buckets: LockWaitBuckets,
		}, []string{"cluster"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.webhooks, m.statusAccess, m.githubRequests, m.githubRateLimit, m.slackErrors, m.commandsIgnored, m.gateWait, m.lockWait,
	)
	return m
}

// Handler serves the metrics in Prometheus' exposition format (GET
// /metrics). A collector that fails is left out of the answer, not the
// whole answer.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is where the metrics are registered, for a caller that adds
// its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveWebhook counts one webhook request; it is a webhook.ObserveFunc.
func (m *Metrics) ObserveWebhook(source, event, result string) {
	m.webhooks.WithLabelValues(source, event, result).Inc()
}

// ObserveStatusAccess counts one access check of the status page; it fits
// statuspage.Options.Observe.
func (m *Metrics) ObserveStatusAccess(event, result string) {
	m.statusAccess.WithLabelValues(event, result).Inc()
}

// ObserveGitHub counts one request to GitHub's API and keeps the rate
// limit it reports; it fits githubapp.Config.Observe.
func (m *Metrics) ObserveGitHub(c githubapp.APICall) {
	code := "none"
	if c.StatusCode > 0 {
		code = strconv.Itoa(c.StatusCode)
	}
	m.githubRequests.WithLabelValues(c.Method, code).Inc()
	if c.RateLimitRemaining >= 0 {
		m.githubRateLimit.WithLabelValues().Set(float64(c.RateLimitRemaining))
	}
}

// ObserveSlackError counts one failed Slack call; it fits
// slack.Config.ObserveError.
func (m *Metrics) ObserveSlackError(method string, _ error) {
	m.slackErrors.WithLabelValues(method).Inc()
}

// CollectDeployments makes every scrape count deployments by state with
// counter (see DeploymentCounter), each scrape bounded by timeout
// (DefaultCountTimeout when ≤ 0). It may be called once.
func (m *Metrics) CollectDeployments(counter DeploymentCounter, timeout time.Duration) error {
	if counter == nil {
		return errors.New("metrics: CollectDeployments needs a DeploymentCounter")
	}
	if m.deployments != nil {
		return errors.New("metrics: deployments are already collected")
	}
	c := newDeploymentsCollector(counter, timeout)
	if err := m.reg.Register(c); err != nil {
		return err
	}
	m.deployments = c
	return nil
}
