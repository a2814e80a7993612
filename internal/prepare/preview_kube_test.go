package prepare_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/internal/gitrepo/gittest"
	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// The fleet as it runs: tyrell's web carries a Secret.
var runningExtra = map[string]string{
	"tenants/tyrell/web/kustomization.yaml": "resources:\n  - ../../../services/web\n  - secret.yaml\n",
	"tenants/tyrell/web/secret.yaml":        dbSecret("old-password"),
}

func dbSecret(password string) string {
	return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-db\nstringData:\n  user: web\n  password: " + password + "\n"
}

const secretCanary = "canary-91c4-must-never-be-shown"

func webPlan(name, tag string, tenants ...string) string {
	return fmt.Sprintf(`apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: %s}
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: %q}]
  tenants: {names: [%s]}
`, name, tag, strings.Join(tenants, ", "))
}

// twoClusters is prod-eu on the local control plane and prod-us, which
// does not answer.
type twoClusters struct {
	eu   *kube.Client
	down *kube.Clients
}

func (c twoClusters) For(cluster, kubeContext string) (*kube.Client, error) {
	if cluster == "prod-eu" {
		return c.eu, nil
	}
	return c.down.For(cluster, kubeContext)
}

// runFleet applies every tenant's services as rendered from the repository
// (image tag 1.0.0), as earlier deploys would have, on one control plane.
func runFleet(t testing.TB, c *kube.Client, repo *planner.Repo) {
	t.Helper()
	ctx := context.Background()
	r, err := planner.NewRenderer(repo)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, ft := range repo.Fleet.Tenants {
		if ft.Cluster != "prod-eu" {
			continue
		}
		ns, _ := kube.Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ft.Namespace + "}\n"))
		if _, err := c.Apply(ctx, ns, false); err != nil {
			t.Fatal(err)
		}
		services := ft.Services
		if len(services) == 0 {
			services = repo.Fleet.ServiceNames()
		}
		for _, s := range services {
			def, _ := repo.Fleet.Service(s)
			m, err := r.Render(planner.TenantTarget{Name: ft.Name, Cluster: ft.Cluster, Namespace: ft.Namespace},
				planner.ServiceRollout{Name: s, Image: def.Image + ":1.0.0", Path: def.Path})
			if err != nil {
				t.Fatal(err)
			}
			objs, err := kube.Decode(m.YAML)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Apply(ctx, objs, false); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestPreviewOnTheLocalControlPlane: with the example fleet running on a
// real control plane (prod-eu; prod-us does not answer), each pull request
// shows exactly what merging it would do, tenant by tenant.
func TestPreviewOnTheLocalControlPlane(t *testing.T) {
	cp := kubetest.StartT(t)
	cfg, err := cp.Config()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kube.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	down := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(down, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: us, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: prod-us, context: {cluster: us, user: u}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	previewer := &kube.Previewer{Clients: twoClusters{eu: c, down: &kube.Clients{Kubeconfig: down}}}

	// The fleet runs: every prod-eu tenant's services, from the base.
	repos, _ := exampleRepo(t, runningExtra)
	fleet, err := planner.LoadRepo(os.DirFS(repos.Dirs["acme/deploys"]))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runFleet(t, c, fleet)
	t.Logf("the prod-eu tenants run (%s)", time.Since(start).Round(time.Millisecond))
	// stark runs an object an earlier commit had; an autoscaler owns
	// umbrella's web replicas.
	legacy, _ := kube.Decode([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-legacy\n  namespace: tenant-stark\n  labels: {app.kubernetes.io/managed-by: prdeploy, prdeploy.dev/tenant: stark, prdeploy.dev/service: web}\n"))
	if _, err := c.Apply(ctx, legacy, false); err != nil {
		t.Fatal(err)
	}
	hpa, _ := kube.Decode([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: tenant-umbrella}\nspec: {replicas: 4}\n"))
	ri, err := c.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace("tenant-umbrella").Apply(ctx, "web", hpa[0], metav1.ApplyOptions{FieldManager: "horizontal-pod-autoscaler", Force: true})
	if err != nil || ri == nil {
		t.Fatal(err)
	}

	// pr checks a PR with these files on the running base.
	pr := func(t *testing.T, n int, files map[string]string) (workflows.PlanPRResult, workflows.CheckRun, string) {
		t.Helper()
		repos, base := exampleRepo(t, runningExtra)
		head := commitOnTop(t, repos.Dirs["acme/deploys"], files)
		host := &codeHost{}
		checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Preview: previewer, Now: at("2026-11-24T10:00:00Z")}
		start := time.Now()
		res, err := checker.CheckPR(ctx, workflows.PlanPRInput{Repo: "acme/deploys", PR: n, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("checked in %s", time.Since(start).Round(time.Millisecond))
		return res, host.runs[fmt.Sprintf("%s/plan:acme/deploys#%d/%s", prepare.PlanCheckName, n, head)], host.comments["acme/deploys#plan"]
	}
	// diffs are the summary's diff blocks.
	diffs := func(summary string) []string {
		return regexp.MustCompile("(?s)```diff\n(.*?)\n```").FindAllString(summary, -1)
	}

	t.Run("an overlay change on one tenant", func(t *testing.T) {
		_, run, _ := pr(t, 1, map[string]string{
			"tenants/globex/web/kustomization.yaml": "resources:\n  - ../../../services/web\npatches:\n  - path: scale.yaml\n",
			"tenants/globex/web/scale.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
		})
		if run.Report.Conclusion != "success" || run.Report.Title != "No plan: 1 tenant service changes at its next deploy" {
			t.Fatalf("%+v", run.Report)
		}
		want := "```diff\n~ Deployment web (web): configured\n    .spec.replicas: 2 → 3\n  2 objects unchanged\n```"
		if d := diffs(run.Report.Summary); len(d) != 1 || d[0] != want || !strings.Contains(run.Report.Summary, "| `web` | 1: `globex` |") {
			t.Errorf("diffs %q\n%s", d, run.Report.Summary)
		}
	})

	t.Run("an image bump", func(t *testing.T) {
		_, run, _ := pr(t, 2, map[string]string{"deploys/web-2.yaml": webPlan("web-2", "2.0.0", "hooli")})
		want := "```diff\n~ Deployment web (web): configured\n    .spec.template.spec.containers[name=web].image: registry.example.com/acme/web:1.0.0 → registry.example.com/acme/web:2.0.0\n  2 objects unchanged\n```"
		if d := diffs(run.Report.Summary); len(d) != 1 || d[0] != want {
			t.Errorf("diffs %q\n%s", d, run.Report.Summary)
		}
	})

	t.Run("replicas owned by an autoscaler", func(t *testing.T) {
		_, run, _ := pr(t, 3, map[string]string{"deploys/web-1.yaml": webPlan("web-1", "1.0.0", "umbrella")})
		want := "```diff\n~ Deployment web (web): configured\n    .spec.replicas: 4 → 2\n" +
			"!   .spec.replicas is owned by \"horizontal-pod-autoscaler\": the apply fails on it (change it in the manifests, or set apply.forceConflicts: true to take it over)\n  2 objects unchanged\n```"
		if d := diffs(run.Report.Summary); len(d) != 1 || d[0] != want || !strings.Contains(run.Report.Summary, "The apply would fail in 1 tenant") {
			t.Errorf("diffs %q\n%s", d, run.Report.Summary)
		}
	})

	t.Run("a removed object", func(t *testing.T) {
		_, run, _ := pr(t, 4, map[string]string{"deploys/web-1.yaml": webPlan("web-1", "1.0.0", "stark")})
		want := "```diff\n- ConfigMap web-legacy (web): no longer in the manifests; the deploy leaves it in the cluster\n  3 objects unchanged\n```"
		if d := diffs(run.Report.Summary); len(d) != 1 || d[0] != want {
			t.Errorf("diffs %q\n%s", d, run.Report.Summary)
		}
	})

	t.Run("a Secret shows its key only", func(t *testing.T) {
		res, run, comment := pr(t, 5, map[string]string{
			"deploys/web-1.yaml":             webPlan("web-1", "1.0.0", "tyrell"),
			"tenants/tyrell/web/secret.yaml": dbSecret(secretCanary),
		})
		want := "```diff\n~ Secret web-db (web): configured\n    .data.password changed\n  3 objects unchanged\n```"
		if d := diffs(run.Report.Summary); len(d) != 1 || d[0] != want {
			t.Errorf("diffs %q\n%s", d, run.Report.Summary)
		}
		published, _ := json.Marshal(run)
		result, _ := json.Marshal(res) // what the PlanPR workflow's history holds
		for what, text := range map[string]string{"check run": string(published), "comment": comment, "workflow result": string(result)} {
			for _, secret := range []string{secretCanary, base64.StdEncoding.EncodeToString([]byte(secretCanary)), "old-password", base64.StdEncoding.EncodeToString([]byte("old-password"))} {
				if strings.Contains(text, secret) {
					t.Errorf("the %s shows the secret %q", what, secret)
				}
			}
		}
		s, err := c.Typed.CoreV1().Secrets("tenant-tyrell").Get(ctx, "web-db", metav1.GetOptions{})
		if err != nil || string(s.Data["password"]) != "old-password" {
			t.Errorf("the preview changed the Secret: %v", err)
		}
	})

	t.Run("a kustomize error fails the check at its line", func(t *testing.T) {
		res, run, _ := pr(t, 6, map[string]string{
			"deploys/web-1.yaml":                     webPlan("web-1", "1.0.0", "initech", "globex"),
			"tenants/initech/web/kustomization.yaml": "resources:\n  - ../../../services/web\npatches:\n  - path: scale.yaml\n",
			"tenants/initech/web/scale.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: webb\nspec:\n  replicas: 3\n",
		})
		if res.Conclusion != "failure" {
			t.Fatalf("conclusion %s", res.Conclusion)
		}
		found := false
		for _, a := range run.Annotations {
			found = found || (a.Path == "tenants/initech/web/scale.yaml" && a.StartLine == 4 && strings.Contains(a.Message, `the patch targets Deployment "webb"`))
		}
		if !found {
			t.Errorf("annotations %+v", run.Annotations)
		}
		// globex renders, and is previewed; initech is not.
		if !strings.Contains(run.Report.Summary, "✅ `globex`: no change.") || !strings.Contains(run.Report.Summary, "1 not previewed (not rendered, above)") {
			t.Errorf("summary:\n%s", run.Report.Summary)
		}
	})

	t.Run("a services-only PR lists the affected tenants", func(t *testing.T) {
		cm, err := os.ReadFile(filepath.Join(repos.Dirs["acme/deploys"], "services/query/configmap.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		edited := regexp.MustCompile(`(?m)^  LOG_LEVEL: .*$`).ReplaceAllString(string(cm), "  LOG_LEVEL: debug")
		if edited == string(cm) {
			t.Fatalf("no LOG_LEVEL in\n%s", cm)
		}
		res, run, _ := pr(t, 7, map[string]string{"services/query/configmap.yaml": edited})
		if res.Conclusion != "success" || run.Report.Title != "No plan: 17 tenant services change at their next deploy" {
			t.Fatalf("%+v", run.Report)
		}
		for _, want := range []string{"| `query` | 17: `staging-eu`, `acme-internal`, `globex`,",
			"**9 of 17 tenants would change** (objects: 9 configured), 8 not previewed (cluster unreachable; this fails nothing)",
			"— the same change in each; shown for `staging-eu`:",
			"⚠️ `acme-internal`, `cyberdyne`, `wonka`, `massive-dynamic`, `vandelay`, `oscorp`, `dunder-mifflin`, `pied-piper`: cluster prod-us unreachable"} {
			if !strings.Contains(run.Report.Summary, want) {
				t.Errorf("summary lacks %q:\n%s", want, run.Report.Summary)
			}
		}
		if d := diffs(run.Report.Summary); len(d) != 1 || !strings.Contains(d[0], "~ ConfigMap query-config (query): configured\n    .data.LOG_LEVEL: info → debug\n") {
			t.Errorf("diffs %q", d)
		}
	})
}

// BenchmarkPreview50Tenants4Services: the plan check of a plan that
// deploys 4 services to 50 running tenants on the local control plane:
// rendering every manifest (as Prepare), the live diff of every tenant, and
// the whole check (checkouts, policies, rendering, diff, summary).
func BenchmarkPreview50Tenants4Services(b *testing.B) {
	cp := kubetest.StartT(b)
	cfg, err := cp.Config()
	if err != nil {
		b.Fatal(err)
	}
	c, err := kube.NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var fleet strings.Builder
	fleet.WriteString("apiVersion: prdeploy.dev/v1\nkind: Fleet\nclusters: [{name: prod-eu, kubeContext: prod-eu}]\nservices:\n")
	for _, s := range []string{"ingest", "query", "store", "web"} {
		fmt.Fprintf(&fleet, "  - {name: %s, image: registry.example.com/acme/%s}\n", s, s)
	}
	fleet.WriteString("tenants:\n")
	for i := range 50 {
		fmt.Fprintf(&fleet, "  - {name: t%02d, cluster: prod-eu, namespace: tenant-t%02d, labels: {bench: \"yes\"}}\n", i, i)
	}
	dir := b.TempDir()
	// The example's own plans name tenants this fleet lacks: they do not
	// load, and are not the PR's.
	base := gittest.Commit(b, dir, "../../examples/gitops-repo", map[string]string{"fleet.yaml": fleet.String()}, "fleet")
	repos := gitrepo.Local{Dirs: map[string]string{"acme/deploys": dir}}
	loaded, _ := planner.LoadRepo(os.DirFS(dir))
	runFleet(b, c, loaded)
	head := gittest.Commit(b, dir, "", map[string]string{"deploys/all-2.yaml": `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: all-2}
spec:
  clusters: [prod-eu]
  services:
    - {name: store, tag: "2.0.0"}
    - {name: ingest, tag: "2.0.0"}
    - {name: query, tag: "2.0.0", after: [store]}
    - {name: web, tag: "2.0.0", after: [query]}
  tenants: {selector: {matchLabels: {bench: "yes"}}}
  rollout: {maxParallel: 10}
`}, "plan")
	headRepo, err := planner.LoadRepo(os.DirFS(dir))
	if errs := planner.Errors(err, planner.FleetFile, "deploys/all-2.yaml"); len(errs) > 0 {
		b.Fatal(errs)
	}
	plan, _ := headRepo.Plan("deploys/all-2.yaml")
	exec, err := planner.Expand(plan, headRepo.Fleet)
	if err != nil {
		b.Fatal(err)
	}
	previewer := &kube.Previewer{Clients: twoClusters{eu: c}}
	ctx := context.Background()
	var render, diff, check time.Duration
	requests := int64(0)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		r := prepare.RenderPlan(headRepo, exec)
		render += time.Since(start)
		if len(r.Targets) != 50 || len(r.Problems) > 0 {
			b.Fatalf("%d targets, problems %+v", len(r.Targets), r.Problems)
		}
		start, before := time.Now(), previewer.Requests()
		ps := previewer.Preview(ctx, r.Targets)
		diff += time.Since(start)
		requests += previewer.Requests() - before
		for _, p := range ps {
			if p.Status != planner.PreviewOK || p.Counts()[planner.PreviewConfigured] != 4 {
				b.Fatalf("%s: %+v", p.Tenant, p)
			}
		}
		host := &codeHost{}
		checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Preview: previewer, Now: at("2026-11-24T10:00:00Z")}
		start = time.Now()
		if _, err := checker.CheckPR(ctx, workflows.PlanPRInput{Repo: "acme/deploys", PR: 1, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"}); err != nil {
			b.Fatal(err)
		}
		check += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(render.Seconds()/n, "render-s/op")
	b.ReportMetric(diff.Seconds()/n, "livediff-s/op")
	b.ReportMetric(check.Seconds()/n, "plancheck-s/op")
	b.ReportMetric(float64(requests)/n/50, "requests/tenant")
}
