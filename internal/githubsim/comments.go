package githubsim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// comment is an issue comment on a pull request.
type comment struct {
	id               int64
	pull             *pull
	author           *user
	body             string
	created, updated time.Time
	viaApp           bool // created with an installation token
	reactions        []*reaction
}

type reaction struct {
	id      int64
	user    *user
	content string
	created time.Time
}

// reactionContents are the reactions GitHub accepts, in its order.
var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

// review is a submitted pull request review.
type review struct {
	id        int64
	pull      *pull
	user      *user
	body      string
	state     string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	commit    string
	submitted time.Time
}

// Comment describes an issue comment.
type Comment struct {
	ID      int64
	Repo    string
	Number  int
	Author  string
	Body    string
	HTMLURL string
	// ViaApp is set for comments made with an installation token.
	ViaApp bool
	// Reactions maps a reaction ("+1", "rocket", …) to the logins that gave it.
	Reactions map[string][]string
}

func (s *Server) commentInfo(c *comment) Comment {
	out := Comment{ID: c.id, Repo: c.pull.repo.fullName(), Number: c.pull.number, Author: c.author.login, Body: c.body,
		HTMLURL: s.commentHTML(c), ViaApp: c.viaApp, Reactions: map[string][]string{}}
	for _, r := range c.reactions {
		out.Reactions[r.content] = append(out.Reactions[r.content], r.user.login)
	}
	return out
}

func (s *Server) commentHTML(c *comment) string {
	return s.repoWeb(c.pull.repo, "pull", strconv.Itoa(c.pull.number)) + "#issuecomment-" + strconv.FormatInt(c.id, 10)
}

// Comments lists the comments of a pull request, oldest first.
func (s *Server) Comments(repoName string, number int) ([]Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		return nil, err
	}
	out := make([]Comment, 0, len(p.comments))
	for _, c := range p.comments {
		out = append(out, s.commentInfo(c))
	}
	return out, nil
}

// maxCommentBody is GitHub's limit on an issue comment's body.
const maxCommentBody = 65536

func validateCommentBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "IssueComment", Field: "body", Code: "missing_field"}}}
	}
	if n := utf8.RuneCountInString(body); n > maxCommentBody {
		return &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "IssueComment", Field: "body", Code: "custom",
			Message: fmt.Sprintf("body is too long (maximum is %d characters)", maxCommentBody)}}}
	}
	return nil
}

// AddComment comments on a pull request as login and delivers issue_comment "created".
func (s *Server) AddComment(ctx context.Context, repoName string, number int, login, body string) (Comment, error) {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return Comment{}, err
	}
	u, err := s.userLocked(login)
	if err != nil {
		s.mu.Unlock()
		return Comment{}, err
	}
	c, ev, err := s.addCommentLocked(p, u, body, false)
	s.mu.Unlock()
	if err != nil {
		return Comment{}, err
	}
	s.deliverAll(ctx, []event{ev})
	return s.commentSnapshot(c), nil
}

func (s *Server) commentSnapshot(c *comment) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commentInfo(c)
}

func (s *Server) addCommentLocked(p *pull, u *user, body string, viaApp bool) (*comment, event, error) {
	if err := validateCommentBody(body); err != nil {
		return nil, event{}, err
	}
	now := s.now()
	c := &comment{id: s.nextID(idComment), pull: p, author: u, body: body, created: now, updated: now, viaApp: viaApp}
	p.comments = append(p.comments, c)
	p.updated = now
	s.comments[c.id] = c
	return c, s.commentEvent(p, c, "created", u, nil), nil
}

