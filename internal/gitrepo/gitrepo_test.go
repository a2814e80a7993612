package gitrepo_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
