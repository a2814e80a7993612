package planner

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// A preview says, before a merge, what applying rendered manifests would
// do in each tenant's cluster now: per object created, configured,
// unchanged or removed, the fields that change, and the fields another
// field manager owns. The cluster side (a server-side dry-run apply) is an
// adapter's; the types, the field diff and the grouping are here, pure.

// PreviewPlaceholderTag is the image tag manifests are rendered with when
// no plan names one (a pull request that changes services/ or tenants/
// only): the next plan sets the image, so the preview keeps the image each
// container runs now (PreviewService.KeepImage).
const PreviewPlaceholderTag = "prdeploy-preview"

// PreviewTarget is one tenant's rendered manifests, to be compared with its
// cluster.
type PreviewTarget struct {
	Tenant    string `json:"tenant"`
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	// KubeContext is fleet.yaml's kubeContext of the cluster, if any.
	KubeContext string           `json:"kubeContext,omitempty"`
	Boundary    Boundary         `json:"boundary"`
	Services    []PreviewService `json:"services"`
	// ForceConflicts is the plan's apply.forceConflicts: conflicts are
	// still reported, as fields the apply would take over.
	ForceConflicts bool `json:"forceConflicts,omitempty"`
}

// PreviewService is one service's rendered manifests in a PreviewTarget.
type PreviewService struct {
	Name string `json:"name"`
	YAML []byte `json:"-"`
	// KeepImage, when set, is the fleet's image repository of the service:
	// containers running an image of that repository keep the image they
	// run now (the manifests were rendered with PreviewPlaceholderTag).
	KeepImage string `json:"keepImage,omitempty"`
}

// PreviewAction is what applying the manifests would do to one object.
type PreviewAction string

// Preview actions.
const (
	PreviewCreated    PreviewAction = "created"
	PreviewConfigured PreviewAction = "configured"
	PreviewUnchanged  PreviewAction = "unchanged"
	// PreviewRemoved is an object prdeploy applied for the tenant and
	// service before (by its labels) that the manifests no longer hold.
	// Deploys do not delete objects: it stays until removed by hand.
	PreviewRemoved PreviewAction = "removed"
)

// PreviewStatus says whether a tenant's preview could be made.
type PreviewStatus string

// Preview statuses.
const (
	PreviewOK PreviewStatus = "ok"
	// PreviewUnreachable: the cluster did not answer (or has no
	// kubeconfig context); it says nothing about the manifests.
	PreviewUnreachable PreviewStatus = "unreachable"
	// PreviewSkipped: the preview's time ran out before the tenant.
	PreviewSkipped PreviewStatus = "skipped"
)

// TenantPreview is what applying a tenant's manifests would do now.
type TenantPreview struct {
	Tenant    string        `json:"tenant"`
	Cluster   string        `json:"cluster"`
	Namespace string        `json:"namespace"`
	Status    PreviewStatus `json:"status"`
	// Message says why the preview could not be made.
	Message string          `json:"message,omitempty"`
	Objects []ObjectPreview `json:"objects,omitempty"`
	// MoreObjects counts the objects left out (MaxPreviewObjects).
	MoreObjects int `json:"moreObjects,omitempty"`
}

// ObjectPreview is what applying would do to one object.
type ObjectPreview struct {
	Service    string        `json:"service"`
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Namespace  string        `json:"namespace,omitempty"`
	Name       string        `json:"name"`
	Action     PreviewAction `json:"action"`
	// Fields are the changed fields of a configured object, in path order.
	Fields []FieldChange `json:"fields,omitempty"`
	// MoreFields counts the changed fields left out (MaxPreviewFields).
	MoreFields int `json:"moreFields,omitempty"`
	// Conflicts are fields another field manager owns that the apply sets
	// to another value: the apply fails on them unless the plan sets
	// apply.forceConflicts (Forced), which takes them over.
	Conflicts []FieldConflict `json:"conflicts,omitempty"`
	Forced    bool            `json:"forced,omitempty"`
	// Error is the apiserver's refusal of the dry run (an invalid object,
	// a kind the cluster does not serve, prdeploy's role): the deploy would
	// fail on it too.
	Error string `json:"error,omitempty"`
}

