package githubsim

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/google/go-github/v60/github"
)

// clone clones url into memory.
func clone(t *testing.T, url string, auth *githttp.BasicAuth) *git.Repository {
	t.Helper()
	opts := &git.CloneOptions{URL: url}
	if auth != nil {
		opts.Auth = auth
	}
	r, err := git.Clone(memory.NewStorage(), memfs.New(), opts)
	if err != nil {
		t.Fatalf("cloning %s: %v", url, err)
	}
	return r
}

func fileAt(t *testing.T, r *git.Repository, sha, path string) string {
	t.Helper()
	c, err := r.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		t.Fatalf("commit %s: %v", sha, err)
	}
	f, err := c.File(path)
	if err != nil {
		t.Fatalf("%s at %s: %v", path, sha, err)
	}
	s, err := f.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMergeMakesARealMergeCommitThatClonesOverSmartHTTP(t *testing.T) {
	s := newSim(t, Options{})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "services", "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{"fleet.yaml": "tenants: [a]\n", "services/api/kustomization.yaml": "resources: []\n"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	try(s.AddUser("alice", UserOptions{Name: "Alice Example"})).must(t)
	repo := try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Dir: dir})).must(t)
	if repo.CloneURL != s.URL()+"/acme/gitops.git" {
		t.Errorf("clone URL %s", repo.CloneURL)
	}
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "deploy", Author: "alice",
		Files: map[string]string{"deploys/api.yaml": "id: api\n"}})).must(t)
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "deploy", Title: "Deploy", Author: "alice"})).must(t)
	// main moves on meanwhile, so the merge is a true merge of two lines.
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "main", Files: map[string]string{"fleet.yaml": "tenants: [a, b]\n"}})).must(t)
	mainBefore := try(s.BranchSHA("acme/gitops", "main")).must(t)

	mergeSHA := try(s.MergePullRequest(bg, "acme/gitops", pr.Number, MergeOptions{Actor: "alice"})).must(t)

	r := clone(t, repo.CloneURL, nil)
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if head.Hash().String() != mergeSHA || head.Name() != plumbing.NewBranchReferenceName("main") {
		t.Fatalf("cloned HEAD %s at %s, want main at the merge commit %s", head.Name(), head.Hash(), mergeSHA)
	}
	mc, err := r.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if len(mc.ParentHashes) != 2 || mc.ParentHashes[0].String() != mainBefore || mc.ParentHashes[1].String() != pr.HeadSHA {
		t.Errorf("merge commit parents %v, want [%s %s]", mc.ParentHashes, mainBefore, pr.HeadSHA)
	}
	if !strings.HasPrefix(mc.Message, "Merge pull request #1 from acme/deploy") || mc.Author.Name != "Alice Example" || mc.Committer.Name != "GitHub" {
		t.Errorf("merge commit message %q author %q committer %q", mc.Message, mc.Author.Name, mc.Committer.Name)
	}
	if got := fileAt(t, r, mergeSHA, "deploys/api.yaml"); got != "id: api\n" {
		t.Errorf("the PR's file at the merge commit: %q", got)
	}
	if got := fileAt(t, r, mergeSHA, "fleet.yaml"); got != "tenants: [a, b]\n" {
		t.Errorf("main's change at the merge commit: %q", got)
	}
	if got := fileAt(t, r, mergeSHA, "services/api/kustomization.yaml"); got != "resources: []\n" {
		t.Errorf("a file from the initial directory: %q", got)
	}

	// The REST API and the closed event agree.
	gh := client(t, s, "")
	got := res(gh.PullRequests.Get(bg, "acme", "gitops", pr.Number)).must(t)
	if !got.GetMerged() || got.GetMergeCommitSHA() != mergeSHA || got.GetState() != "closed" || got.GetMergedBy().GetLogin() != "alice" {
		t.Errorf("PR after merge: merged=%v sha=%s state=%s by=%s", got.GetMerged(), got.GetMergeCommitSHA(), got.GetState(), got.GetMergedBy().GetLogin())
	}
	closed := s.DeliveriesOf("pull_request", "closed")
	if len(closed) != 0 { // no hooks configured
		t.Errorf("deliveries without hooks: %d", len(closed))
	}
	// The merged commit can be read the way prdeploy reads it: the bare repo on disk.
	local, err := git.PlainOpen(repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fileAt(t, local, mergeSHA, "deploys/api.yaml") != "id: api\n" {
		t.Error("bare repository on disk lacks the merge")
	}
}

