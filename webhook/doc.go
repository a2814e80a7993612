// Package webhook is where GitHub and Slack reach prdeploy: it receives
// webhook deliveries and interactions, decides which of them mean something
// for a deployment, and hands those on as small domain events. Slack button
// clicks arrive at SlackPath, signed with the app's signing secret (v0,
// within 5 minutes), and become SlackAction events (see slack.go).
//
// A delivery is trusted only when its X-Hub-Signature-256 is the
// HMAC-SHA256 of the raw body under one of the configured secrets (several
// during a rotation); anything else is refused before the body is even
// decoded. Until then a request is an outsider's: nothing is allocated from
// its Content-Length (the body streams through the HMACs into a buffer
// that grows with what arrived, up to MaxBodyBytes), and a Gate shared by
// the GitHub and Slack handlers bounds how many such requests, and how
// many of their bytes, are in flight (503 beyond). A Slack interaction
// must also come from the configured workspace (403 otherwise). A trusted
// delivery becomes at most one Event:
//
//   - PullRequestChanged: a pull request opened, reopened, pushed to,
//     labeled, unlabeled or moved to another base branch; its deploy plans
//     are checked and previewed at the head commit.
//   - PullRequestMerged: a pull request merged; its plans are deployed from
//     the merge commit.
//   - CommentCommand: a new comment on a pull request, by a person, with
//     slash commands (/approve, /unapprove, /pause, /resume, /rollback,
//     /cancel, /status, /help) read by ParseCommands.
//   - ReviewApproved: an approving review, by a person.
//   - ReviewDismissed: a review dismissed; what it approved is withdrawn.
//   - CheckRunAction: a person pressing a button on a prdeploy check run,
//     named by its signed content (PressKey), never by the delivery GUID.
//
// Everything else (other events and actions, edited or deleted comments,
// pull request edits that keep the base branch,
// comments on issues, comments without a command, and comments, reviews
// and button presses by bots, prdeploy's own included) is answered 204 and
// dropped. Pull request events from bots are kept, with AuthorIsBot set:
// dependency bots open plan pull requests and merge queues merge them, and
// the policies decide what a bot may deploy.
//
// The Handler hands each Event to a Dispatcher, which starts or signals the
// Temporal workflow the event is for, and answers 202 once that is durable,
// or 500 when it failed so the delivery can be redelivered. Nothing is done
// after the answer and nothing is remembered between deliveries: the
// workflow IDs (one per pull request state, comment, review, button
// press, deployment) turn a repeated delivery into a no-op, which holds
// across restarts and replicas where an in-memory list of seen deliveries
// would not. The delivery ID is not signed: it travels with every event
// for logs and tracing, and decides nothing.
//
// Events hold only plain values (logins, SHAs, numbers, names), never
// go-github types, so they encode as workflow inputs and adapters can be
// tested without GitHub. Whether the sender may do what they ask is not
// decided here: their permission on the repository (only writers are
// answered at all) and the deploy branch's policies decide, in the
// workflow.
//
// Every request ends in one of a few results (accepted, ignored,
// bad_signature, bad_request, error), told to an optional ObserveFunc with
// its source and event for metrics. An event name from a request whose
// signature is not checked yet is only passed on when prdeploy uses that
// event: the header is anyone's to set.
package webhook
