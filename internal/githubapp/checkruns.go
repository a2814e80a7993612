package githubapp

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"

	"github.com/prdeploy/prdeploy/workflows"
)

// GitHub's limits on a check run.
const (
	// MaxAnnotationsPerRequest is how many annotations one create or
	// update may carry; more go in follow-up updates.
	MaxAnnotationsPerRequest = 50
	maxTitle                 = 255
	maxActions               = 3
	maxActionLabel           = 20
	maxActionDescription     = 40
	maxActionIdentifier      = 20
)

// checkRunRequest is the body of a check run's create or update. It is
// ours rather than go-github's so that "actions": [] is sent when a run no
// longer offers buttons (go-github omits an empty list, which would leave
// the old buttons on the run).
type checkRunRequest struct {
	Name        string            `json:"name"`
	HeadSHA     string            `json:"head_sha,omitempty"`
	DetailsURL  string            `json:"details_url,omitempty"`
	ExternalID  string            `json:"external_id,omitempty"`
	Status      string            `json:"status,omitempty"`
	Conclusion  string            `json:"conclusion,omitempty"`
	StartedAt   *time.Time        `json:"started_at,omitempty"`
	CompletedAt *time.Time        `json:"completed_at,omitempty"`
	Output      *checkRunOutput   `json:"output,omitempty"`
	Actions     *[]checkRunAction `json:"actions,omitempty"`
}

type checkRunOutput struct {
	Title       string               `json:"title"`
	Summary     string               `json:"summary"`
	Text        string               `json:"text,omitempty"`
	Annotations []checkRunAnnotation `json:"annotations,omitempty"`
}

type checkRunAnnotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	AnnotationLevel string `json:"annotation_level"`
	Title           string `json:"title,omitempty"`
	Message         string `json:"message"`
}

type checkRunAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// PublishCheckRun creates the check run, or updates the one with the same
// name and external ID on the commit, and returns its ID.
//
// Report.Status "completed" is sent with its conclusion (neutral when it
// has none). Any other status is sent as in_progress ("queued" as is)
// without a conclusion: GitHub takes a conclusion only on a completed run,
// so a report that waits for people (in_progress + action_required) shows
// as in progress with its buttons and title saying what it waits for.
// The first 50 annotations go with the create or update, the rest in
// follow-up updates of 50 that repeat the output's title, summary and
// text. Annotations without a path are left out (GitHub needs a file of
// the commit); the summary is where file-less findings belong.
func (c *Client) PublishCheckRun(ctx context.Context, cr workflows.CheckRun) (int64, error) {
	owner, name, err := splitRepo(cr.Repo)
	if err != nil {
		return 0, err
	}
	if cr.Name == "" || cr.HeadSHA == "" {
		return 0, workflows.Permanent(fmt.Errorf("check run on %s: name and head SHA are required", cr.Repo))
	}
	gh, _, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return 0, err
	}
	// Two publishes of one run at once would both create it.
	unlock := c.lock("checkrun:" + strings.ToLower(cr.Repo) + "@" + cr.HeadSHA + ":" + cr.Name + ":" + cr.ExternalID)
	defer unlock()
	id, err := c.findCheckRun(ctx, gh, owner, name, cr)
	if err != nil {
		return 0, err
	}

	now := c.clock.Now().UTC().Truncate(time.Second)
	output := checkOutput(cr)
	batches := annotationBatches(cr.Annotations)
	first := *output
	first.Annotations = batches[0]
	actions := checkActions(cr.Report)
	req := checkRunRequest{
		Name:       cr.Name,
		DetailsURL: cr.DetailsURL,
		ExternalID: cr.ExternalID,
		Output:     &first,
		Actions:    &actions,
	}
	req.Status, req.Conclusion = checkStatus(cr.Report)
	if req.Conclusion != "" {
		req.CompletedAt = &now
	}
	var run github.CheckRun
	if id == 0 {
		req.HeadSHA = cr.HeadSHA
		req.StartedAt = &now
		err = do(ctx, gh, http.MethodPost, fmt.Sprintf("repos/%s/%s/check-runs", owner, name), req, &run)
		if err != nil {
			return 0, classify(err, "creating check run %q on %s@%s", cr.Name, cr.Repo, short(cr.HeadSHA))
		}
		id = run.GetID()
	} else {
		err = do(ctx, gh, http.MethodPatch, fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, name, id), req, &run)
		if err != nil {
			return 0, classify(err, "updating check run %d (%q) on %s", id, cr.Name, cr.Repo)
		}
	}
	for i, batch := range batches[1:] {
		more := *output
		more.Annotations = batch
		err := do(ctx, gh, http.MethodPatch, fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, name, id),
			checkRunRequest{Name: cr.Name, Output: &more}, nil)
		if err != nil {
			return 0, classify(err, "adding annotations %d–%d to check run %d on %s",
				(i+1)*MaxAnnotationsPerRequest+1, (i+1)*MaxAnnotationsPerRequest+len(batch), id, cr.Repo)
		}
	}
	return id, nil
}

