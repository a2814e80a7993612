package githubsim

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file holds the JSON shapes of GitHub objects, field for field as
// GitHub sends them (and as octokit/webhooks' schemas require them: nulls
// where GitHub sends null, empty arrays where it sends []). The same shapes
// serve REST answers and webhook payloads.

const timeFormat = "2006-01-02T15:04:05Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

func strp(s string) *string { return &s }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// apiURL builds a REST API URL from path segments (each escaped).
func (s *Server) apiURL(parts ...string) string { return s.base + "/api/v3/" + joinEscaped(parts) }

// web builds a web URL from path segments (each escaped).
func (s *Server) web(parts ...string) string { return s.base + "/" + joinEscaped(parts) }

func joinEscaped(parts []string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = url.PathEscape(p)
	}
	return strings.Join(esc, "/")
}

func (s *Server) repoAPI(rp *repo, parts ...string) string {
	return s.apiURL(append([]string{"repos", rp.owner.login, rp.name}, parts...)...)
}

func (s *Server) repoWeb(rp *repo, parts ...string) string {
	return s.web(append([]string{rp.owner.login, rp.name}, parts...)...)
}

func (s *Server) cloneURL(rp *repo) string { return s.web(rp.owner.login, rp.name+".git") }

type userJSON struct {
	Login             string `json:"login"`
	ID                int64  `json:"id"`
	NodeID            string `json:"node_id"`
	AvatarURL         string `json:"avatar_url"`
	GravatarID        string `json:"gravatar_id"`
	URL               string `json:"url"`
	HTMLURL           string `json:"html_url"`
	FollowersURL      string `json:"followers_url"`
	FollowingURL      string `json:"following_url"`
	GistsURL          string `json:"gists_url"`
	StarredURL        string `json:"starred_url"`
	SubscriptionsURL  string `json:"subscriptions_url"`
	OrganizationsURL  string `json:"organizations_url"`
	ReposURL          string `json:"repos_url"`
	EventsURL         string `json:"events_url"`
	ReceivedEventsURL string `json:"received_events_url"`
	Type              string `json:"type"`
	SiteAdmin         bool   `json:"site_admin"`
}

func (s *Server) userJSON(u *user) *userJSON {
	if u == nil {
		return nil
	}
	api := s.apiURL("users", u.login)
	html := s.web(u.login)
	typ := "User"
	switch u.typ {
	case "Bot":
		typ = "Bot"
		html = s.web("apps", u.appSlugOrName())
	case "Organization":
		typ = "Organization"
	}
	return &userJSON{
		Login: u.login, ID: u.id, NodeID: nodeID(typ, u.id),
		AvatarURL:  s.base + "/avatars/u/" + strconv.FormatInt(u.id, 10) + "?v=4",
		GravatarID: "", URL: api, HTMLURL: html,
		FollowersURL: api + "/followers", FollowingURL: api + "/following{/other_user}",
		GistsURL: api + "/gists{/gist_id}", StarredURL: api + "/starred{/owner}{/repo}",
		SubscriptionsURL: api + "/subscriptions", OrganizationsURL: api + "/orgs",
		ReposURL: api + "/repos", EventsURL: api + "/events{/privacy}",
		ReceivedEventsURL: api + "/received_events", Type: typ, SiteAdmin: u.siteAdmin,
	}
}

func (u *user) appSlugOrName() string {
	if u.appSlug != "" {
		return u.appSlug
	}
	return strings.TrimSuffix(u.login, "[bot]")
}

type orgJSON struct {
	Login            string  `json:"login"`
	ID               int64   `json:"id"`
	NodeID           string  `json:"node_id"`
	URL              string  `json:"url"`
	HTMLURL          string  `json:"html_url"`
	ReposURL         string  `json:"repos_url"`
	EventsURL        string  `json:"events_url"`
	HooksURL         string  `json:"hooks_url"`
	IssuesURL        string  `json:"issues_url"`
	MembersURL       string  `json:"members_url"`
	PublicMembersURL string  `json:"public_members_url"`
	AvatarURL        string  `json:"avatar_url"`
	Description      *string `json:"description"`
}

