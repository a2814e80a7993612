package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const taskQueue = "devserver-test"

// gateWorkflow is a deployment in miniature: it counts approvals (an
// update) and waits for a release signal.
func gateWorkflow(ctx workflow.Context, service string) (string, error) {
	var approvers []string
	err := workflow.SetUpdateHandlerWithOptions(ctx, "approve",
		func(ctx workflow.Context, who string) (int, error) {
			approvers = append(approvers, who)
			return len(approvers), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, who string) error {
			if who == "" {
				return errors.New("approver is required")
			}
			return nil
		}})
	if err != nil {
		return "", err
	}
	var note string
	workflow.GetSignalChannel(ctx, "release").Receive(ctx, &note)
	return fmt.Sprintf("%s released (%s) after %v", service, note, approvers), nil
}

func pingWorkflow(workflow.Context) (string, error) { return "pong", nil }

func startWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(gateWorkflow, workflow.RegisterOptions{Name: "gate"})
	w.RegisterWorkflowWithOptions(pingWorkflow, workflow.RegisterOptions{Name: "ping"})
	if err := w.Start(); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	t.Cleanup(w.Stop) // Stop is idempotent
	return w
}

// testLogger writes to the test's output until the test ends; server
// goroutines that log later are ignored rather than crash the test binary.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("%s", p)
	}
	return len(p), nil
}

func start(t *testing.T, ctx context.Context, opts Options) *Server {
	t.Helper()
	began := time.Now()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start(%+v): %v", opts, err)
	}
	t.Cleanup(s.Stop)
	took := time.Since(began).Round(time.Millisecond)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	t.Logf("server on %s (data dir %q) ready in %v; test process: heap %d MiB, Go runtime from OS %d MiB, RSS %s, %d goroutines",
		s.FrontendAddress(), opts.DataDir, took, m.HeapAlloc>>20, m.Sys>>20, rss(), runtime.NumGoroutine())
	return s
}

// rss is the process's resident set size where /proc tells it.
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func approve(ctx context.Context, c client.Client, workflowID, who string) (int, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: "approve", Args: []any{who},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return 0, err
	}
	var n int
	err = h.Get(ctx, &n)
	return n, err
}

func TestRestartKeepsWorkflowsAndSchedules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	logger := testLogger(t)

	// First life: a deployment waits at its gate with one approval, and a
	// schedule has fired once.
	s := start(t, ctx, Options{DataDir: dir, Logger: logger})
	if s.Namespace() != DefaultNamespace {
		t.Errorf("Namespace() = %q, want %q", s.Namespace(), DefaultNamespace)
	}
	c := dial(t, s)
	w := startWorker(t, c)
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "deploy:web", TaskQueue: taskQueue}, "gate", "web"); err != nil {
		t.Fatalf("starting workflow: %v", err)
	}
	if n, err := approve(ctx, c, "deploy:web", "alice"); err != nil || n != 1 {
		t.Fatalf("approve(alice) = %d, %v; want 1, nil", n, err)
	}
	if _, err := approve(ctx, c, "deploy:web", ""); err == nil {
		t.Fatal("approve(\"\") was accepted; want the validator's rejection")
	}

	sched, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     "nightly",
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: "ping", Workflow: "ping", TaskQueue: taskQueue},
	})
	if err != nil {
		t.Fatalf("creating schedule: %v", err)
	}
	if err := sched.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatalf("triggering schedule: %v", err)
	}
	var pingID string
	for pingID == "" {
		d, err := sched.Describe(ctx)
		if err != nil {
			t.Fatalf("describing schedule: %v", err)
		}
		if len(d.Info.RecentActions) > 0 {
			pingID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		} else if ctx.Err() != nil {
			t.Fatal("the triggered schedule never started its workflow")
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	var pong string
	if err := c.GetWorkflow(ctx, pingID, "").Get(ctx, &pong); err != nil || pong != "pong" {
		t.Fatalf("scheduled workflow %s = %q, %v; want pong", pingID, pong, err)
	}

	if _, err := Start(ctx, Options{DataDir: dir}); !errors.Is(err, ErrDataDirInUse) {
		t.Errorf("second Start on a data dir in use: err = %v, want ErrDataDirInUse", err)
	}

	w.Stop()
	c.Close()
	began := time.Now()
	s.Stop()
	t.Logf("stopped in %v; %d goroutines left in the test process", time.Since(began).Round(time.Millisecond), runtime.NumGoroutine())

	// Second life, on the same file, with a shorter retention.
	s = start(t, ctx, Options{DataDir: dir, Logger: logger, Retention: 72 * time.Hour})
	c = dial(t, s)

	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 72*time.Hour {
		t.Errorf("retention after restart = %v, want 72h", got)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, "deploy:web", "")
	if err != nil {
		t.Fatalf("the workflow did not survive the restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow status after restart = %v, want running", st)
	}
	if _, err := c.ScheduleClient().GetHandle(ctx, "nightly").Describe(ctx); err != nil {
		t.Errorf("the schedule did not survive the restart: %v", err)
	}

	startWorker(t, c)
	if n, err := approve(ctx, c, "deploy:web", "bob"); err != nil || n != 2 {
		t.Fatalf("approve(bob) after restart = %d, %v; want 2, nil (state rebuilt from history)", n, err)
	}
	if err := c.SignalWorkflow(ctx, "deploy:web", "", "release", "go"); err != nil {
		t.Fatalf("signalling after restart: %v", err)
	}
	var result string
	if err := c.GetWorkflow(ctx, "deploy:web", "").Get(ctx, &result); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if want := "web released (go) after [alice bob]"; result != want {
		t.Errorf("result = %q, want %q", result, want)
	}
}

func TestInMemory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := start(t, ctx, Options{Namespace: "demo", Logger: testLogger(t)})
	if s.Namespace() != "demo" {
		t.Errorf("Namespace() = %q, want demo", s.Namespace())
	}
	c := dial(t, s)
	startWorker(t, c)

	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "deploy:api", TaskQueue: taskQueue}, "gate", "api"); err != nil {
		t.Fatal(err)
	}
	if n, err := approve(ctx, c, "deploy:api", "carol"); err != nil || n != 1 {
		t.Fatalf("approve(carol) = %d, %v; want 1, nil", n, err)
	}
	if err := c.SignalWorkflow(ctx, "deploy:api", "", "release", "now"); err != nil {
		t.Fatal(err)
	}
	var result string
	if err := c.GetWorkflow(ctx, "deploy:api", "").Get(ctx, &result); err != nil {
		t.Fatal(err)
	}
	if want := "api released (now) after [carol]"; result != want {
		t.Errorf("result = %q, want %q", result, want)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"short retention": {Retention: time.Minute},
		"port range":      {FrontendPort: 70000},
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := Start(context.Background(), opts); err == nil {
				s.Stop()
				t.Fatalf("Start(%+v) succeeded; want an error", opts)
			}
		})
	}
}
