package githubsim

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
)

// GitHub's limits on check runs.
const (
	MaxCheckOutputChars      = 65535 // output.summary and output.text
	MaxAnnotationsPerRequest = 50
	MaxCheckActions          = 3
	MaxActionLabel           = 20
	MaxActionDescription     = 40
	MaxActionIdentifier      = 20
)

const (
	docCreateCheckRun = "https://docs.github.com/rest/checks/runs#create-a-check-run"
	docUpdateCheckRun = "https://docs.github.com/rest/checks/runs#update-a-check-run"
)

type checkRun struct {
	id, suiteID          int64
	repo                 *repo
	name                 string
	headSHA              string
	externalID           string
	detailsURL           string
	status               string
	conclusion           string
	startedAt            time.Time
	completedAt          *time.Time
	title, summary, text *string
	annotations          []Annotation
	actions              []CheckRunAction
	created, updated     time.Time
	updates              int
}

// Annotation is a check-run annotation.
type Annotation struct {
	Path        string
	StartLine   int
	EndLine     int
	StartColumn int // 0: not given
	EndColumn   int
	Level       string // notice, warning, failure
	Message     string
	Title       string
	RawDetails  string
}

// CheckRunAction is a button on a check run.
type CheckRunAction struct {
	Label, Description, Identifier string
}

// CheckRun describes a check run.
type CheckRun struct {
	ID          int64
	Repo        string
	Name        string
	HeadSHA     string
	ExternalID  string
	DetailsURL  string
	Status      string
	Conclusion  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	Actions     []CheckRunAction
	StartedAt   time.Time
	CompletedAt time.Time
	// Updates counts the PATCH requests the check run received.
	Updates int
}

func checkRunInfo(c *checkRun) CheckRun {
	out := CheckRun{ID: c.id, Repo: c.repo.fullName(), Name: c.name, HeadSHA: c.headSHA, ExternalID: c.externalID,
		DetailsURL: c.detailsURL, Status: c.status, Conclusion: c.conclusion, Annotations: append([]Annotation(nil), c.annotations...),
		Actions: append([]CheckRunAction(nil), c.actions...), StartedAt: c.startedAt, Updates: c.updates}
	if c.title != nil {
		out.Title = *c.title
	}
	if c.summary != nil {
		out.Summary = *c.summary
	}
	if c.text != nil {
		out.Text = *c.text
	}
	if c.completedAt != nil {
		out.CompletedAt = *c.completedAt
	}
	return out
}

// CheckRuns lists the check runs of a commit (ref: branch, tag or SHA),
// oldest first.
func (s *Server) CheckRuns(repoName, ref string) ([]CheckRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoLocked(repoName)
	if err != nil {
		return nil, err
	}
	h, err := resolveRef(rp, ref)
	if err != nil {
		return nil, fmt.Errorf("ref %q of %s: %w", ref, repoName, err)
	}
	var out []CheckRun
	for _, c := range s.runsFor(rp, h.String()) {
		out = append(out, checkRunInfo(c))
	}
	return out, nil
}

// CheckRun returns one check run.
func (s *Server) CheckRun(repoName string, id int64) (CheckRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checkRuns[id]
	if !ok || !strings.EqualFold(c.repo.fullName(), repoName) {
		return CheckRun{}, fmt.Errorf("%s has no check run %d", repoName, id)
	}
	return checkRunInfo(c), nil
}