// orgJSON returns the "organization" of a payload, nil for user-owned repositories.
func (s *Server) orgJSON(u *user) *orgJSON {
	if u == nil || u.typ != "Organization" {
		return nil
	}
	api := s.apiURL("orgs", u.login)
	return &orgJSON{
		Login: u.login, ID: u.id, NodeID: nodeID("Organization", u.id), URL: api, HTMLURL: s.web(u.login),
		ReposURL: api + "/repos", EventsURL: api + "/events", HooksURL: api + "/hooks", IssuesURL: api + "/issues",
		MembersURL: api + "/members{/member}", PublicMembersURL: api + "/public_members{/member}",
		AvatarURL: s.base + "/avatars/u/" + strconv.FormatInt(u.id, 10) + "?v=4",
	}
}

type repoJSON struct {
	ID                       int64             `json:"id"`
	NodeID                   string            `json:"node_id"`
	Name                     string            `json:"name"`
	FullName                 string            `json:"full_name"`
	Private                  bool              `json:"private"`
	Owner                    *userJSON         `json:"owner"`
	HTMLURL                  string            `json:"html_url"`
	Description              *string           `json:"description"`
	Fork                     bool              `json:"fork"`
	URL                      string            `json:"url"`
	ForksURL                 string            `json:"forks_url"`
	KeysURL                  string            `json:"keys_url"`
	CollaboratorsURL         string            `json:"collaborators_url"`
	TeamsURL                 string            `json:"teams_url"`
	HooksURL                 string            `json:"hooks_url"`
	IssueEventsURL           string            `json:"issue_events_url"`
	EventsURL                string            `json:"events_url"`
	AssigneesURL             string            `json:"assignees_url"`
	BranchesURL              string            `json:"branches_url"`
	TagsURL                  string            `json:"tags_url"`
	BlobsURL                 string            `json:"blobs_url"`
	GitTagsURL               string            `json:"git_tags_url"`
	GitRefsURL               string            `json:"git_refs_url"`
	TreesURL                 string            `json:"trees_url"`
	StatusesURL              string            `json:"statuses_url"`
	LanguagesURL             string            `json:"languages_url"`
	StargazersURL            string            `json:"stargazers_url"`
	ContributorsURL          string            `json:"contributors_url"`
	SubscribersURL           string            `json:"subscribers_url"`
	SubscriptionURL          string            `json:"subscription_url"`
	CommitsURL               string            `json:"commits_url"`
	GitCommitsURL            string            `json:"git_commits_url"`
	CommentsURL              string            `json:"comments_url"`
	IssueCommentURL          string            `json:"issue_comment_url"`
	ContentsURL              string            `json:"contents_url"`
	CompareURL               string            `json:"compare_url"`
	MergesURL                string            `json:"merges_url"`
	ArchiveURL               string            `json:"archive_url"`
	DownloadsURL             string            `json:"downloads_url"`
	IssuesURL                string            `json:"issues_url"`
	PullsURL                 string            `json:"pulls_url"`
	MilestonesURL            string            `json:"milestones_url"`
	NotificationsURL         string            `json:"notifications_url"`
	LabelsURL                string            `json:"labels_url"`
	ReleasesURL              string            `json:"releases_url"`
	DeploymentsURL           string            `json:"deployments_url"`
	CreatedAt                string            `json:"created_at"`
	UpdatedAt                string            `json:"updated_at"`
	PushedAt                 string            `json:"pushed_at"`
	GitURL                   string            `json:"git_url"`
	SSHURL                   string            `json:"ssh_url"`
	CloneURL                 string            `json:"clone_url"`
	SvnURL                   string            `json:"svn_url"`
	Homepage                 *string           `json:"homepage"`
	Size                     int               `json:"size"`
	StargazersCount          int               `json:"stargazers_count"`
	WatchersCount            int               `json:"watchers_count"`
	Language                 *string           `json:"language"`
	HasIssues                bool              `json:"has_issues"`
	HasProjects              bool              `json:"has_projects"`
	HasDownloads             bool              `json:"has_downloads"`
	HasWiki                  bool              `json:"has_wiki"`
	HasPages                 bool              `json:"has_pages"`
	HasDiscussions           bool              `json:"has_discussions"`
	ForksCount               int               `json:"forks_count"`
	MirrorURL                *string           `json:"mirror_url"`
	Archived                 bool              `json:"archived"`
	Disabled                 bool              `json:"disabled"`
	OpenIssuesCount          int               `json:"open_issues_count"`
	License                  *struct{}         `json:"license"`
	AllowForking             bool              `json:"allow_forking"`
	IsTemplate               bool              `json:"is_template"`
	WebCommitSignoffRequired bool              `json:"web_commit_signoff_required"`
	Topics                   []string          `json:"topics"`
	Visibility               string            `json:"visibility"`
	Forks                    int               `json:"forks"`
	OpenIssues               int               `json:"open_issues"`
	Watchers                 int               `json:"watchers"`
	DefaultBranch            string            `json:"default_branch"`
	AllowSquashMerge         bool              `json:"allow_squash_merge"`
	AllowMergeCommit         bool              `json:"allow_merge_commit"`
	AllowRebaseMerge         bool              `json:"allow_rebase_merge"`
	DeleteBranchOnMerge      bool              `json:"delete_branch_on_merge"`
	CustomProperties         map[string]string `json:"custom_properties"`
}

