package planner_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
)

// Per-input budget of FuzzLoadRepo: whatever the files hold, loading the
// repository, expanding every plan and checking the policies stays within
// this. The bounds of the loader (planner.MaxNodes and the others) are what
// keep it there; fuzz inputs are far smaller than planner.MaxFileBytes.
const (
	fuzzTimeBudget  = 2 * time.Second
	fuzzAllocBudget = 256 << 20
)

// FuzzLoadRepo feeds a whole repository to the loader: the input is a
// txtar-like archive ("-- path --" lines, each followed by the file), so
// that the fuzzer varies several plans, policies and the fleet at once,
// and cross-file checks (duplicate ids, the fleet a plan expands against)
// are exercised too. Nothing may panic, every error names a file and a
// position, and each input stays within a time and memory budget.
// Seeds: testdata/repo, every bad-plan fixture beside it, and hostile
// shapes (aliases, tabs, look-alike names).
// Run: go test ./planner -run '^$' -fuzz FuzzLoadRepo -fuzztime 60s
func FuzzLoadRepo(f *testing.F) {
	var repo bytes.Buffer
	for _, name := range []string{"fleet.yaml", "deploys/hotfix.yaml", "deploys/rollout.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata/repo", name))
		if err != nil {
			f.Fatal(err)
		}
		fmt.Fprintf(&repo, "-- %s --\n%s", name, data)
	}
	f.Add(repo.Bytes())
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, file := range bad {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(bytes.Clone(repo.Bytes()), fmt.Sprintf("-- deploys/%s --\n%s", filepath.Base(file), data)...))
	}
	f.Add(append(bytes.Clone(repo.Bytes()), "-- deploys/copy.yaml --\napiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: query-hotfix}\n"...))
	f.Add(append(bytes.Clone(repo.Bytes()), "-- deploys/alias.yaml --\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n"...))
	f.Add(append(bytes.Clone(repo.Bytes()), "-- policies/p.yaml --\napiVersion: prdeploy.dev/v1\nkind: DeployPolicy\nmetadata: {name: p}\nrules:\n  - name: x\n    deny: no\n    when: plan.tenantCount > 3\n  - name: x\n\tdeny: no\n"...))
	f.Add([]byte("-- fleet.yaml --\napiVersion: prdeploy.dev/v1\nkind: Fleet\nclusters: [{name: eu}]\ntenants: [{name: \u0430, cluster: eu, namespace: default}]\n-- deploys/a.yaml --\n---\n"))
	f.Fuzz(func(t *testing.T, archive []byte) {
		fsys := parseArchive(archive)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()

		r, err := planner.LoadRepoWith(fsys, planner.LoadOptions{Changed: []string{"deploys/a.yaml"}})
		var all planner.ErrorList
		if err != nil && !errors.As(err, &all) {
			t.Fatalf("LoadRepoWith: %T %v, want an ErrorList", err, err)
		}
		checkPositions(t, fsys, all, err)
		for _, p := range r.Plans {
			if r.Fleet == nil {
				break
			}
			e, err := planner.Expand(p, r.Fleet)
			if err != nil {
				checkPositions(t, fsys, planner.Errors(err, p.File), err)
				continue
			}
			if _, err := e.JSON(); err != nil {
				t.Fatal(err)
			}
			_ = e.Markdown()
		}
		for _, e := range policies.Validate(fsys) {
			if e.File == "" || (e.File != planner.PoliciesDir && e.Line < 1) {
				t.Fatalf("policy error without a position: %#v", e)
			}
		}

		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; took > fuzzTimeBudget || alloc > fuzzAllocBudget {
			t.Fatalf("%d bytes of input cost %v and %d MB; the budget is %v and %d MB", len(archive), took, alloc>>20, fuzzTimeBudget, fuzzAllocBudget>>20)
		}
	})
}

// checkPositions fails when an error does not say where: every error
// names a file, and a position in it unless it is not a file (missing, or
// a directory).
func checkPositions(t *testing.T, fsys fs.FS, errs planner.ErrorList, err error) {
	t.Helper()
	for _, e := range errs {
		if st, statErr := fs.Stat(fsys, e.File); e.File != "" && e.Line == 0 && (statErr != nil || !st.Mode().IsRegular()) {
			continue
		}
		if e.File == "" || e.Line < 1 || e.Col < 1 {
			t.Fatalf("error without a position: %#v\nin %v", e, err)
		}
	}
}

// parseArchive reads "-- path --" sections into a file system. Paths that
// are not valid fs paths are dropped; an archive without sections is one
// plan file.
func parseArchive(data []byte) fstest.MapFS {
	fsys := fstest.MapFS{}
	name := "deploys/a.yaml"
	var body []byte
	flush := func() {
		if fs.ValidPath(name) {
			fsys[name] = &fstest.MapFile{Data: bytes.Clone(body)}
		}
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		s := strings.TrimRight(string(line), "\r\n")
		if strings.HasPrefix(s, "-- ") && strings.HasSuffix(s, " --") && len(s) > 6 {
			if len(body) > 0 || len(fsys) > 0 {
				flush()
			}
			name, body = strings.TrimSpace(s[3:len(s)-3]), nil
			continue
		}
		body = append(body, line...)
	}
	flush()
	return fsys
}