// Changed reports whether the apply would change the object (or fail on it).
func (o ObjectPreview) Changed() bool {
	return o.Action != PreviewUnchanged || len(o.Conflicts) > 0 || o.Error != ""
}

// Ref names the object: "Deployment tenant-acme/web".
func (o ObjectPreview) Ref() string { return ObjectName(o.Kind, o.Namespace, o.Name) }

// FieldOp is how one field changes.
type FieldOp string

// Field operations.
const (
	FieldAdded   FieldOp = "added"
	FieldChanged FieldOp = "changed"
	FieldRemoved FieldOp = "removed"
)

// FieldChange is one changed field: `.spec.replicas` 2 → 3. Values are
// short renderings (long ones are cut); Redacted fields (every field of a
// Secret) have none.
type FieldChange struct {
	Path     string  `json:"path"`
	Op       FieldOp `json:"op"`
	Old      string  `json:"old,omitempty"`
	New      string  `json:"new,omitempty"`
	Redacted bool    `json:"redacted,omitempty"`
}

// String is the field change in one line: ".spec.replicas: 2 → 3",
// ".data.password changed".
func (f FieldChange) String() string {
	switch {
	case f.Redacted:
		return f.Path + " " + string(f.Op)
	case f.Op == FieldAdded:
		return fmt.Sprintf("%s: (none) → %s", f.Path, f.New)
	case f.Op == FieldRemoved:
		return fmt.Sprintf("%s: %s → (none)", f.Path, f.Old)
	}
	return fmt.Sprintf("%s: %s → %s", f.Path, f.Old, f.New)
}

// FieldConflict is a field another field manager owns.
type FieldConflict struct {
	Field   string `json:"field"`
	Manager string `json:"manager"`
}

// Bounds of one tenant's preview, so that a large or hostile change cannot
// make a check run, a page or a process hold unbounded text.
const (
	MaxPreviewObjects    = 200
	MaxPreviewFields     = 50
	MaxPreviewValueRunes = 120
)

// serverFields are kept by the apiserver, not by the manifests: they are
// not compared.
var serverFields = []string{"resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// DiffFields compares a live object with what it would be after the apply
// (the server's dry-run answer) and returns the changed fields in path
// order, at most MaxPreviewFields, and how many more there are. Status and
// the fields the server keeps are ignored. A Secret's values are never
// returned, only the paths of the changed fields ("data.password
// changed"), whatever the field.
func DiffFields(live, planned map[string]any) ([]FieldChange, int) {
	redact := kindOf(live) == "Secret" || kindOf(planned) == "Secret"
	var out []FieldChange
	walkDiff("", stripServerFields(live), stripServerFields(planned), func(path string, op FieldOp, old, new any) {
		fc := FieldChange{Path: path, Op: op, Redacted: redact}
		if !redact && op != FieldAdded {
			fc.Old = shortValue(old)
		}
		if !redact && op != FieldRemoved {
			fc.New = shortValue(new)
		}
		out = append(out, fc)
	})
	if len(out) > MaxPreviewFields {
		return out[:MaxPreviewFields], len(out) - MaxPreviewFields
	}
	return out, 0
}

// Unchanged reports whether the apply would leave the object as it is.
func Unchanged(live, planned map[string]any) bool {
	return reflect.DeepEqual(normalNumbers(stripServerFields(live)), normalNumbers(stripServerFields(planned)))
}

func kindOf(obj map[string]any) string {
	k, _ := obj["kind"].(string)
	return k
}

func stripServerFields(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			out[k] = v
		}
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			if !slices.Contains(serverFields, k) {
				m[k] = v
			}
		}
		out["metadata"] = m
	}
	return out
}

// normalNumbers makes int64 and float64 of the same value compare equal
// (JSON decoding and YAML decoding differ).
func normalNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalNumbers(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalNumbers(e)
		}
		return l
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

