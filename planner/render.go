package planner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Labels prdeploy puts on every object it renders (object metadata only,
// never selectors or pod templates, so adding them restarts nothing).
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelTenant    = "prdeploy.dev/tenant"
	LabelService   = "prdeploy.dev/service"
)

// Manifest is the rendered YAML of one service in one tenant.
type Manifest struct {
	Tenant    string `json:"tenant"`
	Service   string `json:"service"`
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	// YAML is a multi-document stream, ordered by kind for applying:
	// namespaces, CRDs, config maps and secrets, services, then workloads.
	YAML []byte `json:"-"`
	// Digest is the hex SHA-256 of YAML.
	Digest  string      `json:"digest"`
	Objects []ObjectRef `json:"objects"`
}

// ObjectRef names one rendered object.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// Renderer renders manifests with kustomize from a repository. It copies the
// repository into memory once, so that rendering many (tenant, service)
// pairs reads nothing more. Kustomize runs in a sandbox process that has
// the repository and nothing else: no network, no programs to run (see
// sandbox.go). A Renderer is not safe for concurrent use; Close ends its
// sandbox.
type Renderer struct {
	files map[string][]byte // memRepo/<path> → content
	dirs  map[string]bool   // memRepo/<path>
	sb    *sandbox
	fleet *Fleet
}

const (
	memRepo   = "/repo"
	memRender = "/render"
)

// NewRenderer prepares rendering from the repository: it copies the
// repository (without .git) into memory and checks that every kustomization
// refers only to files inside it. Rendering never fetches anything: what a
// merged plan deploys is exactly what its commit holds.
func NewRenderer(repo *Repo) (*Renderer, error) {
	return newRenderer(repo, true)
}

// newRenderer can skip the early check of references, so that tests show
// the sandbox refusing on its own.
func newRenderer(repo *Repo, checkRefs bool) (*Renderer, error) {
	r := &Renderer{files: map[string][]byte{}, dirs: map[string]bool{}, fleet: repo.Fleet}
	var kustomizations []string
	err := fs.WalkDir(repo.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			r.dirs[path.Join(memRepo, p)] = true
			return nil
		}
		data, err := fs.ReadFile(repo.FS, p)
		if err != nil {
			return err
		}
		if isKustomization(p) {
			kustomizations = append(kustomizations, p)
		}
		r.files[path.Join(memRepo, p)] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the repository for rendering: %w", err)
	}
	for _, k := range kustomizations {
		if !checkRefs {
			break
		}
		if err := r.checkLocalRefs(k); err != nil {
			return nil, err
		}
	}
	r.sb = &sandbox{files: r.files}
	runtime.AddCleanup(r, func(sb *sandbox) { sb.close() }, r.sb)
	return r, nil
}

// Close ends the renderer's sandbox process, if one runs.
func (r *Renderer) Close() error {
	r.sb.close()
	return nil
}

func (r *Renderer) exists(p string) bool {
	_, ok := r.files[p]
	return ok || r.dirs[p]
}

// kustomizationRefs are the fields of a kustomization that name other files.
type kustomizationRefs struct {
	Resources             []string `json:"resources"`
	Components            []string `json:"components"`
	Bases                 []string `json:"bases"`
	PatchesStrategicMerge []string `json:"patchesStrategicMerge"`
	Patches               []struct {
		Path string `json:"path"`
	} `json:"patches"`
	ConfigMapGenerator []generatorRefs `json:"configMapGenerator"`
	SecretGenerator    []generatorRefs `json:"secretGenerator"`
}

type generatorRefs struct {
	Files []string `json:"files"`
	Envs  []string `json:"envs"`
	Env   string   `json:"env"`
}

