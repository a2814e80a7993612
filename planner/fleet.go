package planner

import (
	"fmt"
	"io/fs"
	"slices"
)

// ParseFleet reads fleet.yaml strictly and checks it: names are DNS labels,
// every tenant lives in a known cluster, no name or namespace is used twice
// in one cluster, services have valid image repositories.
func ParseFleet(file string, data []byte) (*Fleet, error) {
	d := newDecoder(file)
	f := &Fleet{File: file}
	d.parseDocument(data, f)
	f.pos = d.pos
	if len(d.errs) > 0 && len(d.pos) == 0 {
		return f, d.errs.Err()
	}
	errs := d.errs
	f.check(checker{file: file, pos: f.pos, errs: &errs})
	return f, errs.Err()
}

func (f *Fleet) check(c checker) {
	checkHeader(c, f.APIVersion, f.Kind, KindFleet)
	if len(f.Clusters) == 0 {
		c.errorf("clusters", "the fleet needs at least one cluster")
	}
	clusters := map[string]bool{}
	for i, cl := range f.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		checkName(c, p+".name", "cluster", cl.Name)
		if clusters[cl.Name] {
			c.errorf(p+".name", "cluster %q is defined twice", cl.Name)
		}
		clusters[cl.Name] = true
	}
	services := map[string]bool{}
	for i, s := range f.Services {
		p := fmt.Sprintf("services[%d]", i)
		checkName(c, p+".name", "service", s.Name)
		if services[s.Name] {
			c.errorf(p+".name", "service %q is defined twice", s.Name)
		}
		services[s.Name] = true
		switch {
		case s.Image == "":
			c.errorf(p+".image", "service %q needs its image repository, e.g. registry.example.com/%s", s.Name, s.Name)
		case !validRepository(s.Image):
			c.errorf(p+".image", "invalid image repository %q; write it without tag, e.g. registry.example.com/%s", s.Image, s.Name)
		}
		if s.Path != "" && !fs.ValidPath(s.Path) {
			c.errorf(p+".path", "path %q must be a clean path relative to the repository root (no leading /, no ..)", s.Path)
		}
	}
	f.Boundary.check(c, "boundary")
	tenants := map[string]bool{}
	namespaces := map[string]string{}
	clusterNames := f.ClusterNames()
	serviceNames := f.ServiceNames()
	for i, t := range f.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		checkName(c, p+".name", "tenant", t.Name)
		if tenants[t.Name] {
			c.errorf(p+".name", "tenant %q is defined twice", t.Name)
		}
		tenants[t.Name] = true
		switch {
		case t.Cluster == "":
			c.errorf(p+".cluster", "tenant %q needs a cluster; known: %s", t.Name, quoteList(clusterNames))
		case !clusters[t.Cluster]:
			c.errorf(p+".cluster", "unknown cluster %q; known: %s", t.Cluster, quoteList(clusterNames))
		}
		if t.Namespace == "" {
			c.errorf(p+".namespace", "tenant %q needs a namespace", t.Name)
		} else {
			checkName(c, p+".namespace", "namespace", t.Namespace)
			key := t.Cluster + "/" + t.Namespace
			if other, ok := namespaces[key]; ok {
				c.errorf(p+".namespace", "namespace %q in cluster %q is already used by tenant %q", t.Namespace, t.Cluster, other)
			}
			namespaces[key] = t.Name
		}
		for k := range t.Labels {
			if !labelKeyRE.MatchString(k) {
				c.errorf(p+".labels."+k, "invalid label key %q", k)
			}
		}
		t.Boundary.check(c, p+".boundary")
		for j, s := range t.Services {
			if !services[s] {
				c.errorf(fmt.Sprintf("%s.services[%d]", p, j), "unknown service %q; known: %s", s, quoteList(serviceNames))
			}
		}
	}
}

func checkName(c checker, p, what, name string) {
	switch {
	case name == "":
		c.errorf(p, "%s name is required", what)
	case !dnsLabelRE.MatchString(name):
		c.errorf(p, "%s name %q must be a DNS label: lower-case letters, digits and '-', at most 63", what, name)
	}
}

// ClusterNames returns the cluster names in file order.
func (f *Fleet) ClusterNames() []string {
	out := make([]string, len(f.Clusters))
	for i, c := range f.Clusters {
		out[i] = c.Name
	}
	return out
}

// ServiceNames returns the service names, sorted.
func (f *Fleet) ServiceNames() []string {
	out := make([]string, len(f.Services))
	for i, s := range f.Services {
		out[i] = s.Name
	}
	slices.Sort(out)
	return out
}

// Service returns the service definition named name.
func (f *Fleet) Service(name string) (ServiceDef, bool) {
	for _, s := range f.Services {
		if s.Name == name {
			if s.Path == "" {
				s.Path = "services/" + s.Name
			}
			return s, true
		}
	}
	return ServiceDef{}, false
}

// Cluster returns the cluster named name.
func (f *Fleet) Cluster(name string) (Cluster, bool) {
	for _, c := range f.Clusters {
		if c.Name == name {
			return c, true
		}
	}
	return Cluster{}, false
}
