package githubsim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func checkSim(t *testing.T) (*Server, *github.Client, string) {
	t.Helper()
	s := newSim(t, Options{})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	tok := try(s.InstallationToken(101)).must(t)
	return s, client(t, s, tok), try(s.BranchSHA("acme/gitops", "main")).must(t)
}

func annotations(n int) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for i := 1; i <= n; i++ {
		out = append(out, &github.CheckRunAnnotation{Path: github.String("deploys/x.yaml"), StartLine: github.Int(i), EndLine: github.Int(i),
			AnnotationLevel: github.String("failure"), Message: github.String(fmt.Sprintf("problem %d", i))})
	}
	return out
}

func TestCheckRunLimitsAnswer422LikeGitHub(t *testing.T) {
	s, gh, sha := checkSim(t)
	out := func(summary string) *github.CheckRunOutput {
		return &github.CheckRunOutput{Title: github.String("Plan"), Summary: github.String(summary)}
	}
	cases := []struct {
		name    string
		opts    github.CreateCheckRunOptions
		message string
		errs    []github.Error
	}{
		{"summary over 65535 characters", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Output: out(strings.Repeat("x", 65536))},
			"Invalid request.\n\nOnly 65535 characters are allowed; 65536 were supplied.", nil},
		{"text over 65535 characters", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha,
			Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Text: github.String(strings.Repeat("y", 70000))}},
			"Invalid request.\n\nOnly 65535 characters are allowed; 70000 were supplied.", nil},
		{"summary over 65535 bytes but not characters", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Output: out(strings.Repeat("é", 40000))},
			"Validation Failed", []github.Error{{Resource: "CheckRun", Field: "summary", Code: "custom", Message: "summary exceeds a maximum bytesize of 65535"}}},
		{"51 annotations", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha,
			Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(51)}},
			"Invalid request.\n\nNo more than 50 items are allowed; 51 were supplied.", nil},
		{"4 actions", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Actions: []*github.CheckRunAction{
			{Label: "a", Description: "d", Identifier: "a"}, {Label: "b", Description: "d", Identifier: "b"},
			{Label: "c", Description: "d", Identifier: "c"}, {Label: "e", Description: "d", Identifier: "e"}}},
			"Invalid request.\n\nNo more than 3 items are allowed; 4 were supplied.", nil},
		{"long label, description and identifier", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Actions: []*github.CheckRunAction{
			{Label: strings.Repeat("l", 21), Description: strings.Repeat("d", 41), Identifier: strings.Repeat("i", 22)}}},
			"Invalid request.\n\nOnly 20 characters are allowed; 21 were supplied.\nOnly 40 characters are allowed; 41 were supplied.\nOnly 20 characters are allowed; 22 were supplied.", nil},
		{"output without title", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Output: &github.CheckRunOutput{Summary: github.String("s")}},
			"Invalid request.\n\n\"title\" wasn't supplied.", nil},
		{"annotation without path and level", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Output: &github.CheckRunOutput{
			Title: github.String("t"), Summary: github.String("s"), Annotations: []*github.CheckRunAnnotation{{StartLine: github.Int(1), EndLine: github.Int(1), Message: github.String("m")}}}},
			"Invalid request.\n\n\"path\", \"annotation_level\" weren't supplied.", nil},
		{"columns across lines", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Output: &github.CheckRunOutput{
			Title: github.String("t"), Summary: github.String("s"), Annotations: []*github.CheckRunAnnotation{{Path: github.String("f"),
				StartLine: github.Int(1), EndLine: github.Int(2), StartColumn: github.Int(3), AnnotationLevel: github.String("notice"), Message: github.String("m")}}}},
			"Validation Failed", []github.Error{{Resource: "CheckRun", Field: "annotations", Code: "invalid"}}},
		{"bad status", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha, Status: github.String("running")},
			"Invalid request.\n\nFor 'properties/status', \"running\" is not a member of [\"queued\", \"in_progress\", \"completed\"].", nil},
		{"unknown commit", github.CreateCheckRunOptions{Name: "p", HeadSHA: strings.Repeat("ab", 20)},
			"No commit found for SHA: " + strings.Repeat("ab", 20), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, resp, err := gh.Checks.CreateCheckRun(bg, "acme", "gitops", c.opts)
			var er *github.ErrorResponse
			if !errors.As(err, &er) || resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("got %v, want a 422", err)
			}
			if er.Message != c.message {
				t.Errorf("message %q, want %q", er.Message, c.message)
			}
			if fmt.Sprint(er.Errors) != fmt.Sprint(c.errs) {
				t.Errorf("errors %+v, want %+v", er.Errors, c.errs)
			}
			if !strings.HasPrefix(er.DocumentationURL, "https://docs.github.com/rest/checks/runs#create-a-check-run") {
				t.Errorf("documentation_url %q", er.DocumentationURL)
			}
		})
	}
	if runs := try(s.CheckRuns("acme/gitops", sha)).must(t); len(runs) != 0 {
		t.Errorf("refused requests created %d check runs", len(runs))
	}
	// Exactly at the limits is fine.
	res(gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{Name: "p", HeadSHA: sha,
		Output:  &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(strings.Repeat("x", 65535)), Annotations: annotations(50)},
		Actions: []*github.CheckRunAction{{Label: strings.Repeat("l", 20), Description: strings.Repeat("d", 40), Identifier: strings.Repeat("i", 20)}}})).must(t)
}

