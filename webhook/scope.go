package webhook

import (
	"fmt"
	"strings"
)

// ResultOutOfScope: a verified delivery for a repository or branch
// prdeploy does not deploy from; acknowledged, counted, and nothing
// started.
const ResultOutOfScope = "out_of_scope"

// Scope is the one repository and the one branch prdeploy deploys from.
// The GitHub App may be installed on many repositories, and anyone with
// write access to the deploy repository can open a pull request into any
// branch of it: neither may start a plan check, a deployment or a command.
type Scope struct {
	// Repo is "owner/name"; a handler with none acts on no repository.
	Repo string
	// Branch is the deploy branch; empty means the repository's default
	// branch, as each delivery reports it.
	Branch string
}

// check says why e is outside the scope, or "" when it is inside.
func (s Scope) check(e Event) string {
	d := e.Origin()
	if !strings.EqualFold(d.Repo, s.Repo) {
		return fmt.Sprintf("repository %s is not the deploy repository", d.Repo)
	}
	base := ""
	switch ev := e.(type) {
	case PullRequestChanged:
		base = ev.BaseRef
	case PullRequestMerged:
		base = ev.BaseRef
	default:
		// Comments, reviews and buttons act on deployments, which only
		// merges into the deploy branch start.
		return ""
	}
	branch := s.Branch
	if branch == "" {
		branch = d.DefaultBranch
	}
	if branch == "" {
		return "the delivery does not say the repository's default branch, and no deploy branch is configured"
	}
	if base != branch {
		return fmt.Sprintf("pull request into %s, not the deploy branch %s", base, branch)
	}
	return ""
}
