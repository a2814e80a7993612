package policies

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prdeploy/prdeploy/planner"
)

func TestLoadErrors(t *testing.T) {
	const head = "apiVersion: prdeploy.dev/v1\nkind: DeployPolicy\nmetadata:\n  name: production\nrules:\n" // rules start on line 6
	tests := []struct {
		name  string
		files map[string]string
		want  []string // every error, in order, as printed
	}{
		{
			name: "unknown field in CEL",
			files: map[string]string{"policies/prod.yaml": head + `  - name: prod-only
    when: 'plan.clusterz.exists(c, c == "prod")'
    deny: nope
`},
			want: []string{`policies/prod.yaml:7:11: rules[0].when: invalid condition: undefined field 'clusterz' (at column 5 of the expression)`},
		},
		{
			name: "CEL syntax error",
			files: map[string]string{"policies/prod.yaml": head + `  - name: prod-only
    deny: nope
    when: plan.tenantCount >
`},
			want: []string{`policies/prod.yaml:8:11: rules[0].when: invalid condition: Syntax error:`},
		},
		{
			name: "undeclared variable",
			files: map[string]string{"policies/prod.yaml": head + `  - name: prod-only
    deny: nope
    when: "plna.tenantCount > 3"
`},
			want: []string{`policies/prod.yaml:8:11: rules[0].when: invalid condition: undeclared reference to 'plna'; the variables are plan, pr, actor and now (at column 1 of the expression)`},
		},
		{
			name: "condition is not a bool",
			files: map[string]string{"policies/prod.yaml": head + `  - name: prod-only
    when: plan.tenantCount
    deny: nope
`},
			want: []string{`policies/prod.yaml:7:11: rules[0].when: the condition must be true or false, but this expression gives int`},
		},
		{
			name: "unknown field",
			files: map[string]string{"policies/prod.yaml": head + `  - name: sre
    requires: {approvals: 2}
`},
			want: []string{`policies/prod.yaml:7:5: rules[0]: unknown field "requires"; did you mean "require"?`},
		},
		{
			name: "bad time zone",
			files: map[string]string{"policies/prod.yaml": head + `  - name: holiday
    freeze:
      from: "2026-12-20T00:00"
      until: "2027-01-04T00:00"
      timeZone: Europe/Berlín
`},
			want: []string{`policies/prod.yaml:10:17: rules[0].freeze.timeZone: unknown time zone "Europe/Berlín"`},
		},
		{
			name: "two effects",
			files: map[string]string{"policies/prod.yaml": head + `  - name: two
    deny: no deploys
    freeze: {from: "2026-12-20T00:00", until: "2027-01-04T00:00", timeZone: UTC}
`},
			want: []string{`policies/prod.yaml:8:13: rules[0].freeze: rule "two" has both deny and freeze; a rule has exactly one effect, so split it into two rules`},
		},
		{
			name: "no effect",
			files: map[string]string{"policies/prod.yaml": head + `  - name: nothing
    when: "true"
`},
			want: []string{`policies/prod.yaml:6:5: rules[0]: rule "nothing" has no effect; add one of require, deny, freeze or limits`},
		},
		{
			name: "duplicate names across files",
			files: map[string]string{
				"policies/a.yaml": head + "  - name: no-fridays\n    deny: no\n",
				"policies/b.yaml": head + "  - name: other\n    deny: no\n  - name: no-fridays\n    deny: no\n",
			},
			want: []string{
				`policies/b.yaml:4:9: metadata.name: policy "production" is already defined in policies/a.yaml`,
				`policies/b.yaml:8:11: rules[1].name: rule "no-fridays" is already defined at policies/a.yaml:6; rule names are unique across all policy files`,
			},
		},
		{
			name: "duplicate name across files after an invalid rule",
			files: map[string]string{
				"policies/a.yaml": head + "  - name: no-fridays\n    deny: no\n",
				"policies/b.yaml": strings.Replace(head, "production", "staging", 1) + "  - name: broken\n  - name: no-fridays\n    deny: no\n",
			},
			want: []string{
				`policies/b.yaml:6:5: rules[0]: rule "broken" has no effect`,
				`policies/b.yaml:7:11: rules[1].name: rule "no-fridays" is already defined at policies/a.yaml:6; rule names are unique across all policy files`,
			},
		},
		{
			name:  "a tab in the indentation",
			files: map[string]string{"policies/a.yaml": head + "  - name: x\n\tdeny: no\n"},
			want:  []string{`policies/a.yaml:7:1: invalid YAML: a tab is used for indentation; YAML indents with spaces only, so replace the tab with spaces`},
		},
		{
			name:  "only ---",
			files: map[string]string{"policies/a.yaml": "---\n"},
			want:  []string{`policies/a.yaml:1:1: file is empty (it holds only "---"`},
		},
		{
			name:  "duplicate names in one file",
			files: map[string]string{"policies/a.yaml": head + "  - name: x\n    deny: no\n  - name: x\n    deny: no\n"},
			want:  []string{`policies/a.yaml:8:11: rules[1].name: rule "x" is defined twice in this file`},
		},
		{
			name: "freeze times",
			files: map[string]string{"policies/a.yaml": head + `  - name: backwards
    freeze: {from: "2027-01-04T00:00", until: "2026-12-20T00:00", timeZone: Europe/Berlin}
  - name: dst-gap
    freeze: {from: "2026-03-29T02:30", until: "2026-03-30T00:00", timeZone: Europe/Berlin}
  - name: bad-layout
    freeze: {from: "2026-12-20 00:00", until: "", timeZone: UTC}
  - name: dst-twice
    freeze: {from: "2026-10-24T00:00", until: "2026-10-25T02:30", timeZone: Europe/Berlin}
`},
			want: []string{
				`policies/a.yaml:7:47: rules[0].freeze.until: the freeze ends (2026-12-20T00:00) before it starts (2027-01-04T00:00); until must be after from`,
				`policies/a.yaml:9:20: rules[1].freeze.from: 2026-03-29T02:30 does not exist in Europe/Berlin (the clocks skip it for daylight saving time); pick another time`,
				`policies/a.yaml:11:20: rules[2].freeze.from: invalid time "2026-12-20 00:00"; write it like 2026-12-20T00:00 (local time in UTC)`,
				`policies/a.yaml:11:47: rules[2].freeze.until: freeze needs until, written like 2026-12-20T00:00 in UTC`,
				`policies/a.yaml:13:47: rules[3].freeze.until: 2026-10-25T02:30 happens twice in Europe/Berlin (the clocks go back for daylight saving time); pick another time`,
			},
		},
		{
			name: "require problems",
			files: map[string]string{"policies/a.yaml": head + `  - name: zero
    require: {approvals: 0, from: {teams: [acme/sre]}}
  - name: nobody
    require: {approvals: 1, from: {}}
  - name: too-few-users
    require: {approvals: 3, from: {users: [alice, bob]}}
  - name: bad-names
    require: {from: {teams: ["@acme/sre", sre], users: ["@alice"]}}
  - name: bad-gates
    require: {from: {users: [alice]}, gates: ["*", after-canary, before_x]}
`},
			want: []string{
				`policies/a.yaml:7:26: rules[0].require.approvals: approvals must be at least 1, got 0`,
				`policies/a.yaml:9:35: rules[1].require.from: say who may approve: from needs at least one team (org/slug) or user`,
				`policies/a.yaml:11:26: rules[2].require.approvals: 3 approvals can never be given by the 2 listed users`,
				`policies/a.yaml:13:30: rules[3].require.from.teams[0]: write the team without @, as org/slug: acme/sre`,
				`policies/a.yaml:13:43: rules[3].require.from.teams[1]: team "sre" must be written as org/slug, e.g. acme/sre`,
				`policies/a.yaml:13:57: rules[3].require.from.users[0]: write the login without @: alice`,
				`policies/a.yaml:15:47: rules[4].require.gates[0]: "*" already means every gate; list either "*" or gate ids`,
				`policies/a.yaml:15:66: rules[4].require.gates[2]: unknown gate "before_x"; use after-canary, before-<wave name> or "*"`,
			},
		},
		{
			name: "deny and limits problems",
			files: map[string]string{"policies/a.yaml": head + `  - name: empty-deny
    deny: ""
  - name: deny-message
    deny: no
    message: twice
  - name: no-limits
    limits: {}
  - name: zero-limit
    limits: {maxTenantsPerWave: 0}
`},
			want: []string{
				`policies/a.yaml:7:11: rules[0].deny: deny needs the message shown on the pull request`,
				`policies/a.yaml:10:14: rules[1].message: a deny rule's message is the deny text itself; remove message`,
				`policies/a.yaml:12:13: rules[2].limits: limits sets no limit`,
				`policies/a.yaml:14:33: rules[3].limits.maxTenantsPerWave: maxTenantsPerWave must be at least 1, got 0`,
			},
		},
		{
			name:  "header problems",
			files: map[string]string{"policies/a.yaml": "apiVersion: prdeploy.dev/v2\nkind: DeployPlan\nmetadata: {}\nrules: []\n"},
			want: []string{
				`policies/a.yaml:1:13: apiVersion: unsupported apiVersion "prdeploy.dev/v2"; this prdeploy reads prdeploy.dev/v1`,
				`policies/a.yaml:2:7: kind: kind "DeployPlan" is not DeployPolicy`,
				`policies/a.yaml:3:11: metadata.name: the policy needs a name`,
				`policies/a.yaml:4:8: rules: the policy has no rules; add rules or delete the file`,
			},
		},
		{
			name:  "a rule that is not a mapping, and wrong types",
			files: map[string]string{"policies/a.yaml": head + "  - foo\n  - name: y\n    deny: [a]\n"},
			want: []string{
				`policies/a.yaml:6:5: rules[0]: expected a mapping (key: value), got string "foo"`,
				`policies/a.yaml:8:11: rules[1].deny: expected a string, got a list`,
			},
		},
		{
			name:  "not YAML",
			files: map[string]string{"policies/a.yaml": "rules: [\n"},
			want:  []string{`policies/a.yaml:2:1: invalid YAML:`},
		},
		{
			name: "errors from every file, in file order",
			files: map[string]string{
				"policies/b.yaml": strings.Replace(head, "production", "staging", 1) + "  - name: B\n    deny: no\n",
				"policies/a.yaml": head + "  - name: a\n    deny: no\n    when: nope\n",
			},
			want: []string{
				`policies/a.yaml:8:11: rules[0].when: invalid condition: undeclared reference to 'nope'`,
				`policies/b.yaml:6:11: rules[0].name: rule name "B" must be 1-63 lower-case letters, digits and '-'`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Load(mapFS(tt.files), testRev)
			if err == nil {
				t.Fatalf("Load succeeded with %d rules; want errors", len(set.Rules))
			}
			if set != nil {
				t.Errorf("Load returned a rule set with its error")
			}
			var list planner.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want planner.ErrorList: %v", err, err)
			}
			if len(list) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(list), len(tt.want), err)
			}
			for i, w := range tt.want {
				if got := list[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got: %s\nwant: %s…", i, got, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	files := map[string]string{
		"policies/prod.yaml": `apiVersion: prdeploy.dev/v1
kind: DeployPolicy
metadata:
  name: production
  description: Rules for production
rules:
  - name: prod-needs-sre
    description: Production needs two SREs after the canary
    when: 'plan.clusters.exists(c, c.startsWith("prod-"))'
    require:
      approvals: 2
      from: {teams: [acme/sre], users: [alice]}
      gates: [after-canary]
  - name: holiday-freeze
    freeze: {from: 2026-12-20T00:00, until: 2027-01-04T00:00, timeZone: Europe/Berlin}
    message: "Holiday freeze until 4 January"
`,
		"policies/limits.yml": `apiVersion: prdeploy.dev/v1
kind: DeployPolicy
metadata: {name: limits}
rules:
  - name: big-rollouts-need-canary
    limits: {canaryRequiredAbove: 5, maxTenantsPerWave: 50, minPauseBetweenWaves: 10m}
  - name: default-gates
    require: {from: {teams: [acme/deployers]}, allowReviews: false, allowAuthor: true}
`,
		"policies/README.md":        "not a policy",
		"policies/drafts/x.yaml":    "not: read",
		"deploys/policies/not.yaml": "not: read",
		"policies/zz-notes.txt.bak": "ignored",
	}
	set := mustLoad(t, files)
	if set.Revision != testRev {
		t.Errorf("Revision = %+v, want %+v", set.Revision, testRev)
	}
	if got, want := strings.Join(set.Files, ","), "policies/limits.yml,policies/prod.yaml"; got != want {
		t.Errorf("Files = %s, want %s", got, want)
	}
	var names []string
	for _, r := range set.Rules {
		names = append(names, r.Name+"@"+r.File+":"+strconv.Itoa(r.Line)+"/"+r.Effect)
	}
	want := "big-rollouts-need-canary@policies/limits.yml:5/limits,default-gates@policies/limits.yml:7/require," +
		"prod-needs-sre@policies/prod.yaml:7/require,holiday-freeze@policies/prod.yaml:14/freeze"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("rules:\n got %s\nwant %s", got, want)
	}

	req := set.Rules[2].Require
	if req.Approvals != 2 || !req.AllowReviews || req.AllowAuthor || strings.Join(req.Gates, ",") != "after-canary" ||
		strings.Join(req.Teams, ",") != "acme/sre" || strings.Join(req.Users, ",") != "alice" {
		t.Errorf("prod-needs-sre require = %+v", req)
	}
	def := set.Rules[1].Require
	if def.Approvals != 1 || def.AllowReviews || !def.AllowAuthor || strings.Join(def.Gates, ",") != "*" {
		t.Errorf("default-gates require = %+v; want approvals 1, gates [*], reviews off, author on", def)
	}
	if l := set.Rules[0].Limits; l.CanaryRequiredAbove != 5 || l.MaxTenantsPerWave != 50 || l.MinPauseBetweenWaves != 10*time.Minute {
		t.Errorf("limits = %+v", l)
	}
	f := set.Rules[3].Freeze
	if got := f.From.UTC().Format(time.RFC3339); got != "2026-12-19T23:00:00Z" {
		t.Errorf("freeze from = %s, want 2026-12-19T23:00:00Z (midnight in Berlin)", got)
	}
	if set.Rules[3].Message != "Holiday freeze until 4 January" || set.Rules[2].Policy != "production" {
		t.Errorf("rule metadata: %+v", set.Rules[3])
	}
}

