package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesBadConfig: `prdeploy serve` with a broken prdeploy.yaml
// stops before starting anything, exit 1, with every problem at
// file:line:col and an example, and no secret value.
func TestServeRefusesBadConfig(t *testing.T) {
	t.Setenv("TEST_SERVE_SECRET", "s3cret-value")
	path := filepath.Join(t.TempDir(), "prdeploy.yaml")
	if err := os.WriteFile(path, []byte(`listen: ":0"
temporal: {uiListen: nowhere}
github:
  token: ghp_inline_s3cret
  webhookSecrets: env:TEST_SERVE_SECRET
  repo: acme/deploys
payloads: {keys: {k1: env:TEST_SERVE_SECRET}, retentionDays: 0.5}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "serve", "--config", path)
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d\n%s", code, exitInvalid, stderr)
	}
	for _, want := range []string{
		path + ":1:1: dataDir: dataDir is required for the embedded Temporal server (example: dataDir: /var/lib/prdeploy), or set temporal.address",
		path + `:2:22: temporal.uiListen: uiListen "nowhere" is not host:port or off (example: uiListen: 127.0.0.1:8233)`,
		path + `:4:10: github.token: a secret is given as "env:NAME" or "file:/path", never inline`,
		path + ":7:62: payloads.retentionDays: expected a whole number, got 0.5",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "s3cret") {
		t.Errorf("a secret value is printed:\n%s", stderr)
	}
	if code, _, stderr := runCLI(t, "serve", "--config", filepath.Join(t.TempDir(), "none.yaml")); code == 0 || !strings.Contains(stderr, "none.yaml") {
		t.Errorf("missing file: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "serve", "--config", path, "--role", "nope"); code == 0 || !strings.Contains(stderr, "prdeploy.yaml") {
		t.Errorf("bad role with a bad config: exit %d %s", code, stderr)
	}
}
