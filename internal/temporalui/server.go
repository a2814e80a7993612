package temporalui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// Defaults for zero Options fields.
const (
	// DefaultListen is loopback on a free port.
	DefaultListen    = "127.0.0.1:0"
	DefaultNamespace = "default"
)

// Options configure Start.
type Options struct {
	// Listen is the host:port the UI serves on; port 0 picks a free one, an
	// empty host listens on every interface. Default DefaultListen.
	Listen string
	// FrontendAddress is the Temporal frontend's gRPC host:port, dialled in
	// plaintext. Required.
	FrontendAddress string
	// Namespace is the one the UI opens on; default "default".
	Namespace string
	// PublicURL is where browsers reach the UI, when that is not the listen
	// address (a reverse proxy): an absolute http or https URL. Links are
	// built on it, and its path, if any, is the prefix the UI is served
	// under (the UI server then drops the page's content security policy
	// and says so once on stderr). Empty means http://Listen.
	PublicURL string
}

// Server is a running Temporal Web UI.
type Server struct {
	ui       *uiserver.Server
	addr     string
	url      string
	done     chan struct{} // closed when the UI server stops serving
	err      error         // what the UI server's Start returned; read after done
	stopOnce sync.Once
}

// Start serves the UI and returns once it answers on its listen address.
// ctx bounds that wait; the UI runs until Stop. The frontend need not be up
// yet: the UI dials it on the first API call and reconnects as needed.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("starting the Temporal UI: %w", err)
	}
	if opts.FrontendAddress == "" {
		return nil, errors.New("starting the Temporal UI: the Temporal frontend address is required")
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	host, port, err := listenAddress(opts.Listen)
	if err != nil {
		return nil, err
	}
	public, err := publicURL(opts.PublicURL, host, port)
	if err != nil {
		return nil, err
	}

	cfg := &uiconfig.Config{
		Host:                bracketIPv6(host), // the UI server formats host:port itself
		Port:                port,
		TemporalGRPCAddress: opts.FrontendAddress,
		EnableUI:            true,
		PublicPath:          public.Path,
		DefaultNamespace:    opts.Namespace,
		// The CSRF cookie is marked Secure only when browsers use https.
		CORS:             uiconfig.CORS{CookieInsecure: public.Scheme != "https"},
		HideLogs:         true,
		DisableNewsFetch: true,
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuring the Temporal UI: %w", err)
	}
	s := &Server{
		ui:   uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg)),
		addr: net.JoinHostPort(host, strconv.Itoa(port)),
		url:  public.String(),
		done: make(chan struct{}),
	}
	// The UI server's Start blocks while it serves, and returns nil once
	// Stop closes it.
	go func() {
		defer close(s.done)
		s.err = s.ui.Start()
	}()
	if err := s.ready(ctx, "http://"+net.JoinHostPort(dialHost(host), strconv.Itoa(port))+"/healthz"); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// ready waits until the UI server answers its health check.
func (s *Server) ready(ctx context.Context, health string) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if err != nil {
			return fmt.Errorf("checking the Temporal UI at %s: %w", health, err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the Temporal UI at %s: %w", health, ctx.Err())
		case <-s.done:
			return fmt.Errorf("the Temporal UI stopped while starting on %s (error: %v)", health, s.err)
		case <-tick.C:
		}
	}
}

// Addr is the host:port the UI listens on, with the port chosen when
// Options.Listen asked for any.
func (s *Server) Addr() string { return s.addr }

// URL is the UI's base URL, without a trailing slash: Options.PublicURL,
// or http://host:port of the listen address (localhost when it listens on
// every interface).
func (s *Server) URL() string { return s.url }

// Stop closes the UI's listener and open connections, and returns once it
// no longer serves. Stop is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.ui.Stop()
		<-s.done
	})
}

// listenAddress splits a host:port and resolves port 0 to a free port;
// a chosen port is checked to be free, because a UI server that cannot
// bind exits the process.
func listenAddress(listen string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(listen)
	if err == nil {
		port, err = strconv.Atoi(p)
	}
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("UI listen address %q is not host:port (write for example 127.0.0.1:8233, or port 0 for a free one)", listen)
	}
	if port == 0 {
		port, err = freePort(host)
		return host, port, err
	}
	if err := checkPortFree(host, port); err != nil {
		return "", 0, fmt.Errorf("UI listen address %s is not free (pick another port, or 0 for any): %w", listen, err)
	}
	return host, port, nil
}

// publicURL is Options.PublicURL checked and without a trailing slash, or
// the listen address as an http URL.
func publicURL(public, host string, port int) (*url.URL, error) {
	if public == "" {
		return &url.URL{Scheme: "http", Host: net.JoinHostPort(linkHost(host), strconv.Itoa(port))}, nil
	}
	u, err := url.Parse(public)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("UI public URL %q is not an absolute http(s) URL without query or credentials (write for example https://prdeploy.example.com/temporal)", public)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// linkHost is the host for links to the listen address.
func linkHost(host string) string {
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return "localhost"
	}
	return host
}

// dialHost is the host to reach the listen address from this process.
func dialHost(host string) string {
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.Equal(net.IPv4zero):
		return "127.0.0.1"
	case ip != nil && ip.Equal(net.IPv6unspecified):
		return "::1"
	}
	return host
}

func bracketIPv6(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}
