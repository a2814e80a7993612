package githubsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/diff"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/merkletrie"
)

// repo is a simulated repository, backed by a bare git repository on disk.
type repo struct {
	id            int64
	owner         *user
	name          string
	private       bool
	description   string
	defaultBranch string
	dir           string
	git           *git.Repository
	created       time.Time
	updated       time.Time
	pushed        time.Time
	lastNumber    int
	pulls         []*pull // by number-1
	labels        []*label
	perms         map[string]string
	contributors  map[int64]bool
	mergeCache    map[string]mergeResult
}

func (rp *repo) fullName() string { return rp.owner.login + "/" + rp.name }

type mergeResult struct {
	tree  plumbing.Hash
	clean bool
}

// Repo describes a simulated repository.
type Repo struct {
	ID       int64
	FullName string
	// CloneURL is the git smart HTTP URL (BaseURL/<owner>/<name>.git).
	CloneURL string
	HTMLURL  string
	// Dir is the bare repository on disk (go-git can open it directly).
	Dir           string
	DefaultBranch string
	Private       bool
}

// RepoSpec describes a repository to create.
type RepoSpec struct {
	// Repo is "owner/name". An unknown owner is created as an organization.
	Repo string
	// Dir, when set, is copied into the initial commit (the .git directory
	// is skipped; the executable bit is kept).
	Dir string
	// Files are added to the initial commit (over Dir), path → content.
	Files map[string]string
	// DefaultBranch defaults to "main".
	DefaultBranch string
	Private       bool
	Description   string
	// Author is the login that makes the initial commit (default: the owner).
	Author string
	// Message is the initial commit's message (default "Initial commit").
	Message string
}

var repoNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// CreateRepo creates a repository whose default branch holds one commit
// with the given files.
func (s *Server) CreateRepo(ctx context.Context, spec RepoSpec) (Repo, error) {
	ownerLogin, name, ok := strings.Cut(spec.Repo, "/")
	if !ok || !repoNameRE.MatchString(name) || strings.HasSuffix(name, ".git") || name == "." || name == ".." {
		return Repo{}, fmt.Errorf("repository %q is not owner/name", spec.Repo)
	}
	files := map[string]fileChange{}
	if spec.Dir != "" {
		if err := readDirFiles(spec.Dir, files); err != nil {
			return Repo{}, err
		}
	}
	for p, c := range spec.Files {
		files[p] = fileChange{content: []byte(c), mode: filemode.Regular}
	}
	branch := spec.DefaultBranch
	if branch == "" {
		branch = "main"
	}
	if plumbing.NewBranchReferenceName(branch).Validate() != nil {
		return Repo{}, fmt.Errorf("branch name %q is not valid", branch)
	}
	if err := s.addOrgIfMissing(ownerLogin); err != nil {
		return Repo{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[strings.ToLower(spec.Repo)]; ok {
		return Repo{}, fmt.Errorf("repository %s already exists", spec.Repo)
	}
	owner, err := s.userLocked(ownerLogin)
	if err != nil {
		return Repo{}, err
	}
	author := owner
	if spec.Author != "" {
		if author, err = s.userLocked(spec.Author); err != nil {
			return Repo{}, err
		}
	}
	root, err := s.dataDir()
	if err != nil {
		return Repo{}, err
	}
	dir := filepath.Join(root, owner.login, name+".git")
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return Repo{}, fmt.Errorf("creating %s: %w", filepath.Dir(dir), err)
	}
	if out, err := s.gitCmd(ctx, "", "init", "--quiet", "--bare", "--initial-branch="+branch, dir); err != nil {
		return Repo{}, fmt.Errorf("git init %s: %w: %s", dir, err, out)
	}
	g, err := git.PlainOpen(dir)
	if err != nil {
		return Repo{}, fmt.Errorf("opening %s: %w", dir, err)
	}
	now := s.now()
	rp := &repo{id: s.nextID(idRepo), owner: owner, name: name, private: spec.Private, description: spec.Description,
		defaultBranch: branch, dir: dir, git: g, created: now, updated: now, pushed: now,
		perms: map[string]string{}, contributors: map[int64]bool{}, mergeCache: map[string]mergeResult{}}
	msg := spec.Message
	if msg == "" {
		msg = "Initial commit"
	}
	sig := s.signature(author)
	h, err := writeCommit(g, nil, files, msg, sig, sig)
	if err != nil {
		return Repo{}, fmt.Errorf("writing the initial commit of %s: %w", spec.Repo, err)
	}
	if err := g.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), h)); err != nil {
		return Repo{}, fmt.Errorf("setting %s in %s: %w", branch, spec.Repo, err)
	}
	rp.contributors[author.id] = true
	s.repos[strings.ToLower(rp.fullName())] = rp
	if !s.opts.App.NoAutoInstall {
		s.installLocked(owner)
	}
	return s.repoInfo(rp), nil
}

