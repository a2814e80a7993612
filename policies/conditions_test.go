package policies

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestDocumentedConditions evaluates the conditions shown in
// docs/policies.md, so that the examples there keep working.
func TestDocumentedConditions(t *testing.T) {
	plan := mustPlan(t, bigCanaryPlan)
	in := Input{
		Plan:  plan,
		PR:    PRFacts{Number: 12, Author: "bob", Labels: []string{"hotfix"}, ChangedFiles: []string{"deploys/api.yaml", "services/api/deployment.yaml"}, BaseRef: "main", HeadSHA: "abc123"},
		Actor: Actor{Login: "bob", Teams: []string{"acme/web", "acme/sre"}},
		Now:   berlin(t, "2026-12-24 16:30"), // Thursday, Christmas Eve
	}
	tests := []struct {
		when string
		want bool
	}{
		{`plan.clusters.exists(c, c.startsWith("prod-"))`, true},
		{`"prod-eu" in plan.clusters`, true},
		{`plan.tenantCount > 10`, true},
		{`plan.canaryCount == 0`, false},
		{`plan.services.exists(s, s.name == "api")`, true},
		{`plan.services.exists(s, s.image.endsWith(":latest"))`, false},
		{`plan.tenants.exists(t, t.labels.?tier.orValue("") == "gold")`, true},
		{`plan.tenants.exists(t, "tier" in t.labels && t.labels.tier == "gold")`, true},
		{`plan.waves.exists(w, !w.canary && size(w.tenants) > 3)`, true},
		{`"after-canary" in plan.gates`, true},
		{`plan.deployment.startsWith("api-")`, true},
		{`"hotfix" in pr.labels`, true},
		{`!("hotfix" in pr.labels)`, false},
		{`pr.changedFiles.exists(f, f.startsWith("services/"))`, true},
		{`pr.baseRef == "main"`, true},
		{`pr.author == actor.login`, true},
		{`"acme/sre" in actor.teams`, true},
		{`sets.intersects(actor.teams, ["acme/sre", "acme/platform"])`, true},
		{`now.getDayOfWeek("Europe/Berlin") in [0, 6]`, false},
		{`now.getDayOfWeek("Europe/Berlin") == 4`, true},
		{`now.getHours("Europe/Berlin") >= 15`, true},
		{`now.getHours() == 15`, true}, // UTC
		{`now.getMonth("Europe/Berlin") == 11 && now.getDate("Europe/Berlin") == 24`, true},
		{`now.getFullYear("Europe/Berlin") == 2026`, true},
		{`now >= timestamp("2026-12-20T00:00:00+01:00")`, true},
		{`now - timestamp("2026-12-24T00:00:00Z") > duration("12h")`, true},
		{`plan.deployment.lowerAscii().contains("api")`, true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			prg, msgs := compileWhen(tt.when)
			if len(msgs) > 0 {
				t.Fatalf("%s: %v", tt.when, msgs)
			}
			got, err := evalWhen(prg, activation(in, factsOf(plan)))
			if err != nil || got != tt.want {
				t.Errorf("%s = %v, %v; want %v", tt.when, got, err, tt.want)
			}
		})
	}
}

// TestDocumentedExample loads the complete example of docs/policies.md and
// checks what the page says about it.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatalf("docs/policies.md: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), "`policies/production.yaml`:\n\n```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/policies.md has no complete example")
	}
	set := mustLoad(t, map[string]string{"policies/production.yaml": example})
	const gold = `
  clusters: [prod-eu]
  services: [{name: api, tag: "1.2.3"}]
  tenants: {names: [t01, t02, t03]}
  rollout:
    canary: {tenants: [t01]}
    waves:
      - {name: silver, tenants: [t02]}
      - {name: gold, tenants: [t03], requireApproval: true}
    pauseBetweenWaves: 10m
    approval: %s`
	july := utc(t, "2026-07-15 09:00")
	d, err := set.Evaluate(Input{Plan: mustPlan(t, fmt.Sprintf(gold, "after-canary")), Now: july})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d.Requirements {
		got = append(got, fmt.Sprintf("%s/%d/%v/%v/reviews=%v", r.Gate, r.Approvals, r.Teams, r.Users, r.AllowReviews))
	}
	want := "after-canary/2/[acme/sre]/[alice]/reviews=true before-gold/1/[acme/eng-leads]/[]/reviews=false"
	if d.Verdict != VerdictNeedsApproval || strings.Join(got, " ") != want {
		t.Errorf("July: %s %v; want needs-approval %s", d.Verdict, got, want)
	}

	if d, _ := set.Evaluate(Input{Plan: mustPlan(t, fmt.Sprintf(gold, "none")), Now: july}); d.Verdict != VerdictDeny {
		t.Errorf("without approval: after-canary: %s, want deny", d.Verdict)
	}
	xmas := berlin(t, "2026-12-24 10:00")
	if d, _ := set.Evaluate(Input{Plan: mustPlan(t, fmt.Sprintf(gold, "after-canary")), Now: xmas}); d.Verdict != VerdictDeny {
		t.Errorf("on 24 December: %s, want deny", d.Verdict)
	}
	hotfix := PRFacts{Labels: []string{"hotfix"}}
	if d, _ := set.Evaluate(Input{Plan: mustPlan(t, fmt.Sprintf(gold, "after-canary")), PR: hotfix, Now: xmas}); d.Verdict != VerdictNeedsApproval {
		t.Errorf("on 24 December with hotfix: %s %q, want needs-approval", d.Verdict, d.Denials)
	}
}
