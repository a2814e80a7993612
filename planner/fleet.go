package planner

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
)

// ParseFleet reads fleet.yaml strictly and checks it: names are DNS labels,
// every tenant lives in a known cluster, no name or namespace is used twice
// in one cluster, services have valid image repositories.
func ParseFleet(file string, data []byte) (*Fleet, error) {
	d := newDecoder(file, fleetLimits)
	f := &Fleet{File: file}
	d.parseDocument(data, f)
	f.pos = d.pos
	if len(d.errs) > 0 && len(d.pos) == 0 {
		return f, LimitErrors(d.errs).Err()
	}
	errs := d.errs
	f.check(checker{file: file, pos: f.pos, errs: &errs})
	return f, LimitErrors(errs).Err()
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
	tenantNames := map[string]bool{}
	for _, t := range f.Tenants {
		tenantNames[t.Name] = true
	}
	patterns := namespacePatterns(f.Tenants)
	for i, ns := range f.AllowNamespaces {
		p := fmt.Sprintf("allowNamespaces[%d]", i)
		checkName(c, p, "namespace", ns)
		if !slices.ContainsFunc(f.Tenants, func(t FleetTenant) bool { return t.Namespace == ns }) {
			c.errorf(p, "allowNamespaces lists %q, which no tenant uses; remove it", ns)
		}
	}
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
		if !c.reported(p + ".namespace") {
			checkNamespace(c, p+".namespace", t, f, patterns, tenantNames)
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

// Namespaces tenants do not get unless fleet.yaml lists them in
// allowNamespaces: Kubernetes keeps its own objects there (kube-system,
// kube-public, kube-node-lease, and any kube- prefix), and "default" is
// where everything lands that names no namespace.
var reservedNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func reservedNamespace(ns string) bool {
	return slices.Contains(reservedNamespaces, ns) || strings.HasPrefix(ns, "kube-")
}

// namespacePattern is how a fleet names tenants' namespaces: the text
// around the tenant name, e.g. "tenant-" and "" for tenant-<name>.
type namespacePattern struct{ prefix, suffix string }

func (p namespacePattern) String() string { return p.prefix + "<name>" + p.suffix }

// maxNamespacePatterns bounds the patterns checked, so that a fleet where
// every tenant names its namespace differently costs tenants × 32, not
// tenants².
const maxNamespacePatterns = 32

// namespacePatterns returns the patterns of the tenants whose namespace
// holds their name, most used first.
func namespacePatterns(tenants []FleetTenant) []namespacePattern {
	count := map[namespacePattern]int{}
	for _, t := range tenants {
		if t.Name == "" {
			continue
		}
		if pat, ok := patternOf(t.Namespace, t.Name); ok {
			count[pat]++
		}
	}
	out := slices.Collect(maps.Keys(count))
	slices.SortFunc(out, func(a, b namespacePattern) int {
		return cmp.Or(count[b]-count[a], cmp.Compare(a.prefix, b.prefix), cmp.Compare(a.suffix, b.suffix))
	})
	return out[:min(len(out), maxNamespacePatterns)]
}

// patternOf finds name in ns as a whole word (between the ends of ns and
// '-'), so that tenant "a" in "tenant-a" gives tenant-<name>, not
// ten<name>nt-a.
func patternOf(ns, name string) (namespacePattern, bool) {
	for i := 0; i+len(name) <= len(ns); i++ {
		j := strings.Index(ns[i:], name)
		if j < 0 {
			break
		}
		i += j
		end := i + len(name)
		if (i == 0 || ns[i-1] == '-') && (end == len(ns) || ns[end] == '-') {
			return namespacePattern{ns[:i], ns[end:]}, true
		}
	}
	return namespacePattern{}, false
}

// checkNamespace refuses a namespace that belongs to Kubernetes, or that
// is named like another tenant's (tenant-bravo for tenant alpha): a
// manifest for one tenant would land among another's objects, and people
// reading the fleet would believe it is the other tenant's. Both pass when
// the fleet lists the namespace in allowNamespaces.
func checkNamespace(c checker, p string, t FleetTenant, f *Fleet, patterns []namespacePattern, tenants map[string]bool) {
	ns := t.Namespace
	if ns == "" || slices.Contains(f.AllowNamespaces, ns) {
		return
	}
	if reservedNamespace(ns) {
		c.errorf(p, "namespace %q belongs to Kubernetes, not to a tenant; give tenant %q its own namespace, or list %q in allowNamespaces to deploy there on purpose", ns, t.Name, ns)
		return
	}
	for _, pat := range patterns {
		if len(ns) < len(pat.prefix)+len(pat.suffix) || !strings.HasPrefix(ns, pat.prefix) || !strings.HasSuffix(ns, pat.suffix) {
			continue
		}
		other := ns[len(pat.prefix) : len(ns)-len(pat.suffix)]
		if other != t.Name && tenants[other] {
			c.errorf(p, "namespace %q is named for tenant %q (%s) but belongs to tenant %q; give each tenant its own namespace, e.g. %s%s%s, or list %q in allowNamespaces to share it on purpose", ns, other, pat, t.Name, pat.prefix, t.Name, pat.suffix, ns)
			return
		}
	}
}

func checkName(c checker, p, what, name string) {
	switch {
	case name == "":
		c.errorf(p, "%s name is required", what)
	case !dnsLabelRE.MatchString(name):
		msg := fmt.Sprintf("%s name %q must be a DNS label: lower-case letters, digits and '-', at most 63", what, name)
		if why := lookalike(name, "", nil); why != "" {
			msg += "; " + why
		}
		c.errorf(p, "%s", msg)
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
