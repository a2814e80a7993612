package githubsim

import (
	"encoding/base64"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const (
	docPulls    = "https://docs.github.com/rest/pulls/pulls"
	docMerge    = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
	docReviews  = "https://docs.github.com/rest/pulls/reviews"
	docComments = "https://docs.github.com/rest/issues/comments"
	docContents = "https://docs.github.com/rest/repos/contents#get-repository-content"
	docCommits  = "https://docs.github.com/rest/commits/commits#get-a-commit"
)

// pullFromPath finds the pull request of a request. Call with s.mu held.
func (s *Server) pullFromPath(w http.ResponseWriter, r *http.Request) (*pull, identity, bool) {
	rp, id, ok := s.repoFromPath(w, r)
	if !ok {
		return nil, id, false
	}
	n, ok := pathInt(r, "number")
	if !ok || int(n) > len(rp.pulls) {
		writeError(w, http.StatusNotFound, "Not Found", docPulls)
		return nil, id, false
	}
	return rp.pulls[n-1], id, true
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.repoFromPath(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var ps []*pull
	for _, p := range rp.pulls {
		if state != "all" && p.state != state {
			continue
		}
		if h := q.Get("head"); h != "" && h != rp.owner.login+":"+p.headRef && h != p.headRef {
			continue
		}
		if b := q.Get("base"); b != "" && b != p.baseRef {
			continue
		}
		ps = append(ps, p)
	}
	asc := q.Get("direction") == "asc"
	sort.SliceStable(ps, func(i, j int) bool {
		if asc {
			return ps[i].number < ps[j].number
		}
		return ps[i].number > ps[j].number
	})
	page := paginate(s, w, r, ps)
	out := make([]*pullJSON, 0, len(page))
	for _, p := range page {
		out = append(out, s.pullJSON(r.Context(), p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, ok := s.pullFromPath(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.pullJSON(r.Context(), p))
}

// editPull answers PATCH /repos/{o}/{r}/pulls/{n}: title, body and base
// (pull_request "edited"), then state (closed or reopened), for the author
// or anyone with write access.
func (s *Server) editPull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		Base  *string `json:"base"`
		State *string `json:"state"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.State != nil && *req.State != "open" && *req.State != "closed" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", docPulls, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"})
		return
	}
	s.mu.Lock()
	p, id, ok := s.pullFromPath(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	if !s.mayEditPull(p, id.user) && !s.requireWrite(w, p.repo, id) {
		s.mu.Unlock()
		return
	}
	if req.State != nil && *req.State == "open" && p.state != "open" && p.merged {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", docPulls,
			fieldError{Resource: "PullRequest", Field: "state", Code: "custom", Message: "state cannot be changed. The pull request has been merged."})
		return
	}
	evs, err := s.editPullLocked(r.Context(), p, id.user, PullRequestEdit{Title: req.Title, Body: req.Body, Base: req.Base})
	if err == nil && req.State != nil && *req.State != p.state {
		var ev event
		if *req.State == "closed" {
			ev = s.closeLocked(r.Context(), p, id.user)
		} else {
			ev, err = s.reopenLocked(r.Context(), p, id.user)
		}
		if err == nil {
			evs = append(evs, ev)
		}
	}
	if err != nil {
		s.mu.Unlock()
		s.deliverAll(r.Context(), evs)
		writeErr(w, err, docPulls)
		return
	}
	out := s.pullJSON(r.Context(), p)
	s.mu.Unlock()
	s.deliverAll(r.Context(), evs)
	writeJSON(w, http.StatusOK, out)
}

type pullFileJSON struct {
	SHA              string  `json:"sha"`
	Filename         string  `json:"filename"`
	Status           string  `json:"status"`
	Additions        int     `json:"additions"`
	Deletions        int     `json:"deletions"`
	Changes          int     `json:"changes"`
	BlobURL          string  `json:"blob_url"`
	RawURL           string  `json:"raw_url"`
	ContentsURL      string  `json:"contents_url"`
	Patch            string  `json:"patch,omitempty"`
	PreviousFilename *string `json:"previous_filename,omitempty"`
}

func (s *Server) filesJSON(rp *repo, files []changedFile, sha string) []pullFileJSON {
	out := make([]pullFileJSON, 0, len(files))
	for _, f := range files {
		j := pullFileJSON{SHA: f.sha, Filename: f.name, Status: f.status, Additions: f.additions, Deletions: f.deletions,
			Changes: f.additions + f.deletions, BlobURL: s.repoWeb(rp, "blob", sha) + "/" + f.name,
			RawURL: s.repoWeb(rp, "raw", sha) + "/" + f.name, ContentsURL: s.repoAPI(rp, "contents") + "/" + f.name + "?ref=" + sha,
			Patch: f.patch}
		if f.previous != "" {
			j.PreviousFilename = strp(f.previous)
		}
		out = append(out, j)
	}
	return out
}

func (s *Server) listPullFiles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, ok := s.pullFromPath(w, r)
	if !ok {
		return
	}
	base := s.baseSHA(p)
	files, err := diffCommits(r.Context(), p.repo.git, base, p.head)
	if err != nil {
		writeErr(w, err, docPulls)
		return
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, s.filesJSON(p.repo, files, p.head.String())))
}

func (s *Server) listPullCommits(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, ok := s.pullFromPath(w, r)
	if !ok {
		return
	}
	cs, err := commitsBetween(p.repo.git, s.baseSHA(p), p.head)
	if err != nil {
		writeErr(w, err, docPulls)
		return
	}
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.commitJSON(p.repo, c, nil))
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, out))
}

func (s *Server) mergePull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	p, id, ok := s.pullFromPath(w, r)
	if !ok || !s.requireWrite(w, p.repo, id) {
		s.mu.Unlock()
		return
	}
	sha, ev, err := s.mergeLocked(r.Context(), p, id.user, MergeOptions{Method: req.MergeMethod, CommitTitle: req.CommitTitle,
		CommitMessage: req.CommitMessage, SHA: req.SHA})
	s.mu.Unlock()
	if err != nil {
		writeErr(w, err, docMerge)
		return
	}
	s.deliverAll(r.Context(), []event{ev})
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, ok := s.pullFromPath(w, r)
	if !ok {
		return
	}
	out := make([]*reviewJSON, 0, len(p.reviews))
	for _, rv := range p.reviews {
		out = append(out, s.reviewJSON(rv, false))
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, out))
}

func (s *Server) createReview(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	p, id, ok := s.pullFromPath(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	if req.Event == "" {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "Unprocessable Entity", docReviews,
			fieldError{Message: "Pending reviews are not simulated: give event APPROVE, REQUEST_CHANGES or COMMENT"})
		return
	}
	rv, ev, err := s.submitReviewLocked(p, id.user, req.Event, req.Body, req.CommitID)
	if err != nil {
		s.mu.Unlock()
		writeErr(w, err, docReviews)
		return
	}
	out := s.reviewJSON(rv, false)
	s.mu.Unlock()
	s.deliverAll(r.Context(), []event{ev})
	writeJSON(w, http.StatusOK, out)
}

// reviewFromPath finds the review of a request. Call with s.mu held.
func (s *Server) reviewFromPath(w http.ResponseWriter, r *http.Request) (*review, identity, bool) {
	p, id, ok := s.pullFromPath(w, r)
	if !ok {
		return nil, id, false
	}
	n, _ := pathInt(r, "id")
	rv := p.reviewByID(n)
	if rv == nil {
		writeError(w, http.StatusNotFound, "Not Found", docReviews)
		return nil, id, false
	}
	return rv, id, true
}

func (s *Server) getReview(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, _, ok := s.reviewFromPath(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.reviewJSON(rv, false))
}

// dismissReview answers PUT …/reviews/{id}/dismissals (write access; a
// message is required).
func (s *Server) dismissReview(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Message string `json:"message"`
		Event   string `json:"event"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	rv, id, ok := s.reviewFromPath(w, r)
	if !ok || !s.requireWrite(w, rv.pull.repo, id) {
		s.mu.Unlock()
		return
	}
	ev, err := s.dismissReviewLocked(rv, id.user, req.Message)
	if err != nil {
		s.mu.Unlock()
		writeErr(w, err, docReviews)
		return
	}
	out := s.reviewJSON(rv, false)
	s.mu.Unlock()
	s.deliverAll(r.Context(), []event{ev})
	writeJSON(w, http.StatusOK, out)
}

type contentLinksJSON struct {
	Self string `json:"self"`
	Git  string `json:"git"`
	HTML string `json:"html"`
}

type contentJSON struct {
	Type        string           `json:"type"`
	Encoding    string           `json:"encoding,omitempty"`
	Size        int64            `json:"size"`
	Name        string           `json:"name"`
	Path        string           `json:"path"`
	Content     *string          `json:"content,omitempty"`
	SHA         string           `json:"sha"`
	URL         string           `json:"url"`
	GitURL      string           `json:"git_url"`
	HTMLURL     string           `json:"html_url"`
	DownloadURL *string          `json:"download_url"`
	Links       contentLinksJSON `json:"_links"`
}

// getContents answers GET /repos/{o}/{r}/contents/{path}?ref=: a file
// (base64, wrapped at 60 columns like GitHub) or a directory listing.
func (s *Server) getContents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.repoFromPath(w, r)
	if !ok {
		return
	}
	ref := r.URL.Query().Get("ref")
	h, err := resolveRef(rp, ref)
	if err != nil {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+ref, docContents)
		return
	}
	if ref == "" {
		ref = rp.defaultBranch
	}
	c, err := rp.git.CommitObject(h)
	if err != nil {
		writeErr(w, err, docContents)
		return
	}
	tree, err := c.Tree()
	if err != nil {
		writeErr(w, err, docContents)
		return
	}
	p := strings.Trim(r.PathValue("path"), "/")
	entry := func(name, full string, mode string, hash plumbing.Hash, size int64) contentJSON {
		self := s.repoAPI(rp, "contents") + "/" + full + "?ref=" + ref
		kind, gitURL, html := "file", s.repoAPI(rp, "git", "blobs", hash.String()), s.repoWeb(rp, "blob", ref)+"/"+full
		var dl *string
		if mode == "dir" {
			kind, gitURL, html = "dir", s.repoAPI(rp, "git", "trees", hash.String()), s.repoWeb(rp, "tree", ref)+"/"+full
		} else {
			dl = strp(s.repoWeb(rp, "raw", ref) + "/" + full)
		}
		return contentJSON{Type: kind, Size: size, Name: name, Path: full, SHA: hash.String(), URL: self, GitURL: gitURL,
			HTMLURL: html, DownloadURL: dl, Links: contentLinksJSON{Self: self, Git: gitURL, HTML: html}}
	}
	dir := tree
	if p != "" {
		if f, err := tree.File(p); err == nil {
			rd, err := f.Reader()
			if err != nil {
				writeErr(w, err, docContents)
				return
			}
			b, err := io.ReadAll(rd)
			rd.Close()
			if err != nil {
				writeErr(w, err, docContents)
				return
			}
			j := entry(f.Name[strings.LastIndex(f.Name, "/")+1:], p, "file", f.Hash, f.Size)
			j.Encoding, j.Content = "base64", strp(wrap60(base64.StdEncoding.EncodeToString(b)))
			writeJSON(w, http.StatusOK, j)
			return
		}
		if dir, err = tree.Tree(p); err != nil {
			writeError(w, http.StatusNotFound, "Not Found", docContents)
			return
		}
	}
	out := []contentJSON{}
	for _, e := range dir.Entries {
		full := e.Name
		if p != "" {
			full = p + "/" + e.Name
		}
		if e.Mode == 0o040000 {
			out = append(out, entry(e.Name, full, "dir", e.Hash, 0))
			continue
		}
		var size int64
		if b, err := rp.git.BlobObject(e.Hash); err == nil {
			size = b.Size
		}
		out = append(out, entry(e.Name, full, "file", e.Hash, size))
	}
	writeJSON(w, http.StatusOK, out)
}

func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

// commitsDispatch answers GET /repos/{o}/{r}/commits/{ref} and
// GET /repos/{o}/{r}/commits/{ref}/check-runs (refs may contain slashes).
func (s *Server) commitsDispatch(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	if ref, ok := strings.CutSuffix(rest, "/check-runs"); ok {
		s.listCheckRunsForRef(w, r, ref)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.repoFromPath(w, r)
	if !ok {
		return
	}
	h, err := resolveRef(rp, rest)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+rest, docCommits)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), ".sha") {
		w.Header().Set("Content-Type", "application/vnd.github.sha; charset=utf-8")
		w.Header().Set("ETag", `"`+h.String()+`"`)
		if r.Header.Get("If-None-Match") == `"`+h.String()+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte(h.String()))
		return
	}
	c, err := rp.git.CommitObject(h)
	if err != nil {
		writeErr(w, err, docCommits)
		return
	}
	var files []changedFile
	if len(c.ParentHashes) > 0 {
		files, _ = diffCommits(r.Context(), rp.git, c.ParentHashes[0], h)
	}
	writeJSON(w, http.StatusOK, s.commitJSON(rp, c, files))
}

