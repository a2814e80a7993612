package planner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files and the # want: lines of testdata/bad")

func loadTestRepo(t testing.TB) *Repo {
	t.Helper()
	r, err := LoadRepo(os.DirFS("testdata/repo"))
	if err != nil {
		t.Fatalf("LoadRepo(testdata/repo): %v", err)
	}
	return r
}

func expandFile(t testing.TB, r *Repo, file string) *ExecutionPlan {
	t.Helper()
	p, ok := r.Plan(file)
	if !ok {
		t.Fatalf("no plan %s", file)
	}
	e, err := Expand(p, r.Fleet)
	if err != nil {
		t.Fatalf("Expand(%s): %v", file, err)
	}
	return e
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./planner -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run with -update if the change is intended)\n--- got\n%s", name, got)
	}
}

func TestExpandGolden(t *testing.T) {
	r := loadTestRepo(t)
	for _, p := range r.Plans {
		name := strings.TrimSuffix(filepath.Base(p.File), ".yaml")
		t.Run(name, func(t *testing.T) {
			e := expandFile(t, r, p.File)
			golden(t, name+".md", []byte(e.Markdown()))
			js, err := e.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".json", js)
		})
	}
}

func TestExpandShape(t *testing.T) {
	e := expandFile(t, loadTestRepo(t), "deploys/rollout.yaml")
	var got []string
	for _, w := range e.Waves {
		var names []string
		for _, tt := range w.Tenants {
			names = append(names, tt.Name)
		}
		gate := "-"
		if w.Gate != nil {
			gate = w.Gate.ID
		}
		got = append(got, w.Name+"["+strings.Join(names, ",")+"] gate="+gate)
	}
	want := []string{
		"canary[canary-eu,canary-us] gate=-",
		"silver[bravo,echo] gate=after-canary",
		"gold[alpha,delta] gate=before-gold",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("waves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := strings.Join(flatten(e.Levels), " | "), "query,ingest | web"; got != want {
		t.Errorf("levels = %q, want %q", got, want)
	}
	// echo runs only ingest and query (fleet.yaml), so web is not deployed there.
	echo := e.Waves[1].Tenants[1]
	if strings.Join(echo.Services, ",") != "query,ingest" {
		t.Errorf("echo services = %v, want [query ingest]", echo.Services)
	}
	if s, _ := e.Service("query"); s.Image != "registry.example.com/acme/query:2.0.0" {
		t.Errorf("query image = %q", s.Image)
	}
	if e.MaxParallel != 2 || e.PauseBetweenWaves.String() != "5m" || e.OnFailure.RollbackAfter.String() != "20m" {
		t.Errorf("rollout settings: maxParallel=%d pause=%s rollbackAfter=%s", e.MaxParallel, e.PauseBetweenWaves, e.OnFailure.RollbackAfter)
	}
	eu := e.ForCluster("eu")
	if n := eu.TenantCount(); n != 3 {
		t.Errorf("ForCluster(eu) has %d tenants, want 3 (canary-eu, bravo, alpha)", n)
	}
}

func flatten(levels [][]string) []string {
	out := make([]string, len(levels))
	for i, l := range levels {
		out[i] = strings.Join(l, ",")
	}
	return out
}

func TestExpandBatchesAndDefaults(t *testing.T) {
	e := expandFile(t, loadTestRepo(t), "deploys/hotfix.yaml")
	if len(e.Waves) != 2 || e.Waves[0].Name != "batch-1" || len(e.Waves[0].Tenants) != 2 || len(e.Waves[1].Tenants) != 2 {
		t.Fatalf("want two batches of 2, got %+v", e.Waves)
	}
	if e.Waves[0].Tenants[0].Name != "alpha" || e.Waves[1].Tenants[1].Name != "charlie" {
		t.Errorf("batches are not sorted by cluster and name: %+v", e.Waves)
	}
	if len(e.Gates()) != 0 {
		t.Errorf("gates = %v, want none", e.Gates())
	}
	if e.Checks.PodsAvailable == nil || e.Checks.PodsAvailable.MinReadyRatio != 1 || e.Checks.NoCriticalAlerts == nil {
		t.Errorf("a plan without checks gets both checks with defaults, got %+v", e.Checks)
	}
	if e.OnFailure.Action != FailureRollback || e.OnFailure.RollbackAfter != 0 {
		t.Errorf("onFailure = %+v", e.OnFailure)
	}
	if e.Apply.Timeout != DefaultApplyTimeout {
		t.Errorf("apply timeout = %s", e.Apply.Timeout)
	}
}

// TestDeterministic expands the same plan many times: map iteration order
// must never leak into the output.
func TestDeterministic(t *testing.T) {
	r := loadTestRepo(t)
	for _, p := range r.Plans {
		first, _ := expandFile(t, r, p.File).JSON()
		for range 20 {
			again, _ := expandFile(t, r, p.File).JSON()
			if !bytes.Equal(first, again) {
				t.Fatalf("%s: expansion is not deterministic", p.File)
			}
		}
	}
}

// TestBadPlans checks every fixture in testdata/bad against the "# want:"
// lines at its end: the exact file:line:col and message of each error, in
// order.
func TestBadPlans(t *testing.T) {
	fleet := loadTestRepo(t).Fleet
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d bad-plan fixtures", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			body, want := splitWant(data)
			name := "deploys/" + filepath.Base(file)
			p, _ := ParsePlan(name, body)
			_, err = Expand(p, fleet)
			var got []string
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Expand: want an ErrorList, got %v", err)
			}
			for _, e := range list {
				got = append(got, e.Error())
			}
			if *update {
				var b bytes.Buffer
				b.Write(body)
				for _, g := range got {
					b.WriteString("# want: " + g + "\n")
				}
				if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// splitWant separates a fixture's YAML from its trailing "# want:" lines.
func splitWant(data []byte) ([]byte, []string) {
	i := bytes.Index(data, []byte("# want: "))
	if i < 0 {
		return data, nil
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(data[i:])), "\n") {
		want = append(want, strings.TrimPrefix(line, "# want: "))
	}
	return data[:i], want
}

// TestDuplicateDeploymentIDs: a plan that reuses a deployment id gets the
// error, whichever name sorts first; without knowing which plan is new,
// both are told.
func TestDuplicateDeploymentIDs(t *testing.T) {
	fleet, _ := os.ReadFile("testdata/repo/fleet.yaml")
	plan, _ := os.ReadFile("testdata/repo/deploys/hotfix.yaml")
	fsys := fstest.MapFS{
		"fleet.yaml":         {Data: fleet},
		"deploys/a.yaml":     {Data: plan}, // new: sorts before the plan it copies
		"deploys/b.yaml":     {Data: plan},
		"deploys/notes.txt":  {Data: []byte("not a plan")},
		"deploys/old/c.yaml": {Data: []byte("nested dirs are not plans")},
	}
	for _, tc := range []struct {
		name    string
		changed []string
		want    []string
	}{
		{name: "the new plan sorts first", changed: []string{"deploys/a.yaml"}, want: []string{
			`deploys/a.yaml:4:9: metadata.name: deployment id "query-hotfix" is already used by deploys/b.yaml:4; deployment ids are unique in the repository, pick a new one`,
		}},
		{name: "the new plan sorts last", changed: []string{"deploys/b.yaml", "fleet.yaml"}, want: []string{
			`deploys/b.yaml:4:9: metadata.name: deployment id "query-hotfix" is already used by deploys/a.yaml:4; deployment ids are unique in the repository, pick a new one`,
		}},
		{name: "both are new", changed: []string{"deploys/a.yaml", "deploys/b.yaml"}, want: []string{
			`deploys/a.yaml:4:9: metadata.name: deployment id "query-hotfix" is also used by deploys/b.yaml:4; deployment ids are unique in the repository, give one of them a new id`,
			`deploys/b.yaml:4:9: metadata.name: deployment id "query-hotfix" is also used by deploys/a.yaml:4; deployment ids are unique in the repository, give one of them a new id`,
		}},
		{name: "unknown which is new", want: []string{
			`deploys/a.yaml:4:9: metadata.name: deployment id "query-hotfix" is also used by deploys/b.yaml:4; deployment ids are unique in the repository, give one of them a new id`,
			`deploys/b.yaml:4:9: metadata.name: deployment id "query-hotfix" is also used by deploys/a.yaml:4; deployment ids are unique in the repository, give one of them a new id`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := LoadRepoWith(fsys, LoadOptions{Changed: tc.changed})
			var got []string
			for _, e := range Errors(err, "deploys/a.yaml", "deploys/b.yaml") {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(r.Plans) != 2 {
				t.Errorf("read %d plans, want 2", len(r.Plans))
			}
		})
	}
}

func TestFleetErrors(t *testing.T) {
	src := `apiVersion: prdeploy.dev/v1
kind: Fleet
clusters:
  - name: eu
services:
  - name: ingest
    image: registry.example.com/acme/ingest:1.0
    path: ../outside
tenants:
  - {name: a, cluster: eu, namespace: tenant-a}
  - {name: b, cluster: mars, namespace: tenant-a, services: [query]}
  - {name: a, cluster: eu, namespace: Tenant_C}
  - {name: d, cluster: eu, namespace: tenant-a}
`
	_, err := ParseFleet("fleet.yaml", []byte(src))
	want := []string{
		`fleet.yaml:7:12: services[0].image: invalid image repository "registry.example.com/acme/ingest:1.0"; write it without tag, e.g. registry.example.com/ingest`,
		`fleet.yaml:8:11: services[0].path: path "../outside" must be a clean path relative to the repository root (no leading /, no ..)`,
		`fleet.yaml:11:24: tenants[1].cluster: unknown cluster "mars"; known: eu`,
		`fleet.yaml:11:41: tenants[1].namespace: namespace "tenant-a" is named for tenant "a" (tenant-<name>) but belongs to tenant "b"; give each tenant its own namespace, e.g. tenant-b, or list "tenant-a" in allowNamespaces to share it on purpose`,
		`fleet.yaml:11:62: tenants[1].services[0]: unknown service "query"; known: ingest`,
		`fleet.yaml:12:12: tenants[2].name: tenant "a" is defined twice`,
		`fleet.yaml:12:39: tenants[2].namespace: namespace name "Tenant_C" must be a DNS label: lower-case letters, digits and '-', at most 63`,
		`fleet.yaml:13:39: tenants[3].namespace: namespace "tenant-a" in cluster "eu" is already used by tenant "a"`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	if got := strings.Split(err.Error(), "\n")[1:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseImage(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "registry.example.com/acme/ingest:4.2.0", want: "registry.example.com/acme/ingest:4.2.0"},
		{in: "localhost:5000/ingest:1", want: "localhost:5000/ingest:1"},
		{in: "ingest@sha256:" + strings.Repeat("a", 64), want: "ingest@sha256:" + strings.Repeat("a", 64)},
		{in: "ghcr.io/acme/ingest:4.2.0@sha256:" + strings.Repeat("b", 64), want: "ghcr.io/acme/ingest:4.2.0@sha256:" + strings.Repeat("b", 64)},
		{in: "registry.example.com/acme/ingest", err: "has no tag or digest"},
		{in: "ingest:latest", err: `uses the tag "latest"`},
		{in: "Acme/Ingest:1", err: "invalid image reference"},
		{in: "ingest:", err: "invalid image reference"},
		{in: "ingest@sha512:" + strings.Repeat("c", 128), want: "ingest@sha512:" + strings.Repeat("c", 128)},
		{in: "ingest@blake3:" + strings.Repeat("d", 64), want: "ingest@blake3:" + strings.Repeat("d", 64)},
		{in: "ingest@sha256+b16:" + strings.Repeat("E", 40), want: "ingest@sha256+b16:" + strings.Repeat("E", 40)}, // unregistered, per the grammar
		{in: "ingest@sha256:" + strings.Repeat("a", 63), err: "sha256 digest has 63 hex digits; a sha256 digest has exactly 64"},
		{in: "ingest@sha256:" + strings.Repeat("a", 65), err: "has exactly 64"},
		{in: "ingest@sha256:" + strings.Repeat("A", 64), err: "sha256 digest must be lower-case hex: sha256:" + strings.Repeat("a", 64)},
		{in: "ingest@sha256:" + strings.Repeat("g", 64), err: "characters other than 0-9 and a-f"},
		{in: "ingest@sha512:" + strings.Repeat("a", 64), err: "a sha512 digest has exactly 128"},
		{in: "ingest@SHA256:" + strings.Repeat("a", 64), err: `invalid digest algorithm "SHA256"`},
		{in: "ingest@sha256-:" + strings.Repeat("a", 64), err: `invalid digest algorithm "sha256-"`},
		{in: "ingest@md5:" + strings.Repeat("a", 31), err: "at least 32 hex digits"},
		{in: "ingest@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", err: "at least 32 hex digits"},
		{in: "ingest@sha256:", err: "sha256 digest has 0 hex digits"},
		{in: "", err: "invalid image reference"},
	} {
		ref, err := ParseImage(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseImage(%q) err = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("ParseImage(%q): %v", tc.in, err)
		case tc.err == "" && ref.String() != tc.want:
			t.Errorf("ParseImage(%q) = %q, want %q", tc.in, ref, tc.want)
		}
	}
}

func TestRender(t *testing.T) {
	r := loadTestRepo(t)
	e := expandFile(t, r, "deploys/rollout.yaml")
	rd, err := NewRenderer(r)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	query, _ := e.Service("query")
	alpha := e.Waves[2].Tenants[0]
	bravo := e.Waves[1].Tenants[0]
	for _, tc := range []struct {
		tenant   TenantTarget
		replicas string
	}{
		{alpha, "replicas: 5"}, // tenants/alpha/query overlay
		{bravo, "replicas: 2"}, // base
	} {
		m, err := rd.Render(tc.tenant, query)
		if err != nil {
			t.Fatal(err)
		}
		y := string(m.YAML)
		for _, want := range []string{
			"image: registry.example.com/acme/query:2.0.0",
			"namespace: " + tc.tenant.Namespace,
			"prdeploy.dev/tenant: " + tc.tenant.Name,
			"prdeploy.dev/service: query",
			"app.kubernetes.io/managed-by: prdeploy",
			tc.replicas,
		} {
			if !strings.Contains(y, want) {
				t.Errorf("%s/query: manifest lacks %q:\n%s", tc.tenant.Name, want, y)
			}
		}
		if strings.Contains(y, "query:1.0.0") {
			t.Errorf("old image left in manifest")
		}
		sum := sha256.Sum256(m.YAML)
		if m.Digest != hex.EncodeToString(sum[:]) {
			t.Errorf("digest %s is not the SHA-256 of the YAML", m.Digest)
		}
		if len(m.Objects) != 2 || m.Objects[0].Kind != "ConfigMap" || m.Objects[1].Kind != "Deployment" {
			t.Errorf("objects = %+v, want ConfigMap then Deployment", m.Objects)
		}
		// The label must not reach the selector or the pod template: that would
		// restart pods or break the Deployment's immutable selector.
		if strings.Count(y, "prdeploy.dev/tenant") != 2 {
			t.Errorf("tenant label should be on object metadata only:\n%s", y)
		}
	}
	again, _ := rd.Render(bravo, query)
	m, _ := rd.Render(bravo, query)
	if again.Digest != m.Digest {
		t.Error("rendering is not deterministic")
	}
}

// TestDenseCycleIsFast: every service after every other one is a cycle with
// many paths; validation must report it without exploring every path.
func TestDenseCycleIsFast(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: dense}\nspec:\n  clusters: [eu]\n  tenants: {names: [alpha]}\n  services:\n")
	names := []string{"ingest", "query", "web"}
	for i := range 30 {
		names = append(names, fmt.Sprintf("s%02d", i))
	}
	for _, n := range names {
		fmt.Fprintf(&b, "    - {name: %s, tag: \"1\", after: [%s]}\n", n, strings.Join(slices.DeleteFunc(slices.Clone(names), func(m string) bool { return m == n }), ", "))
	}
	p, _ := ParsePlan("deploys/dense.yaml", []byte(b.String()))
	done := make(chan error, 1)
	go func() { _, err := Expand(p, loadTestRepo(t).Fleet); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "in a cycle") {
			t.Errorf("want a cycle error, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Expand did not finish in 10s on a dense cycle")
	}
}

// TestFleetNamespaces: tenants do not get Kubernetes' namespaces, nor a
// namespace named for another tenant, unless allowNamespaces says so.
func TestFleetNamespaces(t *testing.T) {
	head := "apiVersion: prdeploy.dev/v1\nkind: Fleet\nclusters: [{name: eu}, {name: us}]\ntenants:\n"
	for _, tc := range []struct {
		name, tenants, allow string
		want                 []string
	}{
		{name: "reserved", tenants: `
  - {name: a, cluster: eu, namespace: kube-system}
  - {name: b, cluster: eu, namespace: kube-public}
  - {name: c, cluster: eu, namespace: kube-node-lease}
  - {name: d, cluster: eu, namespace: default}
  - {name: e, cluster: eu, namespace: kube-flannel}
`, want: []string{
			`fleet.yaml:5:39: tenants[0].namespace: namespace "kube-system" belongs to Kubernetes, not to a tenant; give tenant "a" its own namespace, or list "kube-system" in allowNamespaces to deploy there on purpose`,
			`fleet.yaml:6:39: tenants[1].namespace: namespace "kube-public" belongs to Kubernetes, not to a tenant; give tenant "b" its own namespace, or list "kube-public" in allowNamespaces to deploy there on purpose`,
			`fleet.yaml:7:39: tenants[2].namespace: namespace "kube-node-lease" belongs to Kubernetes, not to a tenant; give tenant "c" its own namespace, or list "kube-node-lease" in allowNamespaces to deploy there on purpose`,
			`fleet.yaml:8:39: tenants[3].namespace: namespace "default" belongs to Kubernetes, not to a tenant; give tenant "d" its own namespace, or list "default" in allowNamespaces to deploy there on purpose`,
			`fleet.yaml:9:39: tenants[4].namespace: namespace "kube-flannel" belongs to Kubernetes, not to a tenant; give tenant "e" its own namespace, or list "kube-flannel" in allowNamespaces to deploy there on purpose`,
		}},
		{name: "another tenant's namespace in another cluster", tenants: `
  - {name: alpha, cluster: eu, namespace: tenant-alpha}
  - {name: bravo, cluster: eu, namespace: tenant-bravo}
  - {name: mallory, cluster: us, namespace: tenant-alpha}
  - {name: eve, cluster: us, namespace: tenant-bravo-x}
`, want: []string{
			`fleet.yaml:7:45: tenants[2].namespace: namespace "tenant-alpha" is named for tenant "alpha" (tenant-<name>) but belongs to tenant "mallory"; give each tenant its own namespace, e.g. tenant-mallory, or list "tenant-alpha" in allowNamespaces to share it on purpose`,
		}},
		{name: "allowed explicitly", tenants: `
  - {name: alpha, cluster: eu, namespace: tenant-alpha}
  - {name: shared, cluster: us, namespace: tenant-alpha}
  - {name: legacy, cluster: us, namespace: default}
`, allow: "allowNamespaces: [tenant-alpha, default, kube-system]\n", want: []string{
			`fleet.yaml:8:42: allowNamespaces[2]: allowNamespaces lists "kube-system", which no tenant uses; remove it`,
		}},
		{name: "a look-alike character in a name", tenants: `
  - {name: аlpha, cluster: eu, namespace: tenant-alpha}
`, want: []string{
			`fleet.yaml:5:12: tenants[0].name: tenant name "аlpha" must be a DNS label: lower-case letters, digits and '-', at most 63; it holds U+0430 CYRILLIC SMALL LETTER A at position 1; names are ASCII (a-z, 0-9 and '-')`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFleet("fleet.yaml", []byte(head+strings.TrimPrefix(tc.tenants, "\n")+tc.allow))
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
