package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// usedActions are, per X-GitHub-Event type, the actions that can become an
// Event. Other types are answered without decoding the payload, and other
// actions after decoding only the action.
var usedActions = map[string][]string{
	// A plan is checked again whenever what the policies judge it by may
	// have changed: the head, the labels, the base branch.
	"pull_request":        {"opened", "synchronize", "reopened", "labeled", "unlabeled", "edited", "closed"},
	"issue_comment":       {"created"},
	"pull_request_review": {"submitted", "dismissed"},
	"check_run":           {"requested_action"},
}

// route turns a verified delivery into an Event. A delivery prdeploy does
// not act on gives a nil Event and the reason, for the log and the
// response. An error means the payload is not what GitHub sends.
func route(deliveryID, eventType string, payload []byte) (Event, string, error) {
	used, ok := usedActions[eventType]
	if !ok {
		return nil, "event " + eventType + " is not used", nil
	}
	action, err := peekAction(payload)
	if err != nil {
		return nil, "", fmt.Errorf("decoding %s payload: %w", eventType, err)
	}
	if !slices.Contains(used, action) {
		return nil, fmt.Sprintf("%s action %q is not used", eventType, action), nil
	}
	parsed, err := github.ParseWebHook(eventType, payload)
	if err != nil {
		return nil, "", fmt.Errorf("decoding %s payload: %w", eventType, err)
	}
	switch e := parsed.(type) {
	case *github.PullRequestEvent:
		return routePullRequest(deliveryID, e)
	case *github.IssueCommentEvent:
		return routeComment(deliveryID, e)
	case *github.PullRequestReviewEvent:
		if e.GetAction() == "dismissed" {
			return routeDismissal(deliveryID, e)
		}
		return routeReview(deliveryID, e)
	case *github.CheckRunEvent:
		return routeCheckRun(deliveryID, e)
	}
	return nil, "", fmt.Errorf("event %s decoded as %T", eventType, parsed)
}

// peekAction reads the top-level "action" of a payload without decoding
// the rest: GitHub sends it first, so a delivery that is not used costs
// little.
func peekAction(payload []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if t, err := dec.Token(); err != nil {
		return "", err
	} else if t != json.Delim('{') {
		return "", fmt.Errorf("payload is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", err
		}
		if key, _ := t.(string); key == "action" {
			var action string
			if err := dec.Decode(&action); err != nil {
				return "", fmt.Errorf("action: %w", err)
			}
			return action, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", err
		}
	}
	return "", nil
}

func delivery(id string, repo *github.Repository, inst *github.Installation, sender *github.User) (Delivery, error) {
	d := Delivery{ID: id, Repo: repo.GetFullName(), InstallationID: inst.GetID(), Sender: sender.GetLogin(), DefaultBranch: repo.GetDefaultBranch()}
	if d.Repo == "" {
		return d, fmt.Errorf("payload has no repository.full_name")
	}
	return d, nil
}

func routePullRequest(id string, e *github.PullRequestEvent) (Event, string, error) {
	action := e.GetAction()
	pr := e.GetPullRequest()
	if action == "closed" && !pr.GetMerged() {
		return nil, "pull request closed without merging", nil
	}
	// An edit of the title or the body changes nothing the policies read;
	// a new base branch changes the rules the plan is judged by.
	base := e.GetChanges().GetBase()
	if action == "edited" && base == nil {
		return nil, "pull request edited without a base change", nil
	}
	d, err := delivery(id, e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return nil, "", err
	}
	number := pr.GetNumber()
	if number == 0 {
		number = e.GetNumber()
	}
	if number <= 0 {
		return nil, "", fmt.Errorf("pull_request %s payload has no pull request number", action)
	}
	if action == "closed" {
		m := PullRequestMerged{
			Delivery:       d,
			Number:         number,
			MergeCommitSHA: pr.GetMergeCommitSHA(),
			HeadSHA:        pr.GetHead().GetSHA(),
			BaseRef:        pr.GetBase().GetRef(),
			MergedBy:       pr.GetMergedBy().GetLogin(),
			Author:         pr.GetUser().GetLogin(),
			AuthorIsBot:    isBot(pr.GetUser()),
			Labels:         labelNames(pr.Labels),
		}
		if m.MergeCommitSHA == "" {
			return nil, "", fmt.Errorf("merged pull request #%d has no merge_commit_sha", number)
		}
		return m, "", nil
	}
	c := PullRequestChanged{
		Delivery:    d,
		Action:      action,
		Number:      number,
		HeadSHA:     pr.GetHead().GetSHA(),
		HeadRef:     pr.GetHead().GetRef(),
		HeadRepo:    pr.GetHead().GetRepo().GetFullName(),
		BaseRef:     pr.GetBase().GetRef(),
		BaseSHA:     pr.GetBase().GetSHA(),
		Author:      pr.GetUser().GetLogin(),
		AuthorIsBot: isBot(pr.GetUser()),
		Labels:      labelNames(pr.Labels),
		UpdatedAt:   pr.GetUpdatedAt().Time,
	}
	if action == "edited" {
		c.PreviousBaseRef = base.GetRef().GetFrom()
	}
	if c.HeadSHA == "" {
		return nil, "", fmt.Errorf("pull request #%d (%s) has no head sha", number, action)
	}
	return c, "", nil
}

