package githubsim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// pull is a pull request (and the issue that carries its conversation).
type pull struct {
	id, issueID      int64
	number           int
	repo             *repo
	title, body      string
	author           *user
	headRef, baseRef string
	head             plumbing.Hash
	baseAtClose      plumbing.Hash // base tip when the PR was merged or closed
	state            string        // open or closed
	merged           bool
	draft            bool
	created, updated time.Time
	closedAt         *time.Time
	mergedAt         *time.Time
	mergedBy         *user
	mergeCommit      plumbing.Hash
	comments         []*comment
	reviews          []*review
	labels           []*label // sorted by name
}

// PullRequest describes a simulated pull request.
type PullRequest struct {
	Repo           string
	Number         int
	ID             int64
	Title, Body    string
	Author         string
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	BaseSHA        string
	State          string // open or closed
	Merged         bool
	MergeCommitSHA string
	HTMLURL        string
	// Labels are the pull request's labels, sorted by name.
	Labels []string
}

func (s *Server) pullInfo(p *pull) PullRequest {
	out := PullRequest{Repo: p.repo.fullName(), Number: p.number, ID: p.id, Title: p.title, Body: p.body,
		Author: p.author.login, HeadRef: p.headRef, HeadSHA: p.head.String(), BaseRef: p.baseRef,
		BaseSHA: s.baseSHA(p).String(), State: p.state, Merged: p.merged, HTMLURL: s.repoWeb(p.repo, "pull", strconv.Itoa(p.number)),
		Labels: labelNames(p.labels)}
	if p.merged {
		out.MergeCommitSHA = p.mergeCommit.String()
	}
	return out
}

// baseSHA is the base branch tip of an open pull request, or the tip when it
// was closed.
func (s *Server) baseSHA(p *pull) plumbing.Hash {
	if p.state != "open" && !p.baseAtClose.IsZero() {
		return p.baseAtClose
	}
	h, err := branchHash(p.repo, p.baseRef)
	if err != nil {
		return p.baseAtClose
	}
	return h
}

func (s *Server) pullLocked(repoName string, number int) (*pull, error) {
	rp, err := s.repoLocked(repoName)
	if err != nil {
		return nil, err
	}
	if number < 1 || number > len(rp.pulls) {
		return nil, fmt.Errorf("%s has no pull request #%d", repoName, number)
	}
	return rp.pulls[number-1], nil
}

// PullRequest returns a pull request's current state.
func (s *Server) PullRequest(repoName string, number int) (PullRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		return PullRequest{}, err
	}
	return s.pullInfo(p), nil
}

// PushSpec describes commits pushed to a branch.
type PushSpec struct {
	// Repo is "owner/name".
	Repo string
	// Branch receives the commit; it is created when missing.
	Branch string
	// From is where a new branch starts (branch, tag or SHA; default: the
	// default branch). Ignored when the branch exists.
	From string
	// Files are written (path → content); Delete lists paths to remove.
	Files  map[string]string
	Delete []string
	// Message defaults to "Update <files>".
	Message string
	// Author is the login that commits and pushes (default: the repository
	// owner). It is the sender of pull_request synchronize events.
	Author string
}

