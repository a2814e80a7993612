package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Dispatcher hands an event to the durable part of prdeploy: it starts or
// signals the Temporal workflow the event is for, and returns once that is
// recorded. Workflow IDs derived from the event (the pull request, the
// deployment) make a redelivered event a no-op, so the Dispatcher does not
// need the delivery ID for that; it is there for logs and tracing.
//
// Dispatch runs while GitHub waits for the answer (10 s at most), so it
// must not do the work itself. An error makes the delivery fail with 500,
// and the delivery can be redelivered.
type Dispatcher interface {
	Dispatch(ctx context.Context, e Event) error
}

// DispatcherFunc adapts a function to Dispatcher.
type DispatcherFunc func(ctx context.Context, e Event) error

// Dispatch calls f.
func (f DispatcherFunc) Dispatch(ctx context.Context, e Event) error { return f(ctx, e) }

// Event is something that happened on GitHub that prdeploy acts on:
// PullRequestChanged, PullRequestMerged, CommentCommand, ReviewApproved,
// ReviewDismissed or CheckRunAction. Events are plain structs that encode to JSON, so they
// can be workflow inputs as they are.
type Event interface {
	// Origin tells which delivery and repository the event came from.
	Origin() Delivery
	// Kind names the event in logs, as "pull_request.merged".
	Kind() string
	isEvent()
}

// Delivery is what every event carries about where it came from.
type Delivery struct {
	// ID is the X-GitHub-Delivery GUID; a redelivery has the same one.
	ID string `json:"deliveryId"`
	// Repo is the repository's full name, "owner/name".
	Repo string `json:"repo"`
	// InstallationID is the GitHub App installation the delivery is for
	// (0 for a repository webhook); adapters get a token for it.
	InstallationID int64 `json:"installationId,omitempty"`
	// Sender is the login of who caused the event.
	Sender string `json:"sender"`
	// DefaultBranch is the repository's default branch, as the delivery
	// says it: the deploy branch when the configuration names none.
	DefaultBranch string `json:"defaultBranch,omitempty"`
}

// Origin returns d.
func (d Delivery) Origin() Delivery { return d }

