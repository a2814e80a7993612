package archtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/prdeploy/prdeploy/"

// pkg is what `go list -json` says of one package (its non-test files).
type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// rel is a module package's path inside the module ("planner"), or the
// import path itself for the rest.
func rel(importPath string) string { return strings.TrimPrefix(importPath, module) }

// under says whether an import path is prefix or a package below it.
func under(importPath, prefix string) bool {
	return importPath == prefix || strings.HasPrefix(importPath, prefix+"/")
}

// domainRule is what one domain package may import.
type domainRule struct {
	pkg string
	// mayImport are the prdeploy packages it may import directly.
	mayImport []string
	// forbid are import paths (and what is below them) its own files
	// must not import; exceptFiles names the files that may, and why.
	forbid      []string
	exceptFiles map[string][]string // import → files
	// forbidDeps must not be anywhere among its dependencies.
	forbidDeps []string
}

var sdks = []string{"go.temporal.io", "k8s.io/client-go", "github.com/google/go-github", "github.com/slack-go/slack",
	"github.com/go-git/go-git", "gocloud.dev", "github.com/temporalio/ui-server"}

var domainRules = []domainRule{
	{pkg: "planner",
		forbid: append([]string{"net", "os/exec"}, sdks...),
		// The render sandbox replaces http.DefaultTransport with one that
		// refuses, and runs its own binary as the sandbox.
		exceptFiles: map[string][]string{"net/http": {"sandbox.go"}, "os/exec": {"sandbox.go"}},
		forbidDeps:  []string{"go.temporal.io", "k8s.io/client-go", module + "internal"}},
	{pkg: "policies", mayImport: []string{"planner"},
		forbid:     append([]string{"net", "os", "os/exec"}, sdks...),
		forbidDeps: []string{"go.temporal.io", "k8s.io/client-go", module + "internal"}},
	// commands is the vocabulary webhook and workflows share: pure, and
	// nothing of prdeploy, so that both may import it.
	{pkg: "commands",
		forbid:     append([]string{"net", "os", "os/exec"}, sdks...),
		forbidDeps: []string{"go.temporal.io", "k8s.io/client-go", module + "internal"}},
	{pkg: "workflows", mayImport: []string{"commands", "planner", "policies"},
		forbid: []string{"net", "os/exec", "go.temporal.io/server", "k8s.io/client-go", "github.com/google/go-github",
			"github.com/slack-go/slack", "github.com/go-git/go-git", "gocloud.dev"},
		forbidDeps: []string{"go.temporal.io/server", "k8s.io/client-go", module + "internal", module + "webhook"}},
	{pkg: "webhook", mayImport: []string{"commands", "planner", "policies"},
		forbid:     []string{"go.temporal.io", "k8s.io/client-go", "github.com/go-git/go-git", "gocloud.dev"},
		forbidDeps: []string{"go.temporal.io", "k8s.io/client-go", module + "internal", module + "workflows"}},
}

// sdkHomes are the only module packages that import each SDK directly.
var sdkHomes = map[string][]string{
	"go.temporal.io/server": {"internal/devserver"},
	// serve lists the kubeconfig's contexts for /readyz; the demo makes
	// the tenants' namespaces on the local control plane.
	"k8s.io/client-go":                {"internal/kube", "internal/kube/kubetest", "internal/serve", "internal/demo"},
	"github.com/go-git/go-git":        {"internal/githubapp", "internal/githubsim", "internal/gitrepo", "internal/gitrepo/gittest"},
	"github.com/google/go-github":     {"internal/githubapp", "webhook"},
	"github.com/slack-go/slack":       {"internal/slack", "webhook"},
	"gocloud.dev":                     {"internal/payload", "internal/demo"}, // the demo makes a random payload key
	"sigs.k8s.io/kustomize":           {"planner"},
	"github.com/temporalio/ui-server": {"internal/temporalui"},
}

// isHarness: test harnesses are named …test (kubetest, simtest, …).
func isHarness(p pkg) bool { return strings.HasSuffix(p.Name, "test") }

// violations checks every rule against the packages and says what breaks
// them, one line each.
func violations(pkgs []pkg) []string {
	byPath := map[string]pkg{}
	for _, p := range pkgs {
		byPath[rel(p.ImportPath)] = p
	}
	var out []string
	for _, r := range domainRules {
		p, ok := byPath[r.pkg]
		if !ok {
			out = append(out, fmt.Sprintf("%s: no such package (rename the rule with the package)", r.pkg))
			continue
		}
		out = append(out, domainViolations(r, p)...)
	}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			for sdk, homes := range sdkHomes {
				if under(imp, sdk) && !slices.Contains(homes, rel(p.ImportPath)) {
					out = append(out, fmt.Sprintf("%s imports %s: only %s may (an adapter's port belongs in the domain, the SDK in its adapter)", rel(p.ImportPath), imp, strings.Join(homes, ", ")))
				}
			}
			if dep, ok := byPath[rel(imp)]; ok && isHarness(dep) && !isHarness(p) {
				out = append(out, fmt.Sprintf("%s imports the test harness %s: only tests may", rel(p.ImportPath), rel(imp)))
			}
			if imp == "testing" && !isHarness(p) {
				out = append(out, fmt.Sprintf(`%s imports "testing": only test harnesses (packages named …test) may`, rel(p.ImportPath)))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func domainViolations(r domainRule, p pkg) []string {
	var out []string
	for _, imp := range p.Imports {
		if under(imp, strings.TrimSuffix(module, "/")) && !slices.Contains(r.mayImport, rel(imp)) {
			out = append(out, fmt.Sprintf("%s imports %s: it may import only %s of prdeploy", r.pkg, rel(imp), orNothing(r.mayImport)))
		}
	}
	for _, dep := range p.Deps {
		for _, f := range r.forbidDeps {
			if under(dep, f) {
				out = append(out, fmt.Sprintf("%s depends on %s (through its imports): it must not reach %s", r.pkg, dep, rel(f)))
			}
		}
	}
	for file, imports := range fileImports(p) {
		for _, imp := range imports {
			for _, f := range r.forbid {
				if under(imp, f) && !slices.Contains(r.exceptFiles[imp], file) {
					out = append(out, fmt.Sprintf("%s/%s imports %s: %s must not", r.pkg, file, imp, r.pkg))
				}
			}
		}
	}
	return out
}

func orNothing(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(l, " and ")
}

// fileImports reads the imports of each of the package's files.
func fileImports(p pkg) map[string][]string {
	out := map[string][]string{}
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ImportsOnly)
		if err != nil {
			out[name] = []string{"<unreadable: " + err.Error() + ">"}
			continue
		}
		for _, s := range f.Imports {
			v, _ := strconv.Unquote(s.Path.Value)
			out[name] = append(out[name], v)
		}
	}
	return out
}

