package policies

import (
	"strings"
	"testing"
)

var sre2 = Requirement{Rule: "prod-needs-sre", Gate: "after-canary", Approvals: 2, Teams: []string{"acme/sre"}, AllowReviews: true}

func TestAuthorize(t *testing.T) {
	sreOrAlice := Requirement{Gate: "after-canary", Approvals: 1, Teams: []string{"acme/sre"}, Users: []string{"alice"}, AllowReviews: true}
	noReviews := sreOrAlice
	noReviews.AllowReviews = false
	authorOK := sreOrAlice
	authorOK.AllowAuthor = true
	tests := []struct {
		name   string
		req    Requirement
		a      Approval
		ok     bool
		reason string
	}{
		{"team member", sreOrAlice, Approval{Login: "bob", Teams: []string{"acme/web", "acme/sre"}, Source: SourceComment}, true, ""},
		{"team names are case-insensitive", sreOrAlice, Approval{Login: "bob", Teams: []string{"Acme/SRE"}, Source: SourceSlack}, true, ""},
		{"listed user", sreOrAlice, Approval{Login: "Alice", Source: SourceCheckRun}, true, ""},
		{"outsider", sreOrAlice, Approval{Login: "mallory", Teams: []string{"acme/web"}, Source: SourceComment}, false, "needs a member of @acme/sre or @alice; you are not"},
		{"author", sreOrAlice, Approval{Login: "carol", Teams: []string{"acme/sre"}, Source: SourceComment}, false, "the PR author cannot approve this gate"},
		{"author allowed", authorOK, Approval{Login: "CAROL", Teams: []string{"acme/sre"}, Source: SourceComment}, true, ""},
		{"review counts", sreOrAlice, Approval{Login: "alice", Source: SourceReview}, true, ""},
		{"review does not count", noReviews, Approval{Login: "alice", Source: SourceReview}, false, "reviews do not count for this gate; comment /approve"},
		{"no login", sreOrAlice, Approval{Source: SourceComment, Teams: []string{"acme/sre"}}, false, "the approval has no GitHub login"},
		{"unknown source", sreOrAlice, Approval{Login: "alice", Source: "email"}, false, `approvals from "email" are not accepted`},
		{"default requirement accepts anyone", DefaultRequirement("before-eu"), Approval{Login: "dave", Source: SourceReview}, true, ""},
		{"default requirement refuses the author", DefaultRequirement("before-eu"), Approval{Login: "carol", Source: SourceComment}, false, "the PR author cannot approve this gate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := tt.req.Authorize(tt.a, Excluded{Author: "carol"})
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("Authorize = %v, %q; want %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestTally(t *testing.T) {
	sre := func(login, id string) Approval {
		return Approval{Login: login, Teams: []string{"acme/sre"}, Source: SourceComment, SourceID: id}
	}
	users := Requirement{Rule: "leads", Gate: "after-canary", Approvals: 1, Users: []string{"alice", "erin"}, AllowReviews: false}
	other := Requirement{Rule: "other-gate", Gate: "before-batch-2", Approvals: 3, Teams: []string{"acme/sre"}}
	tests := []struct {
		name      string
		reqs      []Requirement
		gate      string
		approvals []Approval
		open      bool
		summaries []string
		approvers []string // per requirement, joined with ","
	}{
		{
			name: "one of two", reqs: []Requirement{sre2, other}, gate: "after-canary",
			approvals: []Approval{sre("bob", "c1")},
			summaries: []string{"1 of 2 from @acme/sre"}, approvers: []string{"bob"},
		},
		{
			name: "two distinct people open it", reqs: []Requirement{sre2}, gate: "after-canary",
			approvals: []Approval{sre("bob", "c1"), sre("dave", "c2")},
			open:      true, summaries: []string{"2 of 2 from @acme/sre"}, approvers: []string{"bob,dave"},
		},
		{
			name: "the same person twice counts once, whatever the case or source", reqs: []Requirement{sre2}, gate: "after-canary",
			approvals: []Approval{sre("bob", "c1"), sre("Bob", "c2"), {Login: "BOB", Teams: []string{"acme/sre"}, Source: SourceSlack, SourceID: "s1"}},
			summaries: []string{"1 of 2 from @acme/sre"}, approvers: []string{"bob"},
		},
		{
			name: "a delivery seen twice counts once", reqs: []Requirement{sre2}, gate: "after-canary",
			approvals: []Approval{sre("bob", "c1"), sre("dave", "c1")},
			summaries: []string{"1 of 2 from @acme/sre"}, approvers: []string{"bob"},
		},
		{
			name: "the author is excluded", reqs: []Requirement{sre2}, gate: "after-canary",
			approvals: []Approval{sre("carol", "c1"), sre("bob", "c2")},
			summaries: []string{"1 of 2 from @acme/sre"}, approvers: []string{"bob"},
		},
		{
			name: "the author counts where allowed", gate: "after-canary",
			reqs:      []Requirement{func() Requirement { r := sre2; r.AllowAuthor = true; return r }()},
			approvals: []Approval{sre("carol", "c1"), sre("bob", "c2")},
			open:      true, summaries: []string{"2 of 2 from @acme/sre"}, approvers: []string{"carol,bob"},
		},
		{
			name: "reviews excluded, non-members ignored, one person meets two requirements", reqs: []Requirement{sre2, users}, gate: "after-canary",
			approvals: []Approval{
				{Login: "alice", Teams: []string{"acme/sre"}, Source: SourceReview, SourceID: "r1"},
				{Login: "mallory", Source: SourceComment, SourceID: "c1"},
				{Login: "erin", Teams: []string{"acme/sre"}, Source: SourceComment, SourceID: "c2"},
			},
			open:      true,
			summaries: []string{"2 of 2 from @acme/sre", "1 of 1 from @alice or @erin"},
			approvers: []string{"alice,erin", "erin"},
		},
		{
			name: "all requirements must be met", reqs: []Requirement{sre2, users}, gate: "after-canary",
			approvals: []Approval{sre("bob", "c1"), sre("dave", "c2")},
			summaries: []string{"2 of 2 from @acme/sre", "0 of 1 from @alice or @erin"},
			approvers: []string{"bob,dave", ""},
		},
		{
			name: "a gate no rule names: closed without approvals", reqs: []Requirement{sre2}, gate: "before-batch-3",
			summaries: []string{"0 of 1 from anyone with write access"}, approvers: []string{""},
		},
		{
			name: "a gate no rule names: the author alone does not open it", reqs: nil, gate: "before-batch-3",
			approvals: []Approval{{Login: "carol", Source: SourceComment, SourceID: "c1"}},
			summaries: []string{"0 of 1 from anyone with write access"}, approvers: []string{""},
		},
		{
			name: "a gate no rule names: anyone else opens it, a review too", reqs: nil, gate: "before-batch-3",
			approvals: []Approval{{Login: "zoe", Source: SourceReview, SourceID: "r9"}},
			open:      true, summaries: []string{"1 of 1 from anyone with write access"}, approvers: []string{"zoe"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Tally(tt.reqs, tt.gate, tt.approvals, Excluded{Author: "carol"})
			if st.Gate != tt.gate || st.Open != tt.open {
				t.Errorf("gate %s open = %v, want %s %v", st.Gate, st.Open, tt.gate, tt.open)
			}
			if len(st.Needs) != len(tt.summaries) {
				t.Fatalf("needs = %+v, want %d", st.Needs, len(tt.summaries))
			}
			for i, n := range st.Needs {
				if n.Summary != tt.summaries[i] {
					t.Errorf("summary %d = %q, want %q", i, n.Summary, tt.summaries[i])
				}
				if got := strings.Join(n.Approvers, ","); got != tt.approvers[i] {
					t.Errorf("approvers %d = %q, want %q", i, got, tt.approvers[i])
				}
				if n.Have != len(n.Approvers) || n.Need != n.Requirement.Approvals {
					t.Errorf("need %d: have %d of %d, approvers %v", i, n.Have, n.Need, n.Approvers)
				}
			}
		})
	}
}

// TestTallyDecisionRequirements checks that requirements from a decision
// tally per gate as the workflow will use them.
func TestTallyDecisionRequirements(t *testing.T) {
	set := mustLoad(t, map[string]string{"policies/prod.yaml": policy(prodNeedsSRE + everyGate)})
	d, err := set.Evaluate(Input{Plan: mustPlan(t, bigCanaryPlan), Now: utc(t, "2026-07-15 09:00")})
	if err != nil {
		t.Fatal(err)
	}
	deployer := Approval{Login: "dan", Teams: []string{"acme/deployers"}, Source: SourceComment, SourceID: "1"}
	sreA := Approval{Login: "sam", Teams: []string{"acme/sre"}, Source: SourceSlack, SourceID: "2"}
	sreB := Approval{Login: "alice", Source: SourceReview, SourceID: "3"}

	st := Tally(d.Requirements, "after-canary", []Approval{deployer, sreA}, Excluded{Author: "bob"})
	if st.Open || len(st.Needs) != 2 || st.Needs[0].Summary != "1 of 2 from @acme/sre or @alice" || st.Needs[1].Summary != "1 of 1 from @acme/deployers" {
		t.Errorf("after-canary with one SRE: %+v", st)
	}
	if st = Tally(d.Requirements, "after-canary", []Approval{deployer, sreA, sreB}, Excluded{Author: "bob"}); !st.Open {
		t.Errorf("after-canary with a deployer and two SREs is closed: %+v", st)
	}
	if st = Tally(d.Requirements, "before-batch-2", []Approval{sreA}, Excluded{Author: "bob"}); st.Open {
		t.Errorf("before-batch-2 opened by an SRE who is no deployer: %+v", st)
	}
}

// Issue 13 item 5: the PR's author, its commit authors and co-authors (and
// pushers), and its merger do not approve their own change unless a rule
// lets them.
func TestExcludedApprovers(t *testing.T) {
	excl := Excluded{Author: "alice", Contributors: []string{"Mallory", "bob"}, Merger: "carol"}
	cases := []struct {
		name  string
		req   Requirement
		login string
		ok    bool
		why   string
	}{
		{"author", DefaultRequirement("g"), "ALICE", false, "PR author"},
		{"co-author", DefaultRequirement("g"), "mallory", false, "co-wrote"},
		{"commit author", DefaultRequirement("g"), "bob", false, "co-wrote"},
		{"merger", DefaultRequirement("g"), "carol", false, "merged this PR"},
		{"anyone else", DefaultRequirement("g"), "dave", true, ""},
		{"contributors allowed", Requirement{Gate: "g", Approvals: 1, AllowContributors: true}, "mallory", true, ""},
		{"merger allowed", Requirement{Gate: "g", Approvals: 1, AllowMerger: true}, "carol", true, ""},
		{"merger allowed is not contributors allowed", Requirement{Gate: "g", Approvals: 1, AllowMerger: true}, "bob", false, "co-wrote"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, why := c.req.Authorize(Approval{Login: c.login, Source: SourceComment}, excl)
			if ok != c.ok || !strings.Contains(why, c.why) {
				t.Fatalf("Authorize(%s) = %v %q, want %v %q", c.login, ok, why, c.ok, c.why)
			}
		})
	}
	st := Tally(nil, "g", []Approval{{Login: "mallory", Source: SourceComment, SourceID: "1"}, {Login: "carol", Source: SourceReview, SourceID: "2"}}, excl)
	if st.Open || st.Needs[0].Have != 0 {
		t.Fatalf("a co-author and the merger opened the gate: %+v", st)
	}
}
