package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/prdeploy/prdeploy/workflows"
)

// The annotations an ordered deployment records on every object it applies
// or restores: which deployment, which merge commit, and the merge's place
// in the deploy branch's history. They are part of the applied
// configuration, owned by prdeploy's field manager like the rest of it;
// the next deployment reads them to know whether it would go back in time.
const (
	AnnotationDeployment = "prdeploy.dev/deployment"
	AnnotationMerge      = "prdeploy.dev/merge"
	AnnotationGeneration = "prdeploy.dev/generation"
)

var stampAnnotations = []string{AnnotationDeployment, AnnotationMerge, AnnotationGeneration}

// stampable says whether an object carries the stamp: only namespaced
// objects, which belong to one service of one tenant. A Namespace or a
// CustomResourceDefinition may be in several services' manifests; a stamp
// on it would order one service by another's merges.
func stampable(u *unstructured.Unstructured) bool { return u.GetNamespace() != "" }

// stamped returns copies of objs, the stampable ones carrying the stamp's
// annotations (the objects themselves are shared through the manifest
// cache).
func stamped(objs []*unstructured.Unstructured, s workflows.Stamp) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o
		if stampable(o) {
			out[i] = o.DeepCopy()
			stamp(out[i], s)
		}
	}
	return out
}

func stamp(u *unstructured.Unstructured, s workflows.Stamp) {
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationDeployment] = s.Deployment
	a[AnnotationMerge] = s.Merge
	a[AnnotationGeneration] = strconv.FormatInt(s.Generation, 10)
	if s.Merge == "" {
		delete(a, AnnotationMerge)
	}
	u.SetAnnotations(a)
}

// StampOf reads the stamp of a live object; nil when it has none.
func StampOf(u *unstructured.Unstructured) *workflows.Stamp {
	a := u.GetAnnotations()
	g, err := strconv.ParseInt(a[AnnotationGeneration], 10, 64)
	if err != nil || g <= 0 {
		return nil
	}
	return &workflows.Stamp{Deployment: a[AnnotationDeployment], Merge: a[AnnotationMerge], Generation: g}
}

// TombstoneKey is where a rollback that left no stampable object of a
// target (they had been created by the deployment rolled back) records
// its stamp:
// with nothing left to carry the annotations, the next deployment still
// learns that a newer merge decided "absent".
func TombstoneKey(t workflows.ServiceTarget) string {
	return fmt.Sprintf("deploys/%s/order/%s/%s", t.Cluster, t.Tenant, t.Service)
}

// LiveStamp returns the newest stamp on the target's live objects, or of
// its tombstone.
func (c *Cluster) LiveStamp(ctx context.Context, t workflows.ServiceTarget) (*workflows.Stamp, error) {
	objs, err := c.manifests(ctx, t)
	if err != nil {
		return nil, classify(err)
	}
	cl, err := c.client(t)
	if err != nil {
		return nil, err
	}
	var newest *workflows.Stamp
	consider := func(s *workflows.Stamp) {
		if s != nil && (newest == nil || s.Generation > newest.Generation) {
			newest = s
		}
	}
	for _, o := range objs {
		if !stampable(o) {
			continue
		}
		ri, err := cl.resource(o)
		if err != nil {
			if meta.IsNoMatchError(errors.Unwrap(err)) || meta.IsNoMatchError(err) {
				continue // a kind this deploy brings: nothing of it is live
			}
			return nil, classify(err)
		}
		live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, classify(fmt.Errorf("reading %s: %w", describe(o), err))
		default:
			consider(StampOf(live))
		}
	}
	b, ok, err := c.Store.Lookup(ctx, TombstoneKey(t))
	if err != nil {
		return nil, err
	}
	if ok {
		data, err := c.Store.Get(ctx, b)
		if err != nil {
			return nil, err
		}
		var s workflows.Stamp
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, workflows.Permanent(fmt.Errorf("reading the tombstone %s: %w", b.Key, err))
		}
		consider(&s)
	}
	return newest, nil
}

// bury records the stamp of a rollback that left nothing of the target.
func (c *Cluster) bury(ctx context.Context, t workflows.ServiceTarget) error {
	data, err := json.Marshal(t.Stamp())
	if err != nil {
		return err
	}
	_, err = c.Store.Put(ctx, TombstoneKey(t), data)
	return err
}

// withoutStamp is an object without the stamp's annotations, to tell a
// change of the stamp alone from a change people would call one.
func withoutStamp(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	a := c.GetAnnotations()
	if a == nil {
		return c
	}
	for _, k := range stampAnnotations {
		delete(a, k)
	}
	if len(a) == 0 {
		unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
	} else {
		c.SetAnnotations(a)
	}
	return c
}
