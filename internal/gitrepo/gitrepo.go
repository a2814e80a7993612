package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/prdeploy/prdeploy/workflows"
)

// Bounds on what one commit costs to read: a deploy-plan repository
// holds YAML, not artefacts, and anyone who can push a branch chooses its
// contents.
const (
	// MaxFileSize bounds one file: a larger one is listed (with its size)
	// but not read, and reading it is an error that says so, so the
	// planner reports it at the file and the other files still load.
	MaxFileSize = 8 << 20
	// MaxCommitBytes bounds all the files read from one commit, and
	// MaxCommitFiles their number; past either, the checkout fails.
	MaxCommitBytes = 256 << 20
	MaxCommitFiles = 100_000
)

// ErrFileTooLarge is what reading a file larger than MaxFileSize returns
// (wrapped in an *fs.PathError that says its size).
var ErrFileTooLarge = errors.New("file too large")

// Local checks commits out of repositories on this machine (tests, the
// demo, a mirror kept by another process).
type Local struct {
	// Dirs maps a repository's full name ("acme/deploys") to its path.
	Dirs map[string]string
}

// Checkout returns the tree of the commit sha in repo.
func (l Local) Checkout(ctx context.Context, repo, sha string) (fs.FS, error) {
	dir, ok := l.Dirs[repo]
	if !ok {
		return nil, workflows.Permanent(fmt.Errorf("repository %s is not configured", repo))
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", repo, err)
	}
	return Commit(r, sha)
}

// Commit returns the tree of commit sha (a full hex SHA) as an fs.FS.
func Commit(r *git.Repository, sha string) (fs.FS, error) {
	if !plumbing.IsHash(sha) {
		return nil, workflows.Permanent(fmt.Errorf("%q is not a full commit SHA", sha))
	}
	c, err := r.CommitObject(plumbing.NewHash(sha))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, workflows.Permanent(fmt.Errorf("commit %s is not in the repository", sha))
	}
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", sha, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", sha, err)
	}
	return treeFS(r.Storer, t, c.Committer.When)
}

// objectSizer tells an object's size without reading it (go-git's
// filesystem storage does, from the object's header or its pack).
type objectSizer interface {
	EncodedObjectSize(plumbing.Hash) (int64, error)
}

// TreeFS reads a whole tree into memory as a read-only fs.FS. Symbolic
// links and submodules are left out: a plan repository's files are what
// its commit holds, nothing outside it.
func TreeFS(t *object.Tree, modTime time.Time) (fs.FS, error) {
	return treeFS(nil, t, modTime)
}

// treeFS is TreeFS; with store, a file too large to read is sized from
// its header and never loaded.
func treeFS(store any, t *object.Tree, modTime time.Time) (fs.FS, error) {
	sizer, _ := store.(objectSizer)
	m := &memFS{files: map[string]*memFile{}, modTime: modTime}
	m.files["."] = &memFile{name: ".", dir: true}
	var total int64
	files := 0
	walker := object.NewTreeWalker(t, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case entry.Mode.IsFile() && entry.Mode != 0o120000: // not a symlink
			if files++; files > MaxCommitFiles {
				return nil, workflows.Permanent(fmt.Errorf("the commit holds more than %d files; prdeploy reads a deploy repository whole, so keep it to plans, overlays and policies", MaxCommitFiles))
			}
			if sizer != nil {
				if size, err := sizer.EncodedObjectSize(entry.Hash); err == nil && size > MaxFileSize {
					m.add(name, &memFile{name: path.Base(name), size: size, hash: entry.Hash, tooLarge: true})
					continue
				}
			}
			f, err := t.TreeEntryFile(&entry)
			if err != nil {
				// TreeEntryFile wants the entry relative to t: find it by path.
				f, err = t.File(name)
				if err != nil {
					return nil, fmt.Errorf("reading %s: %w", name, err)
				}
			}
			if f.Size > MaxFileSize {
				m.add(name, &memFile{name: path.Base(name), size: f.Size, hash: entry.Hash, tooLarge: true})
				continue
			}
			if total += f.Size; total > MaxCommitBytes {
				return nil, workflows.Permanent(fmt.Errorf("the commit's files hold more than %d MiB (at %s); prdeploy reads a deploy repository whole, so keep large files out of it", MaxCommitBytes>>20, name))
			}
			rd, err := f.Reader()
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			data, err := io.ReadAll(rd)
			rd.Close()
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			m.add(name, &memFile{name: path.Base(name), data: data, size: int64(len(data)), hash: entry.Hash})
		case entry.Mode == 0o040000: // a directory
			m.add(name, &memFile{name: path.Base(name), dir: true})
		}
	}
	return m, nil
}