// EditComment changes a comment's body as login and delivers issue_comment "edited".
func (s *Server) EditComment(ctx context.Context, repoName string, id int64, login, body string) error {
	s.mu.Lock()
	c, err := s.commentLocked(repoName, id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	u, err := s.userLocked(login)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	ev, err := s.editCommentLocked(c, u, body)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.deliverAll(ctx, []event{ev})
	return nil
}

func (s *Server) editCommentLocked(c *comment, u *user, body string) (event, error) {
	if err := validateCommentBody(body); err != nil {
		return event{}, err
	}
	old := c.body
	c.body, c.updated = body, s.now()
	return s.commentEvent(c.pull, c, "edited", u, map[string]any{"changes": map[string]any{"body": map[string]string{"from": old}}}), nil
}

// DeleteComment deletes a comment as login and delivers issue_comment "deleted".
func (s *Server) DeleteComment(ctx context.Context, repoName string, id int64, login string) error {
	s.mu.Lock()
	c, err := s.commentLocked(repoName, id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	u, err := s.userLocked(login)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	ev := s.deleteCommentLocked(c, u)
	s.mu.Unlock()
	s.deliverAll(ctx, []event{ev})
	return nil
}

func (s *Server) deleteCommentLocked(c *comment, u *user) event {
	p := c.pull
	for i, o := range p.comments {
		if o == c {
			p.comments = append(p.comments[:i:i], p.comments[i+1:]...)
			break
		}
	}
	delete(s.comments, c.id)
	return s.commentEvent(p, c, "deleted", u, nil)
}

func (s *Server) commentLocked(repoName string, id int64) (*comment, error) {
	c, ok := s.comments[id]
	if !ok || !strings.EqualFold(c.pull.repo.fullName(), repoName) {
		return nil, fmt.Errorf("%s has no issue comment %d", repoName, id)
	}
	return c, nil
}

// AddReaction reacts to a comment as login (as the REST endpoint does; no
// webhook exists for reactions).
func (s *Server) AddReaction(repoName string, commentID int64, login, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.commentLocked(repoName, commentID)
	if err != nil {
		return err
	}
	u, err := s.userLocked(login)
	if err != nil {
		return err
	}
	_, _, err = s.reactLocked(c, u, content)
	return err
}

// reactLocked adds a reaction; created is false when u had already given it.
func (s *Server) reactLocked(c *comment, u *user, content string) (*reaction, bool, error) {
	valid := false
	for _, r := range reactionContents {
		valid = valid || r == content
	}
	if !valid {
		return nil, false, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "Reaction", Field: "content", Code: "invalid"}}}
	}
	for _, r := range c.reactions {
		if r.user == u && r.content == content {
			return r, false, nil
		}
	}
	r := &reaction{id: s.nextID(idReaction), user: u, content: content, created: s.now()}
	c.reactions = append(c.reactions, r)
	return r, true, nil
}

func (s *Server) reactionsJSON(c *comment) reactionsJSON {
	out := reactionsJSON{URL: s.repoAPI(c.pull.repo, "issues", "comments", strconv.FormatInt(c.id, 10), "reactions")}
	for _, r := range c.reactions {
		out.TotalCount++
		switch r.content {
		case "+1":
			out.PlusOne++
		case "-1":
			out.MinusOne++
		case "laugh":
			out.Laugh++
		case "hooray":
			out.Hooray++
		case "confused":
			out.Confused++
		case "heart":
			out.Heart++
		case "rocket":
			out.Rocket++
		case "eyes":
			out.Eyes++
		}
	}
	return out
}

// commentJSON renders a comment. Call with s.mu held.
func (s *Server) commentJSON(c *comment) *commentJSON {
	rp := c.pull.repo
	out := &commentJSON{
		URL: s.repoAPI(rp, "issues", "comments", strconv.FormatInt(c.id, 10)), HTMLURL: s.commentHTML(c),
		IssueURL: s.repoAPI(rp, "issues", strconv.Itoa(c.pull.number)), ID: c.id, NodeID: nodeID("IssueComment", c.id),
		User: s.userJSON(c.author), CreatedAt: ts(c.created), UpdatedAt: ts(c.updated),
		AuthorAssociation: s.authorAssociation(rp, c.author), Body: c.body, Reactions: s.reactionsJSON(c),
	}
	if c.viaApp {
		out.PerformedViaGitHubApp = s.appJSON()
	}
	return out
}

// Review describes a submitted pull request review.
type Review struct {
	ID       int64
	Repo     string
	Number   int
	Reviewer string
	// State is APPROVED, CHANGES_REQUESTED, COMMENTED or DISMISSED (REST
	// spelling).
	State    string
	Body     string
	CommitID string
}

// ReviewSpec describes a review to submit.
type ReviewSpec struct {
	Repo     string
	Number   int
	Reviewer string
	// State: APPROVE/APPROVED, REQUEST_CHANGES/CHANGES_REQUESTED or
	// COMMENT/COMMENTED (case-insensitive).
	State string
	Body  string
	// CommitID defaults to the pull request's head.
	CommitID string
}

func reviewState(s string) (string, bool) {
	switch strings.ToUpper(s) {
	case "APPROVE", "APPROVED":
		return "APPROVED", true
	case "REQUEST_CHANGES", "CHANGES_REQUESTED":
		return "CHANGES_REQUESTED", true
	case "COMMENT", "COMMENTED":
		return "COMMENTED", true
	}
	return "", false
}

// SubmitReview submits a review and delivers pull_request_review "submitted".
func (s *Server) SubmitReview(ctx context.Context, spec ReviewSpec) (Review, error) {
	s.mu.Lock()
	p, err := s.pullLocked(spec.Repo, spec.Number)
	if err != nil {
		s.mu.Unlock()
		return Review{}, err
	}
	u, err := s.userLocked(spec.Reviewer)
	if err != nil {
		s.mu.Unlock()
		return Review{}, err
	}
	rv, ev, err := s.submitReviewLocked(p, u, spec.State, spec.Body, spec.CommitID)
	if err != nil {
		s.mu.Unlock()
		return Review{}, err
	}
	out := reviewInfo(rv)
	s.mu.Unlock()
	s.deliverAll(ctx, []event{ev})
	return out, nil
}

