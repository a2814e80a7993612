package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
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
// repository's service bases and tenant overlays into memory once, so that
// rendering many (tenant, service) pairs reads nothing more. A Renderer is
// not safe for concurrent use.
type Renderer struct {
	mem   filesys.FileSystem
	kust  *krusty.Kustomizer
	fleet *Fleet
}

const (
	memRepo   = "/repo"
	memRender = "/render"
)

// NewRenderer prepares rendering for the repository's services and overlays.
func NewRenderer(repo *Repo) (*Renderer, error) {
	mem := filesys.MakeFsInMemory()
	roots := []string{"tenants"}
	for _, s := range repo.Fleet.Services {
		def, _ := repo.Fleet.Service(s.Name)
		roots = append(roots, def.Path)
	}
	for _, root := range roots {
		if err := copyTree(repo.FS, root, mem); err != nil {
			return nil, err
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	return &Renderer{mem: mem, kust: krusty.MakeKustomizer(opts), fleet: repo.Fleet}, nil
}

func copyTree(src fs.FS, root string, dst filesys.FileSystem) error {
	err := fs.WalkDir(src, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return dst.MkdirAll(path.Join(memRepo, p))
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return dst.WriteFile(path.Join(memRepo, p), data)
	})
	if err != nil && !strings.Contains(err.Error(), "file does not exist") {
		return fmt.Errorf("reading %s: %w", root, err)
	}
	return nil
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
	sum := sha256.Sum256(out)
	m := &Manifest{Tenant: t.Name, Service: s.Name, Cluster: t.Cluster, Namespace: t.Namespace, YAML: out, Digest: hex.EncodeToString(sum[:])}
	for _, res := range rm.Resources() {
		m.Objects = append(m.Objects, ObjectRef{APIVersion: res.GetApiVersion(), Kind: res.GetKind(), Namespace: res.GetNamespace(), Name: res.GetName()})
	}
	return m, nil
}
