package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
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
// pairs reads nothing more. A Renderer is not safe for concurrent use.
type Renderer struct {
	mem   filesys.FileSystem
	kust  *krusty.Kustomizer
	fleet *Fleet
}

const (
	memRepo   = "/repo"
	memRender = "/render"
)

// NewRenderer prepares rendering from the repository: it copies the
// repository (without .git) into memory and checks that every kustomization
// refers only to files inside it. Rendering never fetches remote bases: what
// a merged plan deploys is exactly what its commit holds.
func NewRenderer(repo *Repo) (*Renderer, error) {
	mem := filesys.MakeFsInMemory()
	var kustomizations []string
	err := fs.WalkDir(repo.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return mem.MkdirAll(path.Join(memRepo, p))
		}
		data, err := fs.ReadFile(repo.FS, p)
		if err != nil {
			return err
		}
		switch path.Base(p) {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			kustomizations = append(kustomizations, p)
		}
		return mem.WriteFile(path.Join(memRepo, p), data)
	})
	if err != nil {
		return nil, fmt.Errorf("reading the repository for rendering: %w", err)
	}
	for _, k := range kustomizations {
		if err := checkLocalRefs(mem, k); err != nil {
			return nil, err
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	return &Renderer{mem: mem, kust: krusty.MakeKustomizer(opts), fleet: repo.Fleet}, nil
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

// checkLocalRefs fails when a kustomization refers to anything that is not a
// file or directory of the repository (a URL, a remote git base, a path
// outside the repository).
func checkLocalRefs(mem filesys.FileSystem, file string) error {
	data, err := mem.ReadFile(path.Join(memRepo, file))
	if err != nil {
		return err
	}
	var k kustomizationRefs
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s: invalid kustomization: %w", file, err)
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
		if strings.Contains(ref, "://") || path.IsAbs(ref) || !strings.HasPrefix(target, memRepo+"/") || !mem.Exists(target) {
			return fmt.Errorf("%s: %q is not a file or directory of this repository; prdeploy renders only what the commit holds (no remote bases, no paths outside the repository)", file, ref)
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
	if r.mem.Exists(path.Join(memRepo, overlay, "kustomization.yaml")) || r.mem.Exists(path.Join(memRepo, overlay, "kustomization.yml")) {
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
	if err := r.mem.MkdirAll(dir); err != nil {
		return nil, err
	}
	if err := r.mem.WriteFile(path.Join(dir, "kustomization.yaml"), data); err != nil {
		return nil, err
	}
	rm, err := r.kust.Run(r.mem, dir)
	if err != nil {
		return nil, fmt.Errorf("render %s/%s from %s: %w", t.Name, s.Name, source, err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("render %s/%s: %w", t.Name, s.Name, err)
	}
	if !usesImage(out, ref) {
		return nil, fmt.Errorf("render %s/%s: the manifests from %s do not run %s; make the workloads there use image %s so the plan can replace its tag", t.Name, s.Name, source, s.Image, def.Image)
	}
	sum := sha256.Sum256(out)
	m := &Manifest{Tenant: t.Name, Service: s.Name, Cluster: t.Cluster, Namespace: t.Namespace, YAML: out, Digest: hex.EncodeToString(sum[:])}
	for _, res := range rm.Resources() {
		m.Objects = append(m.Objects, ObjectRef{APIVersion: res.GetApiVersion(), Kind: res.GetKind(), Namespace: res.GetNamespace(), Name: res.GetName()})
	}
	return m, nil
}