func scalarEqual(a, b any) bool {
	return reflect.DeepEqual(normalNumbers(a), normalNumbers(b))
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// fieldPath appends a map key to a path: .spec.replicas, or
// .metadata.annotations["example.com/x"] for keys that are not plain.
func fieldPath(path, key string) string {
	if identRE.MatchString(key) {
		return path + "." + key
	}
	q, _ := json.Marshal(key)
	return path + "[" + string(q) + "]"
}

// walkDiff calls emit for every leaf that differs between a and b. Lists
// of objects that all have a unique name are matched by name
// (containers[name=web]); other lists index by index.
func walkDiff(path string, a, b any, emit func(path string, op FieldOp, old, new any)) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, aok := am[k]
			bv, bok := bm[k]
			p := fieldPath(path, k)
			switch {
			case !aok:
				emit(p, FieldAdded, nil, bv)
			case !bok:
				emit(p, FieldRemoved, av, nil)
			default:
				walkDiff(p, av, bv, emit)
			}
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList {
		if an, ok := namesOf(al); ok {
			if bn, ok := namesOf(bl); ok {
				walkNamed(path, al, an, bl, bn, emit)
				return
			}
		}
		for i := range max(len(al), len(bl)) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(al):
				emit(p, FieldAdded, nil, bl[i])
			case i >= len(bl):
				emit(p, FieldRemoved, al[i], nil)
			default:
				walkDiff(p, al[i], bl[i], emit)
			}
		}
		return
	}
	if !scalarEqual(a, b) {
		emit(path, FieldChanged, a, b)
	}
}

// namesOf returns the names of a list whose items are all objects with a
// unique string name.
func namesOf(l []any) ([]string, bool) {
	if len(l) == 0 {
		return nil, false
	}
	names := make([]string, len(l))
	seen := map[string]bool{}
	for i, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := m["name"].(string)
		if !ok || seen[n] {
			return nil, false
		}
		seen[n] = true
		names[i] = n
	}
	return names, true
}

func walkNamed(path string, al []any, an []string, bl []any, bn []string, emit func(string, FieldOp, any, any)) {
	p := func(n string) string { return fmt.Sprintf("%s[name=%s]", path, n) }
	for i, n := range an {
		j := slices.Index(bn, n)
		if j < 0 {
			emit(p(n), FieldRemoved, al[i], nil)
			continue
		}
		walkDiff(p(n), al[i], bl[j], emit)
	}
	for j, n := range bn {
		if !slices.Contains(an, n) {
			emit(p(n), FieldAdded, nil, bl[j])
		}
	}
}

// shortValue renders a value on one line, cut to MaxPreviewValueRunes:
// plain strings as they are, the rest as compact JSON.
func shortValue(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
		if x == "" || strings.TrimSpace(x) != x || strings.ContainsAny(x, "\n\r\t`|") || strings.Contains(x, "→") {
			q, _ := json.Marshal(x)
			s = string(q)
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			s = fmt.Sprint(v)
		} else {
			s = string(b)
		}
	}
	if utf8.RuneCountInString(s) > MaxPreviewValueRunes {
		r := []rune(s)
		s = string(r[:MaxPreviewValueRunes]) + "…"
	}
	return s
}

// Changed reports whether applying would change anything in the tenant (or
// the preview could not be made).
func (t TenantPreview) Changed() bool {
	if t.Status != PreviewOK || t.MoreObjects > 0 {
		return true
	}
	for _, o := range t.Objects {
		if o.Changed() {
			return true
		}
	}
	return false
}

// Counts returns how many objects each action concerns.
func (t TenantPreview) Counts() map[PreviewAction]int {
	m := map[PreviewAction]int{}
	for _, o := range t.Objects {
		m[o.Action]++
	}
	return m
}

// PreviewGroup is tenants whose previews are the same change: the same
// objects (by kind and name, whatever the namespace), actions, fields and
// conflicts, or the same reason they could not be previewed.
type PreviewGroup struct {
	// First is the first tenant's preview, shown in full.
	First TenantPreview `json:"first"`
	// Tenants are every tenant of the group, First's included, in the
	// order given.
	Tenants []string `json:"tenants"`
}

// GroupPreviews groups tenants with the same change, in the order of
// their first tenant.
func GroupPreviews(ps []TenantPreview) []PreviewGroup {
	var out []PreviewGroup
	index := map[string]int{}
	for _, p := range ps {
		k := p.changeKey()
		if i, ok := index[k]; ok {
			out[i].Tenants = append(out[i].Tenants, p.Tenant)
			continue
		}
		index[k] = len(out)
		out = append(out, PreviewGroup{First: p, Tenants: []string{p.Tenant}})
	}
	return out
}

