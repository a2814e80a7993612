package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/webhook"
)

// ackDispatcher acknowledges every event, as Temporal does when it has
// made it durable.
type ackDispatcher struct{ n atomic.Int64 }

func (d *ackDispatcher) Dispatch(context.Context, webhook.Event) error {
	d.n.Add(1)
	return nil
}

// hostileServer serves the webhook endpoints as serve does: the same
// http.Server limits, one Gate shared by the GitHub and Slack handlers.
func hostileServer(t *testing.T, lim httpLimits) (addr string, d *ackDispatcher, gate *webhook.Gate) {
	t.Helper()
	d, gate = &ackDispatcher{}, webhook.NewGate(0, 0)
	quiet := slog.New(slog.DiscardHandler)
	gh, err := webhook.NewHandler(webhook.Config{Secrets: []webhook.Secret{"real-secret"}, Dispatcher: d, Logger: quiet, Gate: gate, Scope: webhook.Scope{Repo: "Codertocat/Hello-World"}})
	if err != nil {
		t.Fatal(err)
	}
	sl, err := webhook.NewSlackHandler(webhook.SlackConfig{TeamID: "T0PRDEPLOY", SigningSecrets: []webhook.Secret{"slack-secret"}, Dispatcher: d, Logger: quiet, Gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(webhook.Path, gh)
	mux.Handle(webhook.SlackPath, sl)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(mux, lim, quiet)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), d, gate
}

// hostileChildEnv makes TestHelperHostileServer serve instead of
// returning: TestHostileLoad runs the server in a process of its own, so
// that its RSS is the server's alone.
const hostileChildEnv = "PRDEPLOY_HOSTILE_SERVER_CHILD"

// TestHelperHostileServer is the server process of TestHostileLoad (it
// does nothing in a normal run): it serves as hostileServer does, prints
// its address, and when its stdin closes prints how much the gate held
// at most and how many events it dispatched.
func TestHelperHostileServer(t *testing.T) {
	if os.Getenv(hostileChildEnv) == "" {
		return
	}
	addr, d, gate := hostileServer(t, defaultHTTPLimits)
	var heldMax atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			heldMax.Store(max(heldMax.Load(), gate.Held()))
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	runtime.GC()
	debug.FreeOSMemory()
	fmt.Println("addr", addr)
	io.Copy(io.Discard, os.Stdin)
	close(done)
	fmt.Println("held-max", heldMax.Load(), "dispatched", d.n.Load())
}

// vmRSS is a process's resident set, from /proc/<pid>/status.
func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc/%d/status (not Linux?): %v", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/<pid>/status")
	return 0
}

