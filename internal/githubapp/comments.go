package githubapp

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/prdeploy/prdeploy/workflows"
)

// maxCommentBody is GitHub's limit on a comment's body.
const maxCommentBody = 65536

// keyRE is what a comment key may hold (it goes inside an HTML comment).
var keyRE = regexp.MustCompile(`^[A-Za-z0-9._:/@-]{1,100}$`)

// Marker is the hidden line that names a kept comment: UpsertComment finds
// its comment by it.
func Marker(key string) string { return "<!-- prdeploy:" + key + " -->" }

// UpsertComment keeps one comment per pull request and key: the first
// comment of this client's user whose body holds Marker(key) is edited
// (left alone when unchanged), or a comment is added. The marker is the
// body's first line.
func (c *Client) UpsertComment(ctx context.Context, repo string, pr int, key, body string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	if !keyRE.MatchString(key) {
		return workflows.Permanent(fmt.Errorf("comment key %q: use letters, digits and . _ : / @ -", key))
	}
	if pr <= 0 {
		return workflows.Permanent(fmt.Errorf("pull request number %d on %s", pr, repo))
	}
	gh, _, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return err
	}
	me, err := c.identity(ctx)
	if err != nil {
		return err
	}
	marker := Marker(key)
	full := commentBody(marker + "\n" + body)
	// Two upserts at once would both add the comment.
	unlock := c.lock(fmt.Sprintf("comment:%s#%d:%s", strings.ToLower(repo), pr, key))
	defer unlock()

	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		list, resp, err := gh.Issues.ListComments(ctx, owner, name, pr, opts)
		if err != nil {
			return classify(err, "listing the comments of %s#%d", repo, pr)
		}
		for _, cm := range list {
			if !strings.EqualFold(cm.GetUser().GetLogin(), me) || !strings.Contains(cm.GetBody(), marker) {
				continue
			}
			if cm.GetBody() == full {
				return nil
			}
			_, _, err := gh.Issues.EditComment(ctx, owner, name, cm.GetID(), &github.IssueComment{Body: &full})
			return classify(err, "editing comment %d (%s) on %s#%d", cm.GetID(), key, repo, pr)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	_, _, err = gh.Issues.CreateComment(ctx, owner, name, pr, &github.IssueComment{Body: &full})
	return classify(err, "commenting (%s) on %s#%d", key, repo, pr)
}

// Reply adds a comment to a pull request.
func (c *Client) Reply(ctx context.Context, repo string, pr int, body string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	if pr <= 0 {
		return workflows.Permanent(fmt.Errorf("pull request number %d on %s", pr, repo))
	}
	gh, _, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return err
	}
	b := commentBody(body)
	_, _, err = gh.Issues.CreateComment(ctx, owner, name, pr, &github.IssueComment{Body: &b})
	return classify(err, "commenting on %s#%d", repo, pr)
}

// reactions GitHub knows.
var reactions = map[string]bool{
	"+1": true, "-1": true, "laugh": true, "confused": true, "heart": true, "hooray": true, "rocket": true, "eyes": true,
}

// React adds a reaction to an issue or pull request comment.
func (c *Client) React(ctx context.Context, repo string, commentID int64, reaction string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	if !reactions[reaction] {
		return workflows.Permanent(fmt.Errorf("%q is not a GitHub reaction (+1, -1, laugh, confused, heart, hooray, rocket, eyes)", reaction))
	}
	gh, _, err := c.forRepo(ctx, owner, name)
	if err != nil {
		return err
	}
	_, _, err = gh.Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, reaction)
	return classify(err, "reacting %s to comment %d on %s", reaction, commentID, repo)
}

// commentBody cuts a body to GitHub's limit, saying so.
func commentBody(s string) string {
	if len(s) <= maxCommentBody {
		return s
	}
	const note = "\n\n… (cut to fit GitHub's comment limit)"
	return limitBytes(s, maxCommentBody-len(note)) + note
}
