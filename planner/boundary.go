package planner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// Boundary is what a tenant may hold in its cluster, like an Argo CD
// AppProject: fleet.yaml's `boundary:` sets it for every tenant, and a
// tenant's own `boundary:` replaces the lists it sets. Entries are
// group/Kind ("apps/Deployment"); kinds of the core group are written
// without a group ("ConfigMap"); "group/*" is every kind of a group.
//
// A tenant's objects must be in its namespace. Cluster-scoped objects are
// refused unless their kind is in ClusterKinds, except the tenant's own
// Namespace; admission webhooks and CRDs are cluster-scoped, so they are
// refused unless listed there. Role bindings may only bind subjects of the
// tenant (its namespace's service accounts, and users and groups that are
// not cluster-wide system identities), and never cluster-admin.
type Boundary struct {
	// Kinds are the namespaced kinds the tenant may create. Absent: the
	// default, DefaultBoundaryKinds.
	Kinds []string `yaml:"kinds" json:"kinds,omitempty"`
	// ClusterKinds are the cluster-scoped kinds the tenant may create
	// (none by default).
	ClusterKinds []string `yaml:"clusterKinds" json:"clusterKinds,omitempty"`
}

// DefaultBoundaryKinds are the namespaced kinds tenants may create when
// fleet.yaml says nothing: the objects of an ordinary service.
// examples/kubernetes/target-cluster-rbac.yaml grants prdeploy exactly
// these.
var DefaultBoundaryKinds = []string{
	"ConfigMap", "Secret", "Service", "ServiceAccount", "PersistentVolumeClaim",
	"apps/Deployment", "apps/StatefulSet",
	"batch/Job", "batch/CronJob",
	"autoscaling/HorizontalPodAutoscaler",
	"policy/PodDisruptionBudget",
	"networking.k8s.io/Ingress", "networking.k8s.io/NetworkPolicy",
	"rbac.authorization.k8s.io/Role", "rbac.authorization.k8s.io/RoleBinding",
}

// DefaultBoundary is the boundary of a fleet that says nothing.
func DefaultBoundary() Boundary {
	return Boundary{Kinds: slices.Clone(DefaultBoundaryKinds), ClusterKinds: []string{}}
}

// BoundaryOf returns the tenant's effective boundary: the tenant's lists,
// else the fleet's, else the defaults.
func (f *Fleet) BoundaryOf(tenant string) Boundary {
	b := DefaultBoundary()
	merge := func(o *Boundary) {
		if o == nil {
			return
		}
		if o.Kinds != nil {
			b.Kinds = o.Kinds
		}
		if o.ClusterKinds != nil {
			b.ClusterKinds = o.ClusterKinds
		}
	}
	merge(f.Boundary)
	for _, t := range f.Tenants {
		if t.Name == tenant {
			merge(t.Boundary)
		}
	}
	return b
}

// IsDefault reports whether b is the default boundary.
func (b Boundary) IsDefault() bool {
	return slices.Equal(b.Kinds, DefaultBoundaryKinds) && len(b.ClusterKinds) == 0
}

// Boundary rules, as violations name them.
const (
	RuleNamespace        = "namespace"         // outside the tenant's namespace
	RuleKind             = "kind"              // a namespaced kind not allowed
	RuleClusterScoped    = "cluster-scoped"    // a cluster-scoped kind not allowed
	RuleAdmissionWebhook = "admission-webhook" // a webhook configuration not allowed
	RuleCRD              = "crd"               // a CustomResourceDefinition not allowed
	RuleSubject          = "subject"           // a binding's subject outside the tenant
	RuleClusterAdmin     = "cluster-admin"     // a binding to cluster-admin
)

