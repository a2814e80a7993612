package alertstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Alertmanager is a running Alertmanager.
type Alertmanager struct {
	URL string
	cmd *exec.Cmd
}

// Binary finds the Alertmanager binary.
func Binary() (string, error) {
	if b := os.Getenv("PRDEPLOY_ALERTMANAGER"); b != "" {
		return b, nil
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Alertmanager binary: install Debian's prometheus-alertmanager or set PRDEPLOY_ALERTMANAGER")
}

const config = `route:
  receiver: "null"
  group_wait: 0s
receivers:
  - name: "null"
`

// Start starts an Alertmanager that lives as long as the test.
func Start(t testing.TB) *Alertmanager {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("PRDEPLOY_REAL") == "required" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr,
		"--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	am := &Alertmanager{URL: "http://" + addr, cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(am.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return am
			}
		}
		select {
		case <-ctx.Done():
			log, _ := os.ReadFile(filepath.Join(dir, "alertmanager.log"))
			t.Fatalf("alertmanager not ready at %s: %s", am.URL, log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Fire posts an alert with these labels (and a summary annotation), active
// from now for an hour.
func (am *Alertmanager) Fire(t testing.TB, summary string, labels map[string]string) {
	t.Helper()
	alert := map[string]any{
		"labels":      labels,
		"annotations": map[string]string{"summary": summary},
		"startsAt":    time.Now().Add(-time.Minute).Format(time.RFC3339),
		"endsAt":      time.Now().Add(time.Hour).Format(time.RFC3339),
	}
	am.post(t, "/api/v2/alerts", []any{alert})
}

// Resolve ends an alert with these labels.
func (am *Alertmanager) Resolve(t testing.TB, labels map[string]string) {
	t.Helper()
	alert := map[string]any{
		"labels":   labels,
		"startsAt": time.Now().Add(-time.Minute).Format(time.RFC3339),
		"endsAt":   time.Now().Add(-time.Second).Format(time.RFC3339),
	}
	am.post(t, "/api/v2/alerts", []any{alert})
}

// Silence silences alerts whose labels equal these, for an hour.
func (am *Alertmanager) Silence(t testing.TB, labels map[string]string) {
	t.Helper()
	var matchers []map[string]any
	for k, v := range labels {
		matchers = append(matchers, map[string]any{"name": k, "value": v, "isRegex": false, "isEqual": true})
	}
	am.post(t, "/api/v2/silences", map[string]any{
		"matchers": matchers, "startsAt": time.Now().Add(-time.Second).Format(time.RFC3339),
		"endsAt": time.Now().Add(time.Hour).Format(time.RFC3339), "createdBy": "prdeploy-test", "comment": "test",
	})
}

func (am *Alertmanager) post(t testing.TB, path string, body any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(am.URL+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}