func routeComment(id string, e *github.IssueCommentEvent) (Event, string, error) {
	if !e.GetIssue().IsPullRequest() {
		return nil, "comment on an issue, not a pull request", nil
	}
	if isBot(e.GetSender()) || isBot(e.GetComment().GetUser()) {
		return nil, "comment by a bot", nil
	}
	cmds := ParseCommands(e.GetComment().GetBody())
	if len(cmds) == 0 {
		return nil, "comment holds no command", nil
	}
	d, err := delivery(id, e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return nil, "", err
	}
	c := CommentCommand{
		Delivery:          d,
		Number:            e.GetIssue().GetNumber(),
		CommentID:         e.GetComment().GetID(),
		Author:            e.GetComment().GetUser().GetLogin(),
		AuthorAssociation: e.GetComment().GetAuthorAssociation(),
		Body:              e.GetComment().GetBody(),
		Commands:          cmds,
	}
	if c.Number <= 0 || c.CommentID == 0 || c.Author == "" {
		return nil, "", fmt.Errorf("issue_comment payload lacks the issue number, comment id or comment author")
	}
	return c, "", nil
}

func routeReview(id string, e *github.PullRequestReviewEvent) (Event, string, error) {
	r := e.GetReview()
	if s := r.GetState(); !strings.EqualFold(s, "approved") {
		return nil, "review " + strings.ToLower(s) + ", not approved", nil
	}
	if isBot(e.GetSender()) || isBot(r.GetUser()) {
		return nil, "review by a bot", nil
	}
	d, err := delivery(id, e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return nil, "", err
	}
	a := ReviewApproved{
		Delivery:          d,
		Number:            e.GetPullRequest().GetNumber(),
		ReviewID:          r.GetID(),
		Reviewer:          r.GetUser().GetLogin(),
		AuthorAssociation: r.GetAuthorAssociation(),
		CommitID:          r.GetCommitID(),
		Body:              r.GetBody(),
	}
	if a.Number <= 0 || a.ReviewID == 0 || a.Reviewer == "" {
		return nil, "", fmt.Errorf("pull_request_review payload lacks the pull request number, review id or reviewer")
	}
	return a, "", nil
}

// routeDismissal withdraws whatever a dismissed review approved. Who
// dismissed it does not matter: GitHub lets only people with write access
// dismiss reviews, and a withdrawal can only make a gate wait longer.
func routeDismissal(id string, e *github.PullRequestReviewEvent) (Event, string, error) {
	d, err := delivery(id, e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return nil, "", err
	}
	r := e.GetReview()
	x := ReviewDismissed{
		Delivery: d,
		Number:   e.GetPullRequest().GetNumber(),
		ReviewID: r.GetID(),
		Reviewer: r.GetUser().GetLogin(),
		CommitID: r.GetCommitID(),
	}
	if x.Number <= 0 || x.ReviewID == 0 {
		return nil, "", fmt.Errorf("pull_request_review dismissed payload lacks the pull request number or review id")
	}
	return x, "", nil
}

func routeCheckRun(id string, e *github.CheckRunEvent) (Event, string, error) {
	if isBot(e.GetSender()) {
		return nil, "requested by a bot", nil
	}
	d, err := delivery(id, e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return nil, "", err
	}
	run := e.GetCheckRun()
	a := CheckRunAction{
		Delivery:   d,
		CheckRunID: run.GetID(),
		CheckName:  run.GetName(),
		HeadSHA:    run.GetHeadSHA(),
		ExternalID: run.GetExternalID(),
		Shown:      shown(run.GetOutput()),
	}
	if ra := e.GetRequestedAction(); ra != nil {
		a.Identifier = ra.Identifier
	}
	for _, pr := range run.PullRequests {
		if n := pr.GetNumber(); n > 0 {
			a.PullRequests = append(a.PullRequests, n)
		}
	}
	if a.Identifier == "" || a.CheckRunID == 0 {
		return nil, "", fmt.Errorf("check_run requested_action payload lacks requested_action.identifier or check_run.id")
	}
	return a, "", nil
}

// shown is a digest of what a check run showed: its output's title and
// summary.
func shown(o *github.CheckRunOutput) string {
	sum := sha256.Sum256([]byte(o.GetTitle() + "\x00" + o.GetSummary()))
	return hex.EncodeToString(sum[:16])
}

// isBot reports whether u is a GitHub App or another bot account.
func isBot(u *github.User) bool {
	return strings.HasSuffix(u.GetLogin(), "[bot]") || strings.EqualFold(u.GetType(), "Bot")
}

func labelNames(labels []*github.Label) []string {
	var names []string
	for _, l := range labels {
		if n := l.GetName(); n != "" {
			names = append(names, n)
		}
	}
	return names
}