// addOrgIfMissing creates an organization unless an account with that login exists.
func (s *Server) addOrgIfMissing(login string) error {
	s.mu.Lock()
	_, ok := s.users[strings.ToLower(login)]
	s.mu.Unlock()
	if ok {
		return nil
	}
	return s.AddOrg(login)
}

func (s *Server) repoInfo(rp *repo) Repo {
	return Repo{ID: rp.id, FullName: rp.fullName(), CloneURL: s.cloneURL(rp), HTMLURL: s.web(rp.owner.login, rp.name),
		Dir: rp.dir, DefaultBranch: rp.defaultBranch, Private: rp.private}
}

// Repository returns a repository's description.
func (s *Server) Repository(name string) (Repo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoLocked(name)
	if err != nil {
		return Repo{}, err
	}
	return s.repoInfo(rp), nil
}

func (s *Server) repoLocked(name string) (*repo, error) {
	rp, ok := s.repos[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown repository %q: create it with CreateRepo first", name)
	}
	return rp, nil
}

// BranchSHA returns the commit a branch points at.
func (s *Server) BranchSHA(repoName, branch string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoLocked(repoName)
	if err != nil {
		return "", err
	}
	h, err := branchHash(rp, branch)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func branchHash(rp *repo, branch string) (plumbing.Hash, error) {
	ref, err := rp.git.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("branch %s of %s: %w", branch, rp.fullName(), err)
	}
	return ref.Hash(), nil
}

var (
	hexSHA   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	shortSHA = regexp.MustCompile(`^[0-9a-f]+$`)
)

// resolveRef resolves a branch, tag, "heads/x", "refs/…" or commit SHA to a
// commit hash, as the REST API accepts them.
func resolveRef(rp *repo, ref string) (plumbing.Hash, error) {
	if ref == "" {
		ref = rp.defaultBranch
	}
	if hexSHA.MatchString(ref) {
		h := plumbing.NewHash(ref)
		if _, err := rp.git.CommitObject(h); err != nil {
			return plumbing.ZeroHash, errNotFound
		}
		return h, nil
	}
	var names []plumbing.ReferenceName
	switch {
	case strings.HasPrefix(ref, "refs/"):
		names = []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	case strings.HasPrefix(ref, "heads/"), strings.HasPrefix(ref, "tags/"), strings.HasPrefix(ref, "pull/"):
		names = []plumbing.ReferenceName{plumbing.ReferenceName("refs/" + ref)}
	default:
		names = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
	}
	for _, n := range names {
		r, err := rp.git.Reference(n, true)
		if err != nil {
			continue
		}
		h := r.Hash()
		if t, err := rp.git.TagObject(h); err == nil { // annotated tag
			if c, err := t.Commit(); err == nil {
				h = c.Hash
			}
		}
		return h, nil
	}
	if len(ref) >= 7 && len(ref) < 40 && shortSHA.MatchString(ref) {
		if h, err := rp.git.ResolveRevision(plumbing.Revision(ref)); err == nil {
			return *h, nil
		}
	}
	return plumbing.ZeroHash, errNotFound
}

