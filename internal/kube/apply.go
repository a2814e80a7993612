package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/prdeploy/prdeploy/planner"
)

// FieldManager is the server-side apply field manager prdeploy applies as.
const FieldManager = "prdeploy"

// Action is what an apply did to one object.
type Action string

// Actions.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
)

// Change is the outcome for one object.
type Change struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    Action `json:"action"`
}

// Object names the object: "Deployment tenant-acme/web".
func (c Change) Object() string {
	if c.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", c.Kind, c.Namespace, c.Name)
	}
	return fmt.Sprintf("%s %s", c.Kind, c.Name)
}

// Applier applies manifests to one cluster with server-side apply.
type Applier struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
}

// ConflictError says which field manager owns the fields an apply wanted.
type ConflictError struct {
	Object string
	Causes []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("apply %s: fields owned by another field manager: %s; change them in the plan's manifests, or set apply.forceConflicts: true to take them over",
		e.Object, strings.Join(e.Causes, "; "))
}

// Decode splits a multi-document YAML stream into objects, skipping empty
// documents.
func Decode(manifests []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
		if len(obj) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
}

// Violations returns every way the objects cross the boundary of a tenant
// whose namespace is namespace. The cluster's discovery says which kinds
// are cluster-scoped; a kind it does not serve counts as cluster-scoped
// when the object has no namespace.
func (a *Applier) Violations(namespace string, b planner.Boundary, objs []*unstructured.Unstructured) ([]planner.Violation, error) {
	var out []planner.Violation
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		clusterScoped := obj.GetNamespace() == ""
		m, err := a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		switch {
		case err == nil:
			clusterScoped = m.Scope.Name() != meta.RESTScopeNameNamespace
		case !meta.IsNoMatchError(err):
			return nil, fmt.Errorf("looking up %s in the cluster: %w", gvk, err)
		}
		out = append(out, b.Check(namespace, obj.Object, clusterScoped)...)
	}
	return out, nil
}

// Apply server-side applies the objects in the order given (the planner
// renders them ordered by kind) and reports what each apply did.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, force bool) ([]Change, error) {
	var changes []Change
	for _, obj := range objs {
		c, err := a.applyOne(ctx, obj, force)
		if err != nil {
			return changes, err
		}
		changes = append(changes, c)
	}
	return changes, nil
}

func (a *Applier) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("no resource for %s in the cluster: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return a.Dynamic.Resource(m.Resource), nil
}

func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
}

func (a *Applier) applyOne(ctx context.Context, obj *unstructured.Unstructured, force bool) (Change, error) {
	c := Change{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
	ri, err := a.resource(obj)
	if err != nil {
		return c, err
	}
	cur, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return c, fmt.Errorf("reading %s: %w%s", describe(obj), err, forbiddenHint(err))
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: force}
	// stampOnly: the apply would change nothing but prdeploy's stamp (a new
	// deployment of the same manifests). It is recorded, but it is not a
	// change anyone would review.
	stampOnly := false
	if exists {
		// A dry run tells whether the apply would change anything: status
		// updates by controllers move resourceVersion, so it cannot say.
		dry := opts
		dry.DryRun = []string{metav1.DryRunAll}
		planned, err := ri.Apply(ctx, obj.GetName(), obj, dry)
		if err != nil {
			return c, applyError(obj, err)
		}
		if equalIgnoringServerFields(cur, planned) {
			c.Action = Unchanged
			return c, nil
		}
		// A controller may have written the object between the read and
		// the dry run (a revision annotation, say): read once more before
		// calling it a change.
		again, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err == nil && equalIgnoringServerFields(again, planned) {
			c.Action = Unchanged
			return c, nil
		}
		if err == nil {
			cur = again
		}
		stampOnly = equalIgnoringServerFields(withoutStamp(cur), withoutStamp(planned))
	}
	if _, err := ri.Apply(ctx, obj.GetName(), obj, opts); err != nil {
		return c, applyError(obj, err)
	}
	switch {
	case !exists:
		c.Action = Created
	case stampOnly:
		c.Action = Unchanged
	default:
		c.Action = Configured
	}
	return c, nil
}

func applyError(obj *unstructured.Unstructured, err error) error {
	if apierrors.IsConflict(err) {
		return &ConflictError{Object: describe(obj), Causes: conflictCauses(err)}
	}
	return fmt.Errorf("apply %s: %w%s", describe(obj), err, forbiddenHint(err))
}

// forbiddenHint says what to do when the cluster refuses prdeploy.
func forbiddenHint(err error) string {
	if !apierrors.IsForbidden(err) {
		return ""
	}
	return "; prdeploy's role in this cluster does not allow it (examples/kubernetes/target-cluster/rbac.yaml): remove the object from the manifests, or widen the role together with the tenant's boundary in fleet.yaml"
}

// equalIgnoringServerFields compares two versions of an object without the
// fields the server keeps moving: status, resourceVersion, managedFields
// (timestamps), generation.
func equalIgnoringServerFields(a, b *unstructured.Unstructured) bool {
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy().Object
		delete(c, "status")
		if md, ok := c["metadata"].(map[string]any); ok {
			for _, f := range []string{"resourceVersion", "managedFields", "generation"} {
				delete(md, f)
			}
		}
		return c
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// conflictCauses lists "field .spec.replicas is owned by "kubectl-edit""
// from an apply conflict.
func conflictCauses(err error) []string {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil {
		return []string{err.Error()}
	}
	var out []string
	for _, c := range st.Status().Details.Causes {
		manager := strings.TrimPrefix(c.Message, "conflict with ")
		if c.Field != "" {
			out = append(out, fmt.Sprintf("%s owned by %s", c.Field, manager))
		} else {
			out = append(out, manager)
		}
	}
	if len(out) == 0 {
		out = append(out, st.Status().Message)
	}
	return out
}
