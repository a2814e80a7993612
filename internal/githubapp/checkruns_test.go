package githubapp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/prdeploy/prdeploy/workflows"
)

const headSHA = "0123456789abcdef0123456789abcdef01234567"

func annotations(n int) []workflows.Annotation {
	var out []workflows.Annotation
	for i := range n {
		out = append(out, workflows.Annotation{Path: "deploys/api.yaml", StartLine: i + 1, Level: "failure", Message: fmt.Sprintf("problem %d", i)})
	}
	return out
}

func TestPublishCheckRunCreatesThenUpdatesTheSameRun(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	c := newTokenClient(t, f)
	ctx := context.Background()

	cr := workflows.CheckRun{
		Repo: "acme/deploys", HeadSHA: headSHA, Name: "prdeploy/deploy", ExternalID: "deploy:prod/api",
		DetailsURL: "https://prdeploy.example/d/api",
		Report: workflows.Report{Title: "api in prod: deploying", Summary: "summary", Text: "| table |", Status: "in_progress",
			Actions: []workflows.ReportAction{{Label: "Pause", Description: "Start no more tenants", Identifier: "pause"}}},
		Annotations: annotations(120),
	}
	id, err := c.PublishCheckRun(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	writes := f.seen("", "/repos/acme/deploys/check-runs*")
	if len(writes) != 3 || writes[0].method != "POST" || writes[1].method != "PATCH" || writes[2].method != "PATCH" {
		t.Fatalf("writes = %v, want POST then 2 PATCH", methods(writes))
	}
	var sizes []int
	for _, w := range writes {
		var req checkRunRequest
		if err := json.Unmarshal(w.body, &req); err != nil {
			t.Fatal(err)
		}
		if req.Output == nil || req.Output.Title != cr.Report.Title || req.Output.Summary != "summary" || req.Name != cr.Name {
			t.Errorf("%s without the output's title and summary: %s", w.method, w.body)
		}
		sizes = append(sizes, len(req.Output.Annotations))
	}
	if fmt.Sprint(sizes) != "[50 50 20]" {
		t.Errorf("annotation batches = %v, want [50 50 20]", sizes)
	}
	run := f.run(id)
	if run.Annotations != 120 || run.Status != "in_progress" || run.ExternalID != "deploy:prod/api" || len(run.Actions) != 1 {
		t.Errorf("run = %+v", run)
	}

	// The deployment finishes: the same run is updated, buttons cleared.
	cr.Report = workflows.Report{Title: "api in prod: done", Summary: "all good", Status: "completed", Conclusion: "success"}
	cr.Annotations = nil
	id2, err := c.PublishCheckRun(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	if id2 != id {
		t.Errorf("second publish made run %d, want the update of %d", id2, id)
	}
	if n := f.count("POST", "/repos/acme/deploys/check-runs"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	last := f.seen("PATCH", "/repos/acme/deploys/check-runs*")
	if !strings.Contains(string(last[len(last)-1].body), `"actions":[]`) {
		t.Errorf("a completed run must clear its buttons: %s", last[len(last)-1].body)
	}
	run = f.run(id)
	if run.Status != "completed" || run.Conclusion != "success" || run.Title != "api in prod: done" || len(run.Actions) != 0 {
		t.Errorf("run = %+v", run)
	}

	// Another deployment on the same commit has its own run.
	cr.ExternalID = "deploy:staging/api"
	id3, err := c.PublishCheckRun(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	if id3 == id {
		t.Error("a different external ID updated the other deployment's run")
	}
}

func TestPublishCheckRunWaitingForPeopleStaysInProgress(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	c := newTokenClient(t, f)

	long := strings.Repeat("é", 300)
	id, err := c.PublishCheckRun(context.Background(), workflows.CheckRun{
		Repo: "acme/deploys", HeadSHA: headSHA, Name: "prdeploy/deploy", ExternalID: "deploy:prod/api",
		Report: workflows.Report{Title: long, Summary: "waiting", Status: "in_progress", Conclusion: "action_required"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := f.seen("POST", "/repos/acme/deploys/check-runs")
	var req checkRunRequest
	if err := json.Unmarshal(s[0].body, &req); err != nil {
		t.Fatal(err)
	}
	if req.Status != "in_progress" || req.Conclusion != "" || req.CompletedAt != nil {
		t.Errorf("status %q conclusion %q: action_required while in progress must send no conclusion", req.Status, req.Conclusion)
	}
	if n := utf8.RuneCountInString(req.Output.Title); n != 255 {
		t.Errorf("title has %d characters, want 255", n)
	}
	if f.run(id).Status != "in_progress" {
		t.Errorf("run = %+v", f.run(id))
	}
}

func TestPublishCheckRunRejectsBadInput(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	c := newTokenClient(t, f)
	for _, cr := range []workflows.CheckRun{
		{Repo: "acme", HeadSHA: headSHA, Name: "x"},
		{Repo: "acme/../x", HeadSHA: headSHA, Name: "x"},
		{Repo: "acme/deploys", Name: "x"},
	} {
		if _, err := c.PublishCheckRun(context.Background(), cr); !isPermanent(err) {
			t.Errorf("%+v: err = %v, want permanent", cr, err)
		}
	}
	if f.total() != 0 {
		t.Errorf("bad input reached GitHub (%d requests)", f.total())
	}
}

func methods(s []seen) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.method+" "+x.path)
	}
	return out
}

func TestConcurrentPublishesMakeOneRun(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	c := newTokenClient(t, f)
	cr := workflows.CheckRun{Repo: "acme/deploys", HeadSHA: headSHA, Name: "prdeploy/plan", ExternalID: "plan:7",
		Report: workflows.Report{Title: "t", Summary: "s", Status: "in_progress"}}
	ids := make(chan int64, 5)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			id, err := c.PublishCheckRun(context.Background(), cr)
			if err != nil {
				t.Error(err)
			}
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Errorf("runs %d and %d: concurrent publishes made two runs", first, id)
		}
	}
	if n := f.count("POST", "/repos/acme/deploys/check-runs"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
}
