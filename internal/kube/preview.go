package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/prdeploy/prdeploy/planner"
)

// Previewer tells what applying rendered manifests would do in each
// tenant's cluster now, without changing anything: a server-side dry-run
// apply as prdeploy (field manager "prdeploy", without force, so the
// apiserver predicts field-manager conflicts), compared with what is live.
// Objects prdeploy applied before for the tenant and service (by their
// labels) that the manifests lack are listed as removed.
//
// It is bounded: each tenant gets Timeout, Parallel tenants run at once,
// and each tenant's answer holds at most planner.MaxPreviewObjects objects
// and planner.MaxPreviewFields fields per object. A cluster that cannot be
// reached makes its tenants' previews say so; it is not an error.
type Previewer struct {
	Clients ClientSource
	// Timeout bounds one tenant's preview (default 20s).
	Timeout time.Duration
	// Parallel is how many tenants are previewed at once (default 8).
	Parallel int
	// QPS is the client-side rate limit of previews per cluster, apart
	// from the deploys' (default 400 requests/s, bursts of twice that).
	// A preview sends about 2 requests per object and 1 per kind the
	// tenant may hold; the apiserver's own priority and fairness has the
	// last word.
	QPS float32

	mu      sync.Mutex
	clients map[*Client]*Client // the deploys' client → the previews'
}

// client is the previews' client of a cluster.
func (p *Previewer) client(t planner.PreviewTarget) (*Client, error) {
	shared, err := p.Clients.For(t.Cluster, t.KubeContext)
	if err != nil {
		return nil, err
	}
	if shared.cfg == nil {
		return shared, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[shared]; ok {
		return c, nil
	}
	qps := cmp.Or(p.QPS, 400)
	c, err := shared.WithRate(qps, int(2*qps))
	if err != nil {
		return nil, err
	}
	if p.clients == nil {
		p.clients = map[*Client]*Client{}
	}
	p.clients[shared] = c
	return c, nil
}

// Requests is how many HTTP requests previews have sent to the apiservers.
func (p *Previewer) Requests() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for _, c := range p.clients {
		n += c.Requests()
	}
	return n
}

