package serve_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/secrets/localsecrets"
)

// BenchmarkServeStartup measures `prdeploy serve` as a process of its own
// (this test binary in serve mode) on the embedded Temporal server and its
// Web UI: the time from exec to ready (everything listens) on a new data
// directory and again on the same one (a restart), the resident memory
// after 3 s idle, and the time to stop on SIGTERM.
func BenchmarkServeStartup(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	key, _ := localsecrets.NewRandomKey()
	env := append(os.Environ(), "BENCH_TOKEN=t", "BENCH_SECRET=s", "BENCH_KEY=base64key://"+base64.URLEncoding.EncodeToString(key[:]))
	var cold, warm, stop time.Duration
	var rss int64
	for range b.N {
		dir := b.TempDir()
		cfg := filepath.Join(dir, "prdeploy.yaml")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, `listen: "127.0.0.1:0"
dataDir: %s
temporal: {listen: "127.0.0.1:0", uiListen: "127.0.0.1:0"}
metrics: {listen: "127.0.0.1:0"}
github: {apiURL: "http://127.0.0.1:1/", token: env:BENCH_TOKEN, webhookSecrets: env:BENCH_SECRET, repo: acme/deploys}
payloads: {keys: {k1: env:BENCH_KEY}}
`, filepath.Join(dir, "data")), 0o600); err != nil {
			b.Fatal(err)
		}
		for run := range 2 {
			cmd := exec.Command(exe)
			cmd.Env = append(env, serveChildEnv+"="+cfg)
			out, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			ready := false
			for lines.Scan() {
				if strings.HasPrefix(lines.Text(), serveReadyPrefix) {
					ready = true
					break
				}
			}
			if !ready {
				_ = cmd.Process.Kill()
				b.Fatalf("serve did not start (run %d)", run)
			}
			took := time.Since(start)
			if run == 0 {
				cold += took
				time.Sleep(3 * time.Second) // idle, for the memory figure: a measurement, not a synchronisation
				rss += residentKB(b, cmd.Process.Pid)
			} else {
				warm += took
			}
			stopAt := time.Now()
			_ = cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				b.Fatalf("serve did not stop cleanly: %v", err)
			}
			stop += time.Since(stopAt)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(cold.Milliseconds())/n, "ms-ready-new")
	b.ReportMetric(float64(warm.Milliseconds())/n, "ms-ready-restart")
	b.ReportMetric(float64(stop.Milliseconds())/n/2, "ms-stop")
	b.ReportMetric(float64(rss)/1024/n, "MB-rss-idle")
}

// residentKB is a process's resident set size (VmRSS) in KiB.
func residentKB(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
