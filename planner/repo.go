package planner

import (
	"errors"
	"fmt"
	"io/fs"
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

// LoadRepo reads fleet.yaml and every plan under deploys/, and checks what
// spans files: deployment ids are unique in the repository. It returns the
// repository with every problem found, so callers can report them all.
func LoadRepo(fsys fs.FS) (*Repo, error) {
	r := &Repo{FS: fsys}
	var errs ErrorList
	data, err := fs.ReadFile(fsys, FleetFile)
	if err != nil {
		return r, ErrorList{{File: FleetFile, Message: fmt.Sprintf("cannot read the fleet: %v; the repository root needs a fleet.yaml", err)}}
	}
	r.Fleet, err = ParseFleet(FleetFile, data)
	errs = appendErr(errs, err)

	names, err := fs.Glob(fsys, PlansDir+"/*.y*ml")
	if err != nil {
		return r, err
	}
	slices.Sort(names)
	ids := map[string]*Plan{}
	for _, name := range names {
		if !IsPlanFile(name) {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, Error{File: name, Message: err.Error()})
			continue
		}
		p, err := ParsePlan(name, data)
		errs = appendErr(errs, err)
		r.Plans = append(r.Plans, p)
		if id := p.Metadata.Name; id != "" {
			if first, dup := ids[id]; dup {
				pos := first.pos["metadata.name"]
				errs = append(errs, Error{File: name, Pos: p.pos["metadata.name"], Path: "metadata.name",
					Message: fmt.Sprintf("deployment id %q is already used by %s:%d; deployment ids are unique in the repository, pick a new one", id, first.File, pos.Line)})
			} else {
				ids[id] = p
			}
		}
	}
	return r, errs.Err()
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
