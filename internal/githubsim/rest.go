package githubsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const docREST = "https://docs.github.com/rest"

// routes registers the REST API (paths without the /api/v3 prefix).
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /repos/{owner}/{repo}", s.getRepo)
	m.HandleFunc("GET /repos/{owner}/{repo}/installation", s.getRepoInstallation)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	m.HandleFunc("PATCH /repos/{owner}/{repo}/pulls/{number}", s.editPull)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/files", s.listPullFiles)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/commits", s.listPullCommits)
	m.HandleFunc("PUT /repos/{owner}/{repo}/pulls/{number}/merge", s.mergePull)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/reviews", s.listReviews)
	m.HandleFunc("POST /repos/{owner}/{repo}/pulls/{number}/reviews", s.createReview)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/reviews/{id}", s.getReview)
	m.HandleFunc("PUT /repos/{owner}/{repo}/pulls/{number}/reviews/{id}/dismissals", s.dismissReview)
	m.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.getContents)
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{rest...}", s.commitsDispatch)
	m.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.createCheckRun)
	m.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}", s.getCheckRun)
	m.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.updateCheckRun)
	m.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}/annotations", s.listAnnotations)
	m.HandleFunc("/repos/{owner}/{repo}/issues/{rest...}", s.issuesDispatch)
	m.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{username}/permission", s.getPermission)
	m.HandleFunc("GET /users/{username}", s.getUser)
	m.HandleFunc("GET /user", s.getAuthenticatedUser)
	m.HandleFunc("GET /orgs/{org}/members/{username}", s.checkOrgMember)
	m.HandleFunc("GET /orgs/{org}/teams", s.listTeams)
	m.HandleFunc("GET /orgs/{org}/teams/{slug}", s.getTeam)
	m.HandleFunc("GET /orgs/{org}/teams/{slug}/members", s.listTeamMembers)
	m.HandleFunc("GET /orgs/{org}/teams/{slug}/memberships/{username}", s.getTeamMembership)
	m.HandleFunc("GET /app", s.getApp)
	m.HandleFunc("GET /app/installations", s.listInstallations)
	m.HandleFunc("GET /app/installations/{id}", s.getInstallation)
	m.HandleFunc("POST /app/installations/{id}/access_tokens", s.createAccessToken)
	m.HandleFunc("GET /rate_limit", s.getRateLimit)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg, doc string, errs ...fieldError) {
	writeJSON(w, status, apiError{Message: msg, Errors: errs, DocumentationURL: doc, Status: strconv.Itoa(status)})
}

func notFound(w http.ResponseWriter) { writeError(w, http.StatusNotFound, "Not Found", docREST) }

// writeErr answers an error from the model with the status GitHub uses.
func writeErr(w http.ResponseWriter, err error, doc string) {
	var v *errValidation
	var m *errStatus
	switch {
	case errors.As(err, &v):
		writeError(w, http.StatusUnprocessableEntity, v.msg, doc, v.errors...)
	case errors.As(err, &m):
		writeError(w, m.status, m.msg, doc)
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "Not Found", doc)
	default:
		writeError(w, http.StatusInternalServerError, err.Error(), doc)
	}
}

// readJSON decodes a request body; GitHub answers 400 to malformed JSON.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", docREST)
		return false
	}
	return true
}

// repoFromPath finds the repository of a request and checks the caller may
// see it (private repositories answer 404 to outsiders, as GitHub does).
// Call with s.mu held.
func (s *Server) repoFromPath(w http.ResponseWriter, r *http.Request) (*repo, identity, bool) {
	id := requestIdentity(r)
	rp, ok := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	if !ok || (rp.private && !id.app && permRank[s.permissionLocked(rp, id.user)] < permRank["read"]) {
		notFound(w)
		return nil, id, false
	}
	if id.app { // an App JWT only opens /app endpoints and …/installation
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", docREST)
		return nil, id, false
	}
	return rp, id, true
}

// requireWrite answers 403 unless the caller has write access. Call with s.mu held.
func (s *Server) requireWrite(w http.ResponseWriter, rp *repo, id identity) bool {
	return s.requireRole(w, rp, id, "write")
}

// requireRole answers 403 unless the caller has at least role (triage,
// write, …) on rp. Call with s.mu held.
func (s *Server) requireRole(w http.ResponseWriter, rp *repo, id identity, role string) bool {
	if permRank[s.permissionLocked(rp, id.user)] >= permRank[role] {
		return true
	}
	msg := "Resource not accessible by personal access token"
	if id.inst != nil || id.user == s.app.bot {
		msg = "Resource not accessible by integration"
	}
	writeError(w, http.StatusForbidden, msg, docREST)
	return false
}

// paginate applies per_page/page and sets the Link header as GitHub does.
func paginate[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(p int) string {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		u := url.URL{Path: "/api/v3" + r.URL.Path, RawQuery: q.Encode()}
		return s.base + u.String()
	}
	var links []string
	if page < last {
		links = append(links, `<`+link(page+1)+`>; rel="next"`, `<`+link(last)+`>; rel="last"`)
	}
	if page > 1 {
		links = append(links, `<`+link(1)+`>; rel="first"`, `<`+link(page-1)+`>; rel="prev"`)
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := (page - 1) * per
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+per, len(items))]
}

func pathInt(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n, err == nil && n > 0
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.repoFromPath(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.repoJSON(rp))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(r.PathValue("username"))
	if err != nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

// getAuthenticatedUser is GET /user: the user of a personal token. An
// installation token or the App's JWT are refused, as GitHub does.
func (s *Server) getAuthenticatedUser(w http.ResponseWriter, r *http.Request) {
	id := requestIdentity(r)
	switch {
	case id.app || id.inst != nil:
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
		return
	case id.user == nil || id.key == "anonymous":
		writeError(w, http.StatusUnauthorized, "Requires authentication", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.userJSON(id.user))
}

func (s *Server) getRateLimit(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	core := map[string]any{}
	for _, k := range []string{"Limit", "Remaining", "Reset", "Used"} {
		n, _ := strconv.ParseInt(h.Get("X-RateLimit-"+k), 10, 64)
		core[strings.ToLower(k)] = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": map[string]any{"core": core}, "rate": core})
}