// changeKey is the preview without what differs between tenants by
// nature: their names and namespaces.
func (t TenantPreview) changeKey() string {
	type obj struct {
		Service, Kind, Name string
		Action              PreviewAction
		Fields              []FieldChange
		More                int
		Conflicts           []FieldConflict
		Forced              bool
		Error               string
	}
	key := struct {
		Status  PreviewStatus
		Message string
		Objects []obj
		More    int
	}{Status: t.Status, Message: t.Message, More: t.MoreObjects}
	if t.Status != PreviewOK {
		key.Message = strings.ReplaceAll(key.Message, t.Tenant, "")
		key.Message = strings.ReplaceAll(key.Message, t.Namespace, "")
	}
	for _, o := range t.Objects {
		key.Objects = append(key.Objects, obj{o.Service, o.Kind, o.Name, o.Action, o.Fields, o.MoreFields, o.Conflicts, o.Forced,
			strings.ReplaceAll(o.Error, t.Namespace, "")})
	}
	b, _ := json.Marshal(key)
	return string(b)
}

// DiffLines writes a tenant's preview as the lines of a diff: + created,
// ~ configured (with its fields), - removed, ! what would fail, then how
// many objects are unchanged. The plan check and the status page show
// them.
func (p TenantPreview) DiffLines() []string {
	var out []string
	unchanged := 0
	for _, o := range p.Objects {
		name := o.Kind + " " + o.Name
		if o.Namespace != "" && o.Namespace != p.Namespace {
			name = o.Ref()
		}
		switch o.Action {
		case PreviewUnchanged:
			if !o.Changed() {
				unchanged++
				continue
			}
			out = append(out, fmt.Sprintf("  %s (%s)", name, o.Service))
		case PreviewCreated:
			out = append(out, fmt.Sprintf("+ %s (%s): created", name, o.Service))
		case PreviewConfigured:
			out = append(out, fmt.Sprintf("~ %s (%s): configured", name, o.Service))
		case PreviewRemoved:
			out = append(out, fmt.Sprintf("- %s (%s): no longer in the manifests; the deploy leaves it in the cluster", name, o.Service))
		}
		for _, f := range o.Fields {
			out = append(out, "    "+f.String())
		}
		if o.MoreFields > 0 {
			out = append(out, fmt.Sprintf("    … and %s", countOf(o.MoreFields, "more field")))
		}
		for _, c := range o.Conflicts {
			if o.Forced {
				out = append(out, fmt.Sprintf("    %s is owned by %q: the plan's apply.forceConflicts takes it over", c.Field, c.Manager))
			} else {
				out = append(out, fmt.Sprintf("!   %s is owned by %q: the apply fails on it (change it in the manifests, or set apply.forceConflicts: true to take it over)", c.Field, c.Manager))
			}
		}
		if o.Error != "" {
			out = append(out, "!   the cluster refuses it: "+cutRunes(strings.Join(strings.Fields(o.Error), " "), 300))
		}
	}
	if unchanged > 0 {
		out = append(out, fmt.Sprintf("  %s unchanged", countOf(unchanged, "object")))
	}
	if p.MoreObjects > 0 {
		out = append(out, fmt.Sprintf("  … and %s not shown", countOf(p.MoreObjects, "more object")))
	}
	if p.Message != "" {
		out = append(out, "  note: "+p.Message)
	}
	return out
}

// countOf says "1 object" or "3 objects".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func cutRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// PreviewReport is the complete preview of a pull request's head: every
// tenant of every plan (and of the next deploys) in full, where the check
// run's summary has room for some. The status page shows it.
type PreviewReport struct {
	Repo    string           `json:"repo"`
	PR      int              `json:"pr"`
	HeadSHA string           `json:"headSha"`
	At      time.Time        `json:"at"`
	Plans   []PreviewSection `json:"plans,omitempty"`
	Next    *PreviewSection  `json:"next,omitempty"`
}

// PreviewSection is one plan's preview, or the next deploys'.
type PreviewSection struct {
	File       string `json:"file,omitempty"`
	Deployment string `json:"deployment,omitempty"`
	// Problems stop the deploy (render errors, boundary), as the check
	// shows them.
	Problems []string        `json:"problems,omitempty"`
	Tenants  []TenantPreview `json:"tenants"`
}
