package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// ClientSource gives the client of a cluster (*Clients).
type ClientSource interface {
	For(cluster, kubeContext string) (*Client, error)
}

// Cluster is workflows.Cluster on real clusters: it reads a target's
// rendered manifests from the Store, applies them with server-side apply,
// waits with `kubectl rollout status` semantics, and restores snapshots.
type Cluster struct {
	Clients ClientSource
	Store   Store

	mu    sync.Mutex
	cache map[string][]*unstructured.Unstructured // by manifest digest
}

var _ workflows.Cluster = (*Cluster)(nil)

// ManifestError is a target whose manifests cannot be applied as they are
// (unreadable, or crossing the tenant's boundary); retrying cannot fix it.
type ManifestError struct {
	Target string
	Reason string
}

func (e *ManifestError) Error() string {
	return fmt.Sprintf("manifests of %s: %s", e.Target, e.Reason)
}

func targetName(t workflows.ServiceTarget) string {
	return fmt.Sprintf("%s/%s in %s", t.Tenant, t.Service, t.Cluster)
}

// SnapshotKey is where the "live before" snapshot of a target is stored.
func SnapshotKey(t workflows.ServiceTarget) string {
	return fmt.Sprintf("deploys/%s/%s/%s/%s/live-before", t.Cluster, t.Deployment, t.Tenant, t.Service)
}

// manifests reads, checks and decodes a target's manifests. The objects
// are shared through a cache: callers must not change them.
func (c *Cluster) manifests(ctx context.Context, t workflows.ServiceTarget) ([]*unstructured.Unstructured, error) {
	if t.ManifestRef == "" {
		return nil, &ManifestError{Target: targetName(t), Reason: "the target has no manifest reference"}
	}
	c.mu.Lock()
	objs, ok := c.cache[t.ManifestDigest]
	c.mu.Unlock()
	if ok && t.ManifestDigest != "" {
		return objs, nil
	}
	data, err := c.Store.Get(ctx, payload.Ref{Key: t.ManifestRef, Digest: t.ManifestDigest})
	if err != nil {
		return nil, fmt.Errorf("reading the manifests of %s: %w", targetName(t), err)
	}
	objs, err = Decode(data)
	if err != nil {
		return nil, &ManifestError{Target: targetName(t), Reason: err.Error()}
	}
	if t.ManifestDigest != "" {
		c.mu.Lock()
		if c.cache == nil || len(c.cache) >= 512 {
			c.cache = map[string][]*unstructured.Unstructured{}
		}
		c.cache[t.ManifestDigest] = objs
		c.mu.Unlock()
	}
	return objs, nil
}

func (c *Cluster) client(t workflows.ServiceTarget) (*Client, error) {
	cl, err := c.Clients.For(t.Cluster, t.KubeContext)
	if err != nil {
		return nil, workflows.Permanent(err)
	}
	return cl, nil
}

// snapshot is what was live before a deploy: the objects as they were
// (without server-kept fields), and the ones that did not exist.
type snapshot struct {
	Objects []map[string]any `json:"objects"`
	Absent  []objectRef      `json:"absent,omitempty"`
}

type objectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

func (r objectRef) object() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(r.APIVersion)
	u.SetKind(r.Kind)
	u.SetNamespace(r.Namespace)
	u.SetName(r.Name)
	return u
}

