package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestHealthFixtures decides the health of every workload fixture in
// testdata/health and compares it with the fixture's "# want:" line.
func TestHealthFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/health/*.yaml")
	if len(files) < 15 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s has no # want: line", f)
			}
			var obj unstructured.Unstructured
			if err := yaml.Unmarshal(data, &obj.Object); err != nil {
				t.Fatal(err)
			}
			h, err := WorkloadHealth(&obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Status.String() + ": " + h.Message; got != strings.TrimRight(want, " ") && got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestHealthStatusOrder(t *testing.T) {
	if !(Healthy < Progressing && Progressing < Failed) {
		t.Error("statuses must order from best to worst")
	}
}
