package kube

import (
	"cmp"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prdeploy/prdeploy/planner"
)

// Client is one cluster's clients, shared by every activity that touches it.
type Client struct {
	Applier
	Typed    kubernetes.Interface
	requests atomic.Int64
	cfg      *rest.Config // as given to NewClient
}

// Requests is how many HTTP requests this client has sent to the apiserver.
func (c *Client) Requests() int64 { return c.requests.Load() }

// NewClient builds a Client from a rest config. QPS and Burst are raised
// from client-go's defaults (5 and 10), which would throttle a deployer
// rolling out many tenants in parallel.
func NewClient(cfg *rest.Config) (*Client, error) {
	given := rest.CopyConfig(cfg)
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 100, 200
	}
	cfg.UserAgent = "prdeploy"
	c := &Client{cfg: given}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			c.requests.Add(1)
			return rt.RoundTrip(r)
		})
	})
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.Applier = Applier{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
	c.Typed = typed
	return c, nil
}

// WithRate returns a new client of the same cluster and credentials with
// its own client-side rate limit (requests per second and burst), so that
// one kind of work (previews) neither waits for nor slows the others.
func (c *Client) WithRate(qps float32, burst int) (*Client, error) {
	cfg := rest.CopyConfig(c.cfg)
	cfg.QPS, cfg.Burst = qps, burst
	return NewClient(cfg)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Clients opens one Client per cluster from kubeconfig contexts, and
// reuses it.
type Clients struct {
	// Kubeconfig is the kubeconfig file; empty means the usual rules
	// ($KUBECONFIG, then ~/.kube/config).
	Kubeconfig string
	// Contexts maps a fleet cluster to its kubeconfig context (fleet.yaml's
	// kubeContext); a cluster not listed uses the context of its own name.
	Contexts map[string]string

	mu        sync.Mutex
	byCluster map[string]*Client // by cluster and context
}

// ContextsOf maps each cluster of the fleet to its kubeConfig context
// (fleet.yaml's kubeContext, else the cluster's name).
func ContextsOf(f *planner.Fleet) map[string]string {
	m := make(map[string]string, len(f.Clusters))
	for _, c := range f.Clusters {
		m[c.Name] = cmp.Or(c.KubeContext, c.Name)
	}
	return m
}

// For returns the cluster's client, opening it on first use. kubeContext
// is fleet.yaml's kubeContext for the cluster, carried by the target; when
// empty, Contexts says, else the context named like the cluster.
func (cs *Clients) For(cluster, kubeContext string) (*Client, error) {
	ctxName := cmp.Or(kubeContext, cs.Contexts[cluster], cluster)
	key := cluster + "\x00" + ctxName
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.byCluster[key]; ok {
		return c, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cs.Kubeconfig != "" {
		rules.ExplicitPath = cs.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: ctxName}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig context %q: %w", cluster, ctxName, err)
	}
	c, err := NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	if cs.byCluster == nil {
		cs.byCluster = map[string]*Client{}
	}
	cs.byCluster[key] = c
	return c, nil
}
