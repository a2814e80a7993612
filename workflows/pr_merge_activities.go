// PR room: the activities of MergedPR, and the ports they declare.

package workflows

import (
	"context"
	"fmt"
)

// MergeReader lists the plans a merge commit adds or changes, compared
// with its first parent, or with the deploy branch before the PR's own
// commits (internal/prepare).
type MergeReader interface {
	PlansInMerge(ctx context.Context, repo, mergeSHA string) ([]MergedPlan, error)
	PlansSince(ctx context.Context, repo, mergeSHA, base string) ([]MergedPlan, error)
}

// ReadPRFacts reads a merged PR's facts from GitHub and checks they are
// those of this merge.
func (a *PRActivities) ReadPRFacts(ctx context.Context, in MergedPRInput) (PRFacts, error) {
	if a.PullRequests == nil {
		// Not wired yet (issue 13 in progress): no facts, the old rules.
		return PRFacts{}, nil
	}
	f, err := a.PullRequests.PullRequestFacts(ctx, in.Repo, in.PR)
	if err != nil {
		return f, classify(err)
	}
	if f.MergeSHA != in.MergeSHA {
		return f, Permanent(fmt.Errorf("GitHub says PR #%d merged as %s, not %s", in.PR, short12(f.MergeSHA), short12(in.MergeSHA)))
	}
	if f.PolicySHA == "" {
		return f, Permanent(fmt.Errorf("the deploy branch before PR #%d's commits could not be found", in.PR))
	}
	return f, nil
}

// PlansInMerge lists the plans a merge changed since its first parent
// (MergedPR without the PR's facts).
func (a *PRActivities) PlansInMerge(ctx context.Context, repo, mergeSHA string) ([]MergedPlan, error) {
	p, err := a.Merges.PlansInMerge(ctx, repo, mergeSHA)
	return p, classify(err)
}

// PlansSince lists the plans a merge changed since base, the deploy branch
// before the PR's own commits.
func (a *PRActivities) PlansSince(ctx context.Context, repo, mergeSHA, base string) ([]MergedPlan, error) {
	p, err := a.Merges.PlansSince(ctx, repo, mergeSHA, base)
	return p, classify(err)
}

// Comment adds a comment to a pull request.
func (a *PRActivities) Comment(ctx context.Context, req CommentRequest) error {
	if req.Key != "" {
		return classify(a.Comments.UpsertComment(ctx, req.Repo, req.PR, req.Key, req.Body))
	}
	return classify(a.Comments.Reply(ctx, req.Repo, req.PR, req.Body))
}