// Push commits files to a branch (creating it if needed) and returns the new
// head SHA. Every open pull request whose head is that branch gets a
// pull_request "synchronize" webhook. With no files and no deletions, a new
// branch just points at From and nothing is committed.
func (s *Server) Push(ctx context.Context, spec PushSpec) (string, error) {
	if spec.Branch == "" || plumbing.NewBranchReferenceName(spec.Branch).Validate() != nil {
		return "", fmt.Errorf("branch name %q is not valid", spec.Branch)
	}
	s.mu.Lock()
	rp, err := s.repoLocked(spec.Repo)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	author := rp.owner
	if spec.Author != "" {
		if author, err = s.userLocked(spec.Author); err != nil {
			s.mu.Unlock()
			return "", err
		}
	}
	before, err := branchHash(rp, spec.Branch)
	exists := err == nil
	parent := before
	if !exists {
		if parent, err = resolveRef(rp, spec.From); err != nil {
			s.mu.Unlock()
			return "", fmt.Errorf("start point %q of branch %s in %s: %w", spec.From, spec.Branch, spec.Repo, err)
		}
	}
	changes := map[string]fileChange{}
	var names []string
	for p, c := range spec.Files {
		changes[p] = fileChange{content: []byte(c)}
		names = append(names, p)
	}
	for _, p := range spec.Delete {
		changes[p] = fileChange{delete: true}
		names = append(names, p)
	}
	head := parent
	if len(changes) > 0 {
		msg := spec.Message
		if msg == "" {
			msg = "Update " + strings.Join(sortedStrings(names), ", ")
		}
		sig := s.signature(author)
		if head, err = writeCommit(rp.git, []plumbing.Hash{parent}, changes, msg, sig, sig); err != nil {
			s.mu.Unlock()
			return "", fmt.Errorf("committing to %s of %s: %w", spec.Branch, spec.Repo, err)
		}
	}
	if err := rp.git.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(spec.Branch), head)); err != nil {
		s.mu.Unlock()
		return "", fmt.Errorf("updating %s of %s: %w", spec.Branch, spec.Repo, err)
	}
	now := s.now()
	rp.pushed, rp.updated = now, now
	var evs []event
	if exists && head != before {
		for _, p := range rp.pulls {
			if p.state != "open" || p.headRef != spec.Branch {
				continue
			}
			p.head, p.updated = head, now
			if err := s.setPullRef(p); err != nil {
				s.mu.Unlock()
				return "", err
			}
			evs = append(evs, s.pullEvent(ctx, p, "synchronize", author, map[string]any{"before": before.String(), "after": head.String()}))
		}
	}
	s.mu.Unlock()
	s.deliverAll(ctx, evs)
	return head.String(), nil
}

func (s *Server) setPullRef(p *pull) error {
	ref := plumbing.NewHashReference(plumbing.ReferenceName("refs/pull/"+strconv.Itoa(p.number)+"/head"), p.head)
	if err := p.repo.git.Storer.SetReference(ref); err != nil {
		return fmt.Errorf("updating %s of %s: %w", ref.Name(), p.repo.fullName(), err)
	}
	return nil
}

// PullRequestSpec describes a pull request to open.
type PullRequestSpec struct {
	Repo string
	// Head is the branch with the changes; Base defaults to the default branch.
	Head, Base  string
	Title, Body string
	// Author opens the pull request (default: the repository owner).
	Author string
	Draft  bool
	// Labels are set as the pull request opens (Author needs the triage
	// role or more); unknown labels are created. The "opened" payload
	// carries them, and one "labeled" event per label follows, as on GitHub.
	Labels []string
}

// OpenPullRequest opens a pull request and delivers pull_request "opened".
func (s *Server) OpenPullRequest(ctx context.Context, spec PullRequestSpec) (PullRequest, error) {
	s.mu.Lock()
	p, evs, err := s.openPullLocked(ctx, spec)
	s.mu.Unlock()
	if err != nil {
		return PullRequest{}, err
	}
	s.deliverAll(ctx, evs)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pullInfo(p), nil
}

// errValidation is a 422: what GitHub says when a request is well formed but refused.
type errValidation struct {
	msg    string
	errors []fieldError
}

func (e *errValidation) Error() string {
	if len(e.errors) > 0 && e.errors[0].Message != "" {
		return e.msg + ": " + e.errors[0].Message
	}
	return e.msg
}

