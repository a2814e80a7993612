// Package githubapp is prdeploy's adapter to GitHub: it implements the
// interfaces the domain declares — workflows.CheckRuns, workflows.PRComments,
// workflows.Permissions, workflows.Directory and prepare.Checkouts — with
// go-github (REST API v3) and go-git (git over HTTPS).
//
// # Identity
//
// prdeploy acts as a GitHub App. The App's key signs a short JWT (RS256,
// issuer = App ID) that is only used to find the App's installation on a
// repository or organisation and to mint installation tokens; every API
// call and every git fetch then carries the installation's token, which
// ghinstallation renews before it expires. A fixed installation ID skips
// the look-up. A plain token (a personal access token, or a token minted
// elsewhere) works in place of an App, for development and the demo.
// Comments are "ours" when their author is the App's bot user
// ("<slug>[bot]") or the token's user.
//
// # Being a good API citizen
//
// Every request goes through Transport. GitHub's secondary rate limit
// counts content-creating requests (POST, PATCH, PUT, DELETE), 80 a minute:
// a Limiter keeps at most ContentPerMinute (60) of them in any sliding
// minute, shared by every client of the process. When GitHub answers 5xx,
// 429, or a rate-limited 403, the request is sent again after the wait
// GitHub asks for (Retry-After, X-RateLimit-Reset) or an exponential
// back-off, at most six times; a wait longer than a minute is left to the
// activity's own retry policy. Reads are cached where answers change
// slowly: installations (an hour), the organisation's teams (five
// minutes), a person's teams (a minute).
//
// # Errors
//
// An answer that a retry cannot change — 400, 401, 403 (not a rate limit),
// 404, 410, 422, a commit GitHub does not have, bad input — is a
// workflows.Permanent error carrying GitHub's message, so the activity
// fails at once and says why. Everything else (server errors, rate limits,
// the network) is retryable.
//
// # Check runs
//
// A deployment owns one check run per commit, found again by its name and
// external ID (the deployment's workflow ID), so restarts and repeated
// reports update it instead of adding runs. GitHub takes 50 annotations per
// request: the rest follow in updates. GitHub takes a conclusion only on a
// completed run, so a deployment waiting for an approval is shown in
// progress, with its buttons, rather than as "action required".
//
// # Checkouts
//
// What a merged plan deploys is exactly its commit. Checkout fetches that
// one commit, shallow, into a bare repository cached per repository (one
// fetch at a time per repository), and reads its tree into memory
// (gitrepo.Commit). When the server does not serve commits by SHA, the
// default branch and the pull requests' heads are fetched instead. The
// cache can be deleted at any time.
package githubapp