// commitJSON renders a commit as the Commits API does; files is nil when
// the answer lists commits (no stats then).
func (s *Server) commitJSON(rp *repo, c *object.Commit, files []changedFile) map[string]any {
	sha := c.Hash.String()
	parents := make([]map[string]string, 0, len(c.ParentHashes))
	for _, p := range c.ParentHashes {
		parents = append(parents, map[string]string{"sha": p.String(), "url": s.repoAPI(rp, "commits", p.String()),
			"html_url": s.repoWeb(rp, "commit", p.String())})
	}
	sig := func(g object.Signature) map[string]string {
		return map[string]string{"name": g.Name, "email": g.Email, "date": ts(g.When)}
	}
	out := map[string]any{
		"sha": sha, "node_id": base64.StdEncoding.EncodeToString([]byte("06:Commit" + itoa64(rp.id) + ":" + sha)), "url": s.repoAPI(rp, "commits", sha),
		"html_url": s.repoWeb(rp, "commit", sha), "comments_url": s.repoAPI(rp, "commits", sha, "comments"),
		"commit": map[string]any{
			"author": sig(c.Author), "committer": sig(c.Committer), "message": strings.TrimSuffix(c.Message, "\n"),
			"tree":          map[string]string{"sha": c.TreeHash.String(), "url": s.repoAPI(rp, "git", "trees", c.TreeHash.String())},
			"url":           s.repoAPI(rp, "git", "commits", sha),
			"comment_count": 0,
		},
		"author": s.userJSONByEmail(c.Author.Email), "committer": s.userJSONByEmail(c.Committer.Email), "parents": parents,
	}
	if files != nil {
		add, del := 0, 0
		for _, f := range files {
			add += f.additions
			del += f.deletions
		}
		out["stats"] = map[string]int{"additions": add, "deletions": del, "total": add + del}
		out["files"] = s.filesJSON(rp, files, sha)
	}
	return out
}

func (s *Server) userJSONByEmail(email string) *userJSON {
	for _, u := range s.users {
		if strings.EqualFold(u.email, email) {
			return s.userJSON(u)
		}
	}
	return nil
}

// serveRaw answers /<owner>/<repo>/raw/<ref>/<path> with the file's bytes.
func (s *Server) serveRaw(w http.ResponseWriter, r *http.Request, id identity) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 4)
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.repos[strings.ToLower(parts[0]+"/"+parts[1])]
	if !ok || (rp.private && permRank[s.permissionLocked(rp, id.user)] < permRank["read"]) {
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	segs := strings.Split(parts[3], "/")
	for i := 1; i < len(segs); i++ {
		h, err := resolveRef(rp, strings.Join(segs[:i], "/"))
		if err != nil {
			continue
		}
		c, err := rp.git.CommitObject(h)
		if err != nil {
			continue
		}
		f, err := c.File(strings.Join(segs[i:], "/"))
		if err != nil {
			continue
		}
		content, err := f.Contents()
		if err != nil {
			continue
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(content))
		return
	}
	http.Error(w, "404: Not Found", http.StatusNotFound)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