func (s *Server) runsFor(rp *repo, sha string) []*checkRun {
	var out []*checkRun
	for _, c := range s.checkRuns {
		if c.repo == rp && c.headSHA == sha {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// ClickCheckRunAction presses a check run's button as login and delivers
// check_run "requested_action" to the hooks; it returns the deliveries.
func (s *Server) ClickCheckRunAction(ctx context.Context, repoName string, checkRunID int64, identifier, login string) ([]Delivery, error) {
	s.mu.Lock()
	c, ok := s.checkRuns[checkRunID]
	if !ok || !strings.EqualFold(c.repo.fullName(), repoName) {
		s.mu.Unlock()
		return nil, fmt.Errorf("%s has no check run %d", repoName, checkRunID)
	}
	u, err := s.userLocked(login)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	found := false
	for _, a := range c.actions {
		found = found || a.Identifier == identifier
	}
	if !found {
		s.mu.Unlock()
		return nil, fmt.Errorf("check run %d has no action %q", checkRunID, identifier)
	}
	ev := s.checkRunEvent(c, "requested_action", u, map[string]any{"requested_action": map[string]string{"identifier": identifier}})
	s.mu.Unlock()
	return s.deliverAll(ctx, []event{ev}), nil
}

// Request bodies: pointers tell "absent" from "empty".
type checkRunRequest struct {
	Name        *string               `json:"name"`
	HeadSHA     *string               `json:"head_sha"`
	DetailsURL  *string               `json:"details_url"`
	ExternalID  *string               `json:"external_id"`
	Status      *string               `json:"status"`
	StartedAt   *string               `json:"started_at"`
	Conclusion  *string               `json:"conclusion"`
	CompletedAt *string               `json:"completed_at"`
	Output      *checkOutputRequest   `json:"output"`
	Actions     *[]checkActionRequest `json:"actions"`
}

type checkOutputRequest struct {
	Title       *string             `json:"title"`
	Summary     *string             `json:"summary"`
	Text        *string             `json:"text"`
	Annotations []annotationRequest `json:"annotations"`
	Images      []map[string]any    `json:"images"`
}

type annotationRequest struct {
	Path            *string `json:"path"`
	StartLine       *int    `json:"start_line"`
	EndLine         *int    `json:"end_line"`
	StartColumn     *int    `json:"start_column"`
	EndColumn       *int    `json:"end_column"`
	AnnotationLevel *string `json:"annotation_level"`
	Message         *string `json:"message"`
	Title           *string `json:"title"`
	RawDetails      *string `json:"raw_details"`
}

type checkActionRequest struct {
	Label       *string `json:"label"`
	Description *string `json:"description"`
	Identifier  *string `json:"identifier"`
}

var (
	checkStatuses    = []string{"queued", "in_progress", "completed"}
	checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
	annotationLevels = []string{"notice", "warning", "failure"}
)

// missing renders GitHub's schema message for absent required fields.
func missing(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = strconv.Quote(f)
	}
	if len(q) == 1 {
		return q[0] + " wasn't supplied."
	}
	return strings.Join(q, ", ") + " weren't supplied."
}

func notMember(field, v string, allowed []string) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = strconv.Quote(a)
	}
	return fmt.Sprintf("For 'properties/%s', %q is not a member of [%s].", field, v, strings.Join(q, ", "))
}

func tooLong(s *string, limit int) (string, bool) {
	if s == nil {
		return "", false
	}
	if n := utf8.RuneCountInString(*s); n > limit {
		return fmt.Sprintf("Only %d characters are allowed; %d were supplied.", limit, n), true
	}
	return "", false
}

func contains(list []string, v string) bool {
	for _, l := range list {
		if l == v {
			return true
		}
	}
	return false
}

