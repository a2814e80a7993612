package workflows_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/internal/gitrepo/gittest"
	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// canaryRepo writes a GitOps repository with n tenants whose "web" service
// carries a Secret holding canary, commits it, and returns the directory
// and the commit.
func canaryRepo(t *testing.T, n int, canary string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	var fleet strings.Builder
	fleet.WriteString("apiVersion: prdeploy.dev/v1\nkind: Fleet\nclusters: [{name: c1}]\nservices:\n  - {name: web, image: registry.example.com/web}\ntenants:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&fleet, "  - {name: acme-prod-%03d, cluster: c1, namespace: tenant-acme-prod-%03d, labels: {tier: all}}\n", i, i)
	}
	files := map[string]string{
		"fleet.yaml":                      fleet.String(),
		"services/web/kustomization.yaml": "resources: [deployment.yaml, secret.yaml]\n",
		"services/web/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example.com/web:1}]}
`,
		"services/web/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: web-db}\nstringData: {password: " + canary + "}\n",
		"deploys/web-2.yaml": `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: web-2}
spec:
  clusters: [c1]
  services: [{name: web, tag: "2"}]
  tenants: {selector: {matchLabels: {tier: all}}}
  rollout: {canary: {tenants: [acme-prod-001]}, approval: after-canary, maxParallel: 50}
  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`,
	}
	return dir, gittest.Commit(t, dir, "", files, "web 2")
}

// readingCluster is the simulated cluster, except that Apply reads the
// manifests from the payload store first, as the real adapter does, and
// counts those that hold the canary (proof that it reached the cluster).
type readingCluster struct {
	*sim.Cluster
	store  *payload.Store
	canary string
	seen   atomic.Int64
}

func (c *readingCluster) Apply(ctx context.Context, t workflows.ServiceTarget) (workflows.ApplyResult, error) {
	data, err := c.store.Get(ctx, payload.Ref{Key: t.ManifestRef, Digest: t.ManifestDigest})
	if err != nil {
		return workflows.ApplyResult{}, err
	}
	if bytes.Contains(data, []byte(c.canary)) {
		c.seen.Add(1)
	}
	return c.Cluster.Apply(ctx, t)
}

// TestNoSecretInHistoriesOrLogs is the proof the payload design rests on:
// a 500-tenant deployment whose manifests hold a random secret runs end to
// end (real Git repository, real Prepare, encrypted payload store, the
// embedded Temporal server); then every workflow history of the namespace
// is read back through the Temporal API, and neither they nor the logs of
// the server and worker contain the secret. The largest event payload
// stays under 64 KiB.
func TestNoSecretInHistoriesOrLogs(t *testing.T) {
	tenants := 500
	if testing.Short() {
		tenants = 20
	}
	canaryBytes := make([]byte, 16)
	rand.Read(canaryBytes)
	canary := "canary-" + hex.EncodeToString(canaryBytes)
	repoDir, sha := canaryRepo(t, tenants, canary)

	var logs syncBuffer
	handler := slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	ts := temporaltest.NewServer(
		temporaltest.WithT(t),
		temporaltest.WithBaseServerOptions(temporal.WithLogger(log.NewZapLogger(zap.New(
			zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(&logs), zapcore.DebugLevel))))),
		temporaltest.WithBaseClientOptions(client.Options{Logger: sdklog.NewStructuredLogger(slog.New(handler))}),
		temporaltest.WithBaseWorkerOptions(worker.Options{MaxConcurrentWorkflowTaskPollers: 4, MaxConcurrentActivityTaskPollers: 4}),
	)
	c := ts.GetDefaultClient()
	store, err := payload.OpenMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cluster := &readingCluster{Cluster: sim.NewCluster(0), store: store, canary: canary}
	acts := &workflows.Activities{
		Plans:   &prepare.Preparer{Repos: gitrepo.Local{Dirs: map[string]string{"acme/deploys": repoDir}}, Store: store},
		Cluster: cluster, Probes: sim.NewProber(), Directory: sim.Directory{"ana": {"acme/sre"}},
		Locks: temporalx.Locks{Client: c}, Watcher: temporalx.Watcher{Client: c},
	}
	ts.NewWorker(workflows.TaskQueue, func(r worker.Registry) { workflows.Register(r, acts) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.DeployWorkflowID("c1", "web-2"), TaskQueue: workflows.TaskQueue},
		workflows.OrchestrationWorkflow, workflows.OrchestrationInput{Request: workflows.DeployRequest{
			Repo: "acme/deploys", SHA: sha, PlanPath: "deploys/web-2.yaml", Cluster: "c1", DeploymentID: "web-2", PR: 7, PRAuthor: "author", MergedBy: "ana"}})
	if err != nil {
		t.Fatal(err)
	}
	// The canary gate: an SRE approves once the canary is done.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		st := statusOf(t, c, "web-2")
		if len(st.Gates) > 0 && !st.Gates[0].WaitingSince.IsZero() {
			break
		}
		if st.Phase == workflows.PhaseFailed || st.Phase == workflows.PhaseSucceeded || time.Now().After(deadline) {
			t.Fatalf("not waiting at the canary gate: %s %s", st.Phase, st.Error)
		}
		time.Sleep(50 * time.Millisecond) // polling the query, as the check run does
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.DeployWorkflowID("c1", "web-2"), UpdateName: workflows.UpdateApprove,
		Args: []any{workflows.ApproveRequest{Login: "ana", Source: "comment", SourceID: "1"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var st workflows.Status
	if err := run.Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Phase != workflows.PhaseSucceeded || st.Counts[workflows.TenantSucceeded] != tenants {
		t.Fatalf("deployment: %s %v %s", st.Phase, st.Counts, st.Error)
	}
	if got := cluster.seen.Load(); got != int64(tenants) {
		t.Fatalf("%d applies read manifests holding the secret, want %d", got, tenants)
	}
	t.Logf("%d tenants deployed in %v", tenants, time.Since(start).Round(time.Millisecond))

	// Every history in the namespace, through the API.
	var workflowsSeen, events int
	largest, largestAt := 0, ""
	var next []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 100, NextPageToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.Executions {
			workflowsSeen++
			it := c.GetWorkflowHistory(ctx, e.Execution.WorkflowId, e.Execution.RunId, false, 0)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				events++
				raw, err := proto.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(raw, []byte(canary)) {
					t.Errorf("the secret is in event %d (%s) of %s", ev.EventId, ev.EventType, e.Execution.WorkflowId)
				}
				if n := payloadSize(ev); n > largest {
					largest, largestAt = n, fmt.Sprintf("%s event %d (%s)", e.Execution.WorkflowId, ev.EventId, ev.EventType)
				}
			}
		}
		if next = resp.NextPageToken; len(next) == 0 {
			break
		}
	}
	if workflowsSeen < tenants {
		t.Fatalf("only %d workflows listed", workflowsSeen)
	}
	if bytes.Contains(logs.Bytes(), []byte(canary)) {
		t.Error("the secret is in the logs")
	}
	if len(logs.Bytes()) == 0 {
		t.Error("no logs were captured: the check proves nothing")
	}
	t.Logf("%d workflows, %d events, %d KiB of logs scanned; largest payload %d bytes (%s)", workflowsSeen, events, len(logs.Bytes())>>10, largest, largestAt)
	if largest >= 64<<10 {
		t.Errorf("largest payload %d bytes ≥ 64 KiB", largest)
	}
}

// payloadSize is the size of the largest Payloads an event carries
// (workflow and activity inputs and results, signal and update arguments).
func payloadSize(ev *historypb.HistoryEvent) int {
	largest := 0
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if p, ok := m.Interface().(*commonpb.Payloads); ok {
			largest = max(largest, proto.Size(p))
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
				for i := range v.List().Len() {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message())
					return true
				})
			case !fd.IsList() && !fd.IsMap() && fd.Kind() == protoreflect.MessageKind:
				walk(v.Message())
			}
			return true
		})
	}
	walk(ev.ProtoReflect())
	return largest
}

func statusOf(t *testing.T, c client.Client, id string) workflows.Status {
	t.Helper()
	v, err := c.QueryWorkflow(context.Background(), workflows.DeployWorkflowID("c1", id), "", workflows.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