// checkLocalRefs fails early, with the place, when a kustomization's usual
// fields refer to anything that is not a file or directory of the
// repository (a URL, a remote git base, a path outside the repository).
// It is a courtesy, not the guarantee: the sandbox refuses every fetch,
// from these fields and from any other.
func (r *Renderer) checkLocalRefs(file string) error {
	data := r.files[path.Join(memRepo, file)]
	var k kustomizationRefs
	if err := yaml.Unmarshal(data, &k); err != nil {
		e := Error{File: file, Message: fmt.Sprintf("invalid kustomization: %v", err)}
		if m := yamlAtLineRE.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Col = 1
			e.Message = "invalid kustomization: not valid YAML: " + m[2]
		}
		return e
	}
	refs := slices.Concat(k.Resources, k.Components, k.Bases, k.PatchesStrategicMerge)
	for _, p := range k.Patches {
		if p.Path != "" {
			refs = append(refs, p.Path)
		}
	}
	for _, g := range slices.Concat(k.ConfigMapGenerator, k.SecretGenerator) {
		for _, f := range slices.Concat(g.Files, g.Envs, []string{g.Env}) {
			if f == "" {
				continue
			}
			if _, after, found := strings.Cut(f, "="); found {
				f = after
			}
			refs = append(refs, f)
		}
	}
	dir := path.Dir(path.Join(memRepo, file))
	for _, ref := range refs {
		target := path.Join(dir, ref)
		if strings.Contains(ref, "://") || path.IsAbs(ref) || !strings.HasPrefix(target, memRepo+"/") || !r.exists(target) {
			return Error{File: file, Pos: posOf(data, ref), Message: fmt.Sprintf("%q is not a file or directory of this repository; %s", ref, onlyTheCommit)}
		}
	}
	return nil
}

// usesImage reports whether rendered YAML runs the image: the repository
// with the plan's digest, or with its tag.
func usesImage(out []byte, ref ImageRef) bool {
	for _, line := range strings.Split(string(out), "\n") {
		v, ok := strings.CutPrefix(strings.TrimLeft(strings.TrimSpace(line), "- "), "image: ")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		name, digest, _ := strings.Cut(v, "@")
		if ref.Digest != "" && digest == ref.Digest && strings.HasPrefix(name, ref.Repository) {
			return true
		}
		if ref.Digest == "" && v == ref.Repository+":"+ref.Tag {
			return true
		}
	}
	return false
}

// Render builds the manifests of one service for one tenant with the plan's
// image applied: the tenant overlay tenants/<tenant>/<service> when it
// exists, else the service base; namespaced to the tenant; labelled with
// tenant and service.
func (r *Renderer) Render(t TenantTarget, s ServiceRollout) (*Manifest, error) {
	def, ok := r.fleet.Service(s.Name)
	if !ok {
		return nil, fmt.Errorf("render %s/%s: service %q is not in the fleet", t.Name, s.Name, s.Name)
	}
	ref, err := ParseImage(s.Image)
	if err != nil {
		return nil, fmt.Errorf("render %s/%s: %w", t.Name, s.Name, err)
	}
	source := def.Path
	overlay := path.Join("tenants", t.Name, s.Name)
	if r.exists(path.Join(memRepo, overlay, "kustomization.yaml")) || r.exists(path.Join(memRepo, overlay, "kustomization.yml")) {
		source = overlay
	}
	dir := path.Join(memRender, t.Name, s.Name)
	k := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"namespace":  t.Namespace,
		"resources":  []string{path.Join("../../..", memRepo, source)},
		"images": []map[string]string{{
			"name": def.Image, "newName": ref.Repository, "newTag": ref.Tag, "digest": ref.Digest,
		}},
		"labels": []map[string]any{{
			"pairs": map[string]string{LabelManagedBy: "prdeploy", LabelTenant: t.Name, LabelService: s.Name},
		}},
	}
	data, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	resp, err := r.sb.render(dir, data)
	if err != nil {
		return nil, fmt.Errorf("render %s/%s from %s: %w", t.Name, s.Name, source, err)
	}
	if resp.Err != "" {
		return nil, fmt.Errorf("render %s/%s from %s: %w", t.Name, s.Name, source, r.explain(resp))
	}
	out := resp.YAML
	violations, err := r.fleet.BoundaryOf(t.Name).CheckManifest(t.Namespace, out)
	if err != nil {
		return nil, fmt.Errorf("render %s/%s: %w", t.Name, s.Name, err)
	}
	if len(violations) > 0 {
		return nil, &BoundaryError{Tenant: t.Name, Service: s.Name, Violations: violations}
	}
	if !usesImage(out, ref) {
		return nil, fmt.Errorf("render %s/%s: the manifests from %s do not run %s; make the workloads there use image %s so the plan can replace its tag", t.Name, s.Name, source, s.Image, def.Image)
	}
	sum := sha256.Sum256(out)
	m := &Manifest{Tenant: t.Name, Service: s.Name, Cluster: t.Cluster, Namespace: t.Namespace, YAML: out, Digest: hex.EncodeToString(sum[:]), Objects: resp.Objects}
	return m, nil
}