// validateCheckRun checks a create (create=true) or update request the way
// GitHub does: first its JSON schema ("Invalid request." with one line per
// problem), then the model ("Validation Failed" with field errors).
func validateCheckRun(req *checkRunRequest, create bool) error {
	var problems []string
	if create {
		var miss []string
		if req.Name == nil {
			miss = append(miss, "name")
		}
		if req.HeadSHA == nil {
			miss = append(miss, "head_sha")
		}
		if len(miss) > 0 {
			problems = append(problems, missing(miss))
		}
	}
	if req.Status != nil && !contains(checkStatuses, *req.Status) {
		problems = append(problems, notMember("status", *req.Status, checkStatuses))
	}
	if req.Conclusion != nil && !contains(checkConclusions, *req.Conclusion) {
		problems = append(problems, notMember("conclusion", *req.Conclusion, checkConclusions))
	}
	for _, t := range []*string{req.StartedAt, req.CompletedAt} {
		if t != nil {
			if _, err := time.Parse(time.RFC3339, *t); err != nil {
				problems = append(problems, fmt.Sprintf("%q is not a valid date-time.", *t))
			}
		}
	}
	if o := req.Output; o != nil {
		var miss []string
		if o.Title == nil {
			miss = append(miss, "title")
		}
		if o.Summary == nil {
			miss = append(miss, "summary")
		}
		if len(miss) > 0 {
			problems = append(problems, missing(miss))
		}
		for _, f := range []*string{o.Summary, o.Text} {
			if msg, bad := tooLong(f, MaxCheckOutputChars); bad {
				problems = append(problems, msg)
			}
		}
		if n := len(o.Annotations); n > MaxAnnotationsPerRequest {
			problems = append(problems, fmt.Sprintf("No more than %d items are allowed; %d were supplied.", MaxAnnotationsPerRequest, n))
		}
		for _, a := range o.Annotations {
			var miss []string
			if a.Path == nil {
				miss = append(miss, "path")
			}
			if a.StartLine == nil {
				miss = append(miss, "start_line")
			}
			if a.EndLine == nil {
				miss = append(miss, "end_line")
			}
			if a.AnnotationLevel == nil {
				miss = append(miss, "annotation_level")
			}
			if a.Message == nil {
				miss = append(miss, "message")
			}
			if len(miss) > 0 {
				problems = append(problems, missing(miss))
			}
			if a.AnnotationLevel != nil && !contains(annotationLevels, *a.AnnotationLevel) {
				problems = append(problems, notMember("annotation_level", *a.AnnotationLevel, annotationLevels))
			}
		}
	}
	if req.Actions != nil {
		if n := len(*req.Actions); n > MaxCheckActions {
			problems = append(problems, fmt.Sprintf("No more than %d items are allowed; %d were supplied.", MaxCheckActions, n))
		}
		for _, a := range *req.Actions {
			var miss []string
			if a.Label == nil {
				miss = append(miss, "label")
			}
			if a.Description == nil {
				miss = append(miss, "description")
			}
			if a.Identifier == nil {
				miss = append(miss, "identifier")
			}
			if len(miss) > 0 {
				problems = append(problems, missing(miss))
			}
			for _, f := range []struct {
				v     *string
				limit int
			}{{a.Label, MaxActionLabel}, {a.Description, MaxActionDescription}, {a.Identifier, MaxActionIdentifier}} {
				if msg, bad := tooLong(f.v, f.limit); bad {
					problems = append(problems, msg)
				}
			}
		}
	}
	if len(problems) > 0 {
		return &errValidation{msg: "Invalid request.\n\n" + strings.Join(problems, "\n")}
	}

	var errs []fieldError
	if req.Name != nil && strings.TrimSpace(*req.Name) == "" {
		errs = append(errs, fieldError{Resource: "CheckRun", Field: "name", Code: "missing_field"})
	}
	if o := req.Output; o != nil {
		for _, f := range []struct {
			name string
			v    *string
		}{{"summary", o.Summary}, {"text", o.Text}} {
			if f.v != nil && len(*f.v) > MaxCheckOutputChars {
				errs = append(errs, fieldError{Resource: "CheckRun", Field: f.name, Code: "custom",
					Message: fmt.Sprintf("%s exceeds a maximum bytesize of %d", f.name, MaxCheckOutputChars)})
			}
		}
		for _, a := range o.Annotations {
			if (a.StartColumn != nil || a.EndColumn != nil) && *a.StartLine != *a.EndLine {
				errs = append(errs, fieldError{Resource: "CheckRun", Field: "annotations", Code: "invalid"})
				break
			}
			if *a.StartLine < 1 || *a.EndLine < *a.StartLine {
				errs = append(errs, fieldError{Resource: "CheckRun", Field: "annotations", Code: "invalid"})
				break
			}
		}
	}
	if req.Status != nil && *req.Status == "completed" && req.Conclusion == nil {
		errs = append(errs, fieldError{Resource: "CheckRun", Field: "conclusion", Code: "missing_field"})
	}
	if len(errs) > 0 {
		return &errValidation{msg: "Validation Failed", errors: errs}
	}
	return nil
}