func (s *Server) repoJSON(rp *repo) *repoJSON {
	api := s.repoAPI(rp)
	host := strings.TrimPrefix(strings.TrimPrefix(s.base, "http://"), "https://")
	open := 0
	for _, p := range rp.pulls {
		if p.state == "open" {
			open++
		}
	}
	vis := "public"
	if rp.private {
		vis = "private"
	}
	return &repoJSON{
		ID: rp.id, NodeID: nodeID("Repository", rp.id), Name: rp.name, FullName: rp.fullName(), Private: rp.private,
		Owner: s.userJSON(rp.owner), HTMLURL: s.repoWeb(rp), Description: nullable(rp.description), URL: api,
		ForksURL: api + "/forks", KeysURL: api + "/keys{/key_id}", CollaboratorsURL: api + "/collaborators{/collaborator}",
		TeamsURL: api + "/teams", HooksURL: api + "/hooks", IssueEventsURL: api + "/issues/events{/number}",
		EventsURL: api + "/events", AssigneesURL: api + "/assignees{/user}", BranchesURL: api + "/branches{/branch}",
		TagsURL: api + "/tags", BlobsURL: api + "/git/blobs{/sha}", GitTagsURL: api + "/git/tags{/sha}",
		GitRefsURL: api + "/git/refs{/sha}", TreesURL: api + "/git/trees{/sha}", StatusesURL: api + "/statuses/{sha}",
		LanguagesURL: api + "/languages", StargazersURL: api + "/stargazers", ContributorsURL: api + "/contributors",
		SubscribersURL: api + "/subscribers", SubscriptionURL: api + "/subscription", CommitsURL: api + "/commits{/sha}",
		GitCommitsURL: api + "/git/commits{/sha}", CommentsURL: api + "/comments{/number}",
		IssueCommentURL: api + "/issues/comments{/number}", ContentsURL: api + "/contents/{+path}",
		CompareURL: api + "/compare/{base}...{head}", MergesURL: api + "/merges", ArchiveURL: api + "/{archive_format}{/ref}",
		DownloadsURL: api + "/downloads", IssuesURL: api + "/issues{/number}", PullsURL: api + "/pulls{/number}",
		MilestonesURL: api + "/milestones{/number}", NotificationsURL: api + "/notifications{?since,all,participating}",
		LabelsURL: api + "/labels{/name}", ReleasesURL: api + "/releases{/id}", DeploymentsURL: api + "/deployments",
		CreatedAt: ts(rp.created), UpdatedAt: ts(rp.updated), PushedAt: ts(rp.pushed),
		GitURL: "git://" + host + "/" + rp.fullName() + ".git", SSHURL: "git@" + host + ":" + rp.fullName() + ".git",
		CloneURL: s.cloneURL(rp), SvnURL: s.repoWeb(rp),
		HasIssues: true, HasProjects: true, HasDownloads: true, HasWiki: true, AllowForking: true,
		OpenIssuesCount: open, Topics: []string{}, Visibility: vis, OpenIssues: open, DefaultBranch: rp.defaultBranch,
		AllowSquashMerge: true, AllowMergeCommit: true, AllowRebaseMerge: true, CustomProperties: map[string]string{},
	}
}