func TestSquashMergeHasOneParentAndConflictsAreNotMergeable(t *testing.T) {
	s := newSim(t, Options{})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a.yaml": "v: 1\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "sq", Files: map[string]string{"b.yaml": "x\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "sq", Files: map[string]string{"c.yaml": "y\n"}})).must(t)
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "sq", Title: "Squash me"})).must(t)
	gh := client(t, s, "")
	mr := res(gh.PullRequests.Merge(bg, "acme", "gitops", pr.Number, "", &github.PullRequestOptions{MergeMethod: "squash"})).must(t)
	c := try(git.PlainOpen(try(s.Repository("acme/gitops")).must(t).Dir)).must(t)
	mc := try(c.CommitObject(plumbing.NewHash(mr.GetSHA()))).must(t)
	if len(mc.ParentHashes) != 1 || !strings.HasPrefix(mc.Message, "Squash me (#1)") {
		t.Errorf("squash commit: parents %d, message %q", len(mc.ParentHashes), mc.Message)
	}

	// Two branches change the same line: the second cannot merge.
	for _, b := range []string{"x", "y"} {
		try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: b, Files: map[string]string{"a.yaml": "v: " + b + "\n"}})).must(t)
	}
	px := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "x", Title: "x"})).must(t)
	py := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "y", Title: "y"})).must(t)
	res(gh.PullRequests.Merge(bg, "acme", "gitops", px.Number, "", nil)).must(t)
	got := res(gh.PullRequests.Get(bg, "acme", "gitops", py.Number)).must(t)
	if got.Mergeable == nil || got.GetMergeable() || got.GetMergeableState() != "dirty" {
		t.Errorf("conflicting PR: mergeable=%v state=%s", got.Mergeable, got.GetMergeableState())
	}
	_, resp, err := gh.PullRequests.Merge(bg, "acme", "gitops", py.Number, "", nil)
	if resp == nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("merging a conflicting PR: %v", err)
	}
	// A stale head SHA is refused with 409.
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "z", Files: map[string]string{"z": "1\n"}})).must(t)
	pz := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "z", Title: "z"})).must(t)
	_, resp, _ = gh.PullRequests.Merge(bg, "acme", "gitops", pz.Number, "", &github.PullRequestOptions{SHA: strings.Repeat("0", 40)})
	if resp == nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("merging with a stale SHA: %v", resp)
	}
}