func (s *Server) openPullLocked(ctx context.Context, spec PullRequestSpec) (*pull, []event, error) {
	rp, err := s.repoLocked(spec.Repo)
	if err != nil {
		return nil, nil, err
	}
	author := rp.owner
	if spec.Author != "" {
		if author, err = s.userLocked(spec.Author); err != nil {
			return nil, nil, err
		}
	}
	base := spec.Base
	if base == "" {
		base = rp.defaultBranch
	}
	if len(spec.Labels) > 0 {
		if err := s.mayLabel(rp, author); err != nil {
			return nil, nil, err
		}
		for _, n := range spec.Labels {
			if err := validateLabelName(n); err != nil {
				return nil, nil, err
			}
		}
	}
	if spec.Title == "" {
		return nil, nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Field: "title", Code: "missing_field"}}}
	}
	headRef := strings.TrimPrefix(spec.Head, rp.owner.login+":")
	head, err := branchHash(rp, headRef)
	if err != nil {
		return nil, nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Field: "head", Code: "invalid"}}}
	}
	baseHash, err := branchHash(rp, base)
	if err != nil {
		return nil, nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Field: "base", Code: "invalid"}}}
	}
	for _, p := range rp.pulls {
		if p.state == "open" && p.headRef == headRef && p.baseRef == base {
			return nil, nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", rp.owner.login, headRef)}}}
		}
	}
	cs, err := commitsBetween(rp.git, baseHash, head)
	if err != nil {
		return nil, nil, err
	}
	if len(cs) == 0 {
		return nil, nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", base, headRef)}}}
	}
	now := s.now()
	rp.lastNumber++
	p := &pull{id: s.nextID(idPull), issueID: s.nextID(idIssue), number: rp.lastNumber, repo: rp, title: spec.Title,
		body: spec.Body, author: author, headRef: headRef, baseRef: base, head: head, state: "open", draft: spec.Draft,
		created: now, updated: now}
	rp.pulls = append(rp.pulls, p)
	rp.updated = now
	if err := s.setPullRef(p); err != nil {
		return nil, nil, err
	}
	// The labels are on the pull request when "opened" is rendered; the
	// "labeled" events follow it.
	var labels []*label
	for _, n := range spec.Labels {
		l := rp.labelNamed(n)
		if l == nil {
			l = s.newLabelLocked(rp, n)
		}
		if !p.hasLabel(l) {
			p.labels = append(p.labels, l)
			labels = append(labels, l)
		}
	}
	sortLabels(p.labels)
	evs := []event{s.pullEvent(ctx, p, "opened", author, nil)}
	for _, l := range labels {
		evs = append(evs, s.pullEvent(ctx, p, "labeled", author, map[string]any{"label": s.labelJSON(rp, l)}))
	}
	return p, evs, nil
}

// ClosePullRequest closes a pull request without merging it and delivers
// pull_request "closed" (merged false).
func (s *Server) ClosePullRequest(ctx context.Context, repoName string, number int, actor string) error {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	u, err := s.actorOr(actor, p.author)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if p.state != "open" {
		s.mu.Unlock()
		return fmt.Errorf("%s#%d is already closed", repoName, number)
	}
	ev := s.closeLocked(ctx, p, u)
	s.mu.Unlock()
	s.deliverAll(ctx, []event{ev})
	return nil
}

func (s *Server) closeLocked(ctx context.Context, p *pull, u *user) event {
	now := s.now()
	p.baseAtClose = s.baseSHA(p)
	p.state, p.closedAt, p.updated = "closed", &now, now
	return s.pullEvent(ctx, p, "closed", u, nil)
}

// ReopenPullRequest reopens a closed, unmerged pull request and delivers
// pull_request "reopened".
func (s *Server) ReopenPullRequest(ctx context.Context, repoName string, number int, actor string) error {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	u, err := s.actorOr(actor, p.author)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	ev, err := s.reopenLocked(ctx, p, u)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.deliverAll(ctx, []event{ev})
	return nil
}

func (s *Server) reopenLocked(ctx context.Context, p *pull, u *user) (event, error) {
	name := p.repo.fullName()
	if p.state == "open" || p.merged {
		return event{}, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Field: "state", Code: "invalid",
			Message: fmt.Sprintf("%s#%d is open or merged; only closed, unmerged pull requests can be reopened", name, p.number)}}}
	}
	for _, o := range p.repo.pulls {
		if o != p && o.state == "open" && o.headRef == p.headRef && o.baseRef == p.baseRef {
			return event{}, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", p.repo.owner.login, p.headRef)}}}
		}
	}
	if h, err := branchHash(p.repo, p.headRef); err == nil && h != p.head { // pushed while closed
		p.head = h
		if err := s.setPullRef(p); err != nil {
			return event{}, err
		}
	}
	p.state, p.closedAt, p.updated, p.baseAtClose = "open", nil, s.now(), plumbing.ZeroHash
	return s.pullEvent(ctx, p, "reopened", u, nil), nil
}

