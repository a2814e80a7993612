// Package githubsim is a GitHub for tests and the demo: a stateful, in-memory
// simulator that speaks the wire format of GitHub's REST API v3 (as
// go-github v60 reads and writes it), serves real git repositories over smart
// HTTP, and delivers signed webhooks whose payloads validate against
// GitHub's published webhook schemas (octokit/webhooks).
//
// # Model
//
// A Server holds accounts (users, bots "<name>[bot]", organizations with
// teams), repositories, pull requests with their issue comments, reactions
// and reviews, check runs, one GitHub App with its installations and
// tokens, webhook subscriptions and their deliveries. Every repository is a
// bare git repository on disk (Options.Dir/<owner>/<name>.git): commits are
// real commits written with go-git, merges are real merges (git merge-tree,
// the ort strategy GitHub uses) producing a merge commit with two parents
// (squash: one parent; rebase: each commit replayed on the base),
// and clients clone and fetch it with any git client at
// BaseURL/<owner>/<name>.git (git-http-backend behind net/http/cgi). As on
// GitHub, any commit can be fetched by SHA, whether a ref points at it or
// not (uploadpack.allowAnySHA1InWant).
//
// Tests change the world with helpers that act like people do on
// github.com — CreateRepo, Push, OpenPullRequest, EditPullRequest,
// AddComment, EditComment, DeleteComment, SubmitReview, DismissReview,
// CreateLabel, AddLabels, RemoveLabel, ClickCheckRunAction,
// ClosePullRequest, ReopenPullRequest, MergePullRequest, Ping — and the
// code under test reacts through the REST
// API, exactly as it would against GitHub. Each helper delivers the
// webhooks its action causes synchronously, before it returns, so a test
// sees the receiver's effects without waiting. Changes made through the
// REST API (comments, labels, reviews, merges, pushes over git) deliver
// their webhooks too, before the API call answers.
//
// IDs count up per kind from fixed bases (users 1001…, repositories 5001…,
// pull requests 10001…, comments 30001…, check runs 50001…, hooks 90001…,
// installations 101…), delivery GUIDs are derived from a counter, and all
// timestamps come from Options.Clock: the same scenario produces the same
// payloads byte for byte, apart from the listener's address.
//
// # REST API (under BaseURL/api/v3, GitHub Enterprise layout)
//
//   - repositories: GET /repos/{o}/{r}; contents of a file or directory at a
//     ref (base64); commits (GET /repos/{o}/{r}/commits/{ref}, also with the
//     "sha" media type); raw files at BaseURL/{o}/{r}/raw/{ref}/{path}.
//   - pull requests: get, list (state, head, base, direction), edit
//     (title, body, base, state; the author or write access; 422 for a base
//     that is not a branch or on a closed pull request), files
//     (status, additions, deletions, patch, previous_filename), commits
//     (oldest first, every commit after its parents), merge (merge, squash
//     and rebase; 405 when not mergeable or, for a rebase, when a commit
//     does not replay cleanly; 409 on a stale sha; 422 for another
//     merge_method), reviews (list, get, create with APPROVE,
//     REQUEST_CHANGES or COMMENT, dismiss with a required message: write
//     access, approving and changes-requesting reviews only, state
//     DISMISSED); mergeable and mergeable_state are computed, not "unknown".
//   - check runs: create, update, get, list for a ref (filter latest/all,
//     check_name, status), list annotations. GitHub's limits are enforced
//     with GitHub's 422 bodies: output.summary and output.text at most 65535
//     characters ("Only 65535 characters are allowed; N were supplied.") and
//     65535 bytes ("summary exceeds a maximum bytesize of 65535"), at most 50
//     annotations per request ("No more than 50 items are allowed; …"), at
//     most 3 actions whose label and identifier are at most 20 characters
//     and description at most 40, required fields ("\"path\" wasn't
//     supplied."), known statuses and conclusions, columns only on
//     single-line annotations, an existing head_sha ("No commit found for
//     SHA: …"). Annotations accumulate across updates.
//   - labels on pull requests (issues/{n}/labels): list, add (a bare array
//     of names or {"labels": [...]}; unknown labels are created with colour
//     ededed; 200 with every label of the issue), remove one (200 with the
//     rest, 404 "Label does not exist"). Labelling takes the triage role.
//     Names match case-insensitively; lists are sorted by name. Pull
//     requests and issues carry their labels in "labels".
//   - issue comments on pull requests: create (at most 65536 characters),
//     edit, get, list (paginated with Link headers), delete; reactions on
//     comments (201 when new, 200 when the user had already reacted).
//   - people: collaborator permission ("permission" admin/write/read/none
//     and "role_name"), users, organization membership, teams, team members
//     and team memberships (active or pending; 404 for non-members).
//   - the App: GET /app, /app/installations, /app/installations/{id},
//     /repos/{o}/{r}/installation with an RS256 App JWT (verified when
//     AppOptions.PublicKey is set), and POST
//     /app/installations/{id}/access_tokens, whose tokens act as the App's
//     bot for an hour — so ghinstallation works unchanged.
//   - the App's OAuth web flow (oauth.go): GET /login/oauth/authorize
//     approves at once for the user SignIn named (a "Sign in to GitHub"
//     page when nobody is signed in), POST /login/oauth/access_token turns
//     the code (once, 10 minutes) into a user token ("ghu_…", 8 hours)
//     that acts as that user; OAuthClient gives the client ID and secret.
//   - every answer carries X-RateLimit-Limit/Remaining/Reset/Used/Resource;
//     each identity has an hourly budget (Options.RateLimit) after which
//     requests get GitHub's 403 "API rate limit exceeded".
//
// Credentials are "token X", "Bearer X" or Basic auth with the token as the
// password (git). Without credentials a request acts as the App's bot,
// unless Options.RequireAuth is set. Private repositories answer 404 to
// callers without read access; writes (check runs, merges, others'
// comments) need write access.
//
// # Webhooks
//
// Hooks are the App's webhook (every event of the App's subscriptions in
// repositories whose owner installed the App, with "installation") or
// repository webhooks (Hook.Repo). A delivery is a POST with GitHub's
// headers: X-GitHub-Event, X-GitHub-Delivery, X-GitHub-Hook-ID,
// X-GitHub-Hook-Installation-Target-Type/-ID, X-Hub-Signature-256 and
// X-Hub-Signature (HMAC of the exact body with the hook's secret),
// User-Agent GitHub-Hookshot/…, Content-Type application/json. Hooks are
// reached over HTTP (Hook.URL, 10 s timeout) or in process (Hook.Handler).
// Every delivery is logged with the receiver's status; Redeliver resends one
// with the same body and GUID.
//
// Events: pull_request opened, synchronize, closed (merged or not),
// reopened, edited (with "changes": title.from, body.from, base.ref.from
// and base.sha.from for what changed), labeled and unlabeled (with
// "label"; a pull request opened with labels gets "opened", then one
// "labeled" per label); issue_comment
// created, edited, deleted; pull_request_review submitted, dismissed;
// check_run requested_action; ping.
//
// # Observing and breaking it
//
// Calls logs every request (method, path, status, actor, whether it was
// content-creating, whether a fault answered it); CallCount and
// MutatingCalls count them. InjectFault makes the next N matching requests
// (method and path prefix) answer 500, 502, 403 secondary rate limit with
// Retry-After (go-github's AbuseRateLimitError), 429, 403 with
// X-RateLimit-Remaining 0 (go-github's RateLimitError), or wait first.
//
// # Not simulated
//
// Issues that are not pull requests, the repository's label endpoints
// (/repos/{o}/{r}/labels) and the "label" event, assignees, milestones,
// requested reviewers, review comments (on lines), pending reviews, draft
// conversion, forks (every head branch is in the base repository), branch
// protection and required checks, commit statuses, check suites as their own
// resource (a check run's suite is rendered but has no endpoints),
// check_run created/completed/rerequested and check_suite events, push
// events, "rebaseable" computed by replaying (it mirrors "mergeable"),
// GraphQL, OAuth apps (other than the App's web flow), refresh tokens,
// fine-grained permissions of installation tokens (they act with write
// access on the installation's repositories), conditional requests (ETags)
// except for the commit SHA media type, and asynchronous mergeability (GitHub
// answers null at first; the simulator answers at once).
package githubsim