// fileChange is one file of a commit: new content, or a deletion.
type fileChange struct {
	content []byte
	mode    filemode.FileMode
	delete  bool
}

func readDirFiles(dir string, files map[string]fileChange) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		mode := filemode.Regular
		if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
			mode = filemode.Executable
		}
		files[filepath.ToSlash(rel)] = fileChange{content: b, mode: mode}
		return nil
	})
}

func cleanRepoPath(p string) (string, error) {
	c := path.Clean(strings.TrimPrefix(p, "/"))
	if c == "." || c == "" || strings.HasPrefix(c, "../") || c == ".." {
		return "", fmt.Errorf("path %q is not a file path inside the repository", p)
	}
	for _, part := range strings.Split(c, "/") {
		if part == ".git" {
			return "", fmt.Errorf("path %q is inside .git", p)
		}
	}
	return c, nil
}

// writeCommit writes a commit whose tree is the first parent's tree (empty
// without parents) with changes applied, and returns its hash. Refs are not
// touched.
func writeCommit(g *git.Repository, parents []plumbing.Hash, changes map[string]fileChange, msg string, author, committer object.Signature) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if len(parents) > 0 {
		c, err := g.CommitObject(parents[0])
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading parent %s: %w", parents[0], err)
		}
		t, err := c.Tree()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		w := object.NewTreeWalker(t, true, nil)
		for {
			name, e, err := w.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				w.Close()
				return plumbing.ZeroHash, err
			}
			if e.Mode != filemode.Dir {
				entries[name] = object.TreeEntry{Name: path.Base(name), Mode: e.Mode, Hash: e.Hash}
			}
		}
		w.Close()
	}
	paths := make([]string, 0, len(changes))
	for p := range changes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, raw := range paths {
		ch := changes[raw]
		p, err := cleanRepoPath(raw)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if ch.delete {
			if _, ok := entries[p]; !ok {
				return plumbing.ZeroHash, fmt.Errorf("cannot delete %s: no such file", p)
			}
			delete(entries, p)
			continue
		}
		obj := g.Storer.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		wr, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if _, err := wr.Write(ch.content); err != nil {
			return plumbing.ZeroHash, err
		}
		if err := wr.Close(); err != nil {
			return plumbing.ZeroHash, err
		}
		h, err := g.Storer.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		mode := ch.mode
		if mode == filemode.Empty {
			mode = filemode.Regular
		}
		entries[p] = object.TreeEntry{Name: path.Base(p), Mode: mode, Hash: h}
	}
	root := &treeNode{files: map[string]object.TreeEntry{}, dirs: map[string]*treeNode{}}
	for p, e := range entries {
		n := root
		dirs := strings.Split(p, "/")
		for _, d := range dirs[:len(dirs)-1] {
			sub, ok := n.dirs[d]
			if !ok {
				sub = &treeNode{files: map[string]object.TreeEntry{}, dirs: map[string]*treeNode{}}
				n.dirs[d] = sub
			}
			n = sub
		}
		n.files[e.Name] = e
	}
	treeHash, err := writeTree(g, root)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return storeCommit(g, &object.Commit{Author: author, Committer: committer, Message: msg, TreeHash: treeHash, ParentHashes: parents})
}

func storeCommit(g *git.Repository, c *object.Commit) (plumbing.Hash, error) {
	obj := g.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return g.Storer.SetEncodedObject(obj)
}

type treeNode struct {
	files map[string]object.TreeEntry
	dirs  map[string]*treeNode
}