type linkJSON struct {
	Href string `json:"href"`
}

type prRefJSON struct {
	Label string    `json:"label"`
	Ref   string    `json:"ref"`
	SHA   string    `json:"sha"`
	User  *userJSON `json:"user"`
	Repo  *repoJSON `json:"repo"`
}

type prLinksJSON struct {
	Self           linkJSON `json:"self"`
	HTML           linkJSON `json:"html"`
	Issue          linkJSON `json:"issue"`
	Comments       linkJSON `json:"comments"`
	ReviewComments linkJSON `json:"review_comments"`
	ReviewComment  linkJSON `json:"review_comment"`
	Commits        linkJSON `json:"commits"`
	Statuses       linkJSON `json:"statuses"`
}

// simplePullJSON is a pull request as pull_request_review payloads carry it.
type simplePullJSON struct {
	URL                string      `json:"url"`
	ID                 int64       `json:"id"`
	NodeID             string      `json:"node_id"`
	HTMLURL            string      `json:"html_url"`
	DiffURL            string      `json:"diff_url"`
	PatchURL           string      `json:"patch_url"`
	IssueURL           string      `json:"issue_url"`
	Number             int         `json:"number"`
	State              string      `json:"state"`
	Locked             bool        `json:"locked"`
	Title              string      `json:"title"`
	User               *userJSON   `json:"user"`
	Body               *string     `json:"body"`
	CreatedAt          string      `json:"created_at"`
	UpdatedAt          string      `json:"updated_at"`
	ClosedAt           *string     `json:"closed_at"`
	MergedAt           *string     `json:"merged_at"`
	MergeCommitSHA     *string     `json:"merge_commit_sha"`
	Assignee           *userJSON   `json:"assignee"`
	Assignees          []*userJSON `json:"assignees"`
	RequestedReviewers []*userJSON `json:"requested_reviewers"`
	RequestedTeams     []struct{}  `json:"requested_teams"`
	Labels             []labelJSON `json:"labels"`
	Milestone          *struct{}   `json:"milestone"`
	Draft              bool        `json:"draft"`
	CommitsURL         string      `json:"commits_url"`
	ReviewCommentsURL  string      `json:"review_comments_url"`
	ReviewCommentURL   string      `json:"review_comment_url"`
	CommentsURL        string      `json:"comments_url"`
	StatusesURL        string      `json:"statuses_url"`
	Head               prRefJSON   `json:"head"`
	Base               prRefJSON   `json:"base"`
	Links              prLinksJSON `json:"_links"`
	AuthorAssociation  string      `json:"author_association"`
	AutoMerge          *struct{}   `json:"auto_merge"`
	ActiveLockReason   *string     `json:"active_lock_reason"`
}

// pullJSON is a pull request as the REST API and pull_request payloads carry it.
type pullJSON struct {
	simplePullJSON
	Merged              bool      `json:"merged"`
	Mergeable           *bool     `json:"mergeable"`
	Rebaseable          *bool     `json:"rebaseable"`
	MergeableState      string    `json:"mergeable_state"`
	MergedBy            *userJSON `json:"merged_by"`
	Comments            int       `json:"comments"`
	ReviewComments      int       `json:"review_comments"`
	MaintainerCanModify bool      `json:"maintainer_can_modify"`
	Commits             int       `json:"commits"`
	Additions           int       `json:"additions"`
	Deletions           int       `json:"deletions"`
	ChangedFiles        int       `json:"changed_files"`
}

type labelJSON struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
}

type reactionsJSON struct {
	URL        string `json:"url"`
	TotalCount int    `json:"total_count"`
	PlusOne    int    `json:"+1"`
	MinusOne   int    `json:"-1"`
	Laugh      int    `json:"laugh"`
	Hooray     int    `json:"hooray"`
	Confused   int    `json:"confused"`
	Heart      int    `json:"heart"`
	Rocket     int    `json:"rocket"`
	Eyes       int    `json:"eyes"`
}

type issuePRJSON struct {
	URL      string  `json:"url"`
	HTMLURL  string  `json:"html_url"`
	DiffURL  string  `json:"diff_url"`
	PatchURL string  `json:"patch_url"`
	MergedAt *string `json:"merged_at"`
}

