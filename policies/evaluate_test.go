package policies

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	prodNeedsSRE = `  - name: prod-needs-sre
    when: 'plan.clusters.exists(c, c.startsWith("prod-"))'
    require:
      approvals: 2
      from: {teams: [acme/sre], users: [alice]}
      gates: [after-canary]
`
	everyGate = `  - name: every-gate
    require: {from: {teams: [acme/deployers]}}
`
	holidayFreeze = `  - name: holiday-freeze
    freeze: {from: "2026-12-20T00:00", until: "2027-01-04T00:00", timeZone: Europe/Berlin}
    message: "Holiday freeze until 4 January"
`
	// dstFreeze spans the start of summer time in Berlin (29 March 2026,
	// 02:00 CET becomes 03:00 CEST): it starts at 11:00 UTC and ends at
	// 10:00 UTC the next day, 23 hours later.
	dstFreeze = `  - name: dst-freeze
    freeze: {from: "2026-03-28T12:00", until: "2026-03-29T12:00", timeZone: Europe/Berlin}
`
	noFridayAfternoon = `  - name: no-friday-afternoon
    when: 'now.getDayOfWeek("Europe/Berlin") == 5 && now.getHours("Europe/Berlin") >= 15'
    deny: "No Friday deploys after 15:00 (Europe/Berlin)"
`
	bigNeedCanary = `  - name: big-rollouts-need-canary
    limits: {canaryRequiredAbove: 5, maxTenantsPerWave: 5}
`
	noProdWithoutHotfix = `  - name: prod-needs-hotfix-label-on-weekends
    when: '!("hotfix" in pr.labels) && now.getDayOfWeek("Europe/Berlin") in [0, 6]'
    deny: "Weekend deploys need the hotfix label"
`
	onlySRE = `  - name: only-sre-in-prod
    when: '"prod-eu" in plan.clusters && !("acme/sre" in actor.teams)'
    deny: "Only SREs deploy to prod-eu"
`
)

