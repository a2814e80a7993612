package githubsim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	docPermission = "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user"
	docTeams      = "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"
	docApps       = "https://docs.github.com/rest/apps/apps"
)

type collaboratorJSON struct {
	*userJSON
	Permissions map[string]bool `json:"permissions"`
	RoleName    string          `json:"role_name"`
}

// getPermission answers GET /repos/{o}/{r}/collaborators/{user}/permission.
// "permission" is the legacy level (admin, write, read, none); "role_name"
// is the role (admin, maintain, write, triage, read).
func (s *Server) getPermission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.repoFromPath(w, r)
	if !ok {
		return
	}
	u, err := s.userLocked(r.PathValue("username"))
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found", docPermission)
		return
	}
	role := s.permissionLocked(rp, u)
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}[role]
	rank := permRank[role]
	writeJSON(w, http.StatusOK, map[string]any{
		"permission": legacy,
		"role_name":  role,
		"user": collaboratorJSON{userJSON: s.userJSON(u), RoleName: role, Permissions: map[string]bool{
			"admin": rank >= permRank["admin"], "maintain": rank >= permRank["maintain"], "push": rank >= permRank["write"],
			"triage": rank >= permRank["triage"], "pull": rank >= permRank["read"]}},
	})
}

func (s *Server) checkOrgMember(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.orgLocked(r.PathValue("org"))
	u, err2 := s.userLocked(r.PathValue("username"))
	if err != nil || err2 != nil || !s.orgMember[strings.ToLower(o.login+"/"+u.login)] {
		writeError(w, http.StatusNotFound, "User does not exist or is not a member of the organization", docREST)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type teamJSON struct {
	ID                  int64     `json:"id"`
	NodeID              string    `json:"node_id"`
	URL                 string    `json:"url"`
	HTMLURL             string    `json:"html_url"`
	Name                string    `json:"name"`
	Slug                string    `json:"slug"`
	Description         *string   `json:"description"`
	Privacy             string    `json:"privacy"`
	NotificationSetting string    `json:"notification_setting"`
	Permission          string    `json:"permission"`
	MembersURL          string    `json:"members_url"`
	RepositoriesURL     string    `json:"repositories_url"`
	Parent              *struct{} `json:"parent"`
}

func (s *Server) teamJSON(t *team) teamJSON {
	api := s.apiURL("organizations", strconv.FormatInt(t.org.id, 10), "team", strconv.FormatInt(t.id, 10))
	return teamJSON{ID: t.id, NodeID: nodeID("Team", t.id), URL: api, HTMLURL: s.web("orgs", t.org.login, "teams", t.slug),
		Name: t.name, Slug: t.slug, Description: nullable(t.description), Privacy: "closed",
		NotificationSetting: "notifications_enabled", Permission: "pull", MembersURL: api + "/members{/member}",
		RepositoriesURL: api + "/repos"}
}

func (s *Server) teamFromPath(w http.ResponseWriter, r *http.Request) (*team, bool) {
	t, err := s.teamLocked(r.PathValue("org"), r.PathValue("slug"))
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found", docTeams)
		return nil, false
	}
	return t, true
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.orgLocked(r.PathValue("org"))
	if err != nil {
		notFound(w)
		return
	}
	out := []teamJSON{}
	for _, t := range s.orgTeams(o) {
		out = append(out, s.teamJSON(t))
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, out))
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teamFromPath(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.teamJSON(t))
}

func (s *Server) listTeamMembers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teamFromPath(w, r)
	if !ok {
		return
	}
	role := r.URL.Query().Get("role")
	var ms []*teamMember
	for _, m := range t.members {
		if !m.pending && (role == "" || role == "all" || role == m.role) {
			ms = append(ms, m)
		}
	}
	sortMembers(ms)
	out := make([]*userJSON, 0, len(ms))
	for _, m := range paginate(s, w, r, ms) {
		out = append(out, s.userJSON(m.user))
	}
	writeJSON(w, http.StatusOK, out)
}

func sortMembers(ms []*teamMember) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].user.id < ms[j].user.id })
}

// getTeamMembership answers GET /orgs/{org}/teams/{slug}/memberships/{user}:
// 200 with role and state (active or pending), 404 for non-members.
func (s *Server) getTeamMembership(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teamFromPath(w, r)
	if !ok {
		return
	}
	m, ok := t.members[strings.ToLower(r.PathValue("username"))]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", docTeams)
		return
	}
	state := "active"
	if m.pending {
		state = "pending"
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"url":   s.apiURL("organizations", strconv.FormatInt(t.org.id, 10), "team", strconv.FormatInt(t.id, 10), "memberships", m.user.login),
		"role":  m.role,
		"state": state,
	})
}

// requireApp answers 401 unless the request carries an App JWT.
func requireApp(w http.ResponseWriter, r *http.Request) bool {
	if requestIdentity(r).app {
		return true
	}
	writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded", docApps)
	return false
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	if !requireApp(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.appJSON())
}

func (s *Server) listInstallations(w http.ResponseWriter, r *http.Request) {
	if !requireApp(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*installationJSON, 0, len(s.installs))
	for _, in := range s.installs {
		out = append(out, s.installationJSON(in))
	}
	writeJSON(w, http.StatusOK, paginate(s, w, r, out))
}

func (s *Server) installationFromPath(w http.ResponseWriter, r *http.Request) (*installation, bool) {
	n, _ := pathInt(r, "id")
	for _, in := range s.installs {
		if in.id == n {
			return in, true
		}
	}
	writeError(w, http.StatusNotFound, "Not Found", docApps)
	return nil, false
}

func (s *Server) getInstallation(w http.ResponseWriter, r *http.Request) {
	if !requireApp(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installationFromPath(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(in))
}

func (s *Server) getRepoInstallation(w http.ResponseWriter, r *http.Request) {
	if !requireApp(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	if !ok || s.installationFor(rp) == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(s.installationFor(rp)))
}

// installationTokenTTL is how long installation tokens live (as on GitHub).
const installationTokenTTL = time.Hour

// createAccessToken answers POST /app/installations/{id}/access_tokens with
// a token that acts as the App's bot for an hour.
func (s *Server) createAccessToken(w http.ResponseWriter, r *http.Request) {
	if !requireApp(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installationFromPath(w, r)
	if !ok {
		return
	}
	t := &token{value: fmt.Sprintf("ghs_sim%029d", s.nextID(idToken)), user: s.app.bot, inst: in,
		expires: s.now().Add(installationTokenTTL)}
	s.tokens[t.value] = t
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": t.value, "expires_at": ts(t.expires), "permissions": s.app.permissions, "repository_selection": "all",
	})
}

// InstallationToken issues an installation token directly (what
// POST /app/installations/{id}/access_tokens returns), for tests that do
// not exercise App authentication.
func (s *Server) InstallationToken(installationID int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.installs {
		if in.id == installationID {
			t := &token{value: fmt.Sprintf("ghs_sim%029d", s.nextID(idToken)), user: s.app.bot, inst: in,
				expires: s.now().Add(installationTokenTTL)}
			s.tokens[t.value] = t
			return t.value, nil
		}
	}
	return "", fmt.Errorf("no installation %d", installationID)
}