// listModule is `go list -json` of every package of the module.
func listModule(t *testing.T) []pkg {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the module's packages: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-json", "./...")
	cmd.Dir = filepath.Join("..", "..")
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(outPipe)
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list -json: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list -json ./...: %v\n%s", err, stderr.String())
	}
	return pkgs
}

// TestImportRules: the module keeps the import rules its package docs
// state (see doc.go).
func TestImportRules(t *testing.T) {
	pkgs := listModule(t)
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; is this the module root?", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestImportRulesBite: each kind of rule reports a package that breaks it
// (the module itself keeps them all, so the breaking packages are made up).
func TestImportRulesBite(t *testing.T) {
	clean := func() []pkg {
		return []pkg{
			{ImportPath: module + "planner", Name: "planner", Dir: t.TempDir()},
			{ImportPath: module + "policies", Name: "policies", Dir: t.TempDir(), Imports: []string{module + "planner"}},
			{ImportPath: module + "workflows", Name: "workflows", Dir: t.TempDir(), Imports: []string{module + "planner", "go.temporal.io/sdk/workflow"}},
			{ImportPath: module + "webhook", Name: "webhook", Dir: t.TempDir(), Imports: []string{"github.com/google/go-github/v60/github"}},
			{ImportPath: module + "internal/kube", Name: "kube", Dir: t.TempDir(), Imports: []string{"k8s.io/client-go/kubernetes"}},
			{ImportPath: module + "internal/sim/simtest", Name: "simtest", Dir: t.TempDir(), Imports: []string{"testing"}},
			{ImportPath: module + "commands", Name: "commands", Dir: t.TempDir()},
		}
	}
	if v := violations(clean()); len(v) > 0 {
		t.Fatalf("a clean module breaks rules: %q", v)
	}
	write := func(dir, file, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		breakIt func(ps []pkg)
		want    string
	}{
		{"the planner imports another prdeploy package", func(ps []pkg) { ps[0].Imports = append(ps[0].Imports, module+"policies") },
			"planner imports policies: it may import only nothing of prdeploy"},
		{"policies reach Temporal", func(ps []pkg) { ps[1].Deps = append(ps[1].Deps, "go.temporal.io/sdk/client") },
			"policies depends on go.temporal.io/sdk/client (through its imports): it must not reach go.temporal.io"},
		{"a policies file does I/O", func(ps []pkg) {
			ps[1].GoFiles = []string{"load.go"}
			write(ps[1].Dir, "load.go", "package policies\n\nimport \"net/http\"\n\nvar _ = http.Get\n")
		}, "policies/load.go imports net/http: policies must not"},
		{"net/http in a planner file other than the sandbox", func(ps []pkg) {
			ps[0].GoFiles = []string{"sandbox.go", "render.go"}
			write(ps[0].Dir, "sandbox.go", "package planner\n\nimport \"net/http\"\n\nvar _ = http.Get\n")
			write(ps[0].Dir, "render.go", "package planner\n\nimport \"net/http\"\n\nvar _ = http.Get\n")
		}, "planner/render.go imports net/http: planner must not"},
		{"workflows reach an adapter", func(ps []pkg) { ps[2].Deps = append(ps[2].Deps, module+"internal/kube") },
			"workflows depends on " + module + "internal/kube (through its imports): it must not reach internal"},
		{"webhook imports workflows", func(ps []pkg) {
			ps[3].Imports = append(ps[3].Imports, module+"workflows")
			ps[3].Deps = append(ps[3].Deps, module+"workflows")
		}, "webhook imports workflows: it may import only commands and planner and policies of prdeploy"},
		{"an SDK outside its home", func(ps []pkg) { ps[2].Imports = append(ps[2].Imports, "github.com/slack-go/slack") },
			"workflows imports github.com/slack-go/slack: only internal/slack, webhook may"},
		{"production code imports a harness", func(ps []pkg) { ps[4].Imports = append(ps[4].Imports, module+"internal/sim/simtest") },
			"internal/kube imports the test harness internal/sim/simtest: only tests may"},
		{"production code imports testing", func(ps []pkg) { ps[4].Imports = append(ps[4].Imports, "testing") },
			`internal/kube imports "testing": only test harnesses`},
		{"the command vocabulary imports another prdeploy package", func(ps []pkg) { ps[6].Imports = append(ps[6].Imports, module+"policies") },
			"commands imports policies: it may import only nothing of prdeploy"},
		{"a rule's package is gone", func(ps []pkg) { ps[0].ImportPath = module + "plans" },
			"planner: no such package"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps := clean()
			c.breakIt(ps)
			v := violations(ps)
			if !slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, c.want) }) {
				t.Errorf("violations %q, want one starting %q", v, c.want)
			}
		})
	}
}
