package serve

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/statuspage"
)

// httpLimits bound what a client costs the HTTP server, whoever it is.
type httpLimits struct {
	// ReadHeader: a client has this long to send its headers (slowloris).
	ReadHeader time.Duration
	// Read: this long for the whole request, body included. GitHub
	// sends a delivery at once; a body that trickles in is cut off.
	Read time.Duration
	// Write: this long from the end of the headers to the end of the
	// answer: above the dispatch timeout (8 s) and the status page's
	// Temporal queries (10 s).
	Write time.Duration
	// Idle: a kept-alive connection waits this long for its next request.
	Idle time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
}

var defaultHTTPLimits = httpLimits{ReadHeader: 5 * time.Second, Read: 20 * time.Second, Write: 30 * time.Second,
	Idle: 60 * time.Second, MaxHeaderBytes: 64 << 10}

// newHTTPServer is the server of the webhook endpoints, the status page
// and health, with lim.
func newHTTPServer(h http.Handler, lim httpLimits, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: lim.ReadHeader, ReadTimeout: lim.Read, WriteTimeout: lim.Write,
		IdleTimeout: lim.Idle, MaxHeaderBytes: lim.MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
}

// startMetrics serves /metrics on its own listener (metrics.listen,
// loopback by default), so that what the process exports is not on the
// address the internet reaches. It returns the address ("" when off) and
// how to stop it.
func startMetrics(cfg *config.Config, h http.Handler, log *slog.Logger) (addr string, stop func(), err error) {
	if cfg.Metrics.Listen == "off" {
		return "", func() {}, nil
	}
	listen := cmp.Or(cfg.Metrics.Listen, "127.0.0.1:9090") // a Config not from Parse
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s (metrics.listen): %w", listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := newHTTPServer(mux, defaultHTTPLimits, log)
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}

// statusAccess is who may see the status page, from auth.
func statusAccess(cfg *config.Config, public string) (statuspage.Access, error) {
	a := cfg.Auth
	switch a.Mode {
	case config.ModeNone:
		return statuspage.Anyone(), nil
	case config.ModeProxy:
		var trusted []netip.Prefix
		for _, s := range a.Proxy.TrustedProxies {
			p, err := config.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("auth.proxy.trustedProxies: %w", err)
			}
			trusted = append(trusted, p)
		}
		return statuspage.Proxy(a.Proxy.Header, trusted), nil
	case config.ModeGitHub:
		secret, err := a.GitHub.ClientSecret.Value()
		if err != nil {
			return nil, fmt.Errorf("auth.github.clientSecret: %w", err)
		}
		key := statuspage.SessionKey(secret)
		if a.SessionKey != "" {
			v, err := a.SessionKey.Value()
			if err != nil {
				return nil, fmt.Errorf("auth.sessionKey: %w", err)
			}
			key = []byte(v)
		}
		o := statuspage.GitHubLoginOptions{ClientID: a.GitHub.ClientID, ClientSecret: secret, WebURL: cfg.GitHub.WebURL,
			APIURL: cfg.GitHub.APIURL, PublicURL: public, Teams: a.GitHub.Teams, SessionKey: key,
			SessionTTL: time.Duration(a.SessionHours) * time.Hour}
		if a.GitHub.ReadersAllowed() {
			o.Repo = cfg.GitHub.Repo
		}
		return statuspage.NewGitHubLogin(o)
	}
	return statuspage.LocalOnly(), nil
}