// findCheckRun returns the ID of the commit's check run with the name and
// external ID (the newest if several), or 0. Runs of other Apps are not
// ours to update.
func (c *Client) findCheckRun(ctx context.Context, gh *github.Client, owner, name string, cr workflows.CheckRun) (int64, error) {
	all := "all"
	opts := &github.ListCheckRunsOptions{CheckName: &cr.Name, Filter: &all, ListOptions: github.ListOptions{PerPage: 100}}
	var found int64
	for {
		res, resp, err := gh.Checks.ListCheckRunsForRef(ctx, owner, name, cr.HeadSHA, opts)
		if err != nil {
			return 0, classify(err, "listing check runs %q on %s/%s@%s", cr.Name, owner, name, short(cr.HeadSHA))
		}
		for _, run := range res.CheckRuns {
			if run.GetName() != cr.Name || run.GetExternalID() != cr.ExternalID {
				continue
			}
			if c.cfg.AppID != 0 && run.GetApp().GetID() != 0 && run.GetApp().GetID() != c.cfg.AppID {
				continue
			}
			found = max(found, run.GetID())
		}
		if resp.NextPage == 0 {
			return found, nil
		}
		opts.Page = resp.NextPage
	}
}

// checkStatus maps a report to GitHub's status and conclusion.
func checkStatus(r workflows.Report) (status, conclusion string) {
	switch r.Status {
	case "completed":
		switch r.Conclusion {
		case "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required":
			return "completed", r.Conclusion
		default:
			return "completed", "neutral"
		}
	case "queued":
		return "queued", ""
	default:
		// in_progress, also with action_required: GitHub refuses a
		// conclusion on a run that is not completed.
		return "in_progress", ""
	}
}

func checkOutput(cr workflows.CheckRun) *checkRunOutput {
	title := cr.Report.Title
	if title == "" {
		title = cr.Name
	}
	summary := cr.Report.Summary
	if summary == "" {
		summary = title
	}
	return &checkRunOutput{
		Title:   limitRunes(title, maxTitle),
		Summary: limitBytes(summary, workflows.MaxReportText),
		Text:    limitBytes(cr.Report.Text, workflows.MaxReportText),
	}
}

func checkActions(r workflows.Report) []checkRunAction {
	out := []checkRunAction{}
	for _, a := range r.Actions {
		if len(out) == maxActions {
			break
		}
		out = append(out, checkRunAction{
			Label:       limitRunes(a.Label, maxActionLabel),
			Description: limitRunes(a.Description, maxActionDescription),
			Identifier:  limitRunes(a.Identifier, maxActionIdentifier),
		})
	}
	return out
}

// annotationBatches cuts annotations into requests; there is always a
// first batch, possibly empty.
func annotationBatches(in []workflows.Annotation) [][]checkRunAnnotation {
	var all []checkRunAnnotation
	for _, a := range in {
		if a.Path == "" {
			continue
		}
		start := max(a.StartLine, 1)
		end := max(a.EndLine, start)
		msg := a.Message
		if msg == "" {
			msg = a.Title
		}
		if msg == "" {
			msg = "(no message)"
		}
		all = append(all, checkRunAnnotation{
			Path: a.Path, StartLine: start, EndLine: end, AnnotationLevel: annotationLevel(a.Level),
			Title: limitRunes(a.Title, maxTitle), Message: limitBytes(msg, 64<<10-1),
		})
	}
	batches := [][]checkRunAnnotation{nil}
	for i := 0; i < len(all); i += MaxAnnotationsPerRequest {
		b := all[i:min(i+MaxAnnotationsPerRequest, len(all))]
		if i == 0 {
			batches[0] = b
		} else {
			batches = append(batches, b)
		}
	}
	return batches
}

func annotationLevel(l string) string {
	switch l {
	case "warning":
		return "warning"
	case "failure", "error":
		return "failure"
	default:
		return "notice"
	}
}

// limitRunes cuts s to n characters, ending in "…" when cut.
func limitRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// limitBytes cuts s to at most n bytes on a character boundary.
func limitBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