// PullRequestEdit changes a pull request's title, body or base branch; nil
// fields stay as they are.
type PullRequestEdit struct {
	Title, Body, Base *string
}

// EditPullRequest edits a pull request as actor (its author, or anyone with
// write access) and delivers pull_request "edited" with "changes" holding
// what the edited fields were (title.from, body.from, base.ref.from and
// base.sha.from), as GitHub does. An edit that changes nothing delivers
// nothing. The base must be an existing branch and the pull request open
// to move it (422 otherwise).
func (s *Server) EditPullRequest(ctx context.Context, repoName string, number int, actor string, e PullRequestEdit) (PullRequest, error) {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return PullRequest{}, err
	}
	u, err := s.userLocked(actor)
	if err != nil {
		s.mu.Unlock()
		return PullRequest{}, err
	}
	if !s.mayEditPull(p, u) {
		s.mu.Unlock()
		return PullRequest{}, fmt.Errorf("%s may not edit %s#%d: only its author or people with write access may", u.login, repoName, number)
	}
	evs, err := s.editPullLocked(ctx, p, u, e)
	out := s.pullInfo(p)
	s.mu.Unlock()
	if err != nil {
		return PullRequest{}, err
	}
	s.deliverAll(ctx, evs)
	return out, nil
}

// mayEditPull: the author, or anyone with write access. Call with s.mu held.
func (s *Server) mayEditPull(p *pull, u *user) bool {
	return u == p.author || permRank[s.permissionLocked(p.repo, u)] >= permRank["write"]
}

// editPullLocked validates the whole edit before it changes anything.
func (s *Server) editPullLocked(ctx context.Context, p *pull, u *user, e PullRequestEdit) ([]event, error) {
	rp := p.repo
	invalid := func(field, code string) error {
		return &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Field: field, Code: code}}}
	}
	changes := map[string]any{}
	if e.Title != nil && *e.Title != p.title {
		if strings.TrimSpace(*e.Title) == "" {
			return nil, invalid("title", "missing_field")
		}
		changes["title"] = map[string]string{"from": p.title}
	}
	if e.Body != nil && *e.Body != p.body {
		changes["body"] = map[string]string{"from": p.body}
	}
	if e.Base != nil && *e.Base != p.baseRef {
		if p.state != "open" {
			return nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Field: "base", Code: "invalid",
				Message: "Cannot change the base branch of a closed pull request."}}}
		}
		newBase, err := branchHash(rp, *e.Base)
		if err != nil {
			return nil, invalid("base", "invalid")
		}
		for _, o := range rp.pulls {
			if o != p && o.state == "open" && o.headRef == p.headRef && o.baseRef == *e.Base {
				return nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Code: "custom",
					Message: fmt.Sprintf("A pull request already exists for %s:%s.", rp.owner.login, p.headRef)}}}
			}
		}
		cs, err := commitsBetween(rp.git, newBase, p.head)
		if err != nil {
			return nil, err
		}
		if len(cs) == 0 {
			return nil, &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("No commits between %s and %s", *e.Base, p.headRef)}}}
		}
		changes["base"] = map[string]any{"ref": map[string]string{"from": p.baseRef}, "sha": map[string]string{"from": s.baseSHA(p).String()}}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	if _, ok := changes["title"]; ok {
		p.title = *e.Title
	}
	if _, ok := changes["body"]; ok {
		p.body = *e.Body
	}
	if _, ok := changes["base"]; ok {
		p.baseRef = *e.Base
	}
	p.updated = s.now()
	return []event{s.pullEvent(ctx, p, "edited", u, map[string]any{"changes": changes})}, nil
}

