// Package statuspage serves prdeploy's status page: server-rendered HTML,
// no front-end build step, that people open from a check run's "Details"
// link, a PR comment or Slack.
//
//   - GET /deployments lists recent and running deployments (one row per
//     cluster a plan rolls out to) with their phase and progress.
//   - GET /deployments/{cluster}/{deployment} is one deployment's grid:
//     waves × tenants × services, each cell coloured by phase, with the
//     gates and who approved them, lock waits, failures, and links to the
//     PR, its checks and the workflow's history in the Temporal Web UI.
//     While the deployment runs the page refreshes itself.
//   - GET /deployments/{deployment} finds the clusters of a deployment:
//     it redirects when there is one, and lists them otherwise.
//   - GET /deployments/previews/{owner}/{repo}/{pr}/{sha} is the complete
//     preview of a pull request's head (what merging would change in each
//     tenant's cluster), from a PreviewSource, which the payload store's
//     Previews implements; the plan check's Details link opens it.
//
// A page is built in two steps: Build turns a workflows.Status into a
// View (pure: time is passed in), and an embedded html/template renders
// it. The deployments come from a Source, which the Temporal adapter
// (internal/temporalx) implements with visibility listings and the
// Orchestration's status query.
//
// Who may see the pages, and their JSON, is an Access: LocalOnly (the
// default: loopback clients), Proxy (a header from a trusted proxy
// address), Anyone, or a GitHubLogin — GitHub's OAuth web flow with the
// deploy GitHub App's client, letting in people who can read the deploy
// repository or are in configured teams, remembered by a session cookie
// signed with HMAC (an expiry inside; Secure, HttpOnly, SameSite=Lax).
// The OAuth state lives in a signed cookie of its own, so GitHub's answer
// is accepted only in the browser that asked. Access is checked at
// login: a session lasts until it expires.
//
// # Imports
//
// It imports workflows and policies for their types, never an SDK client:
// the deployments come through Source, and the GitHub login through the
// OAuth endpoints by plain HTTP. The domain packages never import it.
package statuspage