func TestEvaluate(t *testing.T) {
	weekday := utc(t, "2026-07-15 09:00") // a Wednesday
	tests := []struct {
		name  string
		rules string
		plan  string
		pr    PRFacts
		actor Actor
		now   time.Time

		verdict  Verdict
		fired    []string // rule/effect in order
		denials  []string // substrings, one denial each, in order
		requires []string // gate/rule/approvals, in order
	}{
		{
			name: "no rule fires", rules: prodNeedsSRE, plan: stagingPlan, now: weekday,
			verdict: VerdictAllow,
		},
		{
			name: "require at a named gate", rules: prodNeedsSRE, plan: canaryPlan, now: weekday,
			verdict:  VerdictNeedsApproval,
			fired:    []string{"prod-needs-sre/require"},
			requires: []string{"after-canary/prod-needs-sre/2"},
		},
		{
			name: "require at every gate", rules: everyGate, plan: bigCanaryPlan, now: weekday,
			verdict:  VerdictNeedsApproval,
			fired:    []string{"every-gate/require"},
			requires: []string{"after-canary/every-gate/1", "before-batch-2/every-gate/1", "before-batch-3/every-gate/1"},
		},
		{
			name: "requirements are in gate order, then rule order", rules: everyGate + prodNeedsSRE, plan: canaryPlan, now: weekday,
			verdict:  VerdictNeedsApproval,
			fired:    []string{"every-gate/require", "prod-needs-sre/require"},
			requires: []string{"after-canary/every-gate/1", "after-canary/prod-needs-sre/2"},
		},
		{
			name: "require on a plan without the gate denies", rules: prodNeedsSRE, plan: canaryNoGatePlan, now: weekday,
			verdict: VerdictDeny,
			fired:   []string{"prod-needs-sre/require"},
			denials: []string{"rule prod-needs-sre requires approval at after-canary but the plan has no such gate; add rollout.approval: after-canary"},
		},
		{
			name: "require on a plan without a canary says to add one", rules: prodNeedsSRE, plan: bigPlan, now: weekday,
			verdict: VerdictDeny,
			denials: []string{"rule prod-needs-sre requires approval at after-canary but the plan has no such gate; add a canary (rollout.canary.tenants) and rollout.approval: after-canary"},
		},
		{
			name: "every gate on a plan without gates denies", rules: everyGate, plan: canaryNoGatePlan, now: weekday,
			verdict: VerdictDeny,
			denials: []string{"rule every-gate requires 1 approval from @acme/deployers but the plan has no approval gate; add rollout.approval: after-canary"},
		},
		{
			name: "require before a wave", plan: wavesPlan, now: weekday,
			rules:    "  - name: rest-needs-sre\n    require: {from: {teams: [acme/sre]}, gates: [before-rest]}\n",
			verdict:  VerdictNeedsApproval,
			requires: []string{"before-rest/rest-needs-sre/1"},
		},
		{
			name: "require before a wave the plan gates nowhere", plan: wavesPlan, now: weekday,
			rules:   "  - name: first-needs-sre\n    require: {from: {teams: [acme/sre]}, gates: [before-first, before-rest]}\n",
			verdict: VerdictDeny,
			denials: []string{"rule first-needs-sre requires approval at before-first but the plan has no such gate; add requireApproval: true to wave first, or rollout.approval: every-wave"},
		},
		{
			// Each cluster rolls out its own part of the plan; the planner
			// keeps every gate in every part (planner.ExecutionPlan.ForCluster),
			// so a requirement at the plan's gates holds in every cluster.
			name: "two clusters: the requirement holds in both", rules: prodNeedsSRE, plan: fmt.Sprintf(twoClusterPlan, "after-canary"), now: weekday,
			verdict:  VerdictNeedsApproval,
			requires: []string{"after-canary/prod-needs-sre/2"},
		},
		{
			name: "two clusters, every wave gated: every gate", rules: everyGate, plan: fmt.Sprintf(twoClusterPlan, "every-wave"), now: weekday,
			verdict:  VerdictNeedsApproval,
			requires: []string{"after-canary/every-gate/1", "before-batch-2/every-gate/1"},
		},
		{
			name: "deny with a hotfix exemption: no label", rules: noProdWithoutHotfix, plan: canaryPlan,
			now:     utc(t, "2026-07-18 10:00"), // Saturday
			pr:      PRFacts{Number: 7, Labels: []string{"deploy"}},
			verdict: VerdictDeny,
			fired:   []string{"prod-needs-hotfix-label-on-weekends/deny"},
			denials: []string{"Weekend deploys need the hotfix label (rule prod-needs-hotfix-label-on-weekends)"},
		},
		{
			name: "deny with a hotfix exemption: labelled", rules: noProdWithoutHotfix, plan: canaryPlan,
			now:     utc(t, "2026-07-18 10:00"),
			pr:      PRFacts{Number: 7, Labels: []string{"deploy", "hotfix"}},
			verdict: VerdictAllow,
		},
		{
			name: "deny by team: not an SRE", rules: onlySRE, plan: canaryPlan, now: weekday,
			actor:   Actor{Login: "bob", Teams: []string{"acme/web"}},
			verdict: VerdictDeny,
			denials: []string{"Only SREs deploy to prod-eu (rule only-sre-in-prod)"},
		},
		{
			name: "deny by team: an SRE", rules: onlySRE, plan: canaryPlan, now: weekday,
			actor:   Actor{Login: "carol", Teams: []string{"acme/web", "acme/sre"}},
			verdict: VerdictAllow,
		},
		{
			name: "deny by team: no teams at all", rules: onlySRE, plan: canaryPlan, now: weekday,
			actor:   Actor{Login: "dave"},
			verdict: VerdictDeny,
		},
		{
			name: "limits: canary required and wave too big", rules: bigNeedCanary, plan: bigPlan, now: weekday,
			verdict: VerdictDeny,
			fired:   []string{"big-rollouts-need-canary/limits"},
			denials: []string{
				"wave all has 12 tenants, more than the 5 allowed per wave; use rollout.batchSize: 5 or split the wave (rule big-rollouts-need-canary)",
				"the plan deploys to 12 tenants without a canary; plans with more than 5 tenants need one: add rollout.canary.tenants (rule big-rollouts-need-canary)",
			},
		},
		{
			name: "limits: a big plan with a canary and small waves", rules: bigNeedCanary, plan: bigCanaryPlan, now: weekday,
			verdict: VerdictAllow,
		},
		{
			name: "limits: small plan needs no canary", rules: bigNeedCanary, plan: wavesPlan, now: weekday,
			verdict: VerdictAllow,
		},
		{
			name: "limits: total, parallelism and pauses", plan: bigCanaryPlan, now: weekday,
			rules:   "  - name: slow-and-small\n    limits: {maxTenants: 10, maxParallel: 2, minPauseBetweenWaves: 15m}\n    message: Keep rollouts small\n",
			verdict: VerdictDeny,
			denials: []string{
				"Keep rollouts small: the plan deploys to 12 tenants, more than the 10 one plan may deploy to; split it into several plans (rule slow-and-small)",
				"Keep rollouts small: rollout.maxParallel is 4, more than the 2 allowed; lower it (rule slow-and-small)",
				"Keep rollouts small: rollout.pauseBetweenWaves is 5m, shorter than the 15m required between waves; set rollout.pauseBetweenWaves: 15m (rule slow-and-small)",
			},
		},
		{
			name: "freeze in force", rules: holidayFreeze, plan: canaryPlan, now: berlin(t, "2026-12-24 18:00"),
			verdict: VerdictDeny,
			fired:   []string{"holiday-freeze/freeze"},
			denials: []string{"Holiday freeze until 4 January (rule holiday-freeze; the freeze ends Mon 4 Jan 2027 00:00 Europe/Berlin)"},
		},
		{
			name: "freeze starts at from, in its zone", rules: holidayFreeze, plan: canaryPlan, now: utc(t, "2026-12-19 23:00"),
			verdict: VerdictDeny,
		},
		{
			name: "freeze not yet: one minute before", rules: holidayFreeze, plan: canaryPlan, now: utc(t, "2026-12-19 22:59"),
			verdict: VerdictAllow,
		},
		{
			name: "freeze over at until", rules: holidayFreeze, plan: canaryPlan, now: berlin(t, "2027-01-04 00:00"),
			verdict: VerdictAllow,
		},
		{
			name: "freeze across DST: before from", rules: dstFreeze, plan: canaryPlan, now: utc(t, "2026-03-28 10:59"),
			verdict: VerdictAllow,
		},
		{
			name: "freeze across DST: at from (12:00 CET)", rules: dstFreeze, plan: canaryPlan, now: utc(t, "2026-03-28 11:00"),
			verdict: VerdictDeny,
			denials: []string{"Deploys are frozen (rule dst-freeze; the freeze ends Sun 29 Mar 2026 12:00 Europe/Berlin)"},
		},
		{
			name: "freeze across DST: last minute (11:59 CEST)", rules: dstFreeze, plan: canaryPlan, now: utc(t, "2026-03-29 09:59"),
			verdict: VerdictDeny,
		},
		{
			name: "freeze across DST: over at 12:00 CEST, 10:00 UTC", rules: dstFreeze, plan: canaryPlan, now: utc(t, "2026-03-29 10:00"),
			verdict: VerdictAllow,
		},
		{
			name: "Friday 15:30 in Berlin, summer", rules: noFridayAfternoon, plan: canaryPlan, now: utc(t, "2026-07-17 13:30"),
			verdict: VerdictDeny,
			fired:   []string{"no-friday-afternoon/deny"},
			denials: []string{"No Friday deploys after 15:00 (Europe/Berlin) (rule no-friday-afternoon)"},
		},
		{
			name: "Friday 14:59 in Berlin, summer", rules: noFridayAfternoon, plan: canaryPlan, now: utc(t, "2026-07-17 12:59"),
			verdict: VerdictAllow,
		},
		{
			name: "Friday 15:30 in Berlin, winter", rules: noFridayAfternoon, plan: canaryPlan, now: utc(t, "2026-01-16 14:30"),
			verdict: VerdictDeny,
		},
		{
			name: "Friday 14:30 in Berlin, winter (15:30 would be wrong in UTC+2)", rules: noFridayAfternoon, plan: canaryPlan, now: utc(t, "2026-01-16 13:30"),
			verdict: VerdictAllow,
		},
		{
			name: "Friday 23:30 UTC is Saturday in Berlin", rules: noFridayAfternoon, plan: canaryPlan, now: utc(t, "2026-07-17 22:30"),
			verdict: VerdictAllow,
		},
		{
			name: "runtime error fails closed: index out of range", plan: canaryPlan, now: weekday,
			rules:   "  - name: first-label\n    when: 'pr.labels[0] == \"risky\"'\n    deny: risky\n",
			verdict: VerdictDeny,
			fired:   []string{"first-label/error"},
			denials: []string{"rule first-label could not be evaluated: index out of bounds: 0; no deploy is allowed until the rule is fixed"},
		},
		{
			name: "runtime error fails closed: missing label on a require rule", plan: canaryPlan, now: weekday,
			rules:   "  - name: gold-needs-sre\n    when: 'plan.tenants[1].labels[\"tier\"] == \"gold\"'\n    require: {from: {teams: [acme/sre]}}\n",
			verdict: VerdictDeny,
			fired:   []string{"gold-needs-sre/error"},
			denials: []string{"rule gold-needs-sre could not be evaluated: no such key: tier"},
		},
		{
			name: "the guarded form of the same condition works", plan: canaryPlan, now: weekday,
			rules:    "  - name: gold-needs-sre\n    when: 'plan.tenants.exists(t, t.labels.?tier.orValue(\"\") == \"gold\" || (\"tier\" in t.labels && t.labels.tier == \"gold\"))'\n    require: {from: {teams: [acme/sre]}}\n",
			verdict:  VerdictNeedsApproval,
			requires: []string{"after-canary/gold-needs-sre/1"},
		},
		{
			name: "plan facts: services, waves, counts, gates, changed files", plan: bigCanaryPlan, now: weekday,
			pr: PRFacts{Number: 42, Author: "bob", ChangedFiles: []string{"deploys/api.yaml"}, BaseRef: "main", HeadSHA: "abc"},
			rules: `  - name: facts
    when: >-
      plan.deployment == "api-v123" &&
      plan.services.map(s, s.image) == ["registry.example.com/api:1.2.3"] &&
      plan.tenantCount == 12 && plan.canaryCount == 1 &&
      plan.waves.map(w, w.name) == ["canary", "batch-1", "batch-2", "batch-3"] &&
      plan.waves[0].canary && plan.waves[1].gate == "after-canary" && size(plan.waves[1].tenants) == 4 &&
      plan.gates == ["after-canary", "before-batch-2", "before-batch-3"] &&
      plan.tenants[0].labels.tier == "gold" && plan.tenants[0].namespace == "t01" && plan.tenants[0].cluster == "prod-eu" &&
      pr.number == 42 && pr.author == "bob" && pr.changedFiles.all(f, f.startsWith("deploys/")) &&
      pr.baseRef == "main" && pr.headSHA == "abc" && size(pr.labels) == 0 && actor.login == ""
    deny: all facts seen
`,
			verdict: VerdictDeny,
			denials: []string{"all facts seen (rule facts)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustLoad(t, map[string]string{"policies/prod.yaml": policy(tt.rules)})
			d, err := set.Evaluate(Input{Plan: mustPlan(t, tt.plan), PR: tt.pr, Actor: tt.actor, Now: tt.now})
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s\ndenials: %q\nfired: %+v", d.Verdict, tt.verdict, d.Denials, d.Fired)
			}
			if d.Revision != testRev {
				t.Errorf("revision = %+v, want %+v", d.Revision, testRev)
			}
			if tt.fired != nil {
				var got []string
				for _, f := range d.Fired {
					got = append(got, f.Rule+"/"+f.Effect)
				}
				if strings.Join(got, " ") != strings.Join(tt.fired, " ") {
					t.Errorf("fired = %v, want %v", got, tt.fired)
				}
			}
			if tt.denials != nil {
				if len(d.Denials) != len(tt.denials) {
					t.Errorf("denials = %q, want %d", d.Denials, len(tt.denials))
				} else {
					for i, w := range tt.denials {
						if !strings.Contains(d.Denials[i], w) {
							t.Errorf("denial %d:\n got %s\nwant …%s…", i, d.Denials[i], w)
						}
					}
				}
			}
			if tt.verdict != VerdictDeny || tt.requires != nil {
				var got []string
				for _, r := range d.Requirements {
					got = append(got, fmt.Sprintf("%s/%s/%d", r.Gate, r.Rule, r.Approvals))
				}
				if strings.Join(got, " ") != strings.Join(tt.requires, " ") {
					t.Errorf("requirements = %v, want %v", got, tt.requires)
				}
			}
		})
	}
}

