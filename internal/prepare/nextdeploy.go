package prepare

import (
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/prdeploy/prdeploy/planner"
)

// A pull request that changes no plan can still change what the next
// deploy of a tenant's service applies: a base under services/, an overlay
// under tenants/, fleet.yaml, or anything a kustomization refers to. Its
// check renders every tenant × service of the fleet at the head and at the
// base, with the same placeholder image (the next plan sets the image),
// and lists those whose manifests differ.

// deployInputs are the changed files that can change what a deploy
// applies: fleet.yaml, files under services/ and tenants/ or a fleet
// service's path, and files in or below a directory that holds a
// kustomization (components, shared bases). Plans and policies are not.
func deployInputs(changed []string, head, base fs.FS, fleets ...*planner.Fleet) []string {
	var roots []string
	for _, f := range fleets {
		if f == nil {
			continue
		}
		for _, s := range f.Services {
			if d, ok := f.Service(s.Name); ok {
				roots = append(roots, d.Path)
			}
		}
	}
	var out []string
	for _, name := range changed {
		switch {
		case strings.HasPrefix(name, planner.PlansDir+"/"), strings.HasPrefix(name, planner.PoliciesDir+"/"):
			continue
		case name == planner.FleetFile, strings.HasPrefix(name, "services/"), strings.HasPrefix(name, "tenants/"):
		case slices.ContainsFunc(roots, func(r string) bool { return strings.HasPrefix(name, strings.TrimSuffix(r, "/")+"/") }):
		case inKustomization(name, head), inKustomization(name, base):
		default:
			continue
		}
		out = append(out, name)
	}
	return out
}

// inKustomization says whether a directory holding name, or one above it,
// holds a kustomization.
func inKustomization(name string, fsys fs.FS) bool {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		for _, k := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
			if _, err := fs.Stat(fsys, path.Join(dir, k)); err == nil {
				return true
			}
		}
	}
	return false
}

// fleetJobs are every tenant × service of a fleet, rendered with the
// placeholder image, tenants in file order, services by name.
func fleetJobs(f *planner.Fleet) []renderJob {
	var jobs []renderJob
	for _, t := range f.Tenants {
		services := t.Services
		if len(services) == 0 {
			services = f.ServiceNames()
		}
		tt := planner.TenantTarget{Name: t.Name, Cluster: t.Cluster, Namespace: t.Namespace, Labels: t.Labels, Services: services}
		for _, name := range services {
			def, ok := f.Service(name)
			if !ok {
				continue
			}
			svc := planner.ServiceRollout{Name: name, Image: def.Image + ":" + planner.PreviewPlaceholderTag, Path: def.Path}
			jobs = append(jobs, renderJob{tenant: tt, service: svc, keepImage: def.Image})
		}
	}
	return jobs
}

// RenderNextDeploys renders what the next deploy of every tenant × service
// would apply at the head and at the base, and keeps, as targets to
// preview, the manifests that differ (Changed lists them). A base that does
// not load or render counts as different everywhere. Pairs in except
// (tenant/service: the PR's plans deploy them) are left out.
func RenderNextDeploys(head, base *planner.Repo, except map[string]bool) RenderedPlan {
	before := map[string]string{}
	if base != nil && base.Fleet != nil {
		if r, err := planner.NewRenderer(base); err == nil {
			for i, j := range fleetJobs(base.Fleet) {
				if i == maxCheckedManifests {
					break
				}
				if m, err := r.Render(j.tenant, j.service); err == nil {
					before[j.tenant.Name+"/"+j.service.Name] = m.Digest
				}
			}
			r.Close()
		}
	}
	jobs := slices.DeleteFunc(fleetJobs(head.Fleet), func(j renderJob) bool { return except[j.tenant.Name+"/"+j.service.Name] })
	return render(head, jobs, planner.FleetFile, false, before)
}
