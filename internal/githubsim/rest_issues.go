package githubsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	docReactions = "https://docs.github.com/rest/reactions/reactions"
	docLabels    = "https://docs.github.com/rest/issues/labels"
)

// issuesDispatch routes /repos/{o}/{r}/issues/…: GitHub's paths
// issues/{number}/comments and issues/comments/{id} overlap, so they are
// told apart here rather than by the mux.
func (s *Server) issuesDispatch(w http.ResponseWriter, r *http.Request) {
	parts, ok := issuePathParts(r)
	if !ok {
		notFound(w)
		return
	}
	m := r.Method
	switch {
	case len(parts) == 2 && parts[1] == "labels" && m == http.MethodGet:
		s.listIssueLabels(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "labels" && m == http.MethodPost:
		s.addIssueLabels(w, r, parts[0])
	case len(parts) == 3 && parts[1] == "labels" && m == http.MethodDelete:
		s.removeIssueLabel(w, r, parts[0], parts[2])
	case len(parts) == 1 && m == http.MethodGet:
		s.getIssue(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "comments" && parts[0] != "comments" && m == http.MethodGet:
		s.listComments(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "comments" && parts[0] != "comments" && m == http.MethodPost:
		s.createComment(w, r, parts[0])
	case len(parts) == 2 && parts[0] == "comments" && m == http.MethodGet:
		s.getComment(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "comments" && m == http.MethodPatch:
		s.editComment(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "comments" && m == http.MethodDelete:
		s.deleteComment(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "comments" && parts[2] == "reactions" && m == http.MethodGet:
		s.listReactions(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "comments" && parts[2] == "reactions" && m == http.MethodPost:
		s.createReaction(w, r, parts[1])
	case len(parts) == 4 && parts[0] == "comments" && parts[2] == "reactions" && m == http.MethodDelete:
		s.deleteReaction(w, r, parts[1], parts[3])
	default:
		notFound(w)
	}
}

// issuePathParts splits what follows /issues/ into unescaped segments, so
// that a label name may hold a slash ("deploy%2Fprod").
func issuePathParts(r *http.Request) ([]string, bool) {
	p := r.URL.EscapedPath()
	i := strings.Index(p, "/issues/")
	if i < 0 {
		return nil, false
	}
	parts := strings.Split(strings.Trim(p[i+len("/issues/"):], "/"), "/")
	for k, seg := range parts {
		u, err := url.PathUnescape(seg)
		if err != nil {
			return nil, false
		}
		parts[k] = u
	}
	return parts, true
}

// issueFromPath finds the pull request behind an issue number. Call with s.mu held.
func (s *Server) issueFromPath(w http.ResponseWriter, r *http.Request, num string) (*pull, identity, bool) {
	rp, id, ok := s.repoFromPath(w, r)
	if !ok {
		return nil, id, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > len(rp.pulls) {
		writeError(w, http.StatusNotFound, "Not Found", docComments)
		return nil, id, false
	}
	return rp.pulls[n-1], id, true
}

// commentFromPath finds a comment by ID. Call with s.mu held.
func (s *Server) commentFromPath(w http.ResponseWriter, r *http.Request, raw string) (*comment, identity, bool) {
	rp, id, ok := s.repoFromPath(w, r)
	if !ok {
		return nil, id, false
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	c := s.comments[n]
	if err != nil || c == nil || c.pull.repo != rp {
		writeError(w, http.StatusNotFound, "Not Found", docComments)
		return nil, id, false
	}
	return c, id, true
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, num string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, ok := s.issueFromPath(w, r, num)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.issueJSON(p))
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, num string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, ok := s.issueFromPath(w, r, num)
	if !ok {
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	out := []*commentJSON{}
	for _, c := range p.comments {
		if !since.IsZero() && c.updated.Before(since) {
			continue
		}
		out = append(out, s.commentJSON(c))
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, out))
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, num string) {
	var req struct {
		Body *string `json:"body"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	p, id, ok := s.issueFromPath(w, r, num)
	if !ok {
		s.mu.Unlock()
		return
	}
	body := ""
	if req.Body != nil {
		body = *req.Body
	}
	c, ev, err := s.addCommentLocked(p, id.user, body, id.inst != nil || id.user == s.app.bot)
	if err != nil {
		s.mu.Unlock()
		writeErr(w, err, docComments)
		return
	}
	out := s.commentJSON(c)
	s.mu.Unlock()
	s.deliverAll(r.Context(), []event{ev})
	w.Header().Set("Location", out.URL)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getComment(w http.ResponseWriter, r *http.Request, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _, ok := s.commentFromPath(w, r, raw)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.commentJSON(c))
}

// mayModify: a comment's author, or anyone with write access.
func (s *Server) mayModify(w http.ResponseWriter, c *comment, id identity) bool {
	if c.author == id.user {
		return true
	}
	return s.requireWrite(w, c.pull.repo, id)
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, raw string) {
	var req struct {
		Body *string `json:"body"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	c, id, ok := s.commentFromPath(w, r, raw)
	if !ok || !s.mayModify(w, c, id) {
		s.mu.Unlock()
		return
	}
	body := ""
	if req.Body != nil {
		body = *req.Body
	}
	ev, err := s.editCommentLocked(c, id.user, body)
	if err != nil {
		s.mu.Unlock()
		writeErr(w, err, docComments)
		return
	}
	out := s.commentJSON(c)
	s.mu.Unlock()
	s.deliverAll(r.Context(), []event{ev})
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request, raw string) {
	s.mu.Lock()
	c, id, ok := s.commentFromPath(w, r, raw)
	if !ok || !s.mayModify(w, c, id) {
		s.mu.Unlock()
		return
	}
	ev := s.deleteCommentLocked(c, id.user)
	s.mu.Unlock()
	s.deliverAll(r.Context(), []event{ev})
	w.WriteHeader(http.StatusNoContent)
}

type reactionJSON struct {
	ID        int64     `json:"id"`
	NodeID    string    `json:"node_id"`
	User      *userJSON `json:"user"`
	Content   string    `json:"content"`
	CreatedAt string    `json:"created_at"`
}

func (s *Server) reactionJSON(rc *reaction) reactionJSON {
	return reactionJSON{ID: rc.id, NodeID: nodeID("Reaction", rc.id), User: s.userJSON(rc.user), Content: rc.content, CreatedAt: ts(rc.created)}
}

func (s *Server) listReactions(w http.ResponseWriter, r *http.Request, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _, ok := s.commentFromPath(w, r, raw)
	if !ok {
		return
	}
	want := r.URL.Query().Get("content")
	out := []reactionJSON{}
	for _, rc := range c.reactions {
		if want == "" || want == rc.content {
			out = append(out, s.reactionJSON(rc))
		}
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, out))
}

// createReaction answers 201 for a new reaction and 200 when the caller had
// already given it, as GitHub does.
func (s *Server) createReaction(w http.ResponseWriter, r *http.Request, raw string) {
	var req struct {
		Content string `json:"content"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, id, ok := s.commentFromPath(w, r, raw)
	if !ok {
		return
	}
	rc, created, err := s.reactLocked(c, id.user, req.Content)
	if err != nil {
		writeErr(w, err, docReactions)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, s.reactionJSON(rc))
}

func (s *Server) deleteReaction(w http.ResponseWriter, r *http.Request, rawComment, rawReaction string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, id, ok := s.commentFromPath(w, r, rawComment)
	if !ok {
		return
	}
	n, _ := strconv.ParseInt(rawReaction, 10, 64)
	for i, rc := range c.reactions {
		if rc.id == n {
			if rc.user != id.user && !s.requireWrite(w, c.pull.repo, id) {
				return
			}
			c.reactions = append(c.reactions[:i:i], c.reactions[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFound(w)
}

func (s *Server) listIssueLabels(w http.ResponseWriter, r *http.Request, num string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, ok := s.issueFromPath(w, r, num)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, s.labelsJSON(p.repo, p.labels)))
}

// addIssueLabels answers POST …/issues/{n}/labels with every label of the
// issue. GitHub takes a bare array of names (as go-github sends it) or
// {"labels": [...]} whose items are names or {"name": …}.
func (s *Server) addIssueLabels(w http.ResponseWriter, r *http.Request, num string) {
	var raw json.RawMessage
	if !readJSON(w, r, &raw) {
		return
	}
	names, ok := labelNamesFromBody(raw)
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"labels\" wasn't supplied.", docLabels)
		return
	}
	s.mu.Lock()
	p, id, ok := s.issueFromPath(w, r, num)
	if !ok || !s.requireRole(w, p.repo, id, "triage") {
		s.mu.Unlock()
		return
	}
	evs, err := s.addLabelsLocked(r.Context(), p, id.user, names)
	if err != nil {
		s.mu.Unlock()
		writeErr(w, err, docLabels)
		return
	}
	out := s.labelsJSON(p.repo, p.labels)
	s.mu.Unlock()
	s.deliverAll(r.Context(), evs)
	writeJSON(w, http.StatusOK, out)
}

func labelNamesFromBody(raw json.RawMessage) ([]string, bool) {
	var names []string
	if json.Unmarshal(raw, &names) == nil && names != nil {
		return names, true
	}
	var obj struct {
		Labels []json.RawMessage `json:"labels"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Labels == nil {
		return nil, false
	}
	for _, item := range obj.Labels {
		var n string
		if json.Unmarshal(item, &n) == nil {
			names = append(names, n)
			continue
		}
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(item, &named) != nil {
			return nil, false
		}
		names = append(names, named.Name)
	}
	return names, true
}

// removeIssueLabel answers DELETE …/issues/{n}/labels/{name} with the
// labels that remain, or 404 "Label does not exist".
func (s *Server) removeIssueLabel(w http.ResponseWriter, r *http.Request, num, name string) {
	s.mu.Lock()
	p, id, ok := s.issueFromPath(w, r, num)
	if !ok || !s.requireRole(w, p.repo, id, "triage") {
		s.mu.Unlock()
		return
	}
	ev, err := s.removeLabelLocked(r.Context(), p, id.user, name)
	if err != nil {
		s.mu.Unlock()
		writeErr(w, err, docLabels)
		return
	}
	out := s.labelsJSON(p.repo, p.labels)
	s.mu.Unlock()
	s.deliverAll(r.Context(), []event{ev})
	writeJSON(w, http.StatusOK, out)
}