func TestEvaluateFiringRecordsWhereAndWhy(t *testing.T) {
	set := mustLoad(t, map[string]string{
		"policies/a.yaml": policy(noFridayAfternoon),
		"policies/b.yaml": strings.Replace(policy(prodNeedsSRE+holidayFreeze), "production", "prod", 1),
	})
	d, err := set.Evaluate(Input{Plan: mustPlan(t, canaryPlan), Now: berlin(t, "2026-12-25 16:00")}) // a Friday, in the freeze
	if err != nil {
		t.Fatal(err)
	}
	want := []Firing{
		{Rule: "no-friday-afternoon", File: "policies/a.yaml", Line: 6, Effect: EffectDeny, Reason: "No Friday deploys after 15:00 (Europe/Berlin)",
			When: `now.getDayOfWeek("Europe/Berlin") == 5 && now.getHours("Europe/Berlin") >= 15`},
		{Rule: "prod-needs-sre", File: "policies/b.yaml", Line: 6, Effect: EffectRequire, Reason: "2 approvals from @acme/sre or @alice at after-canary",
			When: `plan.clusters.exists(c, c.startsWith("prod-"))`},
		{Rule: "holiday-freeze", File: "policies/b.yaml", Line: 12, Effect: EffectFreeze,
			Reason: "frozen from Sun 20 Dec 2026 00:00 Europe/Berlin until Mon 4 Jan 2027 00:00 Europe/Berlin"},
	}
	if len(d.Fired) != len(want) {
		t.Fatalf("fired %+v, want %+v", d.Fired, want)
	}
	for i := range want {
		if d.Fired[i] != want[i] {
			t.Errorf("firing %d:\n got %+v\nwant %+v", i, d.Fired[i], want[i])
		}
	}
	if d.Verdict != VerdictDeny || len(d.Requirements) != 1 || len(d.Denials) != 2 {
		t.Errorf("decision = %+v; want deny with 2 denials and the requirement still listed", d)
	}
}

