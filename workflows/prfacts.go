package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/prdeploy/prdeploy/policies"
)

// MaxChangedFiles bounds the changed files a PR's facts carry (GitHub's
// files API stops at 3,000); past it, ChangedFilesTruncated is set.
const MaxChangedFiles = 1000

// PRFacts are what the policies judge a pull request by, read from GitHub
// (never from a webhook payload alone) when it merges, and stored with
// the deployment, so the plan check, Prepare and every gate see the same
// facts.
type PRFacts struct {
	Number   int      `json:"number"`
	Author   string   `json:"author"`
	MergedBy string   `json:"mergedBy,omitempty"`
	Labels   []string `json:"labels,omitempty"`
	BaseRef  string   `json:"baseRef"`
	// HeadSHA is the PR's final head: only reviews of it count.
	HeadSHA string `json:"headSha"`
	// MergeSHA is the merge commit GitHub reports.
	MergeSHA              string   `json:"mergeSha,omitempty"`
	ChangedFiles          []string `json:"changedFiles,omitempty"`
	ChangedFilesTruncated bool     `json:"changedFilesTruncated,omitempty"`
	// Contributors are the logins that wrote, co-wrote or pushed a commit
	// of the PR.
	Contributors []string `json:"contributors,omitempty"`
	// PolicySHA is the deploy branch as it stood before the PR's own
	// commits (for merge, squash and rebase merges alike).
	PolicySHA string `json:"policySha,omitempty"`
	// ActorTeams are the teams ("org/slug") of the merger (of the author,
	// at the plan check).
	ActorTeams []string `json:"actorTeams,omitempty"`
}

// PullRequests reads a pull request's facts from GitHub
// (internal/githubapp). An error means a fact could not be read: the
// caller fails closed.
type PullRequests interface {
	PullRequestFacts(ctx context.Context, repo string, pr int) (PRFacts, error)
}

// Policy is the policy input of the facts: the PR as conditions see it,
// and the actor (the merger, or the author before the merge).
func (f PRFacts) Policy() (policies.PRFacts, policies.Actor) {
	pr := policies.PRFacts{Number: f.Number, Author: f.Author, Labels: f.Labels, ChangedFiles: f.ChangedFiles, BaseRef: f.BaseRef, HeadSHA: f.HeadSHA}
	actor := policies.Actor{Login: f.MergedBy, Teams: f.ActorTeams}
	if actor.Login == "" {
		actor.Login = f.Author
	}
	return pr, actor
}

// Excluded are the people the request's approvals may not come from. A
// request without facts (started by an older build) excludes its author
// only, as that build did.
func (r DeployRequest) Excluded() policies.Excluded {
	if r.Facts == nil {
		return policies.Excluded{Author: r.PRAuthor}
	}
	return policies.Excluded{Author: r.Facts.Author, Contributors: r.Facts.Contributors, Merger: r.Facts.MergedBy}
}

// GateToken is the short token a check-run Approve button carries for its
// gate (identifiers are at most 20 characters), so a press is bound to the
// gate it was shown for.
func GateToken(gate string) string {
	sum := sha256.Sum256([]byte(gate))
	return hex.EncodeToString(sum[:4])
}

// ApproveIdentifier is the Approve button's identifier for a gate.
func ApproveIdentifier(gate string) string { return ActionApprove + "@" + GateToken(gate) }

// SplitIdentifier reads a button identifier: the action and, for Approve,
// the gate token.
func SplitIdentifier(id string) (action, gateToken string) {
	action, gateToken, _ = strings.Cut(id, "@")
	return action, gateToken
}
