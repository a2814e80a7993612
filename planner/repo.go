package planner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
)

// Repository layout.
const (
	FleetFile   = "fleet.yaml"
	PlansDir    = "deploys"
	PoliciesDir = "policies"
)

// Repo is a GitOps repository read through an fs.FS: a directory on disk, a
// git tree at a commit, or an in-memory map in tests.
type Repo struct {
	FS    fs.FS
	Fleet *Fleet
	// Plans are every plan under deploys/, by file name.
	Plans []*Plan
}

// IsPlanFile reports whether a repository path is a deploy plan.
func IsPlanFile(p string) bool {
	dir, file := path.Split(p)
	return dir == PlansDir+"/" && (strings.HasSuffix(file, ".yaml") || strings.HasSuffix(file, ".yml"))
}

// LoadOptions say what LoadRepoWith is loading for.
type LoadOptions struct {
	// Changed lists the repository paths that the change being checked adds
	// or modifies: at a pull request, its plan files; at a merge, the plan
	// files the merge changes. A deployment id shared by changed and
	// unchanged plans is reported on the changed plans only, since the
	// change reused the id. Without Changed (or when every plan sharing the
	// id is changed, or none is), every plan sharing the id is reported.
	Changed []string
}

// LoadRepo reads the repository with no knowledge of what changed: see
// LoadRepoWith.
func LoadRepo(fsys fs.FS) (*Repo, error) { return LoadRepoWith(fsys, LoadOptions{}) }

// LoadRepoWith reads fleet.yaml and every plan under deploys/, and checks
// what spans files: deployment ids are unique in the repository. It returns
// the repository with every problem found, so callers can report them all.
//
// What it reads is bounded (see MaxFileBytes and the limits beside it): a
// file over a limit fails on its own, with an error at its position, and
// the other files are read as usual; plans past MaxFiles or MaxRepoBytes
// are reported as not read.
func LoadRepoWith(fsys fs.FS, opts LoadOptions) (*Repo, error) {
	r := &Repo{FS: fsys}
	var errs ErrorList
	data, err := ReadFile(fsys, FleetFile, MaxFleetBytes)
	if err != nil {
		var e Error
		if errors.As(err, &e) {
			return r, ErrorList{e}
		}
		return r, ErrorList{{File: FleetFile, Message: fmt.Sprintf("cannot read the fleet: %v; the repository root needs a fleet.yaml", err)}}
	}
	r.Fleet, err = ParseFleet(FleetFile, data)
	errs = appendErr(errs, err)

	names, err := fs.Glob(fsys, PlansDir+"/*.y*ml")
	if err != nil {
		return r, err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !IsPlanFile(n) })
	slices.Sort(names)
	ids := map[string][]*Plan{}
	budget := int64(MaxRepoBytes)
	for i, name := range names {
		if i >= MaxFiles {
			errs = append(errs, Error{File: name, Pos: Pos{Line: 1, Col: 1}, Message: fmt.Sprintf(
				"not read: %s/ holds %d plan files and at most %d are read (in name order); delete the plans of finished deployments", PlansDir, len(names), MaxFiles)})
			continue
		}
		data, err := ReadFile(fsys, name, min(MaxFileBytes, budget))
		var e Error
		switch {
		case errors.As(err, &e) && budget < MaxFileBytes:
			errs = append(errs, Error{File: name, Pos: Pos{Line: 1, Col: 1}, Message: fmt.Sprintf(
				"not read: the plans under %s/ before this one fill the %s read per repository; delete the plans of finished deployments", PlansDir, byteSize(MaxRepoBytes))})
			continue
		case errors.As(err, &e):
			errs = append(errs, e)
			continue
		case err != nil:
			errs = append(errs, Error{File: name, Pos: Pos{Line: 1, Col: 1}, Message: fmt.Sprintf("cannot read the plan: %v", err)})
			continue
		}
		budget -= int64(len(data))
		p, err := ParsePlan(name, data)
		errs = appendErr(errs, err)
		r.Plans = append(r.Plans, p)
		if id := p.Metadata.Name; id != "" {
			ids[id] = append(ids[id], p)
		}
	}
	errs = append(errs, duplicateIDs(ids, opts.Changed)...)
	return r, errs.Err()
}

// duplicateIDs reports deployment ids used by more than one plan, on the
// plans that the change made (see LoadOptions.Changed), each naming a plan
// that had the id first.
func duplicateIDs(ids map[string][]*Plan, changed []string) ErrorList {
	var errs ErrorList
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		plans := ids[id]
		if len(plans) < 2 {
			continue
		}
		blamed := slices.DeleteFunc(slices.Clone(plans), func(p *Plan) bool { return !slices.Contains(changed, p.File) })
		format := "deployment id %q is already used by %s:%d; deployment ids are unique in the repository, pick a new one"
		if len(blamed) == 0 || len(blamed) == len(plans) {
			blamed = plans // which came first is unknown: each is told
			format = "deployment id %q is also used by %s:%d; deployment ids are unique in the repository, give one of them a new id"
		}
		for _, p := range blamed {
			// Name a plan that is not blamed (it had the id first), else
			// another one that is.
			i := slices.IndexFunc(plans, func(o *Plan) bool { return !slices.Contains(blamed, o) })
			if i < 0 {
				i = slices.IndexFunc(plans, func(o *Plan) bool { return o != p })
			}
			other := plans[i]
			errs = append(errs, Error{File: p.File, Pos: p.pos["metadata.name"], Path: "metadata.name",
				Message: fmt.Sprintf(format, id, other.File, other.pos["metadata.name"].Line)})
		}
	}
	return errs
}

// ReadFile reads a file of the repository, at most limit bytes of it. A
// larger file is not read: the error is an Error at the file's first line
// that says how large it is and what the limit is.
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, tooLarge(name, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, Error{File: name, Pos: Pos{Line: 1, Col: 1},
			Message: fmt.Sprintf("the file is larger than %s, the most read per file, so it was not read: split it or write it shorter", byteSize(limit))}
	}
	return data, nil
}

func appendErr(errs ErrorList, err error) ErrorList {
	var l ErrorList
	switch {
	case err == nil:
		return errs
	case errors.As(err, &l):
		return append(errs, l...)
	default:
		return append(errs, Error{Message: err.Error()})
	}
}

// Plan returns the plan read from file.
func (r *Repo) Plan(file string) (*Plan, bool) {
	for _, p := range r.Plans {
		if p.File == file {
			return p, true
		}
	}
	return nil, false
}

// PlanByID returns the plan with the given deployment id.
func (r *Repo) PlanByID(id string) (*Plan, bool) {
	for _, p := range r.Plans {
		if p.Metadata.Name == id {
			return p, true
		}
	}
	return nil, false
}

// Errors returns the errors of a repository load that concern the given
// files, plus fleet errors (which concern every plan).
func Errors(err error, files ...string) ErrorList {
	var l ErrorList
	if !errors.As(err, &l) {
		if err != nil {
			return ErrorList{{Message: err.Error()}}
		}
		return nil
	}
	var out ErrorList
	for _, e := range l {
		if e.File == FleetFile || slices.Contains(files, e.File) {
			out = append(out, e)
		}
	}
	return out
}
