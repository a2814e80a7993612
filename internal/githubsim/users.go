package githubsim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// user is a GitHub account: a person ("User"), an App's bot ("Bot") or an
// organization ("Organization").
type user struct {
	id        int64
	login     string
	typ       string
	name      string
	email     string
	siteAdmin bool
	appSlug   string // for the App's bot
}

// UserOptions describe a user added with AddUser.
type UserOptions struct {
	// Name is the display name (default: the login).
	Name string
	// Email is used for commits (default: <id>+<login>@users.noreply.<host>).
	Email string
	// Bot makes the account a bot: type "Bot", and the login gets the
	// "[bot]" suffix if it lacks it.
	Bot bool
	// SiteAdmin sets site_admin.
	SiteAdmin bool
}

var loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\[bot\])?$`)

// AddUser adds a user (or, with opts.Bot, a bot) and returns its login.
func (s *Server) AddUser(login string, opts UserOptions) (string, error) {
	typ := "User"
	if opts.Bot {
		typ = "Bot"
		if !strings.HasSuffix(login, "[bot]") {
			login += "[bot]"
		}
	}
	if !loginRE.MatchString(login) || (!opts.Bot && strings.HasSuffix(login, "[bot]")) {
		return "", fmt.Errorf("login %q is not a valid GitHub login (letters, digits and single hyphens; bots end in [bot] and are added with Bot set)", login)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[strings.ToLower(login)]; ok {
		return "", fmt.Errorf("user %s already exists", login)
	}
	s.newUser(login, typ, opts)
	return login, nil
}

// AddOrg adds an organization. Adding an existing organization is a no-op.
func (s *Server) AddOrg(login string) error {
	if !loginRE.MatchString(login) || strings.HasSuffix(login, "[bot]") {
		return fmt.Errorf("organization login %q is not valid", login)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[strings.ToLower(login)]; ok {
		if u.typ != "Organization" {
			return fmt.Errorf("%s already exists as a %s, not an organization", login, u.typ)
		}
		return nil
	}
	s.newUser(login, "Organization", UserOptions{})
	return nil
}

// newUser creates an account. Call with s.mu held (or from New).
func (s *Server) newUser(login, typ string, opts UserOptions) *user {
	if u, ok := s.users[strings.ToLower(login)]; ok {
		return u
	}
	u := &user{id: s.nextID(idUser), login: login, typ: typ, name: opts.Name, email: opts.Email, siteAdmin: opts.SiteAdmin}
	if u.name == "" {
		u.name = login
	}
	if u.email == "" {
		u.email = strconv.FormatInt(u.id, 10) + "+" + strings.TrimSuffix(login, "[bot]") + "@users.noreply.github.com"
	}
	s.users[strings.ToLower(login)] = u
	return u
}

func (s *Server) userLocked(login string) (*user, error) {
	u, ok := s.users[strings.ToLower(login)]
	if !ok {
		return nil, fmt.Errorf("unknown user %q: add it with AddUser first", login)
	}
	return u, nil
}

// BotLogin returns the login of the App's bot user ("<slug>[bot]"), the
// author of everything done with installation tokens.
func (s *Server) BotLogin() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app.bot.login
}

// AppID returns the simulated App's ID.
func (s *Server) AppID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app.id
}

// AddOrgMember makes login a member of org (author_association MEMBER).
func (s *Server) AddOrgMember(org, login string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.orgLocked(org)
	if err != nil {
		return err
	}
	u, err := s.userLocked(login)
	if err != nil {
		return err
	}
	s.orgMember[strings.ToLower(o.login+"/"+u.login)] = true
	return nil
}

func (s *Server) orgLocked(login string) (*user, error) {
	o, err := s.userLocked(login)
	if err != nil {
		return nil, err
	}
	if o.typ != "Organization" {
		return nil, fmt.Errorf("%s is a %s, not an organization", login, o.typ)
	}
	return o, nil
}

// permission levels, lowest first.
var permRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// SetPermission gives login a role on a repository: admin, maintain, write,
// triage, read or none (removes the collaborator).
func (s *Server) SetPermission(repoName, login, perm string) error {
	if _, ok := permRank[perm]; !ok {
		return fmt.Errorf("permission %q is not one of admin, maintain, write, triage, read, none", perm)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoLocked(repoName)
	if err != nil {
		return err
	}
	u, err := s.userLocked(login)
	if err != nil {
		return err
	}
	if perm == "none" {
		delete(rp.perms, strings.ToLower(u.login))
	} else {
		rp.perms[strings.ToLower(u.login)] = perm
	}
	return nil
}

// team is an organization team.
type team struct {
	id          int64
	org         *user
	slug, name  string
	description string
	members     map[string]*teamMember // lower-case login →
	repoPerms   map[int64]string       // repository ID → permission
}

type teamMember struct {
	user    *user
	role    string // member or maintainer
	pending bool
}

// TeamOptions describe a team added with AddTeam.
type TeamOptions struct {
	// Name is the display name (default: the slug).
	Name        string
	Description string
}

// AddTeam adds a team to an organization (created if missing).
func (s *Server) AddTeam(org, slug string, opts TeamOptions) error {
	if slug == "" || strings.ContainsAny(slug, "/ ") {
		return fmt.Errorf("team slug %q is not valid", slug)
	}
	if err := s.AddOrg(org); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.orgLocked(org)
	if err != nil {
		return err
	}
	key := strings.ToLower(o.login + "/" + slug)
	if _, ok := s.teams[key]; ok {
		return fmt.Errorf("team %s/%s already exists", org, slug)
	}
	name := opts.Name
	if name == "" {
		name = slug
	}
	s.teams[key] = &team{id: s.nextID(idTeam), org: o, slug: slug, name: name, description: opts.Description,
		members: map[string]*teamMember{}, repoPerms: map[int64]string{}}
	return nil
}

// TeamMember describes a membership added with AddTeamMember.
type TeamMember struct {
	// Role is "member" (default) or "maintainer".
	Role string
	// Pending leaves the invitation unaccepted (state "pending").
	Pending bool
}

// AddTeamMember adds login to a team (and to its organization).
func (s *Server) AddTeamMember(org, slug, login string, m TeamMember) error {
	if m.Role == "" {
		m.Role = "member"
	}
	if m.Role != "member" && m.Role != "maintainer" {
		return fmt.Errorf("team role %q is not member or maintainer", m.Role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.teamLocked(org, slug)
	if err != nil {
		return err
	}
	u, err := s.userLocked(login)
	if err != nil {
		return err
	}
	t.members[strings.ToLower(u.login)] = &teamMember{user: u, role: m.Role, pending: m.Pending}
	if !m.Pending {
		s.orgMember[strings.ToLower(t.org.login+"/"+u.login)] = true
	}
	return nil
}

// RemoveTeamMember removes login from a team.
func (s *Server) RemoveTeamMember(org, slug, login string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.teamLocked(org, slug)
	if err != nil {
		return err
	}
	delete(t.members, strings.ToLower(login))
	return nil
}

// SetTeamPermission gives a team's active members a role on a repository.
func (s *Server) SetTeamPermission(repoName, org, slug, perm string) error {
	if _, ok := permRank[perm]; !ok {
		return fmt.Errorf("permission %q is not one of admin, maintain, write, triage, read, none", perm)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoLocked(repoName)
	if err != nil {
		return err
	}
	t, err := s.teamLocked(org, slug)
	if err != nil {
		return err
	}
	if perm == "none" {
		delete(t.repoPerms, rp.id)
	} else {
		t.repoPerms[rp.id] = perm
	}
	return nil
}

func (s *Server) teamLocked(org, slug string) (*team, error) {
	t, ok := s.teams[strings.ToLower(org+"/"+slug)]
	if !ok {
		return nil, fmt.Errorf("unknown team %s/%s: add it with AddTeam first", org, slug)
	}
	return t, nil
}

func (s *Server) orgTeams(o *user) []*team {
	var ts []*team
	for _, t := range s.teams {
		if t.org == o {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].id < ts[j].id })
	return ts
}

// permissionLocked is u's effective role on rp: owner → admin; the App's
// bot → write where the App is installed; otherwise the highest of the
// direct role and the roles of u's teams; "read" on public repositories.
func (s *Server) permissionLocked(rp *repo, u *user) string {
	if u == nil {
		return "none"
	}
	if u == rp.owner || u.siteAdmin {
		return "admin"
	}
	if u == s.app.bot {
		if s.installationFor(rp) != nil {
			return "write"
		}
		return "none"
	}
	best := rp.perms[strings.ToLower(u.login)]
	for _, t := range s.teams {
		if t.org != rp.owner {
			continue
		}
		m, ok := t.members[strings.ToLower(u.login)]
		if !ok || m.pending {
			continue
		}
		if p, ok := t.repoPerms[rp.id]; ok && permRank[p] > permRank[best] {
			best = p
		}
	}
	if best == "" {
		best = "none"
		if !rp.private {
			best = "read"
		}
	}
	return best
}

// authorAssociation is how u relates to rp, as GitHub reports it.
func (s *Server) authorAssociation(rp *repo, u *user) string {
	switch {
	case u == rp.owner:
		return "OWNER"
	case rp.owner.typ == "Organization" && s.orgMember[strings.ToLower(rp.owner.login+"/"+u.login)]:
		return "MEMBER"
	case rp.perms[strings.ToLower(u.login)] != "":
		return "COLLABORATOR"
	case rp.contributors[u.id]:
		return "CONTRIBUTOR"
	}
	return "NONE"
}
