package planner

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParsePlan feeds arbitrary bytes to the plan parser and the expander:
// they must never panic, and every error must name the file and a position.
// Seeds: the test repository's plans and every bad-plan fixture.
// Run: go test ./planner -run '^$' -fuzz FuzzParsePlan -fuzztime 60s
func FuzzParsePlan(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/bad/*.yaml")
	good, _ := filepath.Glob("testdata/repo/deploys/*.yaml")
	for _, file := range append(seeds, good...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("spec: {services: [{name: x, after: [x, y, x]}]}"))
	fleet := loadTestRepo(f).Fleet
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := ParsePlan("deploys/fuzz.yaml", data)
		e, err := Expand(p, fleet)
		if err != nil {
			for _, pe := range Errors(err, "deploys/fuzz.yaml") {
				if pe.File != "deploys/fuzz.yaml" || pe.Line < 1 || pe.Col < 1 {
					t.Fatalf("error without a position: %#v", pe)
				}
			}
			return
		}
		if e.TenantCount() == 0 || len(e.Services) == 0 {
			t.Fatalf("a valid plan expanded to nothing: %+v", e)
		}
		if _, err := e.JSON(); err != nil {
			t.Fatal(err)
		}
		_ = e.Markdown()
	})
}