// applyCheckRun applies a validated request. Annotations accumulate; other
// output fields are replaced when given.
func (s *Server) applyCheckRun(c *checkRun, req *checkRunRequest) {
	now := s.now()
	if req.Name != nil {
		c.name = *req.Name
	}
	if req.DetailsURL != nil {
		c.detailsURL = *req.DetailsURL
	}
	if req.ExternalID != nil {
		c.externalID = *req.ExternalID
	}
	if req.StartedAt != nil {
		t, _ := time.Parse(time.RFC3339, *req.StartedAt)
		c.startedAt = t.UTC()
	}
	if req.Status != nil {
		c.status = *req.Status
		if c.status != "completed" {
			c.conclusion, c.completedAt = "", nil
		}
	}
	if req.Conclusion != nil {
		c.conclusion, c.status = *req.Conclusion, "completed"
		if c.completedAt == nil {
			c.completedAt = &now
		}
	}
	if req.CompletedAt != nil {
		t, _ := time.Parse(time.RFC3339, *req.CompletedAt)
		t = t.UTC()
		c.completedAt = &t
	}
	if o := req.Output; o != nil {
		c.title, c.summary = o.Title, o.Summary
		if o.Text != nil {
			c.text = o.Text
		}
		for _, a := range o.Annotations {
			an := Annotation{Path: *a.Path, StartLine: *a.StartLine, EndLine: *a.EndLine, Level: *a.AnnotationLevel, Message: *a.Message}
			if a.StartColumn != nil {
				an.StartColumn = *a.StartColumn
			}
			if a.EndColumn != nil {
				an.EndColumn = *a.EndColumn
			}
			if a.Title != nil {
				an.Title = *a.Title
			}
			if a.RawDetails != nil {
				an.RawDetails = *a.RawDetails
			}
			c.annotations = append(c.annotations, an)
		}
	}
	if req.Actions != nil {
		c.actions = c.actions[:0:0]
		for _, a := range *req.Actions {
			c.actions = append(c.actions, CheckRunAction{Label: *a.Label, Description: *a.Description, Identifier: *a.Identifier})
		}
	}
	c.updated = now
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request) {
	var req checkRunRequest
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, id, ok := s.repoFromPath(w, r)
	if !ok || !s.requireWrite(w, rp, id) {
		return
	}
	if err := validateCheckRun(&req, true); err != nil {
		writeErr(w, err, docCreateCheckRun)
		return
	}
	if !hexSHA.MatchString(*req.HeadSHA) {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+*req.HeadSHA, docCreateCheckRun)
		return
	}
	if _, err := rp.git.CommitObject(plumbing.NewHash(*req.HeadSHA)); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+*req.HeadSHA, docCreateCheckRun)
		return
	}
	now := s.now()
	suiteKey := strconv.FormatInt(rp.id, 10) + "/" + *req.HeadSHA
	suite, ok := s.suites[suiteKey]
	if !ok {
		suite = s.nextID(idCheckSuite)
		s.suites[suiteKey] = suite
	}
	c := &checkRun{id: s.nextID(idCheckRun), suiteID: suite, repo: rp, headSHA: *req.HeadSHA, status: "queued",
		startedAt: now, created: now}
	s.applyCheckRun(c, &req)
	s.checkRuns[c.id] = c
	writeJSON(w, http.StatusCreated, s.checkRunJSON(c))
}