func reviewInfo(rv *review) Review {
	return Review{ID: rv.id, Repo: rv.pull.repo.fullName(), Number: rv.pull.number, Reviewer: rv.user.login,
		State: rv.state, Body: rv.body, CommitID: rv.commit}
}

// Reviews lists the reviews of a pull request, oldest first.
func (s *Server) Reviews(repoName string, number int) ([]Review, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		return nil, err
	}
	out := make([]Review, 0, len(p.reviews))
	for _, rv := range p.reviews {
		out = append(out, reviewInfo(rv))
	}
	return out, nil
}

func (s *Server) submitReviewLocked(p *pull, u *user, state, body, commit string) (*review, event, error) {
	st, ok := reviewState(state)
	if !ok {
		return nil, event{}, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequestReview", Field: "event", Code: "invalid"}}}
	}
	if u == p.author && st != "COMMENTED" {
		verb := "approve"
		if st == "CHANGES_REQUESTED" {
			verb = "request changes on"
		}
		return nil, event{}, &errValidation{msg: "Unprocessable Entity", errors: []fieldError{{Message: fmt.Sprintf("Can not %s your own pull request", verb)}}}
	}
	if (st == "CHANGES_REQUESTED" || st == "COMMENTED") && strings.TrimSpace(body) == "" {
		return nil, event{}, &errValidation{msg: "Unprocessable Entity", errors: []fieldError{{Message: "Review Comment is missing"}}}
	}
	if commit == "" {
		commit = p.head.String()
	}
	now := s.now()
	rv := &review{id: s.nextID(idReview), pull: p, user: u, body: body, state: st, commit: commit, submitted: now}
	p.reviews = append(p.reviews, rv)
	p.updated = now
	return rv, s.reviewEvent(p, rv, "submitted", u), nil
}

// DismissReview dismisses an approving or changes-requesting review as
// actor, who needs write access, and delivers pull_request_review
// "dismissed". The message is required, as on GitHub. The review stays in
// the list with state DISMISSED.
func (s *Server) DismissReview(ctx context.Context, repoName string, number int, reviewID int64, actor, message string) (Review, error) {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return Review{}, err
	}
	u, err := s.userLocked(actor)
	if err != nil {
		s.mu.Unlock()
		return Review{}, err
	}
	if permRank[s.permissionLocked(p.repo, u)] < permRank["write"] {
		s.mu.Unlock()
		return Review{}, fmt.Errorf("%s may not dismiss reviews in %s: it takes write access", u.login, repoName)
	}
	rv := p.reviewByID(reviewID)
	if rv == nil {
		s.mu.Unlock()
		return Review{}, fmt.Errorf("%s#%d has no review %d", repoName, number, reviewID)
	}
	ev, err := s.dismissReviewLocked(rv, u, message)
	if err != nil {
		s.mu.Unlock()
		return Review{}, err
	}
	out := reviewInfo(rv)
	s.mu.Unlock()
	s.deliverAll(ctx, []event{ev})
	return out, nil
}

func (p *pull) reviewByID(id int64) *review {
	for _, rv := range p.reviews {
		if rv.id == id {
			return rv
		}
	}
	return nil
}

func (s *Server) dismissReviewLocked(rv *review, u *user, message string) (event, error) {
	if strings.TrimSpace(message) == "" {
		return event{}, &errValidation{msg: "Invalid request.\n\n\"message\" wasn't supplied."}
	}
	if rv.state != "APPROVED" && rv.state != "CHANGES_REQUESTED" {
		return event{}, &errValidation{msg: "Unprocessable Entity", errors: []fieldError{{
			Message: "Can not dismiss a " + strings.ToLower(rv.state) + " pull request review"}}}
	}
	rv.state = "DISMISSED"
	rv.pull.updated = s.now()
	return s.reviewEvent(rv.pull, rv, "dismissed", u), nil
}

// reviewJSON renders a review; webhook payloads spell the state in lower case.
func (s *Server) reviewJSON(rv *review, lower bool) *reviewJSON {
	rp := rv.pull.repo
	num := strconv.Itoa(rv.pull.number)
	html := s.repoWeb(rp, "pull", num) + "#pullrequestreview-" + strconv.FormatInt(rv.id, 10)
	prURL := s.repoAPI(rp, "pulls", num)
	st := rv.state
	if lower {
		st = strings.ToLower(st)
	}
	return &reviewJSON{ID: rv.id, NodeID: nodeID("PullRequestReview", rv.id), User: s.userJSON(rv.user), Body: nullable(rv.body),
		CommitID: rv.commit, SubmittedAt: strp(ts(rv.submitted)), State: st, HTMLURL: html, PullRequestURL: prURL,
		AuthorAssociation: s.authorAssociation(rp, rv.user), Links: reviewLinksJSON{HTML: linkJSON{html}, PullRequest: linkJSON{prURL}}}
}

func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
