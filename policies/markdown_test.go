package policies

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMarkdown(t *testing.T) {
	rules := map[string]string{
		"policies/prod.yaml": policy(prodNeedsSRE + noFridayAfternoon + holidayFreeze + `  - name: deployers-elsewhere
    when: 'plan.tenantCount > 3 || "big" in pr.labels'
    require: {from: {teams: [acme/deployers], users: [lead]}, gates: [before-batch-2], allowAuthor: true, allowReviews: false}
`),
		"policies/limits.yaml": "apiVersion: prdeploy.dev/v1\nkind: DeployPolicy\nmetadata: {name: limits}\nrules:\n" + bigNeedCanary,
	}
	set := mustLoad(t, rules)
	none := mustLoad(t, nil)
	tests := []struct {
		golden string
		set    *RuleSet
		plan   string
		when   string // UTC
	}{
		{"needs-approval", set, bigCanaryPlan, "2026-07-15 09:00"},
		{"denied", set, bigPlan, "2026-12-25 16:00"},
		{"allowed", set, stagingPlan, "2026-07-15 09:00"},
		{"allowed-with-gate", none, wavesPlan, "2026-07-15 09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			d, err := tt.set.Evaluate(Input{Plan: mustPlan(t, tt.plan), PR: PRFacts{Number: 9, Author: "bob"}, Now: utc(t, tt.when)})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, d.Markdown())
		})
	}
	t.Run("load-failed", func(t *testing.T) {
		_, err := Load(mapFS(map[string]string{"policies/a.yaml": policy("  - name: x\n    deny: no\n    when: 'pr.labels || true'\n")}), testRev)
		if err == nil {
			t.Fatal("want a load error")
		}
		golden(t, "load-failed", LoadFailed(testRev, err).Markdown())
	})
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test ./policies -run TestMarkdown -update", err)
	}
	if got != string(want) {
		t.Errorf("%s differs; run with -update if the change is intended\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestMarkdownDocumented keeps the sample in docs/policies.md in step with
// the needs-approval golden file.
func TestMarkdownDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatalf("docs/policies.md: %v", err)
	}
	_, rest, _ := strings.Cut(string(doc), "```markdown\n")
	sample, _, _ := strings.Cut(rest, "```")
	golden, err := os.ReadFile(filepath.Join("testdata", "needs-approval.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if sample != string(golden) {
		t.Errorf("the Markdown sample in docs/policies.md differs from testdata/needs-approval.golden; copy it over")
	}
}
