package workflows_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/prdeploy/prdeploy/workflows"
)

var record = flag.Bool("record", false, "record workflow histories of the integration tests into testdata/histories")

// recordHistory writes a workflow run's history as JSON (the format of
// `temporal workflow show --output json`) when -record is set.
func (h *harness) recordHistory(name, workflowID, runID string) {
	h.t.Helper()
	if !*record {
		return
	}
	var events []*historypb.HistoryEvent
	it := h.c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			h.t.Fatal(err)
		}
		events = append(events, e)
	}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.MkdirAll("testdata/histories", 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata/histories", name+".json"), data, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// TestReplayRecordedHistories replays every recorded history against the
// current workflow code: a change that would break running workflows fails
// here (guard such changes with workflow.GetVersion).
// Re-record with: go test ./workflows -run 'Test' -record
func TestReplayRecordedHistories(t *testing.T) {
	files, _ := filepath.Glob("testdata/histories/*.json")
	if len(files) < 8 {
		t.Fatalf("only %d recorded histories; record them with go test ./workflows -record", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			workflows.RegisterWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}