// openedPayload is a real pull_request delivery (about 30 KB).
func openedPayload(t *testing.T) []byte {
	b, err := os.ReadFile("../../webhook/testdata/payloads/pull_request/opened.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileLoad is issue 14 item 3 under load: 200 slowloris
// connections (150 to the GitHub endpoint announcing 8 MB, 50 to Slack's
// announcing 1 MB, each trickling a byte a second behind a bogus
// signature) are held open while 8 clients flood forged deliveries, and
// signed deliveries keep being acknowledged. The server runs in a process
// of its own (this test binary, as TestHelperHostileServer); the test
// measures its RSS growth (goal < 50 MB) and the latency of the signed
// deliveries.
func TestHostileLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const (
		slowConns = 200
		flooders  = 8
		real      = 200
	)
	payload := openedPayload(t)
	child := exec.Command(os.Args[0], "-test.run=^TestHelperHostileServer$", "-test.count=1")
	child.Env = append(os.Environ(), hostileChildEnv+"=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var addr string
	for addr == "" && lines.Scan() {
		addr, _ = strings.CutPrefix(lines.Text(), "addr ")
	}
	if addr == "" {
		t.Fatal("the server process did not start")
	}
	pid := child.Process.Pid
	base := vmRSS(t, pid)

	var peak atomic.Int64
	peak.Store(base)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // sample RSS until the end
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if r := vmRSS(t, pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	// The slow connections: headers, 1 KB of body, then a byte a second.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	conns := make([]net.Conn, 0, slowConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range slowConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: pull_request\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n",
			webhook.Path, strings.Repeat("0", 64), webhook.MaxBodyBytes)
		if i%4 == 3 {
			head = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: %s\r\nX-Slack-Signature: v0=%s\r\nContent-Length: %d\r\n\r\n",
				webhook.SlackPath, ts, strings.Repeat("0", 64), webhook.SlackMaxBodyBytes)
		}
		if _, err := io.WriteString(c, head+strings.Repeat("a", 1024)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Add(1)
	go func() { // trickle
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for _, c := range conns {
					c.Write([]byte("a"))
				}
			}
		}
	}()

	// The flood: forged deliveries as fast as they are answered.
	var forged, forgedRefused, overloaded atomic.Int64
	for range flooders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for n := 0; n < 100_000; n++ { // bounded; stop ends it first
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+webhook.Path, bytes.NewReader(payload))
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-Hub-Signature-256", webhook.Sign("guessed", payload))
				resp, err := client.Do(req)
				forged.Add(1)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusUnauthorized:
					forgedRefused.Add(1)
				case http.StatusServiceUnavailable:
					overloaded.Add(1)
				}
			}
		}()
	}

	// The real deliveries, one after another, while all that goes on.
	client := &http.Client{Timeout: 10 * time.Second}
	var latencies []time.Duration
	codes := map[int]int{}
	for i := range real {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+webhook.Path, bytes.NewReader(payload))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "real-"+strconv.Itoa(i))
		req.Header.Set("X-Hub-Signature-256", webhook.Sign("real-secret", payload))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("signed delivery %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		latencies = append(latencies, time.Since(start))
		codes[resp.StatusCode]++
		time.Sleep(20 * time.Millisecond) // the pace of real deliveries, not synchronisation
	}

	// Still holding the slow connections: each answers nothing yet.
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && os.IsTimeout(err) {
			open++
		}
	}
	close(stop)
	wg.Wait()
	stdin.Close()
	var heldMax, dispatched int64
	for lines.Scan() {
		fmt.Sscanf(lines.Text(), "held-max %d dispatched %d", &heldMax, &dispatched)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("the server process: %v", err)
	}

	slices.Sort(latencies)
	q := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	growth := peak.Load() - base
	t.Logf("slow connections held to the end: %d of %d; forged deliveries sent: %d (401: %d, 503: %d)", open, slowConns, forged.Load(), forgedRefused.Load(), overloaded.Load())
	t.Logf("signed deliveries: %v; latency p50 %v, p99 %v, max %v", codes, q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
	t.Logf("server RSS: %d MB before, peak %d MB, growth %.1f MB; unverified bytes held at most %d KB", base>>20, peak.Load()>>20, float64(growth)/(1<<20), heldMax>>10)
	if codes[http.StatusAccepted] != real || dispatched != real {
		t.Errorf("signed deliveries acknowledged: %v, dispatched %d; want all %d accepted", codes, dispatched, real)
	}
	if open != slowConns {
		t.Errorf("only %d of %d slow connections were still held at the end: the test did not hold the load", open, slowConns)
	}
	if forgedRefused.Load() == 0 {
		t.Errorf("no forged delivery was refused: the flood did not reach the server")
	}
	if growth > 50<<20 {
		t.Errorf("RSS grew by %d MB, want < 50 MB", growth>>20)
	}
	if q(0.99) > time.Second {
		t.Errorf("p99 of signed deliveries %v, want under 1 s", q(0.99))
	}
}

// TestHTTPLimits: the server cuts off a body that trickles past the read
// timeout and headers that never end, and refuses oversized headers.
func TestHTTPLimits(t *testing.T) {
	lim := defaultHTTPLimits
	lim.ReadHeader, lim.Read = 300*time.Millisecond, 600*time.Millisecond
	addr, _, _ := hostileServer(t, lim)
	if defaultHTTPLimits.Read <= 0 || defaultHTTPLimits.Write <= webhook.DefaultDispatchTimeout || defaultHTTPLimits.Idle <= 0 ||
		defaultHTTPLimits.ReadHeader <= 0 || defaultHTTPLimits.MaxHeaderBytes <= 0 {
		t.Fatalf("default limits %+v", defaultHTTPLimits)
	}

	// ends reports how the server ends a connection: the status line it
	// answered (if any), within 5 s.
	ends := func(t *testing.T, c net.Conn) string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil && os.IsTimeout(err) {
			t.Fatal("the server still holds the connection after 5 s")
		}
		return strings.TrimSpace(line)
	}
	t.Run("body trickling past the read timeout", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: ping\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: 1000\r\n\r\nab", webhook.Path, strings.Repeat("0", 64))
		if got := ends(t, c); !strings.HasPrefix(got, "HTTP/1.1 400") {
			t.Errorf("answer %q, want 400 once the read timeout passed", got)
		}
	})
	t.Run("headers that never end", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nX-Slow: ", webhook.Path)
		if got := ends(t, c); got != "" && !strings.HasPrefix(got, "HTTP/1.1 408") {
			t.Errorf("answer %q, want the connection closed (or 408)", got)
		}
	})
	t.Run("headers over the limit", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+webhook.Path, strings.NewReader("{}"))
		req.Header.Set("X-Big", strings.Repeat("a", 2*defaultHTTPLimits.MaxHeaderBytes))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("answer %d, want 431", resp.StatusCode)
		}
	})
}