func (s *Server) actorOr(login string, def *user) (*user, error) {
	if login == "" {
		return def, nil
	}
	return s.userLocked(login)
}

// MergeOptions describe how a pull request is merged.
type MergeOptions struct {
	// Actor merges (default: the pull request's author); sender of the
	// pull_request "closed" event and author of the merge commit.
	Actor string
	// Method is "merge" (default: a merge commit with two parents),
	// "squash" (one commit, one parent) or "rebase": each commit of the pull
	// request, oldest first, is replayed on the base's tip with its author
	// (name, email, date) and message; the merger is the committer (GitHub
	// does not sign rebase merges, so it does not commit them as itself).
	// Merge commits in the pull request are dropped, as git rebase does. The
	// base branch ends at the last replayed commit, which is the merge
	// commit SHA. Any other method is a 422, as on GitHub.
	Method string
	// CommitTitle and CommitMessage override GitHub's defaults.
	CommitTitle, CommitMessage string
	// SHA, when set, must equal the head SHA (as the REST API's sha field).
	SHA string
}

// errStatus is a refusal answered with GitHub's status and message: 405 (not
// mergeable), 409 (head moved), 404 (a label the issue does not have).
type errStatus struct {
	status int
	msg    string
}

func (e *errStatus) Error() string { return e.msg }

// MergePullRequest merges a pull request into its base branch with a real
// merge commit (git's ort merge), closes it, and delivers pull_request
// "closed" with merged true. It returns the merge commit SHA.
func (s *Server) MergePullRequest(ctx context.Context, repoName string, number int, opts MergeOptions) (string, error) {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	u, err := s.actorOr(opts.Actor, p.author)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	sha, ev, err := s.mergeLocked(ctx, p, u, opts)
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	s.deliverAll(ctx, []event{ev})
	return sha, nil
}

func (s *Server) mergeLocked(ctx context.Context, p *pull, u *user, opts MergeOptions) (string, event, error) {
	method := opts.Method
	if method == "" {
		method = "merge"
	}
	if method != "merge" && method != "squash" && method != "rebase" {
		return "", event{}, &errValidation{msg: fmt.Sprintf("Invalid request.\n\nFor 'properties/merge_method', %q is not one of [\"merge\", \"squash\", \"rebase\"].", method)}
	}
	if p.state != "open" {
		return "", event{}, &errStatus{405, "Pull Request is not mergeable"}
	}
	if opts.SHA != "" && opts.SHA != p.head.String() {
		return "", event{}, &errStatus{409, "Head branch was modified. Review and try the merge again."}
	}
	rp := p.repo
	baseTip, err := branchHash(rp, p.baseRef)
	if err != nil {
		return "", event{}, err
	}
	var h plumbing.Hash
	if method == "rebase" {
		if h, err = s.rebaseLocked(ctx, p, u, baseTip); err != nil {
			return "", event{}, err
		}
	} else if h, err = s.mergeCommitLocked(ctx, p, u, baseTip, method, opts); err != nil {
		return "", event{}, err
	}
	if err := rp.git.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(p.baseRef), h)); err != nil {
		return "", event{}, fmt.Errorf("updating %s of %s: %w", p.baseRef, rp.fullName(), err)
	}
	now := s.now()
	p.baseAtClose = baseTip
	p.state, p.merged, p.mergedBy, p.mergeCommit = "closed", true, u, h
	p.closedAt, p.mergedAt, p.updated = &now, &now, now
	rp.pushed, rp.updated = now, now
	rp.contributors[p.author.id] = true
	return h.String(), s.pullEvent(ctx, p, "closed", u, nil), nil
}