func TestPullRequestFilesAndContentsMatchGit(t *testing.T) {
	s := newSim(t, Options{})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{
		"keep.yaml": "a\nb\nc\n", "gone.yaml": "bye\n", "dir/old.yaml": "same content here\nline two\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "f", Files: map[string]string{
		"keep.yaml": "a\nB\nc\nd\n", "new.yaml": "hello\n", "dir/renamed.yaml": "same content here\nline two\n"},
		Delete: []string{"gone.yaml", "dir/old.yaml"}})).must(t)
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "f", Title: "files"})).must(t)
	gh := client(t, s, "")
	files := res(gh.PullRequests.ListFiles(bg, "acme", "gitops", pr.Number, nil)).must(t)
	got := map[string]*github.CommitFile{}
	for _, f := range files {
		got[f.GetFilename()] = f
	}
	check := func(name, status string, add, del int) {
		t.Helper()
		f := got[name]
		if f == nil {
			t.Errorf("%s missing from %v", name, files)
			return
		}
		if f.GetStatus() != status || f.GetAdditions() != add || f.GetDeletions() != del || f.GetChanges() != add+del {
			t.Errorf("%s: status %s +%d -%d, want %s +%d -%d", name, f.GetStatus(), f.GetAdditions(), f.GetDeletions(), status, add, del)
		}
	}
	check("keep.yaml", "modified", 2, 1)
	check("new.yaml", "added", 1, 0)
	check("gone.yaml", "removed", 0, 1)
	check("dir/renamed.yaml", "renamed", 0, 0)
	if got["dir/renamed.yaml"] != nil && got["dir/renamed.yaml"].GetPreviousFilename() != "dir/old.yaml" {
		t.Errorf("previous filename %q", got["dir/renamed.yaml"].GetPreviousFilename())
	}
	if p := got["keep.yaml"].GetPatch(); !strings.HasPrefix(p, "@@ ") || !strings.Contains(p, "-b\n+B") {
		t.Errorf("patch %q", p)
	}
	pj := res(gh.PullRequests.Get(bg, "acme", "gitops", pr.Number)).must(t)
	if pj.GetChangedFiles() != 4 || pj.GetAdditions() != 3 || pj.GetDeletions() != 2 || pj.GetCommits() != 1 || !pj.GetMergeable() {
		t.Errorf("PR counters: files %d +%d -%d commits %d mergeable %v", pj.GetChangedFiles(), pj.GetAdditions(), pj.GetDeletions(), pj.GetCommits(), pj.GetMergeable())
	}

	// Contents at the head, at main, a directory, and a missing path.
	fc, _ := contents(gh.Repositories.GetContents(bg, "acme", "gitops", "keep.yaml", &github.RepositoryContentGetOptions{Ref: pr.HeadSHA})).must(t)
	if txt, err := fc.GetContent(); err != nil || txt != "a\nB\nc\nd\n" || fc.GetEncoding() != "base64" {
		t.Errorf("keep.yaml at head: %q %v", txt, err)
	}
	fc, _ = contents(gh.Repositories.GetContents(bg, "acme", "gitops", "keep.yaml", &github.RepositoryContentGetOptions{Ref: "main"})).must(t)
	if txt, _ := fc.GetContent(); txt != "a\nb\nc\n" {
		t.Errorf("keep.yaml at main: %q", txt)
	}
	_, dc := contents(gh.Repositories.GetContents(bg, "acme", "gitops", "dir", &github.RepositoryContentGetOptions{Ref: "f"})).must(t)
	if len(dc) != 1 || dc[0].GetName() != "renamed.yaml" || dc[0].GetType() != "file" {
		t.Errorf("dir listing %v", dc)
	}
	_, _, resp, err := gh.Repositories.GetContents(bg, "acme", "gitops", "nope.yaml", nil)
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: %v", err)
	}
	// DownloadContents follows download_url to the raw endpoint.
	rc, _, err := gh.Repositories.DownloadContents(bg, "acme", "gitops", "new.yaml", &github.RepositoryContentGetOptions{Ref: "f"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello\n" {
		t.Errorf("downloaded %q", b)
	}
	// The commit API resolves refs.
	sha := res(gh.Repositories.GetCommitSHA1(bg, "acme", "gitops", "f", "")).must(t)
	if sha != pr.HeadSHA {
		t.Errorf("GetCommitSHA1(f) = %s, want %s", sha, pr.HeadSHA)
	}
	commit := res(gh.Repositories.GetCommit(bg, "acme", "gitops", pr.HeadSHA, nil)).must(t)
	if len(commit.Files) != 4 || len(commit.Parents) != 1 {
		t.Errorf("commit: %d files, %d parents", len(commit.Files), len(commit.Parents))
	}
}

// contents holds what GetContents returned: contents(gh.Repositories.GetContents(…)).must(t).
type contentsResult struct {
	file *github.RepositoryContent
	dir  []*github.RepositoryContent
	err  error
}

func contents(f *github.RepositoryContent, d []*github.RepositoryContent, _ *github.Response, err error) contentsResult {
	return contentsResult{f, d, err}
}

func (c contentsResult) must(t *testing.T) (*github.RepositoryContent, []*github.RepositoryContent) {
	t.Helper()
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.file, c.dir
}