// Preview previews every target; the answers are in the targets' order.
// A cluster found unreachable is not asked again for its other tenants.
func (p *Previewer) Preview(ctx context.Context, targets []planner.PreviewTarget) []planner.TenantPreview {
	out := make([]planner.TenantPreview, len(targets))
	var mu sync.Mutex
	down := map[string]string{} // cluster → why it is unreachable
	sem := make(chan struct{}, cmp.Or(p.Parallel, 8))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			mu.Lock()
			why, isDown := down[t.Cluster]
			mu.Unlock()
			if ctx.Err() != nil {
				out[i] = skippedPreview(t)
				return
			}
			if isDown {
				out[i] = unreachablePreview(t, why)
				return
			}
			out[i] = p.previewTenant(ctx, t)
			if out[i].Status == planner.PreviewUnreachable {
				mu.Lock()
				if _, ok := down[t.Cluster]; !ok {
					down[t.Cluster] = out[i].Message
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// skippedPreview is a tenant the preview had no time left for.
func skippedPreview(t planner.PreviewTarget) planner.TenantPreview {
	return planner.TenantPreview{Tenant: t.Tenant, Cluster: t.Cluster, Namespace: t.Namespace, Status: planner.PreviewSkipped,
		Message: "not previewed: the preview's time ran out before this tenant"}
}

func unreachablePreview(t planner.PreviewTarget, why string) planner.TenantPreview {
	return planner.TenantPreview{Tenant: t.Tenant, Cluster: t.Cluster, Namespace: t.Namespace, Status: planner.PreviewUnreachable, Message: why}
}

// unreachableError is a cluster that did not answer.
type unreachableError struct{ err error }

func (e unreachableError) Error() string { return e.err.Error() }

// isUnreachable says whether err means the cluster could not be asked:
// no answer (network, timeout), an apiserver that is unavailable, or
// credentials it refuses. An apiserver that answers anything else (invalid,
// forbidden, conflict) has judged the object.
func isUnreachable(err error) bool {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		switch st.Status().Code {
		case 401, 502, 503, 504:
			return true
		}
		return false
	}
	return !meta.IsNoMatchError(err)
}

func (p *Previewer) previewTenant(ctx context.Context, t planner.PreviewTarget) planner.TenantPreview {
	res := planner.TenantPreview{Tenant: t.Tenant, Cluster: t.Cluster, Namespace: t.Namespace, Status: planner.PreviewOK}
	cl, err := p.client(t)
	if err != nil {
		return unreachablePreview(t, fmt.Sprintf("cluster %s unreachable: %s", t.Cluster, strings.TrimPrefix(err.Error(), "cluster "+t.Cluster+": ")))
	}
	timeout := cmp.Or(p.Timeout, 20*time.Second)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = previewInto(ctx, cl, t, &res)
	var down unreachableError
	switch {
	case err != nil && parent.Err() != nil:
		return skippedPreview(t)
	case errors.As(err, &down) && ctx.Err() != nil:
		return unreachablePreview(t, fmt.Sprintf("cluster %s unreachable: no answer within %s", t.Cluster, timeout))
	case errors.As(err, &down):
		return unreachablePreview(t, fmt.Sprintf("cluster %s unreachable: %v", t.Cluster, err))
	case err != nil:
		return unreachablePreview(t, fmt.Sprintf("cluster %s: %v", t.Cluster, err))
	}
	return res
}

// rendered is one object of the manifests and its service.
type rendered struct {
	service   string
	keepImage string
	obj       *unstructured.Unstructured
}

func objectKey(gk schema.GroupKind, name string) string { return gk.String() + "/" + name }

func previewInto(ctx context.Context, cl *Client, t planner.PreviewTarget, res *planner.TenantPreview) error {
	var objs []rendered
	services := make([]string, 0, len(t.Services))
	for _, s := range t.Services {
		services = append(services, s.Name)
		dec, err := Decode(s.YAML)
		if err != nil {
			return fmt.Errorf("the manifests of %s: %w", s.Name, err)
		}
		for _, o := range dec {
			objs = append(objs, rendered{service: s.Name, keepImage: s.KeepImage, obj: o})
		}
	}
	live, note, err := labelledObjects(ctx, cl, t, services, objs)
	if err != nil {
		return err
	}
	res.Message = note
	add := func(o planner.ObjectPreview) {
		if len(res.Objects) == planner.MaxPreviewObjects {
			res.MoreObjects++
			return
		}
		res.Objects = append(res.Objects, o)
	}
	seen := map[string]bool{}
	for _, r := range objs {
		if len(res.Objects) == planner.MaxPreviewObjects {
			res.MoreObjects++ // counted, not asked about
			continue
		}
		gvk := r.obj.GroupVersionKind()
		key := objectKey(gvk.GroupKind(), r.obj.GetName())
		if r.obj.GetNamespace() != "" && r.obj.GetNamespace() != t.Namespace {
			key = r.obj.GetNamespace() + "/" + key // not the tenant's: never in live
		}
		seen[key] = true
		o, err := previewObject(ctx, cl, r, live[key], t.ForceConflicts)
		if err != nil {
			return err
		}
		add(o)
	}
	var removed []*unstructured.Unstructured
	for key, u := range live {
		if !seen[key] {
			removed = append(removed, u)
		}
	}
	slices.SortFunc(removed, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(cmp.Compare(a.GetLabels()[planner.LabelService], b.GetLabels()[planner.LabelService]),
			cmp.Compare(a.GetKind(), b.GetKind()), cmp.Compare(a.GetName(), b.GetName()))
	})
	for _, u := range removed {
		add(planner.ObjectPreview{Service: u.GetLabels()[planner.LabelService], APIVersion: u.GetAPIVersion(), Kind: u.GetKind(),
			Namespace: u.GetNamespace(), Name: u.GetName(), Action: planner.PreviewRemoved})
	}
	return nil
}

// labelledObjects lists what prdeploy applied before for the tenant's
// services: the objects in the tenant's namespace labelled with the tenant
// and one of the services, of every kind the tenant may hold or the
// manifests hold, by group/kind/name.
func labelledObjects(ctx context.Context, cl *Client, t planner.PreviewTarget, services []string, objs []rendered) (map[string]*unstructured.Unstructured, string, error) {
	kinds := map[schema.GroupKind]bool{}
	for _, k := range t.Boundary.Kinds {
		group, kind, ok := strings.Cut(k, "/")
		if !ok {
			group, kind = "", k
		}
		if kind != "*" {
			kinds[schema.GroupKind{Group: group, Kind: kind}] = true
		}
	}
	for _, r := range objs {
		kinds[r.obj.GroupVersionKind().GroupKind()] = true
	}
	sorted := make([]schema.GroupKind, 0, len(kinds))
	for gk := range kinds {
		sorted = append(sorted, gk)
	}
	slices.SortFunc(sorted, func(a, b schema.GroupKind) int { return cmp.Compare(a.String(), b.String()) })
	selector := fmt.Sprintf("%s=prdeploy,%s=%s", planner.LabelManagedBy, planner.LabelTenant, t.Tenant)
	live := map[string]*unstructured.Unstructured{}
	var unlisted []string
	for _, gk := range sorted {
		m, err := cl.Mapper.RESTMapping(gk)
		switch {
		case meta.IsNoMatchError(err):
			continue // the cluster does not serve it, so holds none
		case err != nil:
			return nil, "", unreachableError{fmt.Errorf("reading the cluster's kinds: %w", err)}
		case m.Scope.Name() != meta.RESTScopeNameNamespace:
			continue
		}
		list, err := cl.Dynamic.Resource(m.Resource).Namespace(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		switch {
		case err != nil && isUnreachable(err):
			return nil, "", unreachableError{fmt.Errorf("listing %s in %s: %w", m.Resource.Resource, t.Namespace, err)}
		case err != nil:
			unlisted = append(unlisted, gk.Kind)
			continue
		}
		for i := range list.Items {
			u := &list.Items[i]
			if !slices.Contains(services, u.GetLabels()[planner.LabelService]) {
				continue
			}
			u.SetAPIVersion(m.GroupVersionKind.GroupVersion().String())
			u.SetKind(m.GroupVersionKind.Kind)
			live[objectKey(gk, u.GetName())] = u
		}
	}
	note := ""
	if len(unlisted) > 0 {
		note = fmt.Sprintf("removed objects of kind %s are not shown: prdeploy may not list them in this cluster", strings.Join(unlisted, ", "))
	}
	return live, note, nil
}

// previewObject dry-runs the apply of one object and compares the answer
// with what is live.
func previewObject(ctx context.Context, cl *Client, r rendered, live *unstructured.Unstructured, force bool) (planner.ObjectPreview, error) {
	obj := r.obj
	o := planner.ObjectPreview{Service: r.service, APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
	ri, err := cl.resource(obj)
	if err != nil {
		if !meta.IsNoMatchError(errors.Unwrap(err)) && !meta.IsNoMatchError(err) {
			return o, unreachableError{err}
		}
		o.Action, o.Error = planner.PreviewCreated, fmt.Sprintf("the cluster does not serve %s (is its CustomResourceDefinition installed?)", obj.GroupVersionKind())
		return o, nil
	}
	if live != nil && live.GetAPIVersion() != obj.GetAPIVersion() {
		live = nil // listed in another version: read it in the manifests' one
	}
	if live == nil {
		got, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		switch {
		case err == nil:
			live = got
		case apierrors.IsNotFound(err):
		case isUnreachable(err):
			return o, unreachableError{fmt.Errorf("reading %s: %w", describe(obj), err)}
		default:
			o.Error = scrub(obj, fmt.Sprintf("reading it: %v", err))
		}
	}
	if live != nil && r.keepImage != "" {
		obj = keepImages(obj, live, r.keepImage)
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, DryRun: []string{metav1.DryRunAll}}
	planned, err := ri.Apply(ctx, obj.GetName(), obj, opts)
	if apierrors.IsConflict(err) {
		o.Conflicts, o.Forced = fieldConflicts(err), force
		opts.Force = true
		planned, err = ri.Apply(ctx, obj.GetName(), obj, opts)
	}
	o.Action = planner.PreviewCreated
	if live != nil {
		o.Action = planner.PreviewConfigured
	}
	if err != nil {
		if isUnreachable(err) {
			return o, unreachableError{fmt.Errorf("dry-run apply of %s: %w", describe(obj), err)}
		}
		o.Error = scrub(obj, err.Error()+forbiddenHint(err))
		return o, nil
	}
	if live == nil {
		return o, nil
	}
	if !planner.Unchanged(live.Object, planned.Object) {
		// A controller may have written the object since it was read (a
		// revision annotation after a rollout): compare with it as it is
		// now, as the dry run did.
		if again, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); err == nil {
			live = again
		}
	}
	if planner.Unchanged(live.Object, planned.Object) {
		o.Action = planner.PreviewUnchanged
		return o, nil
	}
	o.Fields, o.MoreFields = planner.DiffFields(live.Object, planned.Object)
	return o, nil
}

// fieldConflicts reads the fields and their managers from an apply
// conflict (`conflict with "hpa-controller" using autoscaling/v2`).
func fieldConflicts(err error) []planner.FieldConflict {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil || len(st.Status().Details.Causes) == 0 {
		return []planner.FieldConflict{{Manager: err.Error()}}
	}
	var out []planner.FieldConflict
	for _, c := range st.Status().Details.Causes {
		manager := strings.TrimPrefix(c.Message, "conflict with ")
		if q := strings.SplitN(manager, `"`, 3); len(q) == 3 {
			manager = q[1]
		}
		out = append(out, planner.FieldConflict{Field: c.Field, Manager: manager})
	}
	return out
}

// keepImages returns obj with the images of the repository set to what
// each container (by name) runs now in live.
func keepImages(obj, live *unstructured.Unstructured, repository string) *unstructured.Unstructured {
	running := map[string]string{}
	eachContainer(live.Object, "", func(path string, c map[string]any) {
		if img, ok := c["image"].(string); ok {
			running[path] = img
		}
	})
	out := obj.DeepCopy()
	eachContainer(out.Object, "", func(path string, c map[string]any) {
		img, _ := c["image"].(string)
		if now, ok := running[path]; ok && ofRepository(img, repository) && ofRepository(now, repository) {
			c["image"] = now
		}
	})
	return out
}

func ofRepository(image, repository string) bool {
	rest, ok := strings.CutPrefix(image, repository)
	return ok && (rest == "" || rest[0] == ':' || rest[0] == '@')
}

// eachContainer calls fn with every container and init container of a
// workload, pod or pod template, wherever it is nested, keyed by its path
// and name.
func eachContainer(v any, path string, fn func(path string, c map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if (k == "containers" || k == "initContainers") && isList(e) {
				for _, it := range e.([]any) {
					if c, ok := it.(map[string]any); ok {
						name, _ := c["name"].(string)
						fn(path+"."+k+"/"+name, c)
					}
				}
				continue
			}
			eachContainer(e, path+"."+k, fn)
		}
	case []any:
		for i, e := range x {
			eachContainer(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// scrub takes a Secret's values out of a message the apiserver wrote
// about it.
func scrub(obj *unstructured.Unstructured, msg string) string {
	if obj.GetKind() != "Secret" {
		return msg
	}
	for _, field := range []string{"data", "stringData"} {
		m, _, _ := unstructured.NestedMap(obj.Object, field)
		for _, v := range m {
			if s, ok := v.(string); ok && len(s) >= 3 {
				msg = strings.ReplaceAll(msg, s, "<redacted>")
			}
		}
	}
	return msg
}