// mergeCommitLocked writes the commit of a merge or squash merge: the ort
// merge of the base tip and the head, authored by the merger and committed
// by GitHub.
func (s *Server) mergeCommitLocked(ctx context.Context, p *pull, u *user, baseTip plumbing.Hash, method string, opts MergeOptions) (plumbing.Hash, error) {
	rp := p.repo
	m, err := s.mergeTree(ctx, rp, baseTip, p.head)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !m.clean {
		return plumbing.ZeroHash, &errStatus{405, "Pull Request is not mergeable"}
	}
	title, body := opts.CommitTitle, opts.CommitMessage
	parents := []plumbing.Hash{baseTip, p.head}
	if method == "merge" {
		if title == "" {
			title = fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, rp.owner.login, p.headRef)
		}
		if body == "" {
			body = p.title
		}
	} else {
		parents = parents[:1]
		if title == "" {
			title = fmt.Sprintf("%s (#%d)", p.title, p.number)
		}
		if body == "" {
			cs, err := commitsBetween(rp.git, baseTip, p.head)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			var lines []string
			for _, c := range cs {
				lines = append(lines, "* "+strings.TrimSpace(c.Message))
			}
			body = strings.Join(lines, "\n\n")
		}
	}
	msg := title + "\n\n" + body + "\n"
	committer := object.Signature{Name: "GitHub", Email: "noreply@github.com", When: s.now()}
	h, err := storeCommit(rp.git, &object.Commit{Author: s.signature(u), Committer: committer, Message: msg, TreeHash: m.tree, ParentHashes: parents})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the merge commit of %s#%d: %w", rp.fullName(), p.number, err)
	}
	return h, nil
}

// startsEmpty: c changes nothing against its first parent.
func startsEmpty(rp *repo, c *object.Commit) bool {
	p, err := rp.git.CommitObject(c.ParentHashes[0])
	return err == nil && p.TreeHash == c.TreeHash
}

// rebaseLocked replays the pull request's commits on baseTip and returns
// the last one. Nothing is referenced until the caller moves the branch, so
// a refusal leaves the repository as it was.
func (s *Server) rebaseLocked(ctx context.Context, p *pull, u *user, baseTip plumbing.Hash) (plumbing.Hash, error) {
	rp := p.repo
	cs, err := commitsBetween(rp.git, baseTip, p.head)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	notRebaseable := &errStatus{405, "This branch can't be rebased"}
	tip := baseTip
	tipTree := plumbing.ZeroHash
	if c, err := rp.git.CommitObject(tip); err == nil {
		tipTree = c.TreeHash
	}
	committer := s.signature(u)
	for _, c := range cs {
		if len(c.ParentHashes) > 1 {
			continue // git rebase drops merge commits
		}
		tree, clean, err := s.cherryPickTree(ctx, rp, tip, c)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !clean {
			return plumbing.ZeroHash, notRebaseable
		}
		if tree == tipTree && !startsEmpty(rp, c) {
			continue // its change is already on the base: dropped, as git rebase does
		}
		if tip, err = storeCommit(rp.git, &object.Commit{Author: c.Author, Committer: committer, Message: c.Message,
			TreeHash: tree, ParentHashes: []plumbing.Hash{tip}}); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("replaying %s of %s#%d: %w", c.Hash, rp.fullName(), p.number, err)
		}
		tipTree = tree
	}
	if tip == baseTip {
		return plumbing.ZeroHash, &errStatus{405, "Pull Request is not mergeable"}
	}
	return tip, nil
}

