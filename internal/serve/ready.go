package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/githubapp"
	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/payload"
)

// Readiness: what serve needs to do its work, checked once at start (what
// cannot fix itself fails the start, with the reason) and on every
// GET /readyz (each dependency with its own reason, in bounded time).
const (
	// probeTimeout bounds each dependency's probe; the probes run in
	// parallel, so /readyz answers within about this long.
	probeTimeout = 3 * time.Second
	// readyTTL is how long a /readyz answer is reused: probes ask GitHub,
	// the bucket and every cluster, and Kubernetes asks every few seconds
	// per replica.
	readyTTL = 5 * time.Second
	// startCheckTimeout bounds the checks at start.
	startCheckTimeout = 10 * time.Second
)

// dependency is something serve needs, with a probe that says whether it
// answers.
type dependency struct {
	name  string
	probe func(ctx context.Context) error
}

// DependencyStatus is one dependency in /readyz's answer.
type DependencyStatus struct {
	Name   string `json:"name"`
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
	// TookMS is how long the probe took, in milliseconds.
	TookMS int64 `json:"tookMs"`
}

// ReadyReport is /readyz's JSON answer (503 unless Ready).
type ReadyReport struct {
	Ready        bool               `json:"ready"`
	Dependencies []DependencyStatus `json:"dependencies"`
}

// readiness answers /readyz.
type readiness struct {
	deps    []dependency
	timeout time.Duration
	ttl     time.Duration

	mu   sync.Mutex
	last ReadyReport
	at   time.Time
}

// readinessDeps are the dependencies of a serve; nil fields are not
// probed (a worker-less role, the demo's simulated cluster).
type readinessDeps struct {
	Temporal client.Client
	GitHub   *githubapp.Client
	Payloads *payload.Store
	// Kube, when set, is probed for each context of its kubeconfig.
	Kube *kube.Clients
}

// checkConfigFiles checks, before anything starts, the files the
// configuration names that nothing else opens at start: a kubeconfig that
// does not exist or does not parse fails the start.
func checkConfigFiles(cfg *config.Config) error {
	path := cfg.Clusters.Kubeconfig
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("clusters.kubeconfig: %w (give the kubeconfig holding a context per cluster of fleet.yaml, or leave it out for $KUBECONFIG, ~/.kube/config or in-cluster)", err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return fmt.Errorf("clusters.kubeconfig: %s is not a kubeconfig: %w", path, err)
	}
	if len(kc.Contexts) == 0 {
		return fmt.Errorf("clusters.kubeconfig: %s has no contexts: prdeploy reaches each cluster of fleet.yaml through the context its kubeContext names", path)
	}
	return nil
}

// newReadiness lists the dependencies and checks at start what will not
// fix itself: credentials GitHub refuses fail the start. Dependencies that
// do not answer (yet) are logged and left to /readyz.
func newReadiness(ctx context.Context, d readinessDeps, log *slog.Logger) (*readiness, error) {
	r := &readiness{timeout: probeTimeout, ttl: readyTTL}
	if d.Temporal != nil {
		r.deps = append(r.deps, dependency{"temporal", func(ctx context.Context) error {
			_, err := d.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}})
	}
	if d.GitHub != nil {
		r.deps = append(r.deps, dependency{"github", func(ctx context.Context) error {
			_, err := d.GitHub.Verify(ctx)
			return err
		}})
	}
	if d.Payloads != nil {
		r.deps = append(r.deps, dependency{"payloads", d.Payloads.Reachable})
	}
	if d.Kube != nil {
		contexts, err := kubeContexts(d.Kube.Kubeconfig)
		if err != nil {
			log.Warn("no Kubernetes cluster to probe for /readyz", "error", err)
		}
		for _, name := range contexts {
			r.deps = append(r.deps, dependency{"kubernetes/" + name, func(ctx context.Context) error {
				return probeCluster(ctx, d.Kube, name)
			}})
		}
	}

	sctx, cancel := context.WithTimeout(ctx, startCheckTimeout)
	defer cancel()
	rep, errs := r.probe(sctx, startCheckTimeout)
	for i, dep := range rep.Dependencies {
		switch {
		case errors.Is(errs[i], githubapp.ErrRefused):
			return nil, fmt.Errorf("github: %w; check github.appID and github.privateKey (or github.token) and github.apiURL", errs[i])
		case !dep.Ready:
			log.Warn("a dependency is not ready; /readyz says so until it is", "dependency", dep.Name, "reason", dep.Reason)
		}
	}
	return r, nil
}

// kubeContexts lists the contexts of the kubeconfig (the usual rules when
// path is empty).
func kubeContexts(path string) ([]string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	kc, err := rules.Load()
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range kc.Contexts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// probeCluster asks the context's API server for /readyz (which anyone may
// read, as /version).
func probeCluster(ctx context.Context, cs *kube.Clients, kubeContext string) error {
	c, err := cs.For(kubeContext, kubeContext)
	if err != nil {
		return err
	}
	if err := c.Typed.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
		return fmt.Errorf("API server of context %s: %w", kubeContext, err)
	}
	return nil
}

// check probes every dependency in parallel, each within r.timeout.
func (r *readiness) check(ctx context.Context) ReadyReport {
	rep, _ := r.probe(ctx, r.timeout)
	return rep
}

// probe probes every dependency in parallel, each within timeout, and
// returns their errors beside the report.
func (r *readiness) probe(ctx context.Context, timeout time.Duration) (ReadyReport, []error) {
	rep := ReadyReport{Ready: true, Dependencies: make([]DependencyStatus, len(r.deps))}
	errs := make([]error, len(r.deps))
	var wg sync.WaitGroup
	for i, d := range r.deps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			err := runProbe(pctx, d.probe)
			errs[i] = err
			st := DependencyStatus{Name: d.name, Ready: err == nil, TookMS: time.Since(start).Milliseconds()}
			if err != nil {
				st.Reason = err.Error()
				if errors.Is(err, context.DeadlineExceeded) {
					st.Reason = fmt.Sprintf("no answer within %v", timeout)
				}
			}
			rep.Dependencies[i] = st
		}()
	}
	wg.Wait()
	for _, d := range rep.Dependencies {
		rep.Ready = rep.Ready && d.Ready
	}
	return rep, errs
}

// runProbe runs a probe, but returns when ctx ends even if the probe does
// not (a client that ignores its context must not hold /readyz).
func runProbe(ctx context.Context, probe func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- probe(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP answers /readyz: 200 when every dependency answers, else 503,
// with a JSON body that gives each dependency's state and reason.
func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at.IsZero() || time.Since(r.at) > r.ttl {
		r.last, r.at = r.check(req.Context()), time.Now()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !r.last.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = writeReport(w, r.last)
}

func writeReport(w http.ResponseWriter, rep ReadyReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