type memFS struct {
	files   map[string]*memFile
	modTime time.Time
}

func (m *memFS) add(name string, f *memFile) {
	if old, ok := m.files[name]; ok && old.dir && f.dir {
		return // made already, as the parent of something
	}
	m.files[name] = f
	dir := path.Dir(name)
	for {
		d, ok := m.files[dir]
		if !ok {
			d = &memFile{name: path.Base(dir), dir: true}
			m.files[dir] = d
		}
		if !containsChild(d, f.name) {
			d.children = append(d.children, f.name)
		}
		if dir == "." || ok {
			return
		}
		f, dir = d, path.Dir(dir)
	}
}

func containsChild(d *memFile, name string) bool {
	for _, c := range d.children {
		if c == name {
			return true
		}
	}
	return false
}

type memFile struct {
	name     string
	data     []byte
	size     int64
	hash     plumbing.Hash
	tooLarge bool // listed, not read: larger than MaxFileSize
	dir      bool
	children []string
}

func (f *memFile) readErr(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w: %d bytes, and at most %d are read from a commit's file", ErrFileTooLarge, f.size, MaxFileSize)}
}

// Digest returns the Git blob hash of a file of the commit: two files
// with the same digest hold the same bytes, whether or not they were read.
func (m *memFS) Digest(name string) (string, bool) {
	f, ok := m.files[name]
	if !ok || f.dir {
		return "", false
	}
	return f.hash.String(), true
}

func (m *memFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &openFile{fs: m, path: name, f: f, r: strings.NewReader(string(f.data))}, nil
}

// ReadFile returns a copy of a file's contents without opening it.
func (m *memFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	f, ok := m.files[name]
	if !ok || f.dir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	if f.tooLarge {
		return nil, f.readErr("read", name)
	}
	return append([]byte(nil), f.data...), nil
}

type openFile struct {
	fs     *memFS
	path   string
	f      *memFile
	r      *strings.Reader
	offset int
}

func (o *openFile) Stat() (fs.FileInfo, error) { return info{o.f, o.fs.modTime}, nil }
func (o *openFile) Close() error               { return nil }

func (o *openFile) Read(b []byte) (int, error) {
	if o.f.dir {
		return 0, &fs.PathError{Op: "read", Path: o.path, Err: errors.New("is a directory")}
	}
	if o.f.tooLarge {
		return 0, o.f.readErr("read", o.path)
	}
	return o.r.Read(b)
}

// ReadDir lists a directory in name order.
func (o *openFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !o.f.dir {
		return nil, &fs.PathError{Op: "readdir", Path: o.path, Err: errors.New("not a directory")}
	}
	names := append([]string(nil), o.f.children...)
	sort.Strings(names)
	var out []fs.DirEntry
	for _, c := range names[min(o.offset, len(names)):] {
		if n > 0 && len(out) == n {
			break
		}
		out = append(out, fs.FileInfoToDirEntry(info{o.fs.files[path.Join(o.path, c)], o.fs.modTime}))
	}
	o.offset += len(out)
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

type info struct {
	f   *memFile
	mod time.Time
}

func (i info) Name() string       { return i.f.name }
func (i info) Size() int64        { return i.f.size }
func (i info) ModTime() time.Time { return i.mod }
func (i info) IsDir() bool        { return i.f.dir }
func (i info) Sys() any           { return nil }
func (i info) Mode() fs.FileMode {
	if i.f.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// FirstParent returns the first parent of commit sha in repo (the base
// branch before a merge), or "" for a root commit.
func (l Local) FirstParent(ctx context.Context, repo, sha string) (string, error) {
	dir, ok := l.Dirs[repo]
	if !ok {
		return "", workflows.Permanent(fmt.Errorf("repository %s is not configured", repo))
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		return "", fmt.Errorf("opening %s: %w", repo, err)
	}
	return FirstParentOf(r, sha)
}

// FirstParentOf returns the first parent of commit sha, or "" for a root
// commit.
func FirstParentOf(r *git.Repository, sha string) (string, error) {
	if !plumbing.IsHash(sha) {
		return "", workflows.Permanent(fmt.Errorf("%q is not a full commit SHA", sha))
	}
	c, err := r.CommitObject(plumbing.NewHash(sha))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return "", workflows.Permanent(fmt.Errorf("commit %s is not in the repository", sha))
	}
	if err != nil {
		return "", fmt.Errorf("reading commit %s: %w", sha, err)
	}
	if len(c.ParentHashes) == 0 {
		return "", nil
	}
	return c.ParentHashes[0].String(), nil
}
