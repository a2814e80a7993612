package archtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeLayoutNamesEveryPackage: the README's layout table names every
// package (a harness by its name in its adapter's row), so a newcomer finds
// each one there.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	layout, _, _ = strings.Cut(layout, "\n## ")
	for _, p := range listModule(t) {
		if len(p.GoFiles) == 0 {
			continue // tests only (examples/)
		}
		r := rel(p.ImportPath)
		named := strings.Contains(layout, "`"+r+"`") || strings.Contains(layout, "`"+r+"/`") ||
			(isHarness(p) && strings.Contains(layout, "`"+p.Name+"`"))
		if !named {
			t.Errorf("README.md's layout table does not name %s", r)
		}
	}
}
