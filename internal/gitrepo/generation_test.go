package gitrepo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/workflows"
)

// TestGenerationFollowsMergesIntoTheBranch: a branch with merge commits
// (whose second parents carry long side branches), a squash-like commit
// and a rebase of two commits: each later merge counts more than every
// earlier one, side-branch commits do not count, and a commit that is not
// there is a permanent error.
func TestGenerationFollowsMergesIntoTheBranch(t *testing.T) {
	dir := t.TempDir()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	commit := func(parents ...plumbing.Hash) plumbing.Hash {
		t.Helper()
		n++
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte{byte(n)}, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add("f"); err != nil {
			t.Fatal(err)
		}
		sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(int64(1_700_000_000+n), 0)}
		h, err := wt.Commit("c", &git.CommitOptions{Author: sig, Parents: parents, AllowEmptyCommits: true})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	root := commit()
	side := root
	for i := 0; i < 5; i++ { // a PR branch of five commits
		side = commit(side)
	}
	merge1 := commit(root, side) // merge commit: first parent is the branch
	squash := commit(merge1)     // squash merge: one commit
	side2 := commit(root)        // an old PR branch, merged late
	merge2 := commit(squash, side2)
	rebased := commit(commit(merge2)) // rebase merge of two commits

	var g gitrepo.Generations
	ctx := context.Background()
	var last int64
	for i, c := range []plumbing.Hash{root, merge1, squash, merge2, rebased} {
		got, err := g.Count(ctx, r, c.String())
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{1, 2, 3, 4, 6}[i]; got != want {
			t.Errorf("merge %d: generation %d, want %d", i, got, want)
		}
		if got <= last {
			t.Errorf("merge %d counts %d, not more than the one before (%d)", i, got, last)
		}
		last = got
	}
	// Remembered counts give the same answer.
	if got, _ := g.Count(ctx, r, rebased.String()); got != 6 {
		t.Errorf("again: %d", got)
	}
	local := gitrepo.Local{Dirs: map[string]string{"acme/deploys": dir}}
	if got, err := local.Generation(ctx, "acme/deploys", merge2.String()); err != nil || got != 4 {
		t.Errorf("Local: %d, %v", got, err)
	}
	_, err = local.Generation(ctx, "acme/deploys", "0123456789012345678901234567890123456789")
	var perm workflows.PermanentError
	if !errors.As(err, &perm) {
		t.Errorf("a missing commit: %v, want a permanent error", err)
	}
}
