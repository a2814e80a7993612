package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testRepo = "../../planner/testdata/repo"

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestPlanValidate(t *testing.T) {
	badRepo := t.TempDir()
	copyDir(t, testRepo, badRepo)
	bad, _ := os.ReadFile("../../planner/testdata/bad/unknown-after.yaml")
	if err := os.WriteFile(filepath.Join(badRepo, "deploys", "bad.yaml"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"valid", []string{"plan", "validate", "--repo", testRepo, "deploys/rollout.yaml", "deploys/hotfix.yaml"}, 0,
			"ok: deploys/rollout.yaml: deployment rollout-v2, 6 tenants in 3 waves, 3 services\nok: deploys/hotfix.yaml: deployment query-hotfix, 4 tenants in 2 waves, 1 service\n", ""},
		{"invalid", []string{"plan", "validate", "--repo", badRepo, "deploys/bad.yaml", "deploys/hotfix.yaml"}, 1,
			"ok: deploys/hotfix.yaml", `deploys/bad.yaml:12:15: spec.services[1].after[0]: unknown service "qurey" (did you mean "query"?); known: ingest, query` + "\nprdeploy: 1 problem found\n"},
		{"no files", []string{"plan", "validate"}, 2, "", "requires at least 1 arg"},
		{"unknown flag", []string{"plan", "validate", "--nope", "x"}, 2, "", "unknown flag: --nope"},
		{"missing file", []string{"plan", "validate", "--repo", testRepo, "deploys/none.yaml"}, 2, "", "cannot read plan deploys/none.yaml"},
		{"not a repo", []string{"plan", "validate", "--repo", t.TempDir(), "x.yaml"}, 2, "", "is not a GitOps repository root: no fleet.yaml"},
		{"bad output", []string{"plan", "show", "-o", "yaml", "--repo", testRepo, "deploys/hotfix.yaml"}, 2, "", `--output must be markdown or json, not "yaml"`},
		{"show two files", []string{"plan", "show", "--repo", testRepo, "a", "b"}, 2, "", "accepts 1 arg(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout %q does not contain %q", out, tc.out)
			}
			if !strings.Contains(errOut, tc.err) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.err)
			}
		})
	}
}

func TestPlanShow(t *testing.T) {
	code, out, errOut := runCLI(t, "plan", "show", "--repo", testRepo, "deploys/rollout.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"### Deployment `rollout-v2`", "| 2 | silver | 2 | eu, us | **after-canary**"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "plan", "show", "-o", "json", "--repo", testRepo, "deploys/rollout.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Plan struct {
			Deployment string `json:"deployment"`
			Waves      []struct {
				Name string `json:"name"`
			} `json:"waves"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Plan.Deployment != "rollout-v2" || len(got.Plan.Waves) != 3 {
		t.Errorf("json plan = %+v", got.Plan)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