// Violation is one way an object crosses its tenant's boundary.
type Violation struct {
	// Object names it: "ClusterRoleBinding evil", "Deployment ns/web".
	Object  string `json:"object"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (v Violation) Error() string {
	return fmt.Sprintf("%s: %s (boundary rule %q)", v.Object, v.Message, v.Rule)
}

// BoundaryError lists the violations of one service's manifests in one
// tenant. Retrying cannot fix it.
type BoundaryError struct {
	Tenant, Service string
	Violations      []Violation
}

func (e *BoundaryError) Error() string {
	msgs := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		msgs[i] = v.Error()
	}
	return fmt.Sprintf("%s/%s crosses the tenant's boundary (fleet.yaml boundary): %s", e.Tenant, e.Service, strings.Join(msgs, "; "))
}

// kindRE is one boundary entry: group/Kind, Kind, or group/*.
var kindRE = regexp.MustCompile(`^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?(?:[A-Z][A-Za-z0-9]*|\*)$`)

func (b *Boundary) check(c checker, p string) {
	if b == nil {
		return
	}
	for field, list := range map[string][]string{"kinds": b.Kinds, "clusterKinds": b.ClusterKinds} {
		for i, k := range list {
			if !kindRE.MatchString(k) {
				c.errorf(fmt.Sprintf("%s.%s[%d]", p, field, i), "invalid kind %q; write group/Kind (apps/Deployment), Kind for the core group (ConfigMap), or group/* for every kind of a group", k)
			}
		}
	}
}

func allows(list []string, group, kind string) bool {
	for _, e := range list {
		g, k, ok := strings.Cut(e, "/")
		if !ok {
			g, k = "", e
		}
		if g == group && (k == kind || k == "*") {
			return true
		}
	}
	return false
}

func groupKind(group, kind string) string {
	if group == "" {
		return kind
	}
	return group + "/" + kind
}

// ObjectName names an object the way violations do.
func ObjectName(kind, namespace, name string) string {
	if namespace != "" {
		return fmt.Sprintf("%s %s/%s", kind, namespace, name)
	}
	return fmt.Sprintf("%s %s", kind, name)
}

// Check returns every way obj crosses the boundary of a tenant whose
// namespace is namespace. clusterScoped says whether the object's kind is
// cluster-scoped (the cluster's API discovery at apply; kustomize's
// built-in schema at the PR).
func (b Boundary) Check(namespace string, obj map[string]any, clusterScoped bool) []Violation {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group = ""
	}
	if clusterScoped {
		ns = ""
	}
	id := ObjectName(kind, ns, name)
	var out []Violation
	add := func(rule, format string, args ...any) {
		out = append(out, Violation{Object: id, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	gk := groupKind(group, kind)
	switch {
	case clusterScoped && group == "" && kind == "Namespace":
		if name != namespace {
			add(RuleNamespace, "a tenant's manifests may hold its own Namespace %s only", namespace)
		}
	case clusterScoped && allows(b.ClusterKinds, group, kind):
	case clusterScoped && group == "admissionregistration.k8s.io":
		add(RuleAdmissionWebhook, "admission webhooks and policies see and change every tenant's requests; allow %s in the fleet's boundary.clusterKinds only for a tenant that runs the cluster", gk)
	case clusterScoped && gk == "apiextensions.k8s.io/CustomResourceDefinition":
		add(RuleCRD, "a CustomResourceDefinition changes the API of every tenant; install CRDs with the cluster, or allow %s in boundary.clusterKinds", gk)
	case clusterScoped:
		add(RuleClusterScoped, "%s is cluster-scoped, outside any tenant; allow it in boundary.clusterKinds to let this tenant create it", gk)
	case ns != namespace:
		add(RuleNamespace, "the tenant's namespace is %s", namespace)
	case !allows(b.Kinds, group, kind):
		add(RuleKind, "the tenant may not create %s; its boundary.kinds are %s", gk, strings.Join(b.Kinds, ", "))
	}
	if group == "rbac.authorization.k8s.io" && (kind == "RoleBinding" || kind == "ClusterRoleBinding") {
		out = append(out, checkBinding(id, namespace, obj)...)
	}
	return out
}

// systemIdentity matches users and groups that span the cluster.
func systemIdentity(name string) bool { return strings.HasPrefix(name, "system:") }

func checkBinding(id, namespace string, obj map[string]any) []Violation {
	var out []Violation
	if ref, _ := obj["roleRef"].(map[string]any); ref != nil {
		if k, _ := ref["kind"].(string); k == "ClusterRole" {
			if n, _ := ref["name"].(string); n == "cluster-admin" {
				out = append(out, Violation{Object: id, Rule: RuleClusterAdmin, Message: "binds cluster-admin: a tenant gets at most the roles prdeploy may grant in its namespace"})
			}
		}
	}
	subjects, _ := obj["subjects"].([]any)
	for _, s := range subjects {
		sub, _ := s.(map[string]any)
		kind, _ := sub["kind"].(string)
		name, _ := sub["name"].(string)
		ns, _ := sub["namespace"].(string)
		switch {
		case kind == "ServiceAccount" && ns != namespace && !(ns == "" && obj["kind"] == "RoleBinding"):
			out = append(out, Violation{Object: id, Rule: RuleSubject, Message: fmt.Sprintf("binds the service account %s/%s, outside the tenant's namespace %s", ns, name, namespace)})
		case (kind == "User" || kind == "Group") && systemIdentity(name):
			out = append(out, Violation{Object: id, Rule: RuleSubject, Message: fmt.Sprintf("binds the %s %s, which spans the cluster (other tenants' identities)", strings.ToLower(kind), name)})
		case kind != "ServiceAccount" && kind != "User" && kind != "Group":
			out = append(out, Violation{Object: id, Rule: RuleSubject, Message: fmt.Sprintf("binds a subject of kind %q", kind)})
		}
	}
	return out
}

// CheckManifest checks every object of rendered manifests against the
// boundary of a tenant whose namespace is namespace; kustomize's built-in
// schema says which kinds are cluster-scoped.
func (b Boundary) CheckManifest(namespace string, manifests []byte) ([]Violation, error) {
	dec := yaml.NewDecoder(bytes.NewReader(manifests))
	var out []Violation
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("reading rendered manifests: %w", err)
		}
		if len(obj) == 0 {
			continue
		}
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		cluster := openapi.IsCertainlyClusterScoped(kyaml.TypeMeta{APIVersion: apiVersion, Kind: kind})
		out = append(out, b.Check(namespace, obj, cluster)...)
	}
}
