// Tests of what examples/ promises: the Kubernetes manifests that run
// prdeploy (examples/kubernetes) with the image the Dockerfile builds, and the
// GitHub App manifest. The manifests are read as the pods would see them:
// each Deployment's volumes are laid out in a temporary folder, so the
// configuration is parsed with its secrets read from the mounted Secret, and
// every path it names is checked against what is mounted there. The
// manifests are also applied, as a server-side dry run, to the real local
// control plane (internal/kube/kubetest); without its binaries that test
// skips, unless PRDEPLOY_REAL=required.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/webhook"
)

const (
	kubeDir        = "kubernetes"
	secretTemplate = "secret.template.yaml" // applied by hand, never by the kustomization
	namespace      = "prdeploy"
	configMapName  = "prdeploy-config"
)

// manifests is every object of examples/kubernetes, by file.
type manifests struct {
	files  []string // the YAML files holding objects, sorted
	byFile map[string][]*unstructured.Unstructured
}

func readManifests(t *testing.T) *manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{byFile: map[string][]*unstructured.Unstructured{}}
	for _, p := range paths {
		name := filepath.Base(p)
		if name == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := kube.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		m.files = append(m.files, name)
		m.byFile[name] = objs
	}
	if len(m.files) == 0 {
		t.Fatalf("no manifests in %s", kubeDir)
	}
	return m
}

func (m *manifests) all() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, f := range m.files {
		out = append(out, m.byFile[f]...)
	}
	return out
}

// get decodes the object of that kind and name strictly into out (a typed
// Kubernetes object): a misspelt field is an error.
func (m *manifests) get(t *testing.T, kind, name string, out any) {
	t.Helper()
	for _, o := range m.all() {
		if o.GetKind() == kind && o.GetName() == name {
			strictInto(t, o, out)
			return
		}
	}
	t.Fatalf("no %s %s in %s", kind, name, kubeDir)
}

func strictInto(t *testing.T, o *unstructured.Unstructured, out any) {
	t.Helper()
	data, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// image is what the Dockerfile's final stage declares.
type image struct {
	entrypoint []string
	expose     []string
	volumes    []string
}

func readDockerfile(t *testing.T) image {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var img image
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		instr, rest, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch instr {
		case "FROM":
			img = image{} // only the final stage counts
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &img.entrypoint); err != nil {
				t.Fatalf("Dockerfile: ENTRYPOINT %s is not an exec-form JSON array: %v", rest, err)
			}
		case "EXPOSE":
			img.expose = append(img.expose, strings.Fields(rest)...)
		case "VOLUME":
			img.volumes = append(img.volumes, strings.Fields(rest)...)
		}
	}
	if len(img.entrypoint) == 0 {
		t.Fatal("Dockerfile: the final stage has no ENTRYPOINT")
	}
	return img
}

// flagValue returns the value of --name in args ("--name v" or "--name=v").
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// pod is what the prdeploy container of a Deployment sees: its command line
// and, under root, the files its volumes mount.
type pod struct {
	dep       *appsv1.Deployment
	container corev1.Container
	argv      []string
	root      string
	// mounts maps a mount path to its volume; writable says which mounts
	// the process may write to.
	mounts   map[string]corev1.Volume
	writable map[string]bool
}