// issueJSON is a pull request seen as an issue (issue_comment payloads, the Issues API).
type issueJSON struct {
	URL                   string        `json:"url"`
	RepositoryURL         string        `json:"repository_url"`
	LabelsURL             string        `json:"labels_url"`
	CommentsURL           string        `json:"comments_url"`
	EventsURL             string        `json:"events_url"`
	HTMLURL               string        `json:"html_url"`
	ID                    int64         `json:"id"`
	NodeID                string        `json:"node_id"`
	Number                int           `json:"number"`
	Title                 string        `json:"title"`
	User                  *userJSON     `json:"user"`
	Labels                []labelJSON   `json:"labels"`
	State                 string        `json:"state"`
	Locked                bool          `json:"locked"`
	Assignee              *userJSON     `json:"assignee"`
	Assignees             []*userJSON   `json:"assignees"`
	Milestone             *struct{}     `json:"milestone"`
	Comments              int           `json:"comments"`
	CreatedAt             string        `json:"created_at"`
	UpdatedAt             string        `json:"updated_at"`
	ClosedAt              *string       `json:"closed_at"`
	AuthorAssociation     string        `json:"author_association"`
	ActiveLockReason      *string       `json:"active_lock_reason"`
	Draft                 bool          `json:"draft"`
	PerformedViaGitHubApp *appJSON      `json:"performed_via_github_app"`
	PullRequest           issuePRJSON   `json:"pull_request"`
	Body                  *string       `json:"body"`
	Reactions             reactionsJSON `json:"reactions"`
	TimelineURL           string        `json:"timeline_url"`
	StateReason           *string       `json:"state_reason"`
}

type commentJSON struct {
	URL                   string        `json:"url"`
	HTMLURL               string        `json:"html_url"`
	IssueURL              string        `json:"issue_url"`
	ID                    int64         `json:"id"`
	NodeID                string        `json:"node_id"`
	User                  *userJSON     `json:"user"`
	CreatedAt             string        `json:"created_at"`
	UpdatedAt             string        `json:"updated_at"`
	AuthorAssociation     string        `json:"author_association"`
	Body                  string        `json:"body"`
	Reactions             reactionsJSON `json:"reactions"`
	PerformedViaGitHubApp *appJSON      `json:"performed_via_github_app"`
}

type reviewLinksJSON struct {
	HTML        linkJSON `json:"html"`
	PullRequest linkJSON `json:"pull_request"`
}

type reviewJSON struct {
	ID                int64           `json:"id"`
	NodeID            string          `json:"node_id"`
	User              *userJSON       `json:"user"`
	Body              *string         `json:"body"`
	CommitID          string          `json:"commit_id"`
	SubmittedAt       *string         `json:"submitted_at"`
	State             string          `json:"state"`
	HTMLURL           string          `json:"html_url"`
	PullRequestURL    string          `json:"pull_request_url"`
	AuthorAssociation string          `json:"author_association"`
	Links             reviewLinksJSON `json:"_links"`
}

type appJSON struct {
	ID          int64             `json:"id"`
	Slug        string            `json:"slug"`
	NodeID      string            `json:"node_id"`
	Owner       *userJSON         `json:"owner"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	ExternalURL string            `json:"external_url"`
	HTMLURL     string            `json:"html_url"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	Permissions map[string]string `json:"permissions"`
	Events      []string          `json:"events"`
}

func (s *Server) appJSON() *appJSON {
	return &appJSON{
		ID: s.app.id, Slug: s.app.slug, NodeID: nodeID("App", s.app.id), Owner: s.userJSON(s.app.owner),
		Name: s.app.name, Description: strp("Simulated GitHub App"), ExternalURL: s.web("apps", s.app.slug),
		HTMLURL: s.web("apps", s.app.slug), CreatedAt: ts(s.app.created), UpdatedAt: ts(s.app.created),
		Permissions: s.app.permissions, Events: s.app.events,
	}
}

type installationLiteJSON struct {
	ID     int64  `json:"id"`
	NodeID string `json:"node_id"`
}