func writeTree(g *git.Repository, n *treeNode) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	for name, sub := range n.dirs {
		h, err := writeTree(g, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	for _, e := range n.files {
		entries = append(entries, e)
	}
	// git orders tree entries by name, comparing a directory as name + "/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	obj := g.Storer.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return g.Storer.SetEncodedObject(obj)
}

func (s *Server) signature(u *user) object.Signature {
	return object.Signature{Name: u.name, Email: u.email, When: s.now()}
}

// gitCmd runs the git binary with an isolated configuration.
func (s *Server) gitCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, s.gitBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// mergeTree merges two commits as GitHub does (git merge-tree --write-tree,
// the ort strategy) and returns the merged tree; clean is false on conflicts.
// Call with s.mu held.
func (s *Server) mergeTree(ctx context.Context, rp *repo, ours, theirs plumbing.Hash) (mergeResult, error) {
	key := ours.String() + ".." + theirs.String()
	if r, ok := rp.mergeCache[key]; ok {
		return r, nil
	}
	out, err := s.gitCmd(ctx, rp.dir, "merge-tree", "--write-tree", "--no-messages", "--allow-unrelated-histories", ours.String(), theirs.String())
	var exit *exec.ExitError
	clean := err == nil
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return mergeResult{}, fmt.Errorf("git merge-tree %s %s in %s: %w: %s", ours, theirs, rp.fullName(), err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	if !hexSHA.MatchString(strings.TrimSpace(line)) {
		return mergeResult{}, fmt.Errorf("git merge-tree %s %s in %s printed %q", ours, theirs, rp.fullName(), out)
	}
	r := mergeResult{tree: plumbing.NewHash(strings.TrimSpace(line)), clean: clean}
	rp.mergeCache[key] = r
	return r, nil
}

// ancestors returns every commit reachable from h.
func ancestors(g *git.Repository, h plumbing.Hash) (map[plumbing.Hash]bool, error) {
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{h}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] {
			continue
		}
		seen[c] = true
		co, err := g.CommitObject(c)
		if err != nil {
			return nil, err
		}
		stack = append(stack, co.ParentHashes...)
	}
	return seen, nil
}

// commitsBetween lists the commits reachable from head but not from base,
// oldest first as GitHub lists a pull request's commits: every commit after
// its parents (commits made in the same second are told apart by their
// parents, not by their dates), and among commits that are ready, the
// earliest committed first.
func commitsBetween(g *git.Repository, base, head plumbing.Hash) ([]*object.Commit, error) {
	inBase, err := ancestors(g, base)
	if err != nil {
		return nil, err
	}
	inHead, err := ancestors(g, head)
	if err != nil {
		return nil, err
	}
	commits := map[plumbing.Hash]*object.Commit{}
	for h := range inHead {
		if inBase[h] {
			continue
		}
		c, err := g.CommitObject(h)
		if err != nil {
			return nil, err
		}
		commits[h] = c
	}
	waiting := map[plumbing.Hash]int{} // parents in the range not listed yet
	children := map[plumbing.Hash][]plumbing.Hash{}
	var ready []*object.Commit
	for h, c := range commits {
		for _, p := range c.ParentHashes {
			if _, ok := commits[p]; ok {
				waiting[h]++
				children[p] = append(children[p], h)
			}
		}
		if waiting[h] == 0 {
			ready = append(ready, c)
		}
	}
	out := make([]*object.Commit, 0, len(commits))
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool {
			if !ready[i].Committer.When.Equal(ready[j].Committer.When) {
				return ready[i].Committer.When.Before(ready[j].Committer.When)
			}
			return ready[i].Hash.String() < ready[j].Hash.String()
		})
		c := ready[0]
		ready = ready[1:]
		out = append(out, c)
		for _, ch := range children[c.Hash] {
			if waiting[ch]--; waiting[ch] == 0 {
				ready = append(ready, commits[ch])
			}
		}
	}
	return out, nil
}