// PullRequestChanged is a pull request opened, reopened, pushed to
// (synchronize), labeled or unlabeled, or moved to another base branch
// (edited with a base change): what the policies judge it by may have
// changed, so its plan is to be checked again at HeadSHA.
type PullRequestChanged struct {
	Delivery
	// Action is opened, reopened, synchronize, labeled, unlabeled or
	// edited.
	Action  string `json:"action"`
	Number  int    `json:"number"`
	HeadSHA string `json:"headSha"`
	HeadRef string `json:"headRef"`
	// HeadRepo is the full name of the repository the head branch is in;
	// it differs from Repo for a pull request from a fork.
	HeadRepo    string   `json:"headRepo,omitempty"`
	BaseRef     string   `json:"baseRef"`
	BaseSHA     string   `json:"baseSha"`
	Author      string   `json:"author"`
	AuthorIsBot bool     `json:"authorIsBot,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	// PreviousBaseRef is the base branch before an edit moved the pull
	// request (edited only).
	PreviousBaseRef string `json:"previousBaseRef,omitempty"`
	// UpdatedAt is the pull request's updated_at as the delivery says it:
	// GitHub moves it on every change, so two changes that end where they
	// began (a label added, then removed) are two states to check, and a
	// redelivery of one change is the same state.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// PullRequestMerged is a pull request merged into BaseRef: its plans are to
// be deployed from MergeCommitSHA.
type PullRequestMerged struct {
	Delivery
	Number         int      `json:"number"`
	MergeCommitSHA string   `json:"mergeCommitSha"`
	HeadSHA        string   `json:"headSha"`
	BaseRef        string   `json:"baseRef"`
	MergedBy       string   `json:"mergedBy"`
	Author         string   `json:"author"`
	AuthorIsBot    bool     `json:"authorIsBot,omitempty"`
	Labels         []string `json:"labels,omitempty"`
}

// CommentCommand is a new comment on a pull request, by a person, that
// holds at least one command line. Commands holds every command and error
// result, in order; the dispatcher authorizes Author and runs them, and
// replies to error results and /help.
type CommentCommand struct {
	Delivery
	Number    int    `json:"number"`
	CommentID int64  `json:"commentId"`
	Author    string `json:"author"`
	// AuthorAssociation is GitHub's OWNER, MEMBER, COLLABORATOR,
	// CONTRIBUTOR, NONE… It is a hint: policies decide who may do what.
	AuthorAssociation string    `json:"authorAssociation"`
	Body              string    `json:"body"`
	Commands          []Command `json:"commands"`
}

// ReviewApproved is an approving pull request review by a person.
type ReviewApproved struct {
	Delivery
	Number            int    `json:"number"`
	ReviewID          int64  `json:"reviewId"`
	Reviewer          string `json:"reviewer"`
	AuthorAssociation string `json:"authorAssociation,omitempty"`
	// CommitID is the commit the review approves.
	CommitID string `json:"commitId"`
	Body     string `json:"body,omitempty"`
}

// ReviewDismissed is a pull request review dismissed on GitHub: an
// approval it gave is withdrawn. Sender is who dismissed it.
type ReviewDismissed struct {
	Delivery
	Number   int    `json:"number"`
	ReviewID int64  `json:"reviewId"`
	Reviewer string `json:"reviewer"`
	// CommitID is the commit the review was of.
	CommitID string `json:"commitId,omitempty"`
}

// CheckRunAction is a person pressing a button (a requested action) on one
// of prdeploy's check runs.
//
// The delivery's GUID is not signed, so a captured delivery replayed with
// a new GUID must not count as a new press: PressKey names a press by what
// the signed payload says.
type CheckRunAction struct {
	Delivery
	// Identifier is the identifier of the button, as prdeploy set it.
	Identifier string `json:"identifier"`
	CheckRunID int64  `json:"checkRunId"`
	// CheckName is the name of the check run, as "prdeploy/plan".
	CheckName string `json:"checkName,omitempty"`
	HeadSHA   string `json:"headSha"`
	// ExternalID is the external_id prdeploy gave the check run.
	ExternalID string `json:"externalId,omitempty"`
	// PullRequests are the numbers of the pull requests the run is on.
	PullRequests []int `json:"pullRequests,omitempty"`
	// Shown is a digest of the check run's output (title and summary) at
	// the press: what the button's presser was looking at.
	Shown string `json:"shown,omitempty"`
}

// PressKey names one press by its signed content: the check run, the
// button (whose identifier carries the gate it approves), who pressed it
// and what the check run showed. A delivery replayed with another GUID has
// the same key; the same person pressing Pause again after a Resume sees
// another check run output, and makes another press.
func (a CheckRunAction) PressKey() string {
	sum := sha256.Sum256([]byte(strings.Join([]string{a.Identifier, strings.ToLower(a.Sender), a.Shown}, "\x00")))
	return fmt.Sprintf("%d-%s", a.CheckRunID, hex.EncodeToString(sum[:8]))
}

// Kind names the event in logs.
func (PullRequestChanged) Kind() string { return "pull_request.changed" }

// Kind names the event in logs.
func (PullRequestMerged) Kind() string { return "pull_request.merged" }

// Kind names the event in logs.
func (CommentCommand) Kind() string { return "issue_comment.command" }

// Kind names the event in logs.
func (ReviewApproved) Kind() string { return "pull_request_review.approved" }

// Kind names the event in logs.
func (ReviewDismissed) Kind() string { return "pull_request_review.dismissed" }

// Kind names the event in logs.
func (CheckRunAction) Kind() string { return "check_run.requested_action" }

func (PullRequestChanged) isEvent() {}
func (PullRequestMerged) isEvent()  {}
func (CommentCommand) isEvent()     {}
func (ReviewApproved) isEvent()     {}
func (ReviewDismissed) isEvent()    {}
func (CheckRunAction) isEvent()     {}