func TestEvaluateHandBuiltRules(t *testing.T) {
	set := &RuleSet{Revision: testRev, Rules: []Rule{
		{Name: "compiled-late", When: `pr.number == 1`, Effect: EffectDeny, Deny: "one"},
		{Name: "broken", When: `pr.nope`, Effect: EffectDeny, Deny: "never"},
		{Name: "incomplete", Effect: EffectRequire},
	}}
	d, err := set.Evaluate(Input{Plan: mustPlan(t, canaryPlan), PR: PRFacts{Number: 1}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict != VerdictDeny {
		t.Fatalf("verdict %s, want deny", d.Verdict)
	}
	containsAll(t, "denials", d.Denials, []string{
		"one (rule compiled-late)",
		"rule broken could not be evaluated: invalid condition: undefined field 'nope'",
		`rule incomplete could not be evaluated: effect "require" is incomplete or unknown`,
	})
}

func TestEvaluateIsRepeatable(t *testing.T) {
	set := mustLoad(t, map[string]string{"policies/prod.yaml": policy(prodNeedsSRE + everyGate + bigNeedCanary)})
	in := Input{Plan: mustPlan(t, bigCanaryPlan), Now: utc(t, "2026-07-15 09:00")}
	first, err := set.Evaluate(in)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, _ := set.Evaluate(in)
		if again.Markdown() != first.Markdown() {
			t.Fatalf("decisions differ:\n%s\n---\n%s", first.Markdown(), again.Markdown())
		}
	}
}

func TestLoadFailed(t *testing.T) {
	_, err := Load(mapFS(map[string]string{"policies/a.yaml": policy("  - name: x\n    deny: no\n    when: nope\n")}), testRev)
	if err == nil {
		t.Fatal("want a load error")
	}
	d := LoadFailed(testRev, err)
	if d.Verdict != VerdictDeny || d.Revision != testRev {
		t.Errorf("LoadFailed = %+v; want deny at the revision", d)
	}
	containsAll(t, "denials", d.Denials, []string{
		"the policies at main@1a2b3c4 could not be loaded, so no deploy is allowed until they are fixed on main",
		"policy error: policies/a.yaml:8:11: rules[0].when: invalid condition: undeclared reference to 'nope'",
	})
	if d := LoadFailed(Revision{}, ErrNoRevision); d.Verdict != VerdictDeny || len(d.Denials) != 1 ||
		!strings.HasPrefix(d.Denials[0], "the policies could not be loaded, so no deploy is allowed until they are fixed on the base branch: policies: Load needs") {
		t.Errorf("LoadFailed without a revision = %+v", d)
	}
}

// TestEveryClusterKeepsTheGates guards the assumption the require effect
// rests on: policies judge the whole plan, and every cluster's part of the
// rollout stops at every gate of the plan, even where the gated wave has no
// tenant in that cluster. If the planner dropped such gates, a cluster
// could go on from its canary without the approval a rule requires.
func TestEveryClusterKeepsTheGates(t *testing.T) {
	for _, approval := range []string{"after-canary", "every-wave"} {
		plan := mustPlan(t, fmt.Sprintf(twoClusterPlan, approval))
		want := strings.Join(gateIDs(plan), ",")
		for _, c := range plan.Clusters {
			if got := strings.Join(gateIDs(plan.ForCluster(c)), ","); got != want {
				t.Errorf("approval %s: cluster %s stops at gates %q, the plan has %q", approval, c, got, want)
			}
		}
	}
}
