package gitrepo_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/internal/gitrepo/gittest"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// TestCheckoutIsTheCommit: the example GitOps repository committed to a
// real repository reads back as a valid fs.FS that the planner loads; a
// later commit does not change what an earlier SHA reads.
func TestCheckoutIsTheCommit(t *testing.T) {
	dir := t.TempDir()
	first := gittest.Commit(t, dir, "../../examples/gitops-repo", nil, "import")
	fleet := filepath.Join(dir, "fleet.yaml")
	orig, err := os.ReadFile(fleet)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fleet, []byte("# changed later\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := gittest.Commit(t, dir, "", nil, "change the fleet")

	src := gitrepo.Local{Dirs: map[string]string{"acme/deploys": dir}}
	fsys, err := src.Checkout(context.Background(), "acme/deploys", first)
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "fleet.yaml", "deploys/ingest-v42.yaml", "policies"); err != nil {
		t.Fatal(err)
	}
	got, _ := fs.ReadFile(fsys, "fleet.yaml")
	if string(got) != string(orig) {
		t.Fatal("the first commit reads the file as changed later")
	}
	repo, err := planner.LoadRepo(fsys)
	if err != nil {
		t.Fatalf("the planner cannot load the committed repository: %v", err)
	}
	if _, ok := repo.Plan("deploys/ingest-v42.yaml"); !ok {
		t.Fatal("the plan is missing")
	}
	later, err := src.Checkout(context.Background(), "acme/deploys", second)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fs.ReadFile(later, "fleet.yaml"); string(got) != "# changed later\n" {
		t.Fatalf("second commit: %q", got)
	}
}

func TestCheckoutErrorsArePermanent(t *testing.T) {
	dir := t.TempDir()
	gittest.Commit(t, dir, "", nil, "empty")
	src := gitrepo.Local{Dirs: map[string]string{"acme/deploys": dir}}
	for _, c := range []struct{ repo, sha, want string }{
		{"acme/deploys", "0123456789012345678901234567890123456789", "commit 0123456789012345678901234567890123456789 is not in the repository"},
		{"acme/deploys", "main", `"main" is not a full commit SHA`},
		{"acme/other", "0123456789012345678901234567890123456789", "repository acme/other is not configured"},
	} {
		_, err := src.Checkout(context.Background(), c.repo, c.sha)
		var perm workflows.PermanentError
		if err == nil || !errors.As(err, &perm) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s@%s: got %v, want permanent %q", c.repo, c.sha, err, c.want)
		}
	}
}

// TestLargeFileIsListedNotRead: a commit with a 20 MB file checks out
// without reading it: the file is there with its size, reading it says
// why not, its digest still tells it from another, and the planner
// reports it at the file while the repository's other plans load.
func TestLargeFileIsListedNotRead(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("# x\n", 5<<20) // 20 MiB
	sha := gittest.Commit(t, dir, "../../examples/gitops-repo", map[string]string{"deploys/big.yaml": big}, "import")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fsys, err := gitrepo.Local{Dirs: map[string]string{"acme/deploys": dir}}.Checkout(context.Background(), "acme/deploys", sha)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("checkout of the repository with a 20 MiB file: %.1f MB allocated", float64(alloc)/(1<<20))
	if alloc > 16<<20 {
		t.Errorf("the checkout allocated %d MB: the large file was read", alloc>>20)
	}
	st, err := fs.Stat(fsys, "deploys/big.yaml")
	if err != nil || st.Size() != int64(len(big)) {
		t.Fatalf("stat: %v %v", st, err)
	}
	if _, err := fs.ReadFile(fsys, "deploys/big.yaml"); !errors.Is(err, gitrepo.ErrFileTooLarge) {
		t.Fatalf("reading the large file: %v", err)
	}
	d1, ok1 := fsys.(interface{ Digest(string) (string, bool) }).Digest("deploys/big.yaml")
	d2, ok2 := fsys.(interface{ Digest(string) (string, bool) }).Digest("fleet.yaml")
	if !ok1 || !ok2 || d1 == d2 || len(d1) != 40 {
		t.Fatalf("digests: %q %v, %q %v", d1, ok1, d2, ok2)
	}
	repo, err := planner.LoadRepo(fsys)
	if errs := planner.Errors(err, "deploys/big.yaml"); len(errs) != 1 || !strings.Contains(errs[0].Error(), "deploys/big.yaml:1:1: the file is 20 MiB") {
		t.Fatalf("the planner on the large file: %v", err)
	}
	if _, ok := repo.Plan("deploys/ingest-v42.yaml"); !ok {
		t.Fatal("the other plans did not load")
	}
}