func TestLoadRevisionAndEmpty(t *testing.T) {
	files := mapFS(map[string]string{"policies/a.yaml": policy("  - name: x\n    deny: no\n")})
	for _, rev := range []Revision{{}, {Ref: "main"}} {
		if _, err := Load(files, rev); !errors.Is(err, ErrNoRevision) {
			t.Errorf("Load(%+v) error = %v, want ErrNoRevision", rev, err)
		}
	}

	set, err := Load(fstest.MapFS{"fleet.yaml": {Data: []byte(fleetYAML)}}, testRev)
	if err != nil || set == nil || len(set.Rules) != 0 || set.Revision != testRev {
		t.Fatalf("Load without policies/ = %+v, %v; want an empty rule set at the revision", set, err)
	}
	d, err := set.Evaluate(Input{Plan: mustPlan(t, canaryPlan), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict != VerdictAllow || d.Revision != testRev {
		t.Errorf("empty rule set: verdict %s revision %+v; want allow at %+v", d.Verdict, d.Revision, testRev)
	}
}

func TestEvaluateMisuse(t *testing.T) {
	plan := mustPlan(t, canaryPlan)
	set := &RuleSet{Revision: testRev}
	var nilSet *RuleSet
	for name, call := range map[string]func() error{
		"nil rule set": func() error { _, err := nilSet.Evaluate(Input{Plan: plan, Now: time.Now()}); return err },
		"nil plan":     func() error { _, err := set.Evaluate(Input{Now: time.Now()}); return err },
		"zero time":    func() error { _, err := set.Evaluate(Input{Plan: plan}); return err },
	} {
		if call() == nil {
			t.Errorf("%s: Evaluate succeeded; want an error", name)
		}
	}
}

// TestValidate: the check a CLI runs on a working tree needs no revision,
// and returns every problem at file:line:col.
func TestValidate(t *testing.T) {
	good := policy("  - name: x\n    deny: no\n")
	if errs := Validate(mapFS(map[string]string{"policies/a.yaml": good})); errs != nil {
		t.Errorf("Validate(valid policies) = %v", errs)
	}
	if errs := Validate(fstest.MapFS{"fleet.yaml": {Data: []byte(fleetYAML)}}); errs != nil {
		t.Errorf("Validate(no policies/) = %v", errs)
	}
	errs := Validate(mapFS(map[string]string{
		"policies/a.yaml": good,
		"policies/b.yaml": "rules: [\n",
	}))
	if len(errs) != 1 || errs[0].Error() != "policies/b.yaml:2:1: invalid YAML: did not find expected node content" {
		t.Errorf("Validate = %v", errs)
	}
}

// TestHostilePolicyFiles: a policy file that would cost too much fails on
// its own at its position, in little time and memory, and the problems of
// the other files are still reported.
func TestHostilePolicyFiles(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString(policy("  - name: x\n    deny: no\n"))
	bomb.WriteString("x: &l [" + strings.Repeat("a,", 20_000) + "a]\n")
	bomb.WriteString("y: [" + strings.Repeat("*l,", 300) + "*l]\n")
	files := map[string]string{
		"policies/bomb.yaml": bomb.String(),
		"policies/big.yaml":  policy("  - name: y\n    deny: no\n") + "# " + strings.Repeat("x", 10<<20) + "\n",
		"policies/c.yaml":    strings.Replace(policy("  - name: z\n    deny: no\n    when: nope\n"), "production", "other", 1),
	}
	var errs planner.ErrorList
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	errs = Validate(mapFS(files))
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; took > time.Second || alloc > 100<<20 {
		t.Errorf("Validate took %v and %d MB; want under 1s and 100 MB", took, alloc>>20)
	}
	want := []string{
		"policies/big.yaml:1:1: the file is 10.0 MiB; at most 1 MiB are read per file",
		"policies/bomb.yaml:9:",
		"policies/c.yaml:8:11: rules[0].when: invalid condition: undeclared reference to 'nope'",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors:\n%v\nwant %d", errs, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d: %s\nwant %s…", i, errs[i], w)
		}
	}
	if !strings.Contains(errs[1].Message, "more than 100000 YAML values once expanded") {
		t.Errorf("bomb: %s", errs[1].Message)
	}
}