// Snapshot records what is live of the target's objects, once per
// deployment: a retry finds the first snapshot and returns it.
func (c *Cluster) Snapshot(ctx context.Context, t workflows.ServiceTarget) (workflows.SnapshotRef, error) {
	key := SnapshotKey(t)
	if b, ok, err := c.Store.Lookup(ctx, key); err != nil {
		return workflows.SnapshotRef{}, err
	} else if ok {
		s, err := c.readSnapshot(ctx, b)
		if err != nil {
			return workflows.SnapshotRef{}, err
		}
		return workflows.SnapshotRef{Ref: b.Key, Digest: b.Digest, Empty: len(s.Objects) == 0}, nil
	}
	objs, err := c.manifests(ctx, t)
	if err != nil {
		return workflows.SnapshotRef{}, classify(err)
	}
	cl, err := c.client(t)
	if err != nil {
		return workflows.SnapshotRef{}, err
	}
	if err := checkBoundary(cl, t, objs); err != nil {
		return workflows.SnapshotRef{}, classify(err)
	}
	var s snapshot
	for _, o := range objs {
		ref := objectRef{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
		ri, err := cl.resource(o)
		if err != nil {
			if meta.IsNoMatchError(errors.Unwrap(err)) || meta.IsNoMatchError(err) {
				s.Absent = append(s.Absent, ref) // a kind whose CRD this deploy brings
				continue
			}
			return workflows.SnapshotRef{}, classify(err)
		}
		live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			s.Absent = append(s.Absent, ref)
		case err != nil:
			return workflows.SnapshotRef{}, classify(fmt.Errorf("reading %s: %w", describe(o), err))
		default:
			s.Objects = append(s.Objects, restorable(live).Object)
		}
	}
	data, err := json.Marshal(s)
	if err != nil {
		return workflows.SnapshotRef{}, err
	}
	b, err := c.Store.Put(ctx, key, data)
	if err != nil {
		return workflows.SnapshotRef{}, err
	}
	return workflows.SnapshotRef{Ref: b.Key, Digest: b.Digest, Empty: len(s.Objects) == 0}, nil
}

func (c *Cluster) readSnapshot(ctx context.Context, b payload.Ref) (snapshot, error) {
	var s snapshot
	data, err := c.Store.Get(ctx, b)
	if err != nil {
		return s, fmt.Errorf("reading the snapshot %s: %w", b.Key, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, workflows.Permanent(fmt.Errorf("reading the snapshot %s: %w", b.Key, err))
	}
	return s, nil
}

// restorable is a live object without what the server keeps (identity,
// versions, managed fields, status), ready to be applied again.
func restorable(live *unstructured.Unstructured) *unstructured.Unstructured {
	u := live.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "annotations", "deployment.kubernetes.io/revision")
	if len(u.GetAnnotations()) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
	}
	delete(u.Object, "status")
	return u
}

// Apply applies the target's manifests with server-side apply.
func (c *Cluster) Apply(ctx context.Context, t workflows.ServiceTarget) (workflows.ApplyResult, error) {
	var res workflows.ApplyResult
	objs, err := c.manifests(ctx, t)
	if err != nil {
		return res, classify(err)
	}
	cl, err := c.client(t)
	if err != nil {
		return res, err
	}
	if err := checkBoundary(cl, t, objs); err != nil {
		return res, classify(err)
	}
	if t.Generation > 0 {
		objs = stamped(objs, t.Stamp())
	}
	changes, err := cl.Apply(ctx, objs, t.ForceConflicts)
	for _, ch := range changes {
		switch ch.Action {
		case Created:
			res.Created++
		case Configured:
			res.Configured++
		default:
			res.Unchanged++
			continue
		}
		res.Changes = append(res.Changes, fmt.Sprintf("%s %s", ch.Action, ch.Object()))
	}
	return res, classify(err)
}

// workloads returns the target's workloads: those in its manifests, or,
// without manifests (a restart), those live with its service label.
func (c *Cluster) workloads(ctx context.Context, cl *Client, t workflows.ServiceTarget) ([]*unstructured.Unstructured, error) {
	if t.ManifestRef != "" {
		objs, err := c.manifests(ctx, t)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(slices.Clone(objs), func(o *unstructured.Unstructured) bool { return !isWorkload(o) }), nil
	}
	return cl.labelledWorkloads(ctx, t.Namespace, []string{t.Service})
}

// WaitRollout waits until every workload of the target is rolled out.
func (c *Cluster) WaitRollout(ctx context.Context, t workflows.ServiceTarget, progress func(string)) error {
	cl, err := c.client(t)
	if err != nil {
		return err
	}
	ws, err := c.workloads(ctx, cl, t)
	if err != nil {
		return classify(err)
	}
	return classify(cl.WaitHealthy(ctx, ws, progress))
}

