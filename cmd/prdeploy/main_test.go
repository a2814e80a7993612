package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
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
		{"bad output", []string{"plan", "show", "-o", "yaml", "--repo", testRepo, "deploys/hotfix.yaml"}, 2, "", `--output must be text, markdown or json, not "yaml"`},
		{"directory", []string{"plan", "validate", testRepo + "/deploys/"}, 0,
			"ok: deploys/hotfix.yaml: deployment query-hotfix, 4 tenants in 2 waves, 1 service\nok: deploys/rollout.yaml: deployment rollout-v2", ""},
		{"repository root", []string{"plan", "validate", testRepo}, 0, "ok: deploys/hotfix.yaml", ""},
		{"root found from the file", []string{"plan", "validate", testRepo + "/deploys/hotfix.yaml"}, 0, "ok: deploys/hotfix.yaml", ""},
		{"invalid in a directory", []string{"plan", "validate", badRepo + "/deploys"}, 1, "ok: deploys/hotfix.yaml", "deploys/bad.yaml:12:15: "},
		{"no repository", []string{"plan", "validate", t.TempDir()}, 2, "", "no fleet.yaml in "},
		{"show two files", []string{"plan", "show", "--repo", testRepo, "a", "b"}, 2, "", "accepts 1 arg(s)"},
		{"demo at no time", []string{"demo", "--policy-time", "Christmas"}, 2, "", "--policy-time must be an RFC 3339 time like 2026-12-24T10:00:00+01:00"},
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

// TestUsageErrors: a mistyped command exits 2 with a "did you mean", so
// that `prdeploy plan valdiate` fails CI instead of passing it with help;
// a command group alone prints its help and exits 0.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"plan", "valdiate", "deploys/x.yaml"}, exitUsage, "", `prdeploy: unknown command "valdiate" for "prdeploy plan"; did you mean "validate"?` + "\nRun 'prdeploy plan --help' for usage.\n"},
		{[]string{"policy", "valdate"}, exitUsage, "", `unknown command "valdate" for "prdeploy policy"; did you mean "validate"?`},
		{[]string{"stauts"}, exitUsage, "", `unknown command "stauts" for "prdeploy"; did you mean "status"?`},
		{[]string{"plan", "frobnicate"}, exitUsage, "", `unknown command "frobnicate" for "prdeploy plan"; commands: diff, show, validate`},
		{[]string{"plan", "validate", "--nope", "x"}, exitUsage, "", "Run 'prdeploy plan validate --help' for usage."},
		{[]string{"completion", "bsh"}, exitUsage, "", `did you mean "bash" or "fish" or "zsh"?`},
		{[]string{"plan"}, exitOK, "Available Commands:", ""},
		{[]string{}, exitOK, "Available Commands:", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %q, want %q", code, tc.code, out, errOut, tc.err)
			}
		})
	}
}

// TestVersion: `prdeploy version` and `--version` say the module
// version, Go and the Temporal SDK and server linked in (from the build
// information), and -o json the same for scripts.
func TestVersion(t *testing.T) {
	code, out, errOut := runCLI(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"prdeploy ", "commit:", runtime.Version(), "temporal sdk:    v1.50.0\n", "temporal server: v1.32.0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("version lacks %q:\n%s", want, out)
		}
	}
	if code, flag, _ := runCLI(t, "--version"); code != 0 || flag != out {
		t.Errorf("--version: exit %d:\n%s\nwant:\n%s", code, flag, out)
	}
	stamped := versionText(buildInfo{Version: "v1.2.3", Commit: "0123abc", CommitTime: "2026-11-26T15:30:00Z", Modified: true, Go: "go1.26.8", Platform: "linux/amd64", TemporalSDK: "v1.50.0", TemporalServer: "v1.32.0"})
	if !strings.Contains(stamped, "prdeploy v1.2.3\n  commit:          0123abc (2026-11-26T15:30:00Z), with local changes\n") {
		t.Errorf("a stamped build:\n%s", stamped)
	}
	code, out, _ = runCLI(t, "version", "-o", "json")
	var v struct{ Version, Go, TemporalSDK, TemporalServer string }
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Go != runtime.Version() || v.TemporalSDK != "v1.50.0" || v.TemporalServer != "v1.32.0" || v.Version == "" {
		t.Errorf("version -o json: exit %d %v: %s", code, err, out)
	}
}

// policyRepo is the test repository with policies/ holding files.
func policyRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, testRepo, dir)
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, "policies", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const denyPolicy = `apiVersion: prdeploy.dev/v1
kind: DeployPolicy
metadata: {name: freeze}
rules:
  - name: no-eu
    when: '"eu" in plan.clusters'
    deny: "eu is frozen this week"
`

// brokenPolicy has an unknown key on line 6.
const brokenPolicy = `apiVersion: prdeploy.dev/v1
kind: DeployPolicy
metadata: {name: broken}
rules:
  - name: approvals
    requires: {approvals: 2}
`

