package planner

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kustomize reports its errors as one long chain ("accumulating resources:
// accumulation err='…': recursed accumulation of path '/repo/…': …") that
// names the directory and often the file, but rarely the line. locate
// turns the common ones into an Error at the file and line to fix, so the
// pull request shows it there:
//
//   - a file that is not valid YAML, at kustomize's line;
//   - an unknown field of a kustomization, at the field;
//   - a patch that is not valid YAML, at its line;
//   - a patch whose target the resources lack, at the target's name;
//   - a resource that is already there, at its name in the file adding it.
//
// Other errors are put on the kustomization of the innermost directory,
// without a line.

var (
	repoPathRE    = regexp.MustCompile(`'` + memRepo + `/([^']*)'`)
	malformedRE   = regexp.MustCompile(`MalformedYAMLError: yaml: line (\d+): (.+?) in File: (\S+)`)
	unknownKeyRE  = regexp.MustCompile(`invalid Kustomization: json: unknown field \\?"([^"\\]+)`)
	badPatchRE    = regexp.MustCompile(`unable to parse SM or JSON patch from \[path: \\?"([^"\\]+)`)
	noTargetRE    = regexp.MustCompile(`no matches for Id ([^;\s]+)`)
	duplicateRE   = regexp.MustCompile(`may not add resource with an already registered id: ([^'\s]+)`)
	mergingFromRE = regexp.MustCompile(`merging resources from '([^']+)'`)
	yamlLineRE    = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAtLineRE  = regexp.MustCompile(`yaml: line (\d+): (.*)$`)
)

// locate finds where a kustomize error is, or says it cannot.
func (r *Renderer) locate(msg string) (Error, bool) {
	dir := ""
	for _, m := range repoPathRE.FindAllStringSubmatch(msg, -1) {
		if r.dirs[path.Join(memRepo, m[1])] {
			dir = m[1]
		}
	}
	if dir == "" {
		return Error{}, false
	}
	kust := r.kustomizationIn(dir)
	in := func(name string) string { return path.Join(dir, name) }
	if m := malformedRE.FindStringSubmatch(msg); m != nil && r.has(in(m[3])) {
		line, _ := strconv.Atoi(m[1])
		return Error{File: in(m[3]), Pos: Pos{Line: line, Col: 1}, Message: "not valid YAML: " + m[2]}, true
	}
	if m := unknownKeyRE.FindStringSubmatch(msg); m != nil && kust != "" {
		return Error{File: kust, Pos: r.pos(kust, m[1]+":"), Message: fmt.Sprintf("unknown field %q in a kustomization", m[1])}, true
	}
	if m := badPatchRE.FindStringSubmatch(msg); m != nil && r.has(in(m[1])) {
		e := Error{File: in(m[1]), Message: "the patch is neither a strategic-merge patch nor a JSON patch"}
		var v any
		if err := yaml.Unmarshal(r.files[path.Join(memRepo, in(m[1]))], &v); err != nil {
			if lm := yamlLineRE.FindStringSubmatch(err.Error()); lm != nil {
				e.Line, _ = strconv.Atoi(lm[1])
				e.Col = 1
				e.Message = "the patch is not valid YAML: " + lm[2]
			}
		}
		return e, true
	}
	if m := noTargetRE.FindStringSubmatch(msg); m != nil {
		kind, name := splitResID(m[1])
		for _, f := range r.filesUnder(dir) {
			if f == kust {
				continue
			}
			if p := r.pos(f, "name: "+name); p.Line > 0 {
				return Error{File: f, Pos: p, Message: fmt.Sprintf("the patch targets %s %q, which the resources do not hold", kind, name)}, true
			}
		}
	}
	if m := duplicateRE.FindStringSubmatch(msg); m != nil {
		kind, name := splitResID(m[1])
		if f := mergingFromRE.FindStringSubmatch(msg); f != nil && r.has(in(f[1])) {
			return Error{File: in(f[1]), Pos: r.pos(in(f[1]), "name: "+name),
				Message: fmt.Sprintf("%s %q is already in the kustomization (from another resource or base); give it another name or patch the existing one", kind, name)}, true
		}
	}
	if kust == "" {
		return Error{}, false
	}
	return Error{File: kust, Message: "kustomize: " + innermost(msg)}, true
}

// splitResID reads kustomize's resource id "Deployment.v1.apps/web.[noNs]".
func splitResID(id string) (kind, name string) {
	gvk, rest, _ := strings.Cut(id, "/")
	kind, _, _ = strings.Cut(gvk, ".")
	if i := strings.LastIndex(rest, "."); i > 0 {
		rest = rest[:i]
	}
	return kind, rest
}

// innermost is the last part of kustomize's chain, without the sandbox's
// paths.
func innermost(msg string) string {
	if i := strings.LastIndex(msg, "recursed accumulation of path '"); i >= 0 {
		if j := strings.Index(msg[i:], "': "); j > 0 {
			msg = msg[i+j+3:]
		}
	}
	return strings.ReplaceAll(msg, memRepo+"/", "")
}

func (r *Renderer) has(rel string) bool {
	_, ok := r.files[path.Join(memRepo, rel)]
	return ok
}

func (r *Renderer) pos(rel, needle string) Pos {
	return posOf(r.files[path.Join(memRepo, rel)], needle)
}

func (r *Renderer) kustomizationIn(dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if r.has(path.Join(dir, n)) {
			return path.Join(dir, n)
		}
	}
	return ""
}

// filesUnder lists the files directly in dir, kustomization first.
func (r *Renderer) filesUnder(dir string) []string {
	var out []string
	prefix := path.Join(memRepo, dir) + "/"
	for name := range r.files {
		if rest, ok := strings.CutPrefix(name, prefix); ok && !strings.Contains(rest, "/") {
			out = append(out, path.Join(dir, rest))
		}
	}
	slices.Sort(out)
	return out
}
