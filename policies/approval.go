package policies

import (
	"fmt"
	"slices"
	"strings"
)

// Source is where an approval (or any person's command) came from. It is
// the one definition of the sources: workflows and webhook use these.
type Source string

// Where an approval came from; the values are in recorded histories and
// never change.
const (
	// SourceComment is a "/approve" comment on the pull request.
	SourceComment Source = "comment"
	// SourceReview is an approving pull request review.
	SourceReview Source = "review"
	// SourceSlack is the Approve button in Slack.
	SourceSlack Source = "slack"
	// SourceCheckRun is the Approve button on the check run.
	SourceCheckRun Source = "check-run"
)

// Approval is one person's approval of a gate. The caller resolves who the
// person is on GitHub (login and teams, "org/slug") and has checked that
// they have write access to the repository.
type Approval struct {
	Login  string   `json:"login"`
	Teams  []string `json:"teams,omitempty"`
	Source Source   `json:"source"`
	// SourceID identifies the comment, review or interaction, so that an
	// event delivered twice counts once.
	SourceID string `json:"sourceId,omitempty"`
	// Gate and Commit bind the approval to the gate it opens and the
	// merged commit it approves (the deployment holds it).
	Gate   string `json:"gate,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// Excluded are the people who may not approve a deployment of their own
// change unless a rule lets them: the PR's author, everyone who wrote,
// co-wrote or pushed a commit of it, and whoever merged it. Logins compare
// case-insensitively.
type Excluded struct {
	Author       string   `json:"author,omitempty"`
	Contributors []string `json:"contributors,omitempty"`
	Merger       string   `json:"merger,omitempty"`
}

// why says why login is excluded under r, or "".
func (e Excluded) why(r Requirement, login string) string {
	switch {
	case !r.AllowAuthor && e.Author != "" && strings.EqualFold(login, e.Author):
		return "the PR author cannot approve this gate"
	case !r.AllowContributors && slices.ContainsFunc(e.Contributors, func(c string) bool { return strings.EqualFold(c, login) }):
		return "you wrote, co-wrote or pushed a commit of this PR, so you cannot approve its deployment"
	case !r.AllowMerger && e.Merger != "" && strings.EqualFold(login, e.Merger):
		return "you merged this PR, so you cannot approve its deployment"
	}
	return ""
}

// DefaultRequirement is what a gate needs when no rule names it: one
// approval from anyone the caller accepted as an approver (write access),
// not the PR author; reviews count.
func DefaultRequirement(gate string) Requirement {
	return Requirement{Gate: gate, Approvals: 1, AllowReviews: true}
}

// Authorize says whether an approval counts towards the requirement and,
// when it does not, why, in words for the person who approved.
func (r Requirement) Authorize(a Approval, excl Excluded) (ok bool, reason string) {
	switch {
	case strings.TrimSpace(a.Login) == "":
		return false, "the approval has no GitHub login"
	case a.Source != SourceComment && a.Source != SourceReview && a.Source != SourceSlack && a.Source != SourceCheckRun:
		return false, fmt.Sprintf("approvals from %q are not accepted", a.Source)
	case !r.member(a):
		return false, fmt.Sprintf("needs a member of %s; you are not", r.who())
	case excl.why(r, a.Login) != "":
		return false, excl.why(r, a.Login)
	case a.Source == SourceReview && !r.AllowReviews:
		return false, "reviews do not count for this gate; comment /approve"
	}
	return true, ""
}

// member reports whether the approver is one of the requirement's teams or
// users. A requirement without teams and users accepts anyone.
func (r Requirement) member(a Approval) bool {
	if len(r.Teams) == 0 && len(r.Users) == 0 {
		return true
	}
	for _, u := range r.Users {
		if strings.EqualFold(u, a.Login) {
			return true
		}
	}
	for _, t := range r.Teams {
		for _, at := range a.Teams {
			if strings.EqualFold(strings.TrimPrefix(at, "@"), t) {
				return true
			}
		}
	}
	return false
}

// who names the approvers: "@acme/sre or @alice", or "anyone with write
// access" when the requirement names none.
func (r Requirement) who() string {
	var names []string
	for _, t := range r.Teams {
		names = append(names, "@"+t)
	}
	for _, u := range r.Users {
		names = append(names, "@"+u)
	}
	switch len(names) {
	case 0:
		return "anyone with write access"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// GateStatus is how far a gate is from opening.
type GateStatus struct {
	Gate string `json:"gate"`
	// Open is true when every requirement of the gate is met.
	Open  bool                `json:"open"`
	Needs []RequirementStatus `json:"needs"`
}

// RequirementStatus is how far one requirement is from being met.
type RequirementStatus struct {
	Requirement Requirement `json:"requirement"`
	Have        int         `json:"have"`
	Need        int         `json:"need"`
	// Approvers are the logins that count, in the order they approved.
	Approvers []string `json:"approvers,omitempty"`
	// Summary is e.g. "1 of 2 from @acme/sre".
	Summary string `json:"summary"`
}

// Tally counts the approvals given at gate against the requirements for it
// (those of reqs whose Gate is gate). Each requirement counts distinct
// people (logins compared case-insensitively) whose approval it authorizes;
// an approval delivered twice (same source and SourceID) counts once, and
// one person may meet several requirements. The gate opens when every
// requirement is met.
//
// A gate that no requirement names still needs one approval: Tally then
// uses DefaultRequirement, so the gate opens only once someone other than
// the PR author approved. The caller must only pass approvals from people
// with write access.
func Tally(reqs []Requirement, gate string, approvals []Approval, excl Excluded) GateStatus {
	var mine []Requirement
	for _, r := range reqs {
		if r.Gate == gate {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		mine = []Requirement{DefaultRequirement(gate)}
	}
	var unique []Approval
	delivered := map[string]bool{}
	for _, a := range approvals {
		if a.SourceID != "" {
			key := string(a.Source) + "\x00" + a.SourceID
			if delivered[key] {
				continue
			}
			delivered[key] = true
		}
		unique = append(unique, a)
	}
	st := GateStatus{Gate: gate, Open: true}
	for _, r := range mine {
		rs := RequirementStatus{Requirement: r, Need: max(r.Approvals, 1)}
		counted := map[string]bool{}
		for _, a := range unique {
			login := strings.ToLower(a.Login)
			if counted[login] {
				continue
			}
			if ok, _ := r.Authorize(a, excl); ok {
				counted[login] = true
				rs.Have++
				rs.Approvers = append(rs.Approvers, a.Login)
			}
		}
		rs.Summary = fmt.Sprintf("%d of %d from %s", rs.Have, rs.Need, r.who())
		if rs.Have < rs.Need {
			st.Open = false
		}
		st.Needs = append(st.Needs, rs)
	}
	return st
}
