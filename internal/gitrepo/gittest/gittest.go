package gittest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// When is the commit time of every commit, so commits are reproducible.
var When = time.Unix(1_790_000_000, 0)

// Commit copies src (if set) and writes files into dir's work tree,
// initialising the repository if needed, commits everything and returns
// the commit's SHA.
func Commit(t testing.TB, dir, src string, files map[string]string, msg string) string {
	t.Helper()
	r, err := git.PlainOpen(dir)
	if err != nil {
		if r, err = git.PlainInit(dir, false); err != nil {
			t.Fatal(err)
		}
	}
	if src != "" {
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "sre", Email: "sre@example.com", When: When}, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}
