package planner

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const liveWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: tenant-a
  resourceVersion: "812"
  generation: 4
  uid: 0b1c
  creationTimestamp: "2026-11-20T10:00:00Z"
  managedFields: [{manager: prdeploy, operation: Apply}]
  annotations: {deployment.kubernetes.io/revision: "3"}
  labels: {prdeploy.dev/service: web}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - {name: sidecar, image: "envoy:1.30"}
        - {name: web, image: "registry.example.com/acme/web:4.9.2", ports: [{containerPort: 3000}]}
status: {replicas: 2, readyReplicas: 2}
`

func TestDiffFields(t *testing.T) {
	for _, tc := range []struct {
		name       string
		live, want string
		edit       func(m map[string]any)
		more       int
	}{
		{name: "replicas only; server fields and status ignored",
			edit: func(m map[string]any) {
				m["spec"].(map[string]any)["replicas"] = int64(3)
				md := m["metadata"].(map[string]any)
				md["resourceVersion"], md["generation"] = "813", int64(5)
				m["status"] = map[string]any{"replicas": int64(3)}
			},
			want: ".spec.replicas: 2 → 3"},
		{name: "the container's image, matched by name whatever its index",
			edit: func(m map[string]any) {
				cs := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
				cs[0], cs[1] = cs[1], cs[0]
				cs[0].(map[string]any)["image"] = "registry.example.com/acme/web:5.0.0"
			},
			want: ".spec.template.spec.containers[name=web].image: registry.example.com/acme/web:4.9.2 → registry.example.com/acme/web:5.0.0"},
		{name: "added, removed, and keys that are not plain names",
			edit: func(m map[string]any) {
				md := m["metadata"].(map[string]any)
				md["annotations"] = map[string]any{"deployment.kubernetes.io/revision": "3", "example.com/owner": "team a"}
				delete(md, "labels")
				cs := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
				cs[1].(map[string]any)["ports"] = []any{map[string]any{"containerPort": int64(3000)}, map[string]any{"containerPort": int64(9090)}}
			},
			want: `.metadata.annotations["example.com/owner"]: (none) → team a` + "\n" +
				`.metadata.labels: {"prdeploy.dev/service":"web"} → (none)` + "\n" +
				`.spec.template.spec.containers[name=web].ports[1]: (none) → {"containerPort":9090}`},
		{name: "a long value is cut",
			edit: func(m map[string]any) {
				m["metadata"].(map[string]any)["annotations"] = map[string]any{"deployment.kubernetes.io/revision": strings.Repeat("x", 500)}
			},
			want: `.metadata.annotations["deployment.kubernetes.io/revision"]: 3 → ` + strings.Repeat("x", MaxPreviewValueRunes) + "…"},
		{name: "bounded: the first fields and a count of the rest",
			edit: func(m map[string]any) {
				a := map[string]any{}
				for i := range MaxPreviewFields + 7 {
					a[fmt.Sprintf("k%03d", i)] = "v"
				}
				m["metadata"].(map[string]any)["labels"] = a
			},
			more: 8}, // 57 added labels and prdeploy.dev/service removed: 58 changes
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := obj(t, liveWeb)
			planned := obj(t, liveWeb)
			tc.edit(planned)
			fields, more := DiffFields(live, planned)
			if more != tc.more {
				t.Errorf("more = %d, want %d", more, tc.more)
			}
			if tc.more > 0 {
				if len(fields) != MaxPreviewFields {
					t.Errorf("%d fields, want %d", len(fields), MaxPreviewFields)
				}
				return
			}
			var got []string
			for _, f := range fields {
				got = append(got, f.String())
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), tc.want)
			}
			if Unchanged(live, planned) {
				t.Error("Unchanged says nothing changes")
			}
		})
	}
	live := obj(t, liveWeb)
	same := obj(t, liveWeb)
	same["spec"].(map[string]any)["replicas"] = float64(2) // JSON's number
	same["metadata"].(map[string]any)["resourceVersion"] = "999"
	if fields, _ := DiffFields(live, same); len(fields) != 0 || !Unchanged(live, same) {
		t.Errorf("an equal object differs: %v", fields)
	}
}

// TestDiffFieldsNeverShowsSecretValues: every field of a Secret is shown
// by its path only, whatever changed (data, stringData, an annotation that
// a client-side apply filled with the whole Secret).
func TestDiffFieldsNeverShowsSecretValues(t *testing.T) {
	const canary = "canary-7f3a9c-do-not-print"
	b64 := "Y2FuYXJ5LTdmM2E5Yy1kby1ub3QtcHJpbnQ="
	live := obj(t, `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: tenant-a}
data: {password: b2xk, user: YWRtaW4=}
`)
	planned := obj(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: tenant-a
  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"%s"}}'}
data: {password: %s, user: YWRtaW4=, token: %s}
`, canary, b64, b64))
	fields, _ := DiffFields(live, planned)
	js, _ := json.Marshal(fields)
	var lines []string
	for _, f := range fields {
		lines = append(lines, f.String())
	}
	text := strings.Join(lines, "\n")
	for _, secret := range []string{canary, b64, "b2xk"} {
		if strings.Contains(string(js), secret) || strings.Contains(text, secret) {
			t.Fatalf("a secret value is shown:\n%s\n%s", js, text)
		}
	}
	want := `.data.password changed` + "\n" + `.data.token added` + "\n" + `.metadata.annotations added`
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
}

func TestGroupPreviews(t *testing.T) {
	replicas := func(tenant string, to string) TenantPreview {
		ns := "tenant-" + tenant
		return TenantPreview{Tenant: tenant, Cluster: "eu", Namespace: ns, Status: PreviewOK, Objects: []ObjectPreview{
			{Service: "web", Kind: "ConfigMap", Namespace: ns, Name: "web-config", Action: PreviewUnchanged},
			{Service: "web", Kind: "Deployment", Namespace: ns, Name: "web", Action: PreviewConfigured,
				Fields: []FieldChange{{Path: ".spec.replicas", Op: FieldChanged, Old: "2", New: to}}},
		}}
	}
	unreachable := func(tenant, cluster string) TenantPreview {
		return TenantPreview{Tenant: tenant, Cluster: cluster, Namespace: "tenant-" + tenant, Status: PreviewUnreachable,
			Message: fmt.Sprintf("cluster %s unreachable: dial tcp 10.0.0.1:443: i/o timeout", cluster)}
	}
	groups := GroupPreviews([]TenantPreview{
		replicas("a", "3"), unreachable("x", "us"), replicas("b", "4"), replicas("c", "3"), unreachable("y", "us"), unreachable("z", "ap"),
	})
	var got []string
	for _, g := range groups {
		got = append(got, g.First.Tenant+":"+strings.Join(g.Tenants, ","))
	}
	if want := "a:a,c x:x,y b:b z:z"; strings.Join(got, " ") != want {
		t.Errorf("groups %s, want %s", strings.Join(got, " "), want)
	}
	if !groups[0].First.Changed() || groups[0].First.Counts()[PreviewConfigured] != 1 {
		t.Errorf("first group %+v", groups[0].First)
	}
}