// onlyTheCommit says why a reference is refused.
const onlyTheCommit = "prdeploy renders only what the commit holds, without network: no URLs, remote bases, Helm charts, plugins or paths outside the repository"

// urlRE finds URLs (and git URLs such as file:// or ssh://) in kustomize's
// error text.
var urlRE = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s'\"`,\\]]+")

// gitRefRE finds what kustomize takes for a remote git base.
var gitRefRE = regexp.MustCompile(`(?:[A-Za-z][A-Za-z0-9+.-]*://|git@)[^\s'"]+|(?:github\.com|gitlab\.com|bitbucket\.org)/[^\s'"]+`)

func isKustomization(p string) bool {
	switch path.Base(p) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// pluginRE finds the kind of an external plugin kustomize refused.
var pluginRE = regexp.MustCompile(`unable to load external plugin '([^']+)'`)

// explain turns a failed render into an error at the reference that
// caused it, when it was a fetch, a remote base, Helm or a plugin: the
// first file kustomize read that names what it tried to reach.
func (r *Renderer) explain(resp sandboxResponse) error {
	type lookup struct{ needle, what string }
	var lookups []lookup
	for _, u := range resp.Refused {
		lookups = append(lookups, lookup{u, u})
	}
	for _, u := range urlRE.FindAllString(resp.Err, -1) {
		lookups = append(lookups, lookup{u, u})
	}
	if m := pluginRE.FindStringSubmatch(resp.Err); m != nil {
		lookups = append(lookups, lookup{"kind: " + m[1], fmt.Sprintf("the plugin %s", m[1])})
	}
	if strings.Contains(resp.Err, "--enable-helm") {
		for _, n := range []string{"helmCharts:", "helmChartInflationGenerator:", "HelmChartInflationGenerator"} {
			lookups = append(lookups, lookup{n, "a Helm chart"})
		}
	}
	for _, l := range lookups {
		for _, name := range resp.Read {
			rel, ok := strings.CutPrefix(name, memRepo+"/")
			if !ok {
				continue // the kustomization prdeploy wrote
			}
			if pos := posOf(r.files[name], l.needle); pos.Line > 0 {
				return Error{File: rel, Pos: pos, Message: fmt.Sprintf("%s is not in the repository at this commit; %s", l.what, onlyTheCommit)}
			}
		}
	}
	// A remote git base fails for want of git before kustomize says which
	// one: it is a remote-looking reference in a kustomization it read.
	if strings.Contains(resp.Err, "'git'") {
		for _, name := range resp.Read {
			rel, ok := strings.CutPrefix(name, memRepo+"/")
			if !ok || !isKustomization(rel) {
				continue
			}
			if loc := gitRefRE.FindIndex(r.files[name]); loc != nil {
				data := r.files[name]
				ref := string(data[loc[0]:loc[1]])
				return Error{File: rel, Pos: posOf(data, ref), Message: fmt.Sprintf("the remote base %s is not in the repository at this commit; %s", ref, onlyTheCommit)}
			}
		}
	}
	if len(resp.Refused) > 0 {
		return fmt.Errorf("%s is not in the repository at this commit; %s (kustomize: %s)", resp.Refused[0], onlyTheCommit, resp.Err)
	}
	if e, ok := r.locate(resp.Err); ok {
		return e
	}
	return errors.New(resp.Err)
}

// posOf is where needle first appears in data, or the zero Pos.
func posOf(data []byte, needle string) Pos {
	i := bytes.Index(data, []byte(needle))
	if i < 0 || needle == "" {
		return Pos{}
	}
	line := bytes.Count(data[:i], []byte("\n")) + 1
	return Pos{Line: line, Col: i - bytes.LastIndexByte(data[:i], '\n')}
}