func (s *Server) checkRunFromPath(w http.ResponseWriter, r *http.Request) (*checkRun, identity, bool) {
	rp, id, ok := s.repoFromPath(w, r)
	if !ok {
		return nil, id, false
	}
	n, ok := pathInt(r, "id")
	c := s.checkRuns[n]
	if !ok || c == nil || c.repo != rp {
		notFound(w)
		return nil, id, false
	}
	return c, id, true
}

func (s *Server) getCheckRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _, ok := s.checkRunFromPath(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.checkRunJSON(c))
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	var req checkRunRequest
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, id, ok := s.checkRunFromPath(w, r)
	if !ok || !s.requireWrite(w, c.repo, id) {
		return
	}
	req.HeadSHA = nil // not updatable
	if err := validateCheckRun(&req, false); err != nil {
		writeErr(w, err, docUpdateCheckRun)
		return
	}
	s.applyCheckRun(c, &req)
	c.updates++
	writeJSON(w, http.StatusOK, s.checkRunJSON(c))
}

type annotationJSON struct {
	Path            string  `json:"path"`
	BlobHref        string  `json:"blob_href"`
	StartLine       int     `json:"start_line"`
	EndLine         int     `json:"end_line"`
	StartColumn     *int    `json:"start_column"`
	EndColumn       *int    `json:"end_column"`
	AnnotationLevel string  `json:"annotation_level"`
	Title           *string `json:"title"`
	Message         string  `json:"message"`
	RawDetails      *string `json:"raw_details"`
}

func (s *Server) listAnnotations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _, ok := s.checkRunFromPath(w, r)
	if !ok {
		return
	}
	out := make([]annotationJSON, 0, len(c.annotations))
	for _, a := range c.annotations {
		j := annotationJSON{Path: a.Path, BlobHref: s.repoWeb(c.repo, "blob", c.headSHA) + "/" + a.Path, StartLine: a.StartLine,
			EndLine: a.EndLine, AnnotationLevel: a.Level, Message: a.Message, Title: nullable(a.Title), RawDetails: nullable(a.RawDetails)}
		if a.StartColumn != 0 {
			v := a.StartColumn
			j.StartColumn = &v
		}
		if a.EndColumn != 0 {
			v := a.EndColumn
			j.EndColumn = &v
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, out))
}

// listCheckRunsForRef answers GET /repos/{o}/{r}/commits/{ref}/check-runs.
func (s *Server) listCheckRunsForRef(w http.ResponseWriter, r *http.Request, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.repoFromPath(w, r)
	if !ok {
		return
	}
	h, err := resolveRef(rp, ref)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref, "https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference")
		return
	}
	q := r.URL.Query()
	runs := s.runsFor(rp, h.String())
	// Newest first, as GitHub lists them.
	sort.Slice(runs, func(i, j int) bool { return runs[i].id > runs[j].id })
	var kept []*checkRun
	seen := map[string]bool{}
	for _, c := range runs {
		if n := q.Get("check_name"); n != "" && c.name != n {
			continue
		}
		if st := q.Get("status"); st != "" && c.status != st {
			continue
		}
		if a := q.Get("app_id"); a != "" && a != strconv.FormatInt(s.app.id, 10) {
			continue
		}
		if q.Get("filter") != "all" {
			if seen[c.name] {
				continue
			}
			seen[c.name] = true
		}
		kept = append(kept, c)
	}
	page := paginate(s, w, r, kept)
	out := make([]*checkRunJSON, 0, len(page))
	for _, c := range page {
		out = append(out, s.checkRunJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(kept), "check_runs": out})
}

