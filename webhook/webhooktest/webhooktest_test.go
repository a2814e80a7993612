package webhooktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesValidate: GitHub's documented examples of the events and
// actions prdeploy acts on validate against the schemas, and a payload
// broken on purpose does not, so the check means something.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../testdata/payloads/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Action string }
		_ = json.Unmarshal(b, &head)
		event := filepath.Base(filepath.Dir(f))
		if _, err := schemaFS.Open("schemas/" + event + "/" + head.Action + ".schema.json"); err != nil {
			continue // not an event and action prdeploy acts on
		}
		n++
		if err := Validate(event, head.Action, b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if n < 10 {
		t.Fatalf("only %d examples validated", n)
	}
	broken := Example(t, "pull_request/opened.payload.json").Set(t, "pull_request.number", "two")
	b, _ := json.Marshal(broken.doc)
	if err := Validate("pull_request", "opened", b); err == nil || !strings.Contains(err.Error(), "number") {
		t.Fatalf("a string PR number validated: %v", err)
	}
}
