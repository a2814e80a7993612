package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prdeploy/prdeploy/workflows"
)

// Client talks to one Alertmanager.
type Client struct {
	// URL is Alertmanager's base URL, e.g. http://alertmanager:9093.
	URL  string
	HTTP *http.Client
}

var _ workflows.Prober = (*Client)(nil)

// Alert is one alert as Alertmanager returns it.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// Active returns the active alerts (not silenced, not inhibited) that
// match every matcher ("severity=\"critical\"", "tenant=~\"acme|beta\"").
func (c *Client) Active(ctx context.Context, matchers []string) ([]Alert, error) {
	q := url.Values{"active": {"true"}, "silenced": {"false"}, "inhibited": {"false"}}
	for _, m := range matchers {
		q.Add("filter", m)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+"/api/v2/alerts?"+q.Encode(), nil)
	if err != nil {
		return nil, workflows.Permanent(fmt.Errorf("alertmanager URL %q: %w", c.URL, err))
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking alertmanager: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("reading alertmanager's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("alertmanager answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
		if resp.StatusCode == http.StatusBadRequest { // a bad matcher: fix the plan
			return nil, workflows.Permanent(fmt.Errorf("%w (matchers %s)", err, strings.Join(matchers, ", ")))
		}
		return nil, err
	}
	var alerts []Alert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, fmt.Errorf("reading alertmanager's answer: %w", err)
	}
	return alerts, nil
}

// Probe runs noCriticalAlerts once for a tenant: it fails while any
// matching alert is active.
func (c *Client) Probe(ctx context.Context, _ string, t workflows.CheckTarget) (workflows.CheckResult, error) {
	alerts, err := c.Active(ctx, t.Matchers)
	if err != nil {
		return workflows.CheckResult{}, err
	}
	if len(alerts) == 0 {
		return workflows.CheckResult{OK: true}, nil
	}
	return workflows.CheckResult{Reason: Describe(alerts, t.Matchers)}, nil
}

// Describe says which alerts fire, briefly: at most three named, with
// their summary annotation.
func Describe(alerts []Alert, matchers []string) string {
	names := make([]string, 0, len(alerts))
	for _, a := range alerts {
		n := a.Labels["alertname"]
		if n == "" {
			n = "(unnamed)"
		}
		if s := a.Annotations["summary"]; s != "" {
			n += ": " + s
		}
		names = append(names, n)
	}
	sort.Strings(names)
	more := ""
	if len(names) > 3 {
		more = fmt.Sprintf(" and %d more", len(names)-3)
		names = names[:3]
	}
	noun := "alert"
	if len(alerts) > 1 {
		noun = "alerts"
	}
	return fmt.Sprintf("%d %s firing matching %s: %s%s", len(alerts), noun, strings.Join(matchers, ", "), strings.Join(names, "; "), more)
}