// checkRunJSON renders a check run. Call with s.mu held.
func (s *Server) checkRunJSON(c *checkRun) *checkRunJSON {
	rp := c.repo
	id := strconv.FormatInt(c.id, 10)
	prs := s.checkRunPRs(rp, c.headSHA)
	var conclusion *string
	if c.conclusion != "" {
		conclusion = strp(c.conclusion)
	}
	app := s.appJSON()
	out := &checkRunJSON{
		ID: c.id, NodeID: nodeID("CheckRun", c.id), HeadSHA: c.headSHA, ExternalID: c.externalID,
		URL: s.repoAPI(rp, "check-runs", id), HTMLURL: s.repoWeb(rp, "runs", id), DetailsURL: c.detailsURL,
		Status: c.status, Conclusion: conclusion, StartedAt: ts(c.startedAt), CompletedAt: tsp(c.completedAt),
		Output: checkOutputJSON{Title: c.title, Summary: c.summary, Text: c.text, AnnotationsCount: len(c.annotations),
			AnnotationsURL: s.repoAPI(rp, "check-runs", id, "annotations")},
		Name: c.name, App: app, PullRequests: prs,
	}
	if c.detailsURL == "" {
		out.DetailsURL = out.HTMLURL
	}
	out.CheckSuite = s.checkSuiteJSON(rp, c.suiteID, c.headSHA, prs, app)
	return out
}

func (s *Server) checkSuiteJSON(rp *repo, suiteID int64, sha string, prs []checkRunPRJSON, app *appJSON) checkSuiteJSON {
	runs := s.runsFor(rp, sha)
	status, conclusion := "completed", ""
	var created, updated time.Time
	for _, c := range runs {
		if c.suiteID != suiteID {
			continue
		}
		if created.IsZero() || c.created.Before(created) {
			created = c.created
		}
		if c.updated.After(updated) {
			updated = c.updated
		}
		switch {
		case c.status != "completed":
			status = "in_progress"
		case c.conclusion != "success" && c.conclusion != "neutral" && c.conclusion != "skipped" && conclusion == "":
			conclusion = c.conclusion
		}
	}
	if created.IsZero() {
		created, updated = s.now(), s.now()
	}
	var concl *string
	if status == "completed" {
		if conclusion == "" {
			conclusion = "success"
		}
		concl = strp(conclusion)
	}
	return checkSuiteJSON{ID: suiteID, NodeID: nodeID("CheckSuite", suiteID), HeadBranch: s.branchAt(rp, sha), HeadSHA: sha,
		Status: status, Conclusion: concl, URL: s.repoAPI(rp, "check-suites", strconv.FormatInt(suiteID, 10)),
		After: strp(sha), PullRequests: prs, App: app, CreatedAt: ts(created), UpdatedAt: ts(updated)}
}

// checkRunPRs lists the open pull requests whose head is sha.
func (s *Server) checkRunPRs(rp *repo, sha string) []checkRunPRJSON {
	out := []checkRunPRJSON{}
	for _, p := range rp.pulls {
		if p.state != "open" || p.head.String() != sha {
			continue
		}
		j := checkRunPRJSON{URL: s.repoAPI(rp, "pulls", strconv.Itoa(p.number)), ID: p.id, Number: p.number}
		j.Head.Ref, j.Head.SHA = p.headRef, p.head.String()
		j.Base.Ref, j.Base.SHA = p.baseRef, s.baseSHA(p).String()
		for _, ref := range []*checkRunPRRefJSON{&j.Head, &j.Base} {
			ref.Repo.ID, ref.Repo.URL, ref.Repo.Name = rp.id, s.repoAPI(rp), rp.name
		}
		out = append(out, j)
	}
	return out
}

// branchAt names a branch whose tip is sha (pull request heads first, then
// the default branch), or nil.
func (s *Server) branchAt(rp *repo, sha string) *string {
	for _, p := range rp.pulls {
		if p.state == "open" && p.head.String() == sha {
			return strp(p.headRef)
		}
	}
	if h, err := branchHash(rp, rp.defaultBranch); err == nil && h.String() == sha {
		return strp(rp.defaultBranch)
	}
	refs, err := rp.git.Branches()
	if err != nil {
		return nil
	}
	defer refs.Close()
	var names []string
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Hash().String() == sha {
			names = append(names, ref.Name().Short())
		}
		return nil
	})
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return strp(names[0])
}