// cherryPickTree is the tree of c replayed on onto (c's changes against its
// first parent, applied with git's ort merge), and whether it applied
// cleanly. Call with s.mu held.
//
// git merge-tree learned --merge-base only in git 2.40, so the three-way
// merge is set up through history instead: a scratch commit with onto's tree
// and c's parent as its only parent makes that parent the merge base of the
// scratch commit and c. The scratch commit stays in the object store,
// unreferenced.
func (s *Server) cherryPickTree(ctx context.Context, rp *repo, onto plumbing.Hash, c *object.Commit) (plumbing.Hash, bool, error) {
	if len(c.ParentHashes) == 0 {
		return plumbing.ZeroHash, false, nil
	}
	parent := c.ParentHashes[0]
	if parent == onto {
		return c.TreeHash, true, nil
	}
	oc, err := rp.git.CommitObject(onto)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	epoch := object.Signature{Name: "githubsim", Email: "githubsim@invalid", When: time.Unix(0, 0).UTC()}
	scratch, err := storeCommit(rp.git, &object.Commit{Author: epoch, Committer: epoch, Message: "githubsim: cherry-pick base\n",
		TreeHash: oc.TreeHash, ParentHashes: []plumbing.Hash{parent}})
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("writing the scratch commit to replay %s on %s: %w", c.Hash, onto, err)
	}
	m, err := s.mergeTree(ctx, rp, scratch, c.Hash)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	return m.tree, m.clean, nil
}

// changedFile is one entry of a pull request's file list.
type changedFile struct {
	name, previous string
	status         string // added, removed, modified, renamed
	sha            string
	additions      int
	deletions      int
	patch          string
	binary         bool
}

// diffCommits lists the files changed from the merge base of base and head
// to head, as GitHub's pull request "Files changed" tab shows them.
func diffCommits(ctx context.Context, g *git.Repository, base, head plumbing.Hash) ([]changedFile, error) {
	hc, err := g.CommitObject(head)
	if err != nil {
		return nil, err
	}
	bc, err := g.CommitObject(base)
	if err != nil {
		return nil, err
	}
	from := bc
	if mb, err := hc.MergeBase(bc); err == nil && len(mb) > 0 {
		from = mb[0]
	}
	ft, err := from.Tree()
	if err != nil {
		return nil, err
	}
	ht, err := hc.Tree()
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTreeWithOptions(ctx, ft, ht, object.DefaultDiffTreeOptions)
	if err != nil {
		return nil, err
	}
	var out []changedFile
	for _, ch := range changes {
		action, err := ch.Action()
		if err != nil {
			return nil, err
		}
		f := changedFile{}
		switch action {
		case merkletrie.Insert:
			f.name, f.status, f.sha = ch.To.Name, "added", ch.To.TreeEntry.Hash.String()
		case merkletrie.Delete:
			f.name, f.status, f.sha = ch.From.Name, "removed", ch.From.TreeEntry.Hash.String()
		default:
			f.name, f.status, f.sha = ch.To.Name, "modified", ch.To.TreeEntry.Hash.String()
			if ch.From.Name != ch.To.Name {
				f.status, f.previous = "renamed", ch.From.Name
			}
		}
		p, err := ch.PatchContext(ctx)
		if err != nil {
			return nil, err
		}
		for _, fp := range p.FilePatches() {
			if fp.IsBinary() {
				f.binary = true
				continue
			}
			for _, c := range fp.Chunks() {
				n := strings.Count(c.Content(), "\n")
				if c.Content() != "" && !strings.HasSuffix(c.Content(), "\n") {
					n++
				}
				switch c.Type() {
				case diff.Add:
					f.additions += n
				case diff.Delete:
					f.deletions += n
				}
			}
		}
		if !f.binary {
			var buf bytes.Buffer
			if err := diff.NewUnifiedEncoder(&buf, diff.DefaultContextLines).Encode(p); err == nil {
				text := buf.String()
				if i := strings.Index(text, "\n@@"); i >= 0 {
					f.patch = strings.TrimSuffix(text[i+1:], "\n")
				}
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