// mountPod lays out a Deployment's volumes under a temporary folder:
// ConfigMap and Secret keys become files (Secret values are placeholders,
// since the template's are empty), emptyDirs and claims empty folders.
func mountPod(t *testing.T, m *manifests, img image, name string) *pod {
	t.Helper()
	var dep appsv1.Deployment
	m.get(t, "Deployment", name, &dep)
	spec := dep.Spec.Template.Spec
	i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == "prdeploy" })
	if i < 0 {
		t.Fatalf("Deployment %s has no container named prdeploy", name)
	}
	p := &pod{dep: &dep, container: spec.Containers[i], root: t.TempDir(),
		mounts: map[string]corev1.Volume{}, writable: map[string]bool{}}
	p.argv = append(p.argv, p.container.Command...)
	if len(p.container.Command) == 0 {
		p.argv = append(p.argv, img.entrypoint...)
	}
	p.argv = append(p.argv, p.container.Args...)

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for _, vm := range p.container.VolumeMounts {
		v, ok := volumes[vm.Name]
		if !ok {
			t.Fatalf("Deployment %s mounts volume %q, which it does not declare", name, vm.Name)
		}
		if vm.SubPath != "" {
			t.Fatalf("Deployment %s: subPath mounts are not modelled here", name)
		}
		dir := filepath.Join(p.root, vm.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p.mounts[vm.MountPath] = v
		var files map[string]string
		switch {
		case v.ConfigMap != nil:
			var cm corev1.ConfigMap
			m.get(t, "ConfigMap", v.ConfigMap.Name, &cm)
			files = cm.Data
		case v.Secret != nil:
			var s corev1.Secret
			m.get(t, "Secret", v.Secret.SecretName, &s)
			files = map[string]string{}
			for k := range s.StringData {
				files[k] = "placeholder"
			}
			for k := range s.Data {
				files[k] = "placeholder"
			}
		case v.EmptyDir != nil, v.PersistentVolumeClaim != nil:
			p.writable[vm.MountPath] = !vm.ReadOnly
		default:
			t.Fatalf("Deployment %s: volume %q is of a kind not modelled here", name, v.Name)
		}
		if (v.ConfigMap != nil && len(v.ConfigMap.Items) > 0) || (v.Secret != nil && len(v.Secret.Items) > 0) {
			t.Fatalf("Deployment %s: volume %q maps items, which is not modelled here", name, v.Name)
		}
		for k, content := range files {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

// mountOf returns the mount that holds path (the longest mount path that is
// a parent of it).
func (p *pod) mountOf(path string) (string, corev1.Volume, bool) {
	best := ""
	for mp := range p.mounts {
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	return best, p.mounts[best], best != ""
}

// rewrite makes the secrets in text ("file:/path") that lie under the pod's
// mounts point into root; other paths are left as the pod sees them.
func (p *pod) rewrite(text string) string {
	mps := make([]string, 0, len(p.mounts))
	for mp := range p.mounts {
		mps = append(mps, mp)
	}
	slices.SortFunc(mps, func(a, b string) int { return len(b) - len(a) }) // longest first
	var pairs []string
	for _, mp := range mps {
		pairs = append(pairs, "file:"+mp+"/", "file:"+filepath.Join(p.root, mp)+"/")
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// config reads the --config file as the pod would, and parses it.
func (p *pod) config(t *testing.T) *config.Config {
	t.Helper()
	path, ok := flagValue(p.argv, "config")
	if !ok {
		t.Fatalf("%s runs %q: no --config", p.dep.Name, p.argv)
	}
	if _, v, ok := p.mountOf(path); !ok || v.ConfigMap == nil || v.ConfigMap.Name != configMapName {
		t.Fatalf("%s: --config %s is not in a mount of ConfigMap %s", p.dep.Name, path, configMapName)
	}
	data, err := os.ReadFile(filepath.Join(p.root, path))
	if err != nil {
		t.Fatalf("%s: --config %s: the ConfigMap has no such key: %v", p.dep.Name, path, err)
	}
	cfg, err := config.Parse(path, []byte(p.rewrite(string(data))))
	if err != nil {
		t.Fatalf("%s: the mounted prdeploy.yaml does not parse (a file: secret that is not mounted fails here):\n%v", p.dep.Name, err)
	}
	return cfg
}

func TestDockerfileRunsServeWithTheMountedConfig(t *testing.T) {
	img := readDockerfile(t)
	if len(img.entrypoint) < 2 || filepath.Base(img.entrypoint[0]) != "prdeploy" || img.entrypoint[1] != "serve" {
		t.Errorf("ENTRYPOINT %q, want prdeploy serve …", img.entrypoint)
	}
	if path, _ := flagValue(img.entrypoint, "config"); path != "/etc/prdeploy/prdeploy.yaml" {
		t.Errorf("ENTRYPOINT --config %q, want /etc/prdeploy/prdeploy.yaml", path)
	}
	if !slices.Equal(img.expose, []string{"8080"}) {
		t.Errorf("EXPOSE %q, want 8080 (the default listen address)", img.expose)
	}
	if !slices.Equal(img.volumes, []string{"/var/lib/prdeploy"}) {
		t.Errorf("VOLUME %q, want /var/lib/prdeploy (dataDir)", img.volumes)
	}
}

func TestManifestsAreKubernetesObjects(t *testing.T) {
	m := readManifests(t)
	seen := map[string]string{}
	for _, f := range m.files {
		if len(m.byFile[f]) == 0 {
			t.Errorf("%s holds no object", f)
		}
		for _, o := range m.byFile[f] {
			id := o.GetKind() + " " + o.GetName()
			if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
				t.Errorf("%s: an object without apiVersion, kind or metadata.name: %v", f, o.Object)
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("%s: %s is also in %s", f, id, prev)
			}
			seen[id] = f
			if ns := o.GetNamespace(); o.GetKind() != "Namespace" && ns != namespace {
				t.Errorf("%s: %s is in namespace %q, want %q", f, id, ns, namespace)
			}
			// Typed and strict: a misspelt field fails here.
			var typed any
			switch o.GetKind() {
			case "Namespace":
				typed = &corev1.Namespace{}
			case "ServiceAccount":
				typed = &corev1.ServiceAccount{}
			case "ConfigMap":
				typed = &corev1.ConfigMap{}
			case "Secret":
				typed = &corev1.Secret{}
			case "PersistentVolumeClaim":
				typed = &corev1.PersistentVolumeClaim{}
			case "Service":
				typed = &corev1.Service{}
			case "Deployment":
				typed = &appsv1.Deployment{}
			default:
				t.Errorf("%s: %s: a kind this test does not know; add it", f, id)
				continue
			}
			strictInto(t, o, typed)
		}
	}
	for _, o := range m.byFile[secretTemplate] {
		if o.GetKind() != "Secret" {
			t.Errorf("%s holds a %s; it is for Secrets only", secretTemplate, o.GetKind())
		}
		data, _, _ := unstructured.NestedMap(o.Object, "stringData")
		if _, has := o.Object["data"]; has || len(data) == 0 {
			t.Errorf("%s: Secret %s: want its keys under stringData, empty", secretTemplate, o.GetName())
		}
		for k, v := range data {
			if v != "" {
				t.Errorf("%s: Secret %s: %s is not empty; the template holds no values", secretTemplate, o.GetName(), k)
			}
		}
	}
}

// TestKustomizationBuildsEveryManifestButTheSecrets builds the kustomization
// as `kubectl apply -k` would: every file but the Secret template, and the
// image name replaced.
func TestKustomizationBuildsEveryManifestButTheSecrets(t *testing.T) {
	m := readManifests(t)
	built := kustomizeBuild(t)
	var got, want []string
	for _, o := range built {
		got = append(got, o.GetKind()+" "+o.GetName())
	}
	for _, f := range m.files {
		if f == secretTemplate {
			continue
		}
		for _, o := range m.byFile[f] {
			want = append(want, o.GetKind()+" "+o.GetName())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("kustomize build yields %q, want every manifest but %s: %q", got, secretTemplate, want)
	}
	for _, o := range built {
		if o.GetKind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		strictInto(t, o, &d)
		if img := d.Spec.Template.Spec.Containers[0].Image; !strings.Contains(img, "/") || !strings.Contains(img, ":") {
			t.Errorf("Deployment %s: image %q after kustomize, want the images: entry applied (registry/name:tag)", d.Name, img)
		}
	}
}

func kustomizeBuild(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), kubeDir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", kubeDir, err)
	}
	data, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kube.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestDeploymentsServeTheirRole checks each Deployment as its pods would run:
// `prdeploy serve --role …` with the mounted prdeploy.yaml, which parses
// with the secrets read from the mounted Secret, probes on the listen port,
// and every path the configuration names mounted, writable where prdeploy
// writes.
func TestDeploymentsServeTheirRole(t *testing.T) {
	m := readManifests(t)
	img := readDockerfile(t)
	for _, tc := range []struct {
		deployment, role string
		replicas         int32
	}{
		{"prdeploy-webhook", "webhook", 2},
		{"prdeploy-worker", "worker", 2},
	} {
		t.Run(tc.role, func(t *testing.T) {
			p := mountPod(t, m, img, tc.deployment)
			if len(p.argv) < 2 || filepath.Base(p.argv[0]) != "prdeploy" || p.argv[1] != "serve" {
				t.Errorf("runs %q, want prdeploy serve …", p.argv)
			}
			if role, _ := flagValue(p.argv, "role"); role != tc.role {
				t.Errorf("runs %q: --role %q, want %q", p.argv, role, tc.role)
			}
			if r := p.dep.Spec.Replicas; r == nil || *r != tc.replicas {
				t.Errorf("replicas %v, want %d", r, tc.replicas)
			}

			cfg := p.config(t)
			if cfg.Temporal.Address == "" {
				t.Error("temporal.address is empty: --role webhook and --role worker need an external Temporal")
			}
			_, port, err := net.SplitHostPort(cfg.Listen)
			if err != nil {
				t.Fatalf("listen %q: %v", cfg.Listen, err)
			}
			portOf := func(pp intstr.IntOrString) string {
				if pp.Type == intstr.Int {
					return pp.String()
				}
				for _, cp := range p.container.Ports {
					if cp.Name == pp.StrVal {
						return fmt.Sprint(cp.ContainerPort)
					}
				}
				return "unnamed port " + pp.StrVal
			}
			for _, pr := range []struct {
				name, path string
				probe      *corev1.Probe
			}{
				{"livenessProbe", "/healthz", p.container.LivenessProbe},
				{"readinessProbe", "/readyz", p.container.ReadinessProbe},
				{"startupProbe", "/healthz", p.container.StartupProbe},
			} {
				if pr.probe == nil || pr.probe.HTTPGet == nil {
					t.Errorf("%s: none, want GET %s on port %s", pr.name, pr.path, port)
					continue
				}
				if g := pr.probe.HTTPGet; g.Path != pr.path || portOf(g.Port) != port {
					t.Errorf("%s: GET %s on port %s, want %s on port %s (listen %q)", pr.name, g.Path, portOf(g.Port), pr.path, port, cfg.Listen)
				}
			}
			// /metrics is on a listener of its own (metrics.listen).
			_, metricsPort, err := net.SplitHostPort(cfg.Metrics.Listen)
			if err != nil {
				t.Fatalf("metrics.listen %q: %v", cfg.Metrics.Listen, err)
			}
			ann := p.dep.Spec.Template.Annotations
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != metricsPort || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("pod annotations %v, want prometheus.io/scrape true, port %s, path /metrics", ann, metricsPort)
			}

			// Where prdeploy writes: the root filesystem is read-only.
			writes := map[string]string{"dataDir": cfg.DataDir}
			if u, err := url.Parse(cfg.Payloads.Bucket); err == nil && u.Scheme == "file" {
				writes["payloads.bucket"] = u.Path
			}
			for key, path := range writes {
				if mp, _, ok := p.mountOf(path); !ok || !p.writable[mp] {
					t.Errorf("%s %s is not on a writable volume (the root filesystem is read-only)", key, path)
				}
			}
			// Files prdeploy reads besides its secrets.
			reads := map[string]string{"temporal.tlsCert": cfg.Temporal.TLSCert, "temporal.tlsKey": cfg.Temporal.TLSKey, "temporal.tlsCA": cfg.Temporal.TLSCA}
			if tc.role == "worker" {
				reads["clusters.kubeconfig"] = cfg.Clusters.Kubeconfig
			}
			for key, path := range reads {
				if path == "" {
					continue
				}
				if _, v, ok := p.mountOf(path); !ok || v.Secret == nil {
					t.Errorf("%s %s is not in a mounted Secret", key, path)
				} else if _, err := os.Stat(filepath.Join(p.root, path)); err != nil {
					t.Errorf("%s %s: Secret %s has no such key", key, path, v.Secret.SecretName)
				}
			}
			if tc.role == "worker" {
				// SIGTERM: up to 20 s of HTTP shutdown, then the worker stops.
				if g := p.dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= 20 {
					t.Errorf("terminationGracePeriodSeconds %v, want more than the 20 s of HTTP shutdown", g)
				}
			}

			psc, sc := p.dep.Spec.Template.Spec.SecurityContext, p.container.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Error("the pod does not set runAsNonRoot")
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Error("the container does not set readOnlyRootFilesystem")
			}
			if r := p.container.Resources; r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
				t.Errorf("resources %v, want cpu and memory requests and a memory limit", r)
			}
		})
	}
}

// TestConfigMapPayloadBucketOpens opens the configured payload bucket (in a
// temporary folder): its scheme is one prdeploy links, and its options are
// ones the driver knows.
func TestConfigMapPayloadBucketOpens(t *testing.T) {
	m := readManifests(t)
	p := mountPod(t, m, readDockerfile(t), "prdeploy-worker")
	cfg := p.config(t)
	u, err := url.Parse(cfg.Payloads.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme == "file" {
		u.Path = filepath.Join(p.root, u.Path) // the volume, as mounted in the pod
	}
	key := make([]byte, 32)
	store, err := payload.Open(context.Background(), payload.Config{
		BucketURL:  u.String(),
		Keys:       map[string]string{cfg.Payloads.CurrentKey: "base64key://" + base64.URLEncoding.EncodeToString(key)},
		CurrentKey: cfg.Payloads.CurrentKey,
	})
	if err != nil {
		t.Fatalf("payloads.bucket %s: %v", cfg.Payloads.Bucket, err)
	}
	store.Close()
}

func TestServiceSendsPort80ToTheWebhookPods(t *testing.T) {
	m := readManifests(t)
	var svc corev1.Service
	m.get(t, "Service", "prdeploy-webhook", &svc)
	var hook, worker appsv1.Deployment
	m.get(t, "Deployment", "prdeploy-webhook", &hook)
	m.get(t, "Deployment", "prdeploy-worker", &worker)
	matches := func(d *appsv1.Deployment) bool {
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return len(svc.Spec.Selector) > 0
	}
	if !matches(&hook) || matches(&worker) {
		t.Errorf("selector %v: selects webhook pods %v, worker pods %v; want only the webhook pods", svc.Spec.Selector, matches(&hook), matches(&worker))
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("ports %v, want one", svc.Spec.Ports)
	}
	sp := svc.Spec.Ports[0]
	target := sp.TargetPort.String()
	for _, cp := range hook.Spec.Template.Spec.Containers[0].Ports {
		if cp.Name == sp.TargetPort.StrVal {
			target = fmt.Sprint(cp.ContainerPort)
		}
	}
	if sp.Port != 80 || target != "8080" {
		t.Errorf("port %d → %s, want 80 → 8080", sp.Port, target)
	}
}

// TestManifestsApplyOnAPIServer applies what `kubectl apply -k` would, plus
// the Secret template, to the real local control plane as a server-side dry
// run: the apiserver's validation and admission (Pod Security "restricted",
// which the namespace enforces) accept them without a warning.
func TestManifestsApplyOnAPIServer(t *testing.T) {
	cp := kubetest.StartT(t)
	rc, err := cp.Config()
	if err != nil {
		t.Fatal(err)
	}
	var warnings warningList
	rc.WarningHandler = &warnings
	c, err := kube.NewClient(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	objs := kustomizeBuild(t)
	objs = append(objs, readManifests(t).byFile[secretTemplate]...)
	// Namespaced objects cannot be dry-run into a namespace that does not
	// exist: the namespace is created for real.
	i := slices.IndexFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == "Namespace" })
	if i < 0 {
		t.Fatal("no Namespace among the manifests")
	}
	if _, err := c.Apply(ctx, objs[i:i+1], false); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		mapping, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = c.Dynamic.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = c.Dynamic.Resource(mapping.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "examples-test", DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("server-side dry run of %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	if w := warnings.list(); len(w) > 0 {
		t.Errorf("the apiserver warned:\n%s", strings.Join(w, "\n"))
	}
}

type warningList struct {
	mu sync.Mutex
	w  []string
}

func (l *warningList) HandleWarningHeader(_ int, _ string, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w = append(l.w, text)
}

func (l *warningList) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.w)
}

// TestGitHubAppManifest checks examples/github-app.json against GitHub's
// manifest format (an unknown field is an error) and the permissions and
// events prdeploy needs, exactly.
func TestGitHubAppManifest(t *testing.T) {
	data, err := os.ReadFile("github-app.json")
	if err != nil {
		t.Fatal(err)
	}
	var app struct {
		Name           string `json:"name"`
		URL            string `json:"url"`
		Description    string `json:"description"`
		HookAttributes struct {
			URL    string `json:"url"`
			Active *bool  `json:"active"`
		} `json:"hook_attributes"`
		RedirectURL           string            `json:"redirect_url"`
		CallbackURLs          []string          `json:"callback_urls"`
		SetupURL              string            `json:"setup_url"`
		Public                *bool             `json:"public"`
		DefaultEvents         []string          `json:"default_events"`
		DefaultPermissions    map[string]string `json:"default_permissions"`
		RequestOAuthOnInstall bool              `json:"request_oauth_on_install"`
		SetupOnUpdate         bool              `json:"setup_on_update"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&app); err != nil {
		t.Fatalf("github-app.json: %v", err)
	}
	if app.Name == "" || app.URL == "" || app.RedirectURL == "" {
		t.Errorf("name %q, url %q, redirect_url %q: all are required", app.Name, app.URL, app.RedirectURL)
	}
	if u, err := url.Parse(app.HookAttributes.URL); err != nil || u.Scheme != "https" || u.Path != webhook.Path {
		t.Errorf("hook_attributes.url %q, want https://<prdeploy>%s", app.HookAttributes.URL, webhook.Path)
	}
	if app.Public == nil || *app.Public {
		t.Errorf("public %v, want false", app.Public)
	}
	wantPerms := map[string]string{"checks": "write", "pull_requests": "write", "issues": "write",
		"contents": "read", "members": "read", "metadata": "read"}
	if fmt.Sprint(app.DefaultPermissions) != fmt.Sprint(wantPerms) {
		t.Errorf("default_permissions %v, want exactly %v", app.DefaultPermissions, wantPerms)
	}
	wantEvents := []string{"check_run", "issue_comment", "pull_request", "pull_request_review"}
	got := slices.Sorted(slices.Values(app.DefaultEvents))
	if !slices.Equal(got, wantEvents) {
		t.Errorf("default_events %q, want exactly %q", app.DefaultEvents, wantEvents)
	}
}
