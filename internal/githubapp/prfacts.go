package githubapp

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/prdeploy/prdeploy/workflows"
)

// maxPRCommits is what GitHub's pull request commits API lists at most;
// the deploy branch before a longer PR's commits cannot be told from it.
const maxPRCommits = 250

var _ workflows.PullRequests = (*Client)(nil)

// PullRequestFacts reads what the policies judge a pull request by, from
// GitHub's API (never from a webhook payload): author, merger, labels,
// base ref, head, changed files, the logins that wrote, co-wrote or
// committed its commits, the teams of the merger (of the author while it
// is open), and, once merged, the merge commit and the deploy branch as it
// stood before the PR's own commits (PolicySHA):
//   - a merge commit (two parents): its first parent;
//   - a rebase merge: the PR's N commits were replayed on the branch, so
//     the merge commit and its N-1 first-parent ancestors carry the PR
//     commits' messages and authors, in order: the commit before them;
//   - a squash merge (anything else with one parent): its parent.
//
// A fact GitHub cannot give is an error: the caller fails closed.
func (c *Client) PullRequestFacts(ctx context.Context, repo string, number int) (workflows.PRFacts, error) {
	var f workflows.PRFacts
	owner, name, err := splitRepo(repo)
	if err != nil {
		return f, err
	}
	gh, _, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return f, err
	}
	pr, _, err := gh.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return f, classify(err, "reading pull request #%d of %s", number, repo)
	}
	f = workflows.PRFacts{Number: number, Author: pr.GetUser().GetLogin(), BaseRef: pr.GetBase().GetRef(), HeadSHA: pr.GetHead().GetSHA()}
	for _, l := range pr.Labels {
		f.Labels = append(f.Labels, l.GetName())
	}
	slices.Sort(f.Labels)
	if pr.GetMerged() {
		f.MergedBy, f.MergeSHA = pr.GetMergedBy().GetLogin(), pr.GetMergeCommitSHA()
	}
	if n := pr.GetChangedFiles(); n > workflows.MaxChangedFiles {
		return f, workflows.Permanent(fmt.Errorf("pull request #%d changes %d files; prdeploy judges pull requests of at most %d files (split it)", number, n, workflows.MaxChangedFiles))
	}
	if n := pr.GetCommits(); n > maxPRCommits {
		return f, workflows.Permanent(fmt.Errorf("pull request #%d has %d commits; GitHub lists at most %d, so the rules it is judged by cannot be found (split it, or squash its commits)", number, n, maxPRCommits))
	}
	if f.ChangedFiles, err = c.changedFiles(ctx, gh, owner, name, number); err != nil {
		return f, err
	}
	commits, err := c.prCommits(ctx, gh, owner, name, number)
	if err != nil {
		return f, err
	}
	f.Contributors = contributors(commits)
	if f.MergeSHA != "" {
		if f.PolicySHA, err = c.policyBase(ctx, gh, owner, name, f.MergeSHA, commits); err != nil {
			return f, err
		}
	}
	actor := f.MergedBy
	if actor == "" {
		actor = f.Author
	}
	if actor != "" {
		if f.ActorTeams, err = c.Teams(ctx, actor); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (c *Client) changedFiles(ctx context.Context, gh *github.Client, owner, name string, number int) ([]string, error) {
	var out []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		files, resp, err := gh.PullRequests.ListFiles(ctx, owner, name, number, opts)
		if err != nil {
			return nil, classify(err, "listing the files of pull request #%d", number)
		}
		for _, f := range files {
			out = append(out, f.GetFilename())
			if f.GetPreviousFilename() != "" {
				// A rename changes the old path too: a rule about it
				// must see it.
				out = append(out, f.GetPreviousFilename())
			}
		}
		if len(out) > 2*workflows.MaxChangedFiles {
			return nil, workflows.Permanent(fmt.Errorf("pull request #%d lists more than %d files", number, workflows.MaxChangedFiles))
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (c *Client) prCommits(ctx context.Context, gh *github.Client, owner, name string, number int) ([]*github.RepositoryCommit, error) {
	var out []*github.RepositoryCommit
	opts := &github.ListOptions{PerPage: 100}
	for {
		list, resp, err := gh.PullRequests.ListCommits(ctx, owner, name, number, opts)
		if err != nil {
			return nil, classify(err, "listing the commits of pull request #%d", number)
		}
		out = append(out, list...)
		if len(out) > maxPRCommits {
			return nil, workflows.Permanent(fmt.Errorf("pull request #%d has more than %d commits", number, maxPRCommits))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// policyBase finds the deploy branch as it stood before the PR's commits.
func (c *Client) policyBase(ctx context.Context, gh *github.Client, owner, name, mergeSHA string, commits []*github.RepositoryCommit) (string, error) {
	m, _, err := gh.Repositories.GetCommit(ctx, owner, name, mergeSHA, nil)
	if err != nil {
		return "", classify(err, "reading the merge commit %s", short(mergeSHA))
	}
	parents := m.Parents
	switch {
	case len(parents) == 0:
		return "", workflows.Permanent(fmt.Errorf("the merge commit %s has no parent", short(mergeSHA)))
	case len(parents) > 1 || len(commits) <= 1:
		// A merge commit; or one commit, squashed or rebased alike.
		return parents[0].GetSHA(), nil
	}
	// One parent and several PR commits: a rebase merge if the branch's
	// last commits are the PR's, replayed in order.
	cur := m
	for i := len(commits) - 1; i >= 0; i-- {
		if !sameChange(cur, commits[i]) {
			return parents[0].GetSHA(), nil // a squash merge
		}
		if len(cur.Parents) != 1 {
			return parents[0].GetSHA(), nil
		}
		if i == 0 {
			break
		}
		if cur, _, err = gh.Repositories.GetCommit(ctx, owner, name, cur.Parents[0].GetSHA(), nil); err != nil {
			return "", classify(err, "reading commit %s of the deploy branch", short(cur.Parents[0].GetSHA()))
		}
	}
	return cur.Parents[0].GetSHA(), nil
}

// sameChange tells a rebased commit from the PR commit it replays: the
// same message, author and authored time (the committer changes).
func sameChange(branch, pr *github.RepositoryCommit) bool {
	a, b := branch.GetCommit(), pr.GetCommit()
	return a.GetMessage() == b.GetMessage() &&
		strings.EqualFold(a.GetAuthor().GetEmail(), b.GetAuthor().GetEmail()) &&
		a.GetAuthor().GetDate().Equal(b.GetAuthor().GetDate())
}

// coAuthorRE is a Co-authored-by trailer.
var coAuthorRE = regexp.MustCompile(`(?im)^co-authored-by:\s*(.+)$`)

// noreplyRE is GitHub's private commit e-mail: [ID+]login@users.noreply.github.com.
var noreplyRE = regexp.MustCompile(`(?i)^(?:\d+\+)?([a-z0-9](?:[a-z0-9-]{0,38}))@users\.noreply\.github\.com$`)

// contributors are the logins of the PR's commit authors and committers,
// and of its co-authors when GitHub can name them: a co-author's e-mail is
// GitHub's private address of a login, or the e-mail of a commit author or
// committer GitHub linked to a login in this PR. GitHub's own committer
// (web-flow, for edits in the web UI) is not a person.
func contributors(commits []*github.RepositoryCommit) []string {
	byEmail := map[string]string{}
	var out []string
	add := func(login string) {
		if login != "" && login != "web-flow" {
			out = append(out, strings.ToLower(login))
		}
	}
	for _, c := range commits {
		add(c.GetAuthor().GetLogin())
		add(c.GetCommitter().GetLogin())
		if e, l := c.GetCommit().GetAuthor().GetEmail(), c.GetAuthor().GetLogin(); e != "" && l != "" {
			byEmail[strings.ToLower(e)] = l
		}
		if e, l := c.GetCommit().GetCommitter().GetEmail(), c.GetCommitter().GetLogin(); e != "" && l != "" {
			byEmail[strings.ToLower(e)] = l
		}
	}
	for _, c := range commits {
		for _, m := range coAuthorRE.FindAllStringSubmatch(c.GetCommit().GetMessage(), -1) {
			addr, err := mail.ParseAddress(strings.TrimSpace(m[1]))
			if err != nil {
				continue
			}
			email := strings.ToLower(addr.Address)
			if n := noreplyRE.FindStringSubmatch(email); n != nil {
				add(n[1])
			} else if l, ok := byEmail[email]; ok {
				add(l)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
