// Package slack is prdeploy's adapter to Slack: Client implements
// workflows.Chat with the Web API (github.com/slack-go/slack).
//
// # One message per deployment
//
// A deployment has one message in its channel, posted once and then
// edited in place (chat.update) as the rollout moves; milestones go in
// its thread. The message is rendered from the same workflows.Report as
// the GitHub check run, in Block Kit:
//
//   - a header with the report's title;
//   - when a tenant is paused by a failed safety check, a question to the
//     person who merged: "Investigate (keep paused)" or "Roll back now"
//     (action IDs ActionInvestigate and ActionRollbackTenant, value
//     "<deployment>|<tenant>"), and when the automatic rollback happens,
//     in each reader's time zone;
//   - the report's summary, converted from GitHub Markdown to Slack's
//     mrkdwn (Markdown), tables flattened to one line per row, cut into
//     sections of at most 3,000 characters and about 10,000 in all (the
//     check run keeps the whole report);
//   - a context line: the state, the deployment, who merged it;
//   - the report's buttons (Approve, Pause or Resume, Roll back): the
//     action ID is the report action's identifier and the value the
//     deployment's workflow ID, so a click names what it is about. Roll
//     back asks for confirmation.
//
// The fallback text, which notifications show, is the title. A message
// deleted by someone is posted again on the next update. Editing a
// message does not notify anyone, so a question that needs a person's
// attention belongs in a thread reply as well.
//
// # Answering a click
//
// Clicks arrive at prdeploy's interactions endpoint (package webhook), not
// here. The answer to the person who clicked — refused, stale button,
// "1 of 2 approvals" — is an ephemeral message through the interaction's
// response_url (Ephemeral), which needs no token.
//
// # Who is who
//
// Policies judge GitHub logins. A configured map links GitHub logins and
// Slack user IDs both ways: whom to mention for a login (LookupUser), and
// as whom a Slack user's click is judged (GitHubLogin). Optionally, logins
// with a configured email address are found by email instead: through
// users.lookupByEmail one way, and the address on the Slack user's profile
// the other. The map wins over email in both directions, a Slack user or
// an address may belong to one login only, and deactivated users and bots
// map to no one.
//
// # Errors and retries
//
// Messages are sent from activities, and Slack being slow or down must not
// hold up a deployment: a Client tries a request at most twice — again
// only after a rate limit Slack asks to wait at most two seconds for, or,
// for requests that are safe to repeat (chat.update, look-ups), after a
// server or network error — and leaves longer waits to the activity's
// retry policy. Errors a retry cannot change are workflows.Permanent: a
// channel that does not exist or the app is not in, a bad or revoked
// token, a missing scope, a message Slack finds too long or malformed, an
// expired response_url. Rate limits, Slack's internal errors, 5xx answers
// and network errors are retryable. Errors say what was sent where and
// what to do, and never hold the token.
//
// # Imports
//
// It is slack-go's client home in prdeploy (webhook uses slack-go's
// payload types only) and imports workflows only, for the port it
// implements; the domain packages never import it.
package slack