// Rollback restores what was live before the deploy: objects that existed
// are applied back as they were (taking their fields over, since they were
// there first); objects the deploy created are deleted, except Namespaces
// and CustomResourceDefinitions, which other services' objects may live in.
// Then it waits until the restored workloads are healthy.
func (c *Cluster) Rollback(ctx context.Context, t workflows.ServiceTarget, ref *workflows.SnapshotRef, progress func(string)) error {
	var b payload.Ref
	if ref != nil && ref.Ref != "" {
		b = payload.Ref{Key: ref.Ref, Digest: ref.Digest}
	} else {
		found, ok, err := c.Store.Lookup(ctx, SnapshotKey(t))
		if err != nil {
			return err
		}
		if !ok {
			return nil // nothing recorded, so nothing was applied
		}
		b = found
	}
	s, err := c.readSnapshot(ctx, b)
	if err != nil {
		return err
	}
	cl, err := c.client(t)
	if err != nil {
		return err
	}
	var restored []*unstructured.Unstructured
	stampedRestored := 0
	for _, o := range s.Objects {
		u := &unstructured.Unstructured{Object: o}
		if t.Generation > 0 && stampable(u) {
			// What a rollback restores is the rolling-back deployment's
			// decision: an older merge must not overwrite it either.
			stamp(u, t.Stamp())
			stampedRestored++
		}
		ri, err := cl.resource(u)
		if err != nil {
			return classify(err)
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return classify(fmt.Errorf("restoring %s: %w", describe(u), err))
		}
		if isWorkload(u) {
			restored = append(restored, u)
		}
	}
	for i := len(s.Absent) - 1; i >= 0; i-- {
		r := s.Absent[i]
		if r.Kind == "Namespace" || r.Kind == "CustomResourceDefinition" {
			continue
		}
		u := r.object()
		ri, err := cl.resource(u)
		if err != nil {
			if meta.IsNoMatchError(errors.Unwrap(err)) {
				continue // its kind is gone, so is it
			}
			return classify(err)
		}
		bg := metav1.DeletePropagationBackground
		if err := ri.Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			return classify(fmt.Errorf("deleting %s, which the deploy created: %w", describe(u), err))
		}
	}
	if t.Generation > 0 && stampedRestored == 0 {
		if err := c.bury(ctx, t); err != nil {
			return fmt.Errorf("recording that %s was rolled back to nothing: %w", targetName(t), err)
		}
	}
	return classify(cl.WaitHealthy(ctx, restored, progress))
}

// RestartAnnotation is set on a restarted workload's pod template; its
// value names the restart, so that a retried restart changes nothing.
const RestartAnnotation = "prdeploy.dev/restarted-by"

// Restart restarts the target's workloads by changing their pod template.
func (c *Cluster) Restart(ctx context.Context, t workflows.ServiceTarget) error {
	cl, err := c.client(t)
	if err != nil {
		return err
	}
	ws, err := c.workloads(ctx, cl, t)
	if err != nil {
		return classify(err)
	}
	if len(ws) == 0 {
		return workflows.Permanent(fmt.Errorf("no workload of %s to restart", targetName(t)))
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{RestartAnnotation: t.Deployment}}}}})
	for _, w := range ws {
		ri, err := cl.resource(w)
		if err != nil {
			return classify(err)
		}
		if _, err := ri.Patch(ctx, w.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager + "-restart"}); err != nil {
			return classify(fmt.Errorf("restarting %s: %w", describe(w), err))
		}
	}
	return nil
}

func isWorkload(o *unstructured.Unstructured) bool {
	if !strings.HasPrefix(o.GetAPIVersion(), "apps/") {
		return false
	}
	switch o.GetKind() {
	case "Deployment", "StatefulSet", "DaemonSet":
		return true
	}
	return false
}

// labelledWorkloads lists the Deployments, StatefulSets and DaemonSets of
// the services (by prdeploy's service label) in a namespace.
func (cl *Client) labelledWorkloads(ctx context.Context, namespace string, services []string) ([]*unstructured.Unstructured, error) {
	sel := metav1.ListOptions{LabelSelector: fmt.Sprintf("%s in (%s)", planner.LabelService, strings.Join(services, ","))}
	var out []*unstructured.Unstructured
	for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet"} {
		probe := &unstructured.Unstructured{Object: map[string]any{}}
		probe.SetAPIVersion("apps/v1")
		probe.SetKind(kind)
		probe.SetNamespace(namespace)
		ri, err := cl.resource(probe)
		if err != nil {
			return nil, err
		}
		list, err := ri.List(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("listing %ss in %s: %w", kind, namespace, err)
		}
		for i := range list.Items {
			it := list.Items[i]
			it.SetAPIVersion("apps/v1")
			it.SetKind(kind)
			out = append(out, &it)
		}
	}
	return out, nil
}
