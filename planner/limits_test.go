package planner

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// cost runs f and returns how long it took and how many bytes it allocated.
func cost(f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.TotalAlloc - before.TotalAlloc
}

const planHeader = "apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: hostile}\nspec:\n  clusters: [eu]\n  services: [{name: ingest, tag: \"1\"}]\n"

// aliasBombPlan is the plan of issue 20: one long list under an anchor,
// used by a few hundred aliases. About 150 KB; expanded, it is millions of
// values (the decoder used to follow each alias, and ran out of memory at
// about 6 GB).
func aliasBombPlan() []byte {
	var b strings.Builder
	b.WriteString(planHeader)
	b.WriteString("  tenants:\n    names: &t [")
	for i := range 23_500 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("alpha")
	}
	b.WriteString("]\n  rollout:\n    waves:\n")
	for i := range 300 {
		fmt.Fprintf(&b, "      - {name: w%d, tenants: *t}\n", i)
	}
	return []byte(b.String())
}

// bigPlan is a valid-looking plan of 10 MB (a long description).
func bigPlan() []byte {
	return []byte(planHeader + "  tenants: {names: [alpha]}\n  # " + strings.Repeat("x", 10<<20) + "\n")
}

// TestHostilePlansFailAlone: each hostile plan fails on its own, fast and
// in little memory, with an error at its position; the valid plans beside
// it in the repository still load and expand.
func TestHostilePlansFailAlone(t *testing.T) {
	bomb, big := aliasBombPlan(), bigPlan()
	if n := len(bomb); n < 140_000 || n > 160_000 {
		t.Fatalf("the alias plan is %d bytes, want about 150 KB", n)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"alias.yaml", bomb, "deploys/alias.yaml:14:29: alias *t makes the file more than 100000 YAML values once expanded (it copies 23501 values each time it is used); at most 100000 are read per file: write the value out once, or shorten it"},
		{"big.yaml", big, "deploys/big.yaml:1:1: the file is 10.0 MiB; at most 1 MiB are read per file, so it was not read: split it or write it shorter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			d, alloc := cost(func() { _, err = ParsePlan("deploys/"+tc.name, tc.data) })
			t.Logf("%s (%d bytes): %v, %.1f MB allocated", tc.name, len(tc.data), d, float64(alloc)/(1<<20))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
			if d > time.Second || alloc > 100<<20 {
				t.Errorf("took %v and %d MB; want under 1s and 100 MB", d, alloc>>20)
			}
		})
	}

	fsys := repoFS(t)
	fsys["deploys/alias.yaml"] = &fstest.MapFile{Data: bomb}
	fsys["deploys/big.yaml"] = &fstest.MapFile{Data: big}
	var r *Repo
	var err error
	d, alloc := cost(func() { r, err = LoadRepo(fsys) })
	t.Logf("LoadRepo with both beside the valid plans: %v, %.1f MB allocated", d, float64(alloc)/(1<<20))
	if d > 2*time.Second || alloc > 200<<20 {
		t.Errorf("LoadRepo took %v and %d MB", d, alloc>>20)
	}
	for _, f := range []string{"deploys/alias.yaml", "deploys/big.yaml"} {
		if len(Errors(err, f)) != 1 {
			t.Errorf("%s: want one error, got %v", f, Errors(err, f))
		}
	}
	for _, f := range []string{"deploys/hotfix.yaml", "deploys/rollout.yaml"} {
		if errs := Errors(err, f); len(errs) > 0 {
			t.Errorf("%s: %v", f, errs)
		}
		p, ok := r.Plan(f)
		if !ok {
			t.Fatalf("%s was not loaded", f)
		}
		if _, err := Expand(p, r.Fleet); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// repoFS returns testdata/repo as a MapFS that tests can add files to.
func repoFS(t testing.TB) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, f := range []string{"fleet.yaml", "deploys/hotfix.yaml", "deploys/rollout.yaml"} {
		data, err := os.ReadFile("testdata/repo/" + f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// TestYAMLCost: every way a small file can stand for a lot of work is
// refused at the place it happens, before the work is done.
func TestYAMLCost(t *testing.T) {
	nested := planHeader + "x0: &a0 [alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha]\n"
	for i := 1; i < 9; i++ {
		nested += fmt.Sprintf("x%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	dense := planHeader + "  tenants:\n    names: [" + strings.Repeat("a,", 400_000) + "a]\n"
	for _, tc := range []struct {
		name, src, want string
	}{
		{"billion laughs", nested, "deploys/x.yaml:11:45: alias *a3 makes the file more than 100000 YAML values once expanded (it copies 11111 values each time it is used); at most 100000 are read per file: write the value out once, or shorten it"},
		{"alias inside its own anchor", planHeader + "  tenants: &t {names: [alpha], exclude: *t}\n", "deploys/x.yaml:7:41: alias *t names a value that contains it, so it would never end; write the value out"},
		{"dense flow list", dense, "deploys/x.yaml:8:199966: the file holds more than 100000 YAML values (at most 100000 are read per file); split it or write it shorter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			d, alloc := cost(func() { _, err = ParsePlan("deploys/x.yaml", []byte(tc.src)) })
			t.Logf("%d bytes: %v, %.1f MB allocated", len(tc.src), d, float64(alloc)/(1<<20))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
			if d > time.Second || alloc > 100<<20 {
				t.Errorf("took %v and %d MB; want under 1s and 100 MB", d, alloc>>20)
			}
		})
	}
}

// TestHostileFleetFailsAlone: an alias bomb in fleet.yaml fails the fleet
// with its position; the plans are still read (and report the fleet error).
func TestHostileFleetFailsAlone(t *testing.T) {
	fsys := repoFS(t)
	var b strings.Builder
	b.WriteString(string(fsys["fleet.yaml"].Data))
	b.WriteString("allowNamespaces: &n [")
	b.WriteString(strings.Repeat("default, ", 20_000))
	b.WriteString("default]\n")
	b.WriteString("x: [" + strings.Repeat("*n, ", 100) + "*n]\n")
	fsys["fleet.yaml"] = &fstest.MapFile{Data: []byte(b.String())}
	var r *Repo
	var err error
	d, alloc := cost(func() { r, err = LoadRepo(fsys) })
	if d > time.Second || alloc > 100<<20 {
		t.Errorf("took %v and %d MB; want under 1s and 100 MB", d, alloc>>20)
	}
	want := `fleet.yaml:26:` // the line of the aliases
	if errs := Errors(err); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) || !strings.Contains(errs[0].Message, "more than 500000 YAML values") {
		t.Errorf("errors = %v, want one at %s…", errs, want)
	}
	if len(r.Plans) != 2 {
		t.Errorf("read %d plans, want 2", len(r.Plans))
	}
}

// TestErrorsPerFile: a plan with thousands of problems reports the first
// MaxErrorsPerFile and says that it left the rest out.
func TestErrorsPerFile(t *testing.T) {
	var names []string
	for i := range 5000 {
		names = append(names, fmt.Sprintf("nobody-%d", i))
	}
	src := planHeader + "  tenants: {names: [" + strings.Join(names, ", ") + "]}\n"
	p, _ := ParsePlan("deploys/x.yaml", []byte(src))
	var err error
	d, _ := cost(func() { _, err = Expand(p, loadTestRepo(t).Fleet) })
	errs := Errors(err, "deploys/x.yaml")
	if len(errs) != MaxErrorsPerFile+1 {
		t.Fatalf("%d errors, want %d and one that says more were left out", len(errs), MaxErrorsPerFile)
	}
	if last := errs[len(errs)-1].Message; !strings.HasPrefix(last, "more problems in this file are not shown") {
		t.Errorf("last error = %q", last)
	}
	if d > time.Second {
		t.Errorf("Expand took %v", d)
	}
}

// TestFilesPerRepository: plans past MaxFiles are reported, not read.
func TestFilesPerRepository(t *testing.T) {
	fsys := repoFS(t)
	for i := range MaxFiles {
		fsys[fmt.Sprintf("deploys/a%05d.yaml", i)] = &fstest.MapFile{Data: []byte("{}")}
	}
	r, err := LoadRepo(fsys)
	if len(r.Plans) != MaxFiles {
		t.Errorf("read %d plans, want %d", len(r.Plans), MaxFiles)
	}
	for _, f := range []string{"deploys/hotfix.yaml", "deploys/rollout.yaml"} {
		errs := Errors(err, f)
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Message, "not read: deploys/ holds 10002 plan files and at most 10000 are read") {
			t.Errorf("%s: %v", f, errs)
		}
	}
}

// TestManyProblemsAreCheap: a plan at the value limit whose every entry is
// a problem costs no more than one with a hundred problems: explaining
// stops when the file has as many problems as are reported.
func TestManyProblemsAreCheap(t *testing.T) {
	var excl, wave []string
	for i := range 20_000 {
		excl = append(excl, fmt.Sprintf("x%d", i))
		wave = append(wave, fmt.Sprintf("w%d", i))
	}
	src := planHeader + "  tenants: {names: [alpha], exclude: [" + strings.Join(excl, ",") + "]}\n  rollout:\n    waves: [{name: w, tenants: [" + strings.Join(wave, ",") + "]}]\n"
	fleet := loadTestRepo(t).Fleet
	var err error
	d, alloc := cost(func() {
		p, _ := ParsePlan("deploys/x.yaml", []byte(src))
		_, err = Expand(p, fleet)
	})
	t.Logf("%d bytes: %v, %.1f MB allocated", len(src), d, float64(alloc)/(1<<20))
	if n := len(Errors(err, "deploys/x.yaml")); n != MaxErrorsPerFile+1 {
		t.Errorf("%d errors, want %d", n, MaxErrorsPerFile+1)
	}
	if d > time.Second || alloc > 100<<20 {
		t.Errorf("took %v and %d MB; want under 1s and 100 MB", d, alloc>>20)
	}
}
