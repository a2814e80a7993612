package planner

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// remoteFieldCases are the ways a kustomization can name something to load:
// every field of kustomize's Kustomization that takes a file, a directory or
// a URL, and every builtin plugin config that does (inline in
// transformers/generators, or in a file of the repository). Each names the
// test server; the render must fail at the reference without one request.
// The file holding {{URL}} is where the error must point.
var remoteFieldCases = []struct {
	field string
	files map[string]string // tenants/alpha/web/ relative unless starting with /
	// anchor is the text whose line the error must name (default {{URL}}).
	anchor string
}{
	{"resources (file URL)", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\n  - {{URL}}/cm.yaml\n"}, ""},
	{"resources (git URL)", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\n  - {{URL}}/acme/bases.git//web?ref=main\n"}, ""},
	{"resources (file:// git)", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\n  - file:///etc/{{URL}}\n"}, ""},
	{"bases", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nbases:\n  - {{URL}}/acme/bases//web?ref=main\n"}, ""},
	{"components", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ncomponents:\n  - {{URL}}/acme/comp.git//c?ref=main\n"}, ""},
	{"crds", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ncrds:\n  - {{URL}}/crd.json\n"}, ""},
	{"configurations", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nconfigurations:\n  - {{URL}}/config.yaml\n"}, ""},
	{"openapi.path", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nopenapi:\n  path: {{URL}}/schema.json\n"}, ""},
	{"patches[].path", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\npatches:\n  - path: {{URL}}/patch.yaml\n"}, ""},
	{"patchesJson6902[].path", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\npatchesJson6902:\n  - target: {group: apps, version: v1, kind: Deployment, name: web}\n    path: {{URL}}/patch.json\n"}, ""},
	{"patchesStrategicMerge[]", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\npatchesStrategicMerge:\n  - {{URL}}/patch.yaml\n"}, ""},
	{"replacements[].path", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nreplacements:\n  - path: {{URL}}/replacement.yaml\n"}, ""},
	{"configMapGenerator.files", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nconfigMapGenerator:\n  - name: x\n    files:\n      - conf={{URL}}/app.conf\n"}, ""},
	{"configMapGenerator.envs", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nconfigMapGenerator:\n  - name: x\n    envs:\n      - {{URL}}/app.env\n"}, ""},
	{"configMapGenerator.env", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nconfigMapGenerator:\n  - name: x\n    env: {{URL}}/app.env\n"}, ""},
	{"secretGenerator.files", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nsecretGenerator:\n  - name: x\n    files:\n      - {{URL}}/key.pem\n"}, ""},
	{"secretGenerator.envs", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nsecretGenerator:\n  - name: x\n    envs:\n      - {{URL}}/secret.env\n"}, ""},
	{"generators[] (URL)", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ngenerators:\n  - {{URL}}/generator.yaml\n"}, ""},
	{"transformers[] (URL)", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - {{URL}}/transformer.yaml\n"}, ""},
	{"validators[] (URL)", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nvalidators:\n  - {{URL}}/validator.yaml\n"}, ""},
	{"helmCharts[].repo", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nhelmCharts:\n  - name: evil\n    version: 1.0.0\n    repo: {{URL}}/charts\n"}, ""},
	{"helmCharts[].valuesFile", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nhelmCharts:\n  - name: evil\n    valuesFile: {{URL}}/values.yaml\n"}, ""},
	{"helmChartInflationGenerator[].chartRepoUrl", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\nhelmChartInflationGenerator:\n  - chartName: evil\n    chartRepoUrl: {{URL}}/charts\n"}, ""},
	{"transformers[] inline PatchTransformer.path", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: PatchTransformer\n    metadata: {name: p}\n    path: {{URL}}/patch.yaml\n"}, ""},
	{"transformers[] inline PatchJson6902Transformer.path", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: PatchJson6902Transformer\n    metadata: {name: p}\n    target: {group: apps, version: v1, kind: Deployment, name: web}\n    path: {{URL}}/patch.json\n"}, ""},
	{"transformers[] inline PatchStrategicMergeTransformer.paths", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: PatchStrategicMergeTransformer\n    metadata: {name: p}\n    paths:\n      - {{URL}}/patch.yaml\n"}, ""},
	{"transformers[] inline ReplacementTransformer.replacements[].path", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: ReplacementTransformer\n    metadata: {name: r}\n    replacements:\n      - path: {{URL}}/replacement.yaml\n"}, ""},
	{"generators[] inline ConfigMapGenerator.files", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ngenerators:\n  - |-\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata: {name: g}\n    files:\n      - {{URL}}/app.conf\n"}, ""},
	{"generators[] inline HelmChartInflationGenerator", map[string]string{"kustomization.yaml": "resources:\n  - ../../../services/web\ngenerators:\n  - |-\n    apiVersion: builtin\n    kind: HelmChartInflationGenerator\n    metadata: {name: h}\n    name: evil\n    repo: {{URL}}/charts\n"}, "kind: HelmChartInflationGenerator"},
	{"transformers[] file in the repository with PatchTransformer.path", map[string]string{
		"kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - patcher.yaml\n",
		"patcher.yaml":       "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: {{URL}}/patch.yaml\n"}, ""},
	{"components[] local component with patches[].path", map[string]string{
		"kustomization.yaml":                  "resources:\n  - ../../../services/web\ncomponents:\n  - ../../../components/evil\n",
		"/components/evil/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: {{URL}}/patch.yaml\n"}, ""},
	{"resources[] local base with patchesJson6902", map[string]string{
		"kustomization.yaml":             "resources:\n  - ../../../bases/evil\n",
		"/bases/evil/kustomization.yaml": "resources:\n  - ../../services/web\npatchesJson6902:\n  - target: {group: apps, version: v1, kind: Deployment, name: web}\n    path: {{URL}}/patch.json\n"}, ""},
	{"transformers[] exec plugin", map[string]string{
		"kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - plugin.yaml\n",
		"plugin.yaml":        "apiVersion: someteam.example.com/v1\nkind: Fetcher\nmetadata:\n  name: f\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /usr/bin/curl\nurl: {{URL}}/x\n"}, "kind: Fetcher"},
}

// remoteServer counts every request it gets and answers as a helpful
// attacker would: a patch that makes the pods privileged.
func remoteServer(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String())
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, ".json"):
			fmt.Fprint(w, `[{"op":"add","path":"/spec/template/spec/containers/0/securityContext","value":{"privileged":true}}]`)
		default:
			fmt.Fprint(w, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          securityContext:\n            privileged: true\n")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// remoteFieldRepo is the test repository with the case's files added.
func remoteFieldRepo(t *testing.T, files map[string]string, anchor, url string) (fstest.MapFS, string) {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, f := range []string{"fleet.yaml", "services/web/kustomization.yaml", "services/web/deployment.yaml", "services/web/configmap.yaml"} {
		data, err := os.ReadFile("testdata/repo/" + f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	if anchor == "" {
		anchor = "{{URL}}"
	}
	var at string
	for name, content := range files {
		p := "tenants/alpha/web/" + name
		if strings.HasPrefix(name, "/") {
			p = name[1:]
		}
		if i := strings.Index(content, anchor); i >= 0 {
			at = fmt.Sprintf("%s:%d", p, strings.Count(content[:i], "\n")+1)
		}
		fsys[p] = &fstest.MapFile{Data: []byte(strings.ReplaceAll(content, "{{URL}}", url))}
	}
	return fsys, at
}

var alphaWeb = struct {
	tenant  TenantTarget
	service ServiceRollout
}{TenantTarget{Name: "alpha", Cluster: "eu", Namespace: "tenant-alpha"}, ServiceRollout{Name: "web", Image: "registry.example.com/acme/web:2.0.0"}}

// TestRenderNeverReachesTheNetwork: whatever field of a kustomization names
// a URL, rendering fails at the reference (file:line) and the server sees
// no request. It runs twice: as prdeploy renders (the early check of the
// usual fields first), and with the sandbox alone, which is the guarantee.
func TestRenderNeverReachesTheNetwork(t *testing.T) {
	var table strings.Builder
	table.WriteString("| field | requests (render) | requests (sandbox alone) | error |\n|---|---|---|---|\n")
	for _, tc := range remoteFieldCases {
		t.Run(tc.field, func(t *testing.T) {
			var seen [2]int
			var first error
			for i, checked := range []bool{true, false} {
				srv, requests := remoteServer(t)
				fsys, at := remoteFieldRepo(t, tc.files, tc.anchor, srv.URL)
				r, err := LoadRepo(fsys)
				if err != nil {
					t.Fatal(err)
				}
				rd, err := newRenderer(r, checked)
				if err == nil {
					_, err = rd.Render(alphaWeb.tenant, alphaWeb.service)
					rd.Close()
				}
				seen[i] = len(requests())
				if i == 0 {
					first = err
				}
				if seen[i] != 0 {
					t.Errorf("early check %v: the server got %d requests: %v", checked, seen[i], requests())
				}
				if err == nil {
					t.Fatalf("early check %v: the render succeeded", checked)
				}
				if !strings.Contains(err.Error(), at+":") {
					t.Errorf("early check %v: err = %v\nwant it to name the reference at %s", checked, err, at)
				}
			}
			fmt.Fprintf(&table, "| `%s` | %d | %d | %s |\n", tc.field, seen[0], seen[1], firstLine(first))
		})
	}
	if testing.Verbose() {
		t.Logf("field → requests seen\n%s", table.String())
	}
}

var lineRE = regexp.MustCompile(`\s+`)

func firstLine(err error) string {
	if err == nil {
		return "rendered"
	}
	s := lineRE.ReplaceAllString(err.Error(), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// TestRenderIsolatesKustomizeState: a kustomization that sets kustomize's
// process-wide OpenAPI schema (here, a broken one) changes neither how the
// next tenant renders nor the caller: kustomize panics on that schema at
// the next object of an unknown kind (charlie's inline transformer), and
// in-process that would crash the worker.
func TestRenderIsolatesKustomizeState(t *testing.T) {
	fsys, _ := remoteFieldRepo(t, map[string]string{
		"kustomization.yaml": "resources:\n  - ../../../services/web\nopenapi:\n  path: schema.json\n",
		"schema.json":        "[]\n",
		"/tenants/charlie/web/kustomization.yaml": "resources:\n  - ../../../services/web\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: PatchTransformer\n    metadata: {name: p}\n    patch: '{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"web\", \"annotations\": {\"team\": \"charlie\"}}}'\n",
	}, "", "")
	r, err := LoadRepo(fsys)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewRenderer(r)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	charlie := TenantTarget{Name: "charlie", Cluster: "eu", Namespace: "tenant-charlie"}
	before, err := rd.Render(charlie, alphaWeb.service)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rd.Render(alphaWeb.tenant, alphaWeb.service)
	t.Logf("alpha with a broken OpenAPI schema: %v", err)
	after, err := rd.Render(charlie, alphaWeb.service)
	if err != nil {
		t.Fatalf("charlie after alpha's schema: %v", err)
	}
	if after.Digest != before.Digest {
		t.Errorf("charlie renders differently after alpha's schema:\n%s\nbefore:\n%s", after.YAML, before.YAML)
	}
}
