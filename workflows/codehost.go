package workflows

import (
	"context"
	"strings"
	"time"
)

// CheckRun is a check run to publish on a commit.
type CheckRun struct {
	Repo    string `json:"repo"`
	HeadSHA string `json:"headSha"`
	// Name is "prdeploy/plan" or "prdeploy/deploy".
	Name string `json:"name"`
	// ExternalID ties the check run to what it reports (the deployment
	// workflow ID), so a publish after a restart updates the same run.
	ExternalID  string       `json:"externalId"`
	DetailsURL  string       `json:"detailsUrl,omitempty"`
	Report      Report       `json:"report"`
	Annotations []Annotation `json:"annotations,omitempty"`
}

// Annotation points at a line of a file in the check run's commit.
type Annotation struct {
	Path      string `json:"path"`
	StartLine int    `json:"startLine"`
	EndLine   int    `json:"endLine"`
	// Level is notice, warning or failure.
	Level   string `json:"level"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message"`
}

// CheckRuns publishes check runs (internal/githubapp).
type CheckRuns interface {
	// PublishCheckRun creates the check run, or updates the one with the
	// same name and external ID on that commit; it sends annotations in
	// batches of at most 50, and returns the check run's ID.
	PublishCheckRun(ctx context.Context, c CheckRun) (int64, error)
}

// PRComments writes on pull requests (internal/githubapp).
type PRComments interface {
	// UpsertComment keeps one comment per pull request and key (a hidden
	// marker in the body), edited in place.
	UpsertComment(ctx context.Context, repo string, pr int, key, body string) error
	// Reply adds a comment.
	Reply(ctx context.Context, repo string, pr int, body string) error
	// React adds a reaction ("eyes", "+1", "-1", "confused") to a comment.
	React(ctx context.Context, repo string, commentID int64, reaction string) error
}

// Permissions tells a person's permission on a repository: "admin",
// "maintain", "write", "triage", "read" or "none".
type Permissions interface {
	Permission(ctx context.Context, repo, login string) (string, error)
}

// HeldLock is a lock someone holds now, with who waits for it.
type HeldLock struct {
	Key    LockKey `json:"key"`
	Holder string  `json:"holder"`
	Since  string  `json:"since,omitempty"`
	Queued int     `json:"queued,omitempty"`
	// Merges are the ordered deployments that hold or wait for the lock,
	// holder first, with their merges' places. A PR merged now is newer
	// than all of them: it supersedes each where it has not applied yet.
	Merges []Stamp `json:"merges,omitempty"`
}

// LockPreview tells which of some locks are held now (internal/temporalx),
// so a PR's plan check can say what its rollout would wait on.
type LockPreview interface {
	HeldLocks(ctx context.Context, keys []LockKey) ([]HeldLock, error)
}

// ChatRef names a chat message: its channel and timestamp (Slack's ts).
type ChatRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// ChatMessage is a deployment's message in a chat channel.
type ChatMessage struct {
	// Channel is where the message goes; Ref, when set, is the message to
	// update in place (chat.update) instead of posting a new one.
	Channel string  `json:"channel"`
	Ref     ChatRef `json:"ref,omitempty"`
	Report  Report  `json:"report"`
	// Deployment is the deployment's workflow ID, the value of every
	// button, so a click names what it is about.
	Deployment string `json:"deployment"`
	// Mention is the chat user to mention (who merged), if known.
	Mention string `json:"mention,omitempty"`
	// PausedOnFailure asks the initiator "Investigate (keep paused)" or
	// "Roll back now", and says when automatic rollback happens.
	PausedOnFailure *PausedOnFailure `json:"pausedOnFailure,omitempty"`
}

// PausedOnFailure is a tenant paused by a failed safety check.
type PausedOnFailure struct {
	Tenant     string    `json:"tenant"`
	Reason     string    `json:"reason"`
	RollbackAt time.Time `json:"rollbackAt,omitempty"`
}

// Chat posts deployments to a chat service (internal/slack).
type Chat interface {
	// UpsertMessage posts the message, or updates it when Ref is set, and
	// returns where it is.
	UpsertMessage(ctx context.Context, m ChatMessage) (ChatRef, error)
	// Reply adds a reply in the message's thread.
	Reply(ctx context.Context, thread ChatRef, text string) error
	// Ephemeral answers one person privately after an interaction
	// (Slack's response_url).
	Ephemeral(ctx context.Context, responseURL, text string) error
	// LookupUser maps a GitHub login to a chat user ID to mention, if the
	// mapping knows one.
	LookupUser(ctx context.Context, githubLogin string) (string, bool, error)
	// GitHubLogin maps a chat user ID to the GitHub login the policies
	// judge, if the mapping knows one.
	GitHubLogin(ctx context.Context, chatUser string) (string, bool, error)
}

// commentKey makes a comment key of parts: characters a key cannot hold
// become '-'.
func commentKey(parts ...string) string {
	k := []rune(strings.Join(parts, ":"))
	for i, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:/@-", r)) {
			k[i] = '-'
		}
	}
	return string(k[:min(len(k), 100)])
}