func TestCheckRunAnnotationsAccumulateAcrossUpdates(t *testing.T) {
	s, gh, sha := checkSim(t)
	cr := res(gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{Name: "prdeploy/plan", HeadSHA: sha,
		ExternalID: github.String("deploy:c1/api"), Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String("Checking"), Summary: github.String("first"), Annotations: annotations(50)}})).must(t)
	if cr.GetStatus() != "in_progress" || cr.GetOutput().GetAnnotationsCount() != 50 || cr.GetApp().GetSlug() != "prdeploy" || cr.GetExternalID() != "deploy:c1/api" {
		t.Errorf("created: status %s, %d annotations, app %s", cr.GetStatus(), cr.GetOutput().GetAnnotationsCount(), cr.GetApp().GetSlug())
	}
	up := res(gh.Checks.UpdateCheckRun(bg, "acme", "gitops", cr.GetID(), github.UpdateCheckRunOptions{Name: "prdeploy/plan",
		Conclusion: github.String("failure"),
		Output:     &github.CheckRunOutput{Title: github.String("Failed"), Summary: github.String("second"), Annotations: annotations(20)},
		Actions:    []*github.CheckRunAction{{Label: "Retry", Description: "Plan again", Identifier: "retry"}}})).must(t)
	if up.GetStatus() != "completed" || up.GetConclusion() != "failure" || up.CompletedAt == nil || up.GetOutput().GetAnnotationsCount() != 70 {
		t.Errorf("updated: %s/%s completed_at %v annotations %d", up.GetStatus(), up.GetConclusion(), up.CompletedAt, up.GetOutput().GetAnnotationsCount())
	}
	all := res(gh.Checks.ListCheckRunAnnotations(bg, "acme", "gitops", cr.GetID(), &github.ListOptions{PerPage: 100})).must(t)
	if len(all) != 70 || all[69].GetMessage() != "problem 20" {
		t.Errorf("annotations listed: %d", len(all))
	}
	got := try(s.CheckRun("acme/gitops", cr.GetID())).must(t)
	if got.Summary != "second" || got.Title != "Failed" || len(got.Actions) != 1 || got.Updates != 1 || len(got.Annotations) != 70 {
		t.Errorf("state: %+v", got)
	}
	// Another run with the same name: "latest" lists only the newest per name.
	res(gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{Name: "prdeploy/plan", HeadSHA: sha})).must(t)
	res(gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{Name: "prdeploy/deploy", HeadSHA: sha})).must(t)
	latest := res(gh.Checks.ListCheckRunsForRef(bg, "acme", "gitops", "main", nil)).must(t)
	if latest.GetTotal() != 2 || len(latest.CheckRuns) != 2 {
		t.Errorf("latest: total %d", latest.GetTotal())
	}
	all2 := res(gh.Checks.ListCheckRunsForRef(bg, "acme", "gitops", sha, &github.ListCheckRunsOptions{Filter: github.String("all")})).must(t)
	if all2.GetTotal() != 3 {
		t.Errorf("all: total %d", all2.GetTotal())
	}
	named := res(gh.Checks.ListCheckRunsForRef(bg, "acme", "gitops", sha, &github.ListCheckRunsOptions{CheckName: github.String("prdeploy/deploy")})).must(t)
	if named.GetTotal() != 1 || named.CheckRuns[0].GetName() != "prdeploy/deploy" {
		t.Errorf("by name: %d", named.GetTotal())
	}
	one := res(gh.Checks.GetCheckRun(bg, "acme", "gitops", cr.GetID())).must(t)
	if one.GetConclusion() != "failure" || one.GetCheckSuite().GetID() == 0 {
		t.Errorf("get: %+v", one)
	}
	if _, _, err := gh.Checks.GetCheckRun(bg, "acme", "gitops", 1); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown check run: %v", err)
	}
}

func TestClickingACheckRunButtonDeliversRequestedAction(t *testing.T) {
	rc := &receiver{t: t, secret: "s"}
	s := newSim(t, Options{Hooks: []Hook{{Handler: rc, Secret: "s"}}})
	try(s.AddUser("carol", UserOptions{})).must(t)
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	sha := try(s.BranchSHA("acme/gitops", "main")).must(t)
	gh := client(t, s, try(s.InstallationToken(101)).must(t))
	cr := res(gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{Name: "prdeploy/deploy", HeadSHA: sha,
		Actions: []*github.CheckRunAction{{Label: "Roll back", Description: "Roll the deployment back", Identifier: "rollback"}}})).must(t)
	ds := try(s.ClickCheckRunAction(bg, "acme/gitops", cr.GetID(), "rollback", "carol")).must(t)
	if len(ds) != 1 || ds[0].StatusCode != http.StatusAccepted {
		t.Fatalf("deliveries %+v", ds)
	}
	var ev github.CheckRunEvent
	p, err := github.ParseWebHook("check_run", rc.all()[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	ev = *p.(*github.CheckRunEvent)
	if ev.GetAction() != "requested_action" || ev.GetRequestedAction().Identifier != "rollback" || ev.GetSender().GetLogin() != "carol" ||
		ev.GetCheckRun().GetID() != cr.GetID() || ev.GetInstallation().GetID() != 101 {
		t.Errorf("event: %+v", ev)
	}
	if _, err := s.ClickCheckRunAction(bg, "acme/gitops", cr.GetID(), "nope", "carol"); err == nil {
		t.Error("clicking a button the check run does not have succeeded")
	}
}