// TestPlanShowPolicyExit: plan show exits 1 when the policies deny the
// plan or do not load, after printing the decision; --allow-deny exits 0.
func TestPlanShowPolicyExit(t *testing.T) {
	deny := policyRepo(t, map[string]string{"freeze.yaml": denyPolicy})
	code, out, errOut := runCLI(t, "plan", "show", "--repo", deny, "deploys/hotfix.yaml")
	if code != exitInvalid || !strings.Contains(out, "eu is frozen this week") || !strings.Contains(errOut, "the policies deny this plan") {
		t.Errorf("denied: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "plan", "show", "--allow-deny", "--repo", deny, "deploys/hotfix.yaml"); code != 0 {
		t.Errorf("--allow-deny: exit %d: %s", code, errOut)
	}
	broken := policyRepo(t, map[string]string{"broken.yaml": brokenPolicy})
	code, out, errOut = runCLI(t, "plan", "show", "-o", "json", "--repo", broken, "deploys/hotfix.yaml")
	if code != exitInvalid || !strings.Contains(out, `"verdict": "deny"`) || !strings.Contains(errOut, "the policies could not be loaded") {
		t.Errorf("broken policies: exit %d\n%s\n%s", code, out, errOut)
	}
	// An allowed plan still exits 0.
	if code, _, errOut := runCLI(t, "plan", "show", "--repo", testRepo, "deploys/hotfix.yaml"); code != 0 {
		t.Errorf("allowed: exit %d: %s", code, errOut)
	}
}

// TestPlanValidatePoliciesAndJSON: plan validate fails on policies that do
// not load, and -o json gives every problem with file, line and column
// for CI annotations.
func TestPlanValidatePoliciesAndJSON(t *testing.T) {
	broken := policyRepo(t, map[string]string{"broken.yaml": brokenPolicy})
	code, out, errOut := runCLI(t, "plan", "validate", broken+"/deploys")
	if code != exitInvalid || !strings.Contains(out, "ok: deploys/hotfix.yaml") || !strings.Contains(errOut, "policies/broken.yaml:6:5: ") {
		t.Errorf("broken policy: exit %d\n%s\n%s", code, out, errOut)
	}
	bad, _ := os.ReadFile("../../planner/testdata/bad/unknown-after.yaml")
	if err := os.WriteFile(filepath.Join(broken, "deploys", "bad.yaml"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "plan", "validate", "-o", "json", broken+"/deploys")
	var r struct {
		Valid bool
		Plans []struct {
			File       string `json:"file"`
			Deployment string `json:"deployment"`
		} `json:"plans"`
		Problems []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Column  int    `json:"column"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != exitInvalid {
		t.Fatalf("exit %d, %v:\n%s\n%s", code, err, out, errOut)
	}
	if r.Valid || len(r.Plans) != 2 || len(r.Problems) != 2 {
		t.Fatalf("report: %+v", r)
	}
	p := r.Problems[0]
	if p.File != "deploys/bad.yaml" || p.Line != 12 || p.Column != 15 || !strings.Contains(p.Message, `unknown service "qurey"`) {
		t.Errorf("problem %+v", p)
	}
	if p := r.Problems[1]; p.File != "policies/broken.yaml" || p.Line != 6 || p.Column != 5 {
		t.Errorf("policy problem %+v", p)
	}
}

// TestPolicyValidate loads the example repository's policies, and a broken
// file gives file:line:col errors and exit 1.
func TestPolicyValidate(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "validate", "../../examples/gitops-repo")
	if code != 0 || !strings.HasPrefix(out, "ok: ") || !strings.Contains(out, "in 3 policy files") {
		t.Errorf("example: exit %d: %s%s", code, out, errOut)
	}
	broken := policyRepo(t, map[string]string{"broken.yaml": brokenPolicy, "freeze.yaml": denyPolicy})
	code, out, errOut = runCLI(t, "policy", "validate", broken)
	if code != exitInvalid || out != "" || !strings.HasPrefix(errOut, "policies/broken.yaml:6:5: ") || !strings.HasSuffix(errOut, "prdeploy: 1 problem found\n") {
		t.Errorf("broken: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "policy", "validate", "-o", "json", broken)
	if code != exitInvalid || !strings.Contains(out, `"file": "policies/broken.yaml"`) || !strings.Contains(out, `"column": 5`) {
		t.Errorf("json: exit %d: %s", code, out)
	}
	if code, _, errOut := runCLI(t, "policy", "validate", t.TempDir()); code != exitUsage || !strings.Contains(errOut, "no fleet.yaml in") {
		t.Errorf("not a repository: exit %d: %s", code, errOut)
	}
}

// TestPlanShowText: -o text (the default in a terminal) has no HTML or
// Markdown markup: the folded waves are plain sections, tables aligned.
func TestPlanShowText(t *testing.T) {
	code, out, errOut := runCLI(t, "plan", "show", "-o", "text", "--repo", testRepo, "deploys/rollout.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, bad := range []string{"<details>", "<summary>", "</details>", "|---", "**", "`", "###"} {
		if strings.Contains(out, bad) {
			t.Errorf("text output holds %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"Deployment rollout-v2\n=====================\n", "Wave 1: canary — 2 tenants:\n",
		"Tenant     Cluster  Namespace         Services\ncanary-eu  eu       tenant-canary-eu  query, ingest, web\n",
		"2  silver  2        eu, us    after-canary (rollout.approval: after-canary)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
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