func TestPrivateRepositoriesNeedCredentialsAndPushesSynchronize(t *testing.T) {
	rc := &receiver{t: t, secret: "s"}
	s := newSim(t, Options{RequireAuth: true, Hooks: []Hook{{Handler: rc, Secret: "s"}}})
	try(s.AddUser("alice", UserOptions{})).must(t)
	try(s.AddUser("mallory", UserOptions{})).must(t)
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/secret", Private: true, Files: map[string]string{"a": "1\n"}})).must(t)
	if err := s.SetPermission("acme/secret", "alice", "write"); err != nil {
		t.Fatal(err)
	}
	url := s.URL() + "/acme/secret.git"
	if _, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: url}); err == nil {
		t.Error("anonymous clone of a private repository succeeded")
	}
	mtok := try(s.Token("mallory")).must(t)
	if _, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: url, Auth: &githttp.BasicAuth{Username: "x-access-token", Password: mtok}}); err == nil {
		t.Error("a user without access cloned a private repository")
	}
	if _, _, err := client(t, s, mtok).Repositories.Get(bg, "acme", "secret"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("a user without access reading the repository: %v", err)
	}
	if _, _, err := client(t, s, "").Repositories.Get(bg, "acme", "secret"); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("an anonymous API call with RequireAuth: %v", err)
	}

	atok := try(s.Token("alice")).must(t)
	auth := &githttp.BasicAuth{Username: "alice", Password: atok}
	try(s.Push(bg, PushSpec{Repo: "acme/secret", Branch: "feat", Files: map[string]string{"b": "1\n"}, Author: "alice"})).must(t)
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/secret", Head: "feat", Title: "Feat", Author: "alice"})).must(t)

	// alice clones, commits and pushes over smart HTTP.
	fs := memfs.New()
	r, err := git.Clone(memory.NewStorage(), fs, &git.CloneOptions{URL: url, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName("feat")})
	if err != nil {
		t.Fatal(err)
	}
	wt := try(r.Worktree()).must(t)
	f := try(fs.Create("c")).must(t)
	_, _ = f.Write([]byte("pushed\n"))
	f.Close()
	if _, err := wt.Add("c"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "alice", Email: "alice@example.com", When: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	newHead := try(wt.Commit("push over http", &git.CommitOptions{Author: sig})).must(t)
	err = r.Push(&git.PushOptions{Auth: auth, RefSpecs: []config.RefSpec{"refs/heads/feat:refs/heads/feat"}})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	after := try(s.PullRequest("acme/secret", pr.Number)).must(t)
	if after.HeadSHA != newHead.String() {
		t.Errorf("PR head after push %s, want %s", after.HeadSHA, newHead)
	}
	syncs := s.DeliveriesOf("pull_request", "synchronize")
	if len(syncs) != 1 {
		t.Fatalf("synchronize deliveries: %d", len(syncs))
	}
	p := decode(t, syncs[0].Payload)
	if p["before"] != pr.HeadSHA || p["after"] != newHead.String() || p["sender"].(map[string]any)["login"] != "alice" {
		t.Errorf("synchronize payload before=%v after=%v sender=%v", p["before"], p["after"], p["sender"])
	}
	// mallory may not push.
	if err := s.SetPermission("acme/secret", "mallory", "read"); err != nil {
		t.Fatal(err)
	}
	r2 := clone(t, url, &githttp.BasicAuth{Username: "mallory", Password: mtok})
	if err := r2.Push(&git.PushOptions{Auth: &githttp.BasicAuth{Username: "mallory", Password: mtok},
		RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/evil"}}); err == nil {
		t.Error("a reader pushed")
	}
}

func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == code
}

// TestGitServesAnyCommitBySHA: GitHub gives a commit by SHA even when no
// ref points at it (an older commit of a branch, a commit only a
// force-push left behind), as prdeploy's checkout asks for the merge SHA.
func TestGitServesAnyCommitBySHA(t *testing.T) {
	s := newSim(t, Options{})
	repo := try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	old := try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "main", Files: map[string]string{"a": "2\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "main", Files: map[string]string{"a": "3\n"}})).must(t)
	// A commit no ref reaches: a branch that was force-moved back.
	gone := try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "tmp", Files: map[string]string{"a": "gone\n"}})).must(t)
	bare := try(git.PlainOpen(repo.Dir)).must(t)
	if err := bare.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("tmp"), plumbing.NewHash(old))); err != nil {
		t.Fatal(err)
	}

	for _, sha := range []string{old, gone} {
		// go-git (protocol v0/v1), shallow, the way internal/githubapp fetches.
		r, err := git.Init(memory.NewStorage(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{repo.CloneURL}}); err != nil {
			t.Fatal(err)
		}
		err = r.Fetch(&git.FetchOptions{RemoteURL: repo.CloneURL, Depth: 1, Tags: git.NoTags,
			RefSpecs: []config.RefSpec{config.RefSpec("+" + sha + ":refs/fetched/" + sha)}})
		if err != nil {
			t.Errorf("go-git fetching %s by SHA: %v", sha, err)
		} else if _, err := r.CommitObject(plumbing.NewHash(sha)); err != nil {
			t.Errorf("after fetching %s: %v", sha, err)
		}
		// The git CLI with protocol v0, which checks wants against the
		// advertised refs unless the server allows any SHA.
		dir := t.TempDir()
		for _, args := range [][]string{{"init", "--quiet", dir}, {"-C", dir, "fetch", "--quiet", "--depth=1", repo.CloneURL, sha},
			{"-C", dir, "cat-file", "-e", sha + "^{commit}"}} {
			if out, err := s.gitCmd(bg, "", append([]string{"-c", "protocol.version=0"}, args...)...); err != nil {
				t.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
				break
			}
		}
	}
}