// pullJSON renders a pull request. Call with s.mu held.
func (s *Server) pullJSON(ctx context.Context, p *pull) *pullJSON {
	rp := p.repo
	num := strconv.Itoa(p.number)
	api := s.repoAPI(rp, "pulls", num)
	issue := s.repoAPI(rp, "issues", num)
	html := s.repoWeb(rp, "pull", num)
	baseTip := s.baseSHA(p)
	statuses := s.repoAPI(rp, "statuses", p.head.String())
	var mergeSHA *string
	if p.merged {
		mergeSHA = strp(p.mergeCommit.String())
	}
	repoJ := s.repoJSON(rp)
	out := &pullJSON{simplePullJSON: simplePullJSON{
		URL: api, ID: p.id, NodeID: nodeID("PullRequest", p.id), HTMLURL: html, DiffURL: html + ".diff", PatchURL: html + ".patch",
		IssueURL: issue, Number: p.number, State: p.state, Title: p.title, User: s.userJSON(p.author), Body: nullable(p.body),
		CreatedAt: ts(p.created), UpdatedAt: ts(p.updated), ClosedAt: tsp(p.closedAt), MergedAt: tsp(p.mergedAt),
		MergeCommitSHA: mergeSHA, Assignees: []*userJSON{}, RequestedReviewers: []*userJSON{}, RequestedTeams: []struct{}{},
		Labels: s.labelsJSON(rp, p.labels), Draft: p.draft, CommitsURL: api + "/commits", ReviewCommentsURL: api + "/comments",
		ReviewCommentURL: s.repoAPI(rp, "pulls") + "/comments{/number}", CommentsURL: issue + "/comments", StatusesURL: statuses,
		Head: prRefJSON{Label: rp.owner.login + ":" + p.headRef, Ref: p.headRef, SHA: p.head.String(), User: s.userJSON(rp.owner), Repo: repoJ},
		Base: prRefJSON{Label: rp.owner.login + ":" + p.baseRef, Ref: p.baseRef, SHA: baseTip.String(), User: s.userJSON(rp.owner), Repo: repoJ},
		Links: prLinksJSON{Self: linkJSON{api}, HTML: linkJSON{html}, Issue: linkJSON{issue}, Comments: linkJSON{issue + "/comments"},
			ReviewComments: linkJSON{api + "/comments"}, ReviewComment: linkJSON{s.repoAPI(rp, "pulls") + "/comments{/number}"},
			Commits: linkJSON{api + "/commits"}, Statuses: linkJSON{statuses}},
		AuthorAssociation: s.authorAssociation(rp, p.author),
	},
		Merged: p.merged, MergedBy: s.userJSON(p.mergedBy), Comments: len(p.comments), MergeableState: "unknown",
	}
	if p.state == "open" {
		if m, err := s.mergeTree(ctx, rp, baseTip, p.head); err == nil {
			clean := m.clean
			out.Mergeable, out.Rebaseable = &clean, &clean
			out.MergeableState = "clean"
			if !clean {
				out.MergeableState = "dirty"
			}
		}
	}
	diffBase := baseTip
	if p.merged {
		diffBase = p.baseAtClose
	}
	if cs, err := commitsBetween(rp.git, diffBase, p.head); err == nil {
		out.Commits = len(cs)
	}
	if files, err := diffCommits(ctx, rp.git, diffBase, p.head); err == nil {
		out.ChangedFiles = len(files)
		for _, f := range files {
			out.Additions += f.additions
			out.Deletions += f.deletions
		}
	}
	return out
}

// issueJSON renders a pull request's issue. Call with s.mu held.
func (s *Server) issueJSON(p *pull) *issueJSON {
	rp := p.repo
	num := strconv.Itoa(p.number)
	issue := s.repoAPI(rp, "issues", num)
	html := s.repoWeb(rp, "pull", num)
	return &issueJSON{
		URL: issue, RepositoryURL: s.repoAPI(rp), LabelsURL: issue + "/labels{/name}", CommentsURL: issue + "/comments",
		EventsURL: issue + "/events", HTMLURL: html, ID: p.issueID, NodeID: nodeID("PullRequest", p.id), Number: p.number,
		Title: p.title, User: s.userJSON(p.author), Labels: s.labelsJSON(rp, p.labels), State: p.state, Assignees: []*userJSON{},
		Comments: len(p.comments), CreatedAt: ts(p.created), UpdatedAt: ts(p.updated), ClosedAt: tsp(p.closedAt),
		AuthorAssociation: s.authorAssociation(rp, p.author), Draft: p.draft,
		PullRequest: issuePRJSON{URL: s.repoAPI(rp, "pulls", num), HTMLURL: html, DiffURL: html + ".diff", PatchURL: html + ".patch", MergedAt: tsp(p.mergedAt)},
		Body:        nullable(p.body), Reactions: reactionsJSON{URL: issue + "/reactions"}, TimelineURL: issue + "/timeline",
	}
}