type installationJSON struct {
	ID                  int64             `json:"id"`
	Account             *userJSON         `json:"account"`
	AccessTokensURL     string            `json:"access_tokens_url"`
	RepositoriesURL     string            `json:"repositories_url"`
	HTMLURL             string            `json:"html_url"`
	AppID               int64             `json:"app_id"`
	AppSlug             string            `json:"app_slug"`
	TargetID            int64             `json:"target_id"`
	TargetType          string            `json:"target_type"`
	Permissions         map[string]string `json:"permissions"`
	Events              []string          `json:"events"`
	CreatedAt           string            `json:"created_at"`
	UpdatedAt           string            `json:"updated_at"`
	SingleFileName      *string           `json:"single_file_name"`
	RepositorySelection string            `json:"repository_selection"`
}

func (s *Server) installationJSON(in *installation) *installationJSON {
	return &installationJSON{
		ID: in.id, Account: s.userJSON(in.account),
		AccessTokensURL: s.apiURL("app", "installations", strconv.FormatInt(in.id, 10), "access_tokens"),
		RepositoriesURL: s.apiURL("installation", "repositories"),
		HTMLURL:         s.web("organizations", in.account.login, "settings", "installations", strconv.FormatInt(in.id, 10)),
		AppID:           s.app.id, AppSlug: s.app.slug, TargetID: in.account.id, TargetType: in.account.typ,
		Permissions: s.app.permissions, Events: s.app.events, CreatedAt: ts(in.created), UpdatedAt: ts(in.created),
		RepositorySelection: "all",
	}
}

type checkRunPRRefJSON struct {
	Ref  string `json:"ref"`
	SHA  string `json:"sha"`
	Repo struct {
		ID   int64  `json:"id"`
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"repo"`
}

type checkRunPRJSON struct {
	URL    string            `json:"url"`
	ID     int64             `json:"id"`
	Number int               `json:"number"`
	Head   checkRunPRRefJSON `json:"head"`
	Base   checkRunPRRefJSON `json:"base"`
}

type checkOutputJSON struct {
	Title            *string `json:"title"`
	Summary          *string `json:"summary"`
	Text             *string `json:"text"`
	AnnotationsCount int     `json:"annotations_count"`
	AnnotationsURL   string  `json:"annotations_url"`
}

type checkSuiteJSON struct {
	ID           int64            `json:"id"`
	NodeID       string           `json:"node_id"`
	HeadBranch   *string          `json:"head_branch"`
	HeadSHA      string           `json:"head_sha"`
	Status       string           `json:"status"`
	Conclusion   *string          `json:"conclusion"`
	URL          string           `json:"url"`
	Before       *string          `json:"before"`
	After        *string          `json:"after"`
	PullRequests []checkRunPRJSON `json:"pull_requests"`
	App          *appJSON         `json:"app"`
	CreatedAt    string           `json:"created_at"`
	UpdatedAt    string           `json:"updated_at"`
}

type checkRunJSON struct {
	ID           int64            `json:"id"`
	NodeID       string           `json:"node_id"`
	HeadSHA      string           `json:"head_sha"`
	ExternalID   string           `json:"external_id"`
	URL          string           `json:"url"`
	HTMLURL      string           `json:"html_url"`
	DetailsURL   string           `json:"details_url,omitempty"`
	Status       string           `json:"status"`
	Conclusion   *string          `json:"conclusion"`
	StartedAt    string           `json:"started_at"`
	CompletedAt  *string          `json:"completed_at"`
	Output       checkOutputJSON  `json:"output"`
	Name         string           `json:"name"`
	CheckSuite   checkSuiteJSON   `json:"check_suite"`
	App          *appJSON         `json:"app"`
	PullRequests []checkRunPRJSON `json:"pull_requests"`
}

// apiError is GitHub's error body.
type apiError struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
	Status           string       `json:"status,omitempty"`
}

type fieldError struct {
	Resource string `json:"resource"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

// MarshalJSON writes a bare message as a JSON string, as GitHub does for
// some 422s ("errors": ["Can not approve your own pull request"]).
func (f fieldError) MarshalJSON() ([]byte, error) {
	if f.Resource == "" && f.Code == "" {
		return json.Marshal(f.Message)
	}
	type plain fieldError
	return json.Marshal(plain(f))
}
