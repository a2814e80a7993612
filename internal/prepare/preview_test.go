package prepare_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".md")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test ./internal/prepare -run %s -update", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs; run with -update if the change is intended\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// cannedClusters previews as the clusters would answer: a canned preview
// for some tenants, "unchanged" for the rest. It records what it was
// asked.
type cannedClusters struct {
	mu      sync.Mutex
	canned  map[string]planner.TenantPreview
	all     *planner.TenantPreview // for the tenants not in canned
	targets []planner.PreviewTarget
}

func (c *cannedClusters) Preview(_ context.Context, ts []planner.PreviewTarget) []planner.TenantPreview {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets = append(c.targets, ts...)
	var out []planner.TenantPreview
	for _, t := range ts {
		p, ok := c.canned[t.Tenant]
		if !ok && c.all != nil {
			p, ok = *c.all, true
			p.Objects = slices.Clone(p.Objects)
		}
		if !ok {
			p = planner.TenantPreview{Status: planner.PreviewOK}
			for _, s := range t.Services {
				p.Objects = append(p.Objects,
					planner.ObjectPreview{Service: s.Name, Kind: "ConfigMap", Name: s.Name + "-config", Action: planner.PreviewUnchanged},
					planner.ObjectPreview{Service: s.Name, Kind: "Deployment", Name: s.Name, Action: planner.PreviewUnchanged})
			}
		}
		p.Tenant, p.Cluster, p.Namespace = t.Tenant, t.Cluster, t.Namespace
		for i := range p.Objects {
			p.Objects[i].Namespace = t.Namespace
		}
		out = append(out, p)
	}
	return out
}

func configured(service, kind, name string, fields ...planner.FieldChange) planner.ObjectPreview {
	return planner.ObjectPreview{Service: service, Kind: kind, Name: name, Action: planner.PreviewConfigured, Fields: fields}
}

func unchanged(service, kind, name string) planner.ObjectPreview {
	return planner.ObjectPreview{Service: service, Kind: kind, Name: name, Action: planner.PreviewUnchanged}
}

var imageBump = planner.FieldChange{Path: ".spec.template.spec.containers[name=web].image", Op: planner.FieldChanged,
	Old: "registry.example.com/acme/web:4.9.2", New: "registry.example.com/acme/web:7.0.0"}

// webEU deploys web 7.0.0 to every tenant in the EU.
const webEU = `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: web-7-eu}
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: "7.0.0"}]
  tenants: {selector: {matchLabels: {region: eu}}}
  rollout: {canary: {tenants: [staging-eu]}, approval: after-canary}
`

// TestPlanCheckShowsTheLiveDiff: the check run of a plan shows, per group
// of tenants with the same change, what merging would do in their
// clusters: the image bump shared by most tenants once, a replica change,
// a field another manager owns, a removed object, a Secret's key, a
// cluster that does not answer (which does not fail the check).
func TestPlanCheckShowsTheLiveDiff(t *testing.T) {
	repos, base := exampleRepo(t, nil)
	head := commitOnTop(t, repos.Dirs["acme/deploys"], map[string]string{"deploys/web-7-eu.yaml": webEU})
	host := &codeHost{}
	bump := configured("web", "Deployment", "web", imageBump)
	clusters := &cannedClusters{canned: map[string]planner.TenantPreview{
		"staging-eu": {Status: planner.PreviewOK, Objects: []planner.ObjectPreview{unchanged("web", "ConfigMap", "web-config"), bump, unchanged("web", "Service", "web")}},
		"globex": {Status: planner.PreviewOK, Objects: []planner.ObjectPreview{unchanged("web", "ConfigMap", "web-config"),
			configured("web", "Deployment", "web", planner.FieldChange{Path: ".spec.replicas", Op: planner.FieldChanged, Old: "2", New: "3"}, imageBump), unchanged("web", "Service", "web")}},
		"initech":  {Status: planner.PreviewOK, Objects: []planner.ObjectPreview{unchanged("web", "ConfigMap", "web-config"), bump, unchanged("web", "Service", "web")}},
		"umbrella": {Status: planner.PreviewOK, Objects: []planner.ObjectPreview{unchanged("web", "ConfigMap", "web-config"), bump, unchanged("web", "Service", "web")}},
		"hooli": {Status: planner.PreviewOK, Objects: []planner.ObjectPreview{unchanged("web", "ConfigMap", "web-config"),
			{Service: "web", Kind: "Deployment", Name: "web", Action: planner.PreviewConfigured, Fields: []planner.FieldChange{
				{Path: ".spec.replicas", Op: planner.FieldChanged, Old: "5", New: "2"}, imageBump},
				Conflicts: []planner.FieldConflict{{Field: ".spec.replicas", Manager: "horizontal-pod-autoscaler"}}},
			unchanged("web", "Service", "web")}},
		"stark": {Status: planner.PreviewOK, Objects: []planner.ObjectPreview{unchanged("web", "ConfigMap", "web-config"), bump, unchanged("web", "Service", "web"),
			{Service: "web", Kind: "ConfigMap", Name: "web-legacy", Action: planner.PreviewRemoved}}},
		"soylent": {Status: planner.PreviewOK, Objects: []planner.ObjectPreview{unchanged("web", "ConfigMap", "web-config"), bump, unchanged("web", "Service", "web"),
			{Service: "web", Kind: "Secret", Name: "web-db", Action: planner.PreviewConfigured, Fields: []planner.FieldChange{{Path: ".data.password", Op: planner.FieldChanged, Redacted: true}}}}},
		"tyrell":            {Status: planner.PreviewUnreachable, Message: "cluster prod-eu unreachable: dial tcp 10.1.0.1:443: i/o timeout"},
		"wayne-enterprises": {Status: planner.PreviewUnreachable, Message: "cluster prod-eu unreachable: dial tcp 10.1.0.1:443: i/o timeout"},
	}}
	checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Preview: clusters, Now: at("2026-11-24T10:00:00Z")}
	res, err := checker.CheckPR(context.Background(), workflows.PlanPRInput{Repo: "acme/deploys", PR: 40, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	run := host.runs[prepare.PlanCheckName+"/plan:acme/deploys#40/"+head]
	if res.Conclusion != "success" || run.Report.Conclusion != "success" {
		t.Errorf("conclusion %q; an unreachable cluster or a conflict does not fail the check", res.Conclusion)
	}
	if len(clusters.targets) != 9 || clusters.targets[0].Tenant != "staging-eu" || clusters.targets[0].KubeContext != "prod-eu" ||
		clusters.targets[0].Services[0].KeepImage != "" || !strings.Contains(string(clusters.targets[0].Services[0].YAML), "image: registry.example.com/acme/web:7.0.0") {
		t.Errorf("targets %+v", clusters.targets)
	}
	_, preview, _ := strings.Cut(run.Report.Summary, "#### What merging would change now")
	golden(t, "plan-preview", "#### What merging would change now"+preview)
	if !strings.Contains(host.comments["acme/deploys#plan"], "the same change in each; shown for `staging-eu`") {
		t.Errorf("the PR comment lacks the preview:\n%s", host.comments["acme/deploys#plan"])
	}
}

// TestPlanCheckWithoutAPlan: a PR that changes a service's base and no
// plan gets a check listing every tenant whose next deploy of that service
// would apply something else, previewed with the images they run now; a
// PR whose change renders the same gets a check that says so, and a PR
// that touches nothing deployable gets none.
func TestPlanCheckWithoutAPlan(t *testing.T) {
	ctx := context.Background()
	repos, base := exampleRepo(t, nil)
	dir := repos.Dirs["acme/deploys"]
	deployment, err := os.ReadFile(filepath.Join(dir, "services/web/deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head := commitOnTop(t, dir, map[string]string{"services/web/deployment.yaml": strings.Replace(string(deployment), "replicas: 2", "replicas: 3", 1)})
	host := &codeHost{}
	clusters := &cannedClusters{all: &planner.TenantPreview{Status: planner.PreviewOK, Objects: []planner.ObjectPreview{
		unchanged("web", "ConfigMap", "web-config"),
		configured("web", "Deployment", "web", planner.FieldChange{Path: ".spec.replicas", Op: planner.FieldChanged, Old: "2", New: "3"}),
		unchanged("web", "Service", "web")}}}
	checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Preview: clusters, Now: at("2026-11-24T10:00:00Z")}
	check := func(pr int, head, base string) workflows.CheckRun {
		t.Helper()
		res, err := checker.CheckPR(ctx, workflows.PlanPRInput{Repo: "acme/deploys", PR: pr, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Plans) != 0 {
			t.Errorf("plans %v", res.Plans)
		}
		return host.runs[prepare.PlanCheckName+"/plan:acme/deploys#"+strconv.Itoa(pr)+"/"+head]
	}
	run := check(41, head, base)
	if run.Report.Conclusion != "success" || run.Report.Title != "No plan: 16 tenant services change at their next deploy" {
		t.Fatalf("check run %+v", run.Report)
	}
	var tenants []string
	for _, tg := range clusters.targets {
		tenants = append(tenants, tg.Tenant)
		if len(tg.Services) != 1 || tg.Services[0].Name != "web" || tg.Services[0].KeepImage != "registry.example.com/acme/web" ||
			!strings.Contains(string(tg.Services[0].YAML), "replicas: 3") {
			t.Errorf("target %s: %+v", tg.Tenant, tg.Services)
		}
	}
	if len(tenants) != 16 || slices.Contains(tenants, "vandelay") {
		t.Errorf("previewed %v; want every tenant running web (vandelay does not)", tenants)
	}
	golden(t, "next-deploys", run.Report.Summary)
	if len(host.comments) != 0 {
		t.Errorf("a PR without a plan got a comment: %v", host.comments)
	}

	// A comment in the base changes no manifest.
	same := commitOnTop(t, dir, map[string]string{"services/web/deployment.yaml": "# the dashboard\n" + string(deployment)})
	clusters.targets = nil
	run = check(42, same, base)
	if run.Report.Title != "No plan: the next deploys apply the same manifests" || len(clusters.targets) != 0 {
		t.Errorf("check run %+v, previewed %d", run.Report, len(clusters.targets))
	}
	// A README is not deployed.
	readme := commitOnTop(t, dir, map[string]string{"README.md": "# our fleet\n"})
	if run := check(43, readme, same); run.Name != "" {
		t.Errorf("a README change got a check: %+v", run.Report)
	}
}

// archive keeps previews as the payload store would, or fails.
type archive struct {
	saved []planner.PreviewReport
	err   error
}

func (a *archive) SavePreview(_ context.Context, r planner.PreviewReport) error {
	if a.err != nil {
		return a.err
	}
	a.saved = append(a.saved, r)
	return nil
}

// TestPlanCheckKeepsTheCompletePreview: every tenant's preview is kept for
// the status page, which the check run links to; when it cannot be kept,
// the summary says so and the check still publishes.
func TestPlanCheckKeepsTheCompletePreview(t *testing.T) {
	repos, base := exampleRepo(t, nil)
	head := commitOnTop(t, repos.Dirs["acme/deploys"], map[string]string{"deploys/web-7-eu.yaml": webEU})
	host := &codeHost{}
	kept := &archive{}
	checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Preview: &cannedClusters{}, Archive: kept, StatusURL: "https://prdeploy.example.com/deployments",
		PreviewURL: func(repo string, pr int, sha string) string {
			return "https://prdeploy.example.com/previews/" + repo + "/" + strconv.Itoa(pr) + "/" + sha
		},
		Now: at("2026-11-24T10:00:00Z")}
	in := workflows.PlanPRInput{Repo: "acme/deploys", PR: 44, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"}
	if _, err := checker.CheckPR(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	run := host.runs[prepare.PlanCheckName+"/plan:acme/deploys#44/"+head]
	if run.DetailsURL != "https://prdeploy.example.com/previews/acme/deploys/44/"+head {
		t.Errorf("details %q", run.DetailsURL)
	}
	if len(kept.saved) != 1 || kept.saved[0].HeadSHA != head || len(kept.saved[0].Plans) != 1 || len(kept.saved[0].Plans[0].Tenants) != 9 ||
		kept.saved[0].Plans[0].Deployment != "web-7-eu" {
		t.Fatalf("kept %+v", kept.saved)
	}

	kept.err = errors.New("bucket unreachable")
	if _, err := checker.CheckPR(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	run = host.runs[prepare.PlanCheckName+"/plan:acme/deploys#44/"+head]
	if run.DetailsURL != "https://prdeploy.example.com/deployments" || !strings.Contains(run.Report.Summary, "The complete preview could not be kept for the status page: bucket unreachable.") {
		t.Errorf("details %q, summary:\n%s", run.DetailsURL, run.Report.Summary)
	}
}

// TestPreviewLooksWhereTheBaseSays: a pull request that moves a tenant to
// another namespace (or adds one) does not get the live objects there
// shown: the base's fleet.yaml decides where the preview looks.
func TestPreviewLooksWhereTheBaseSays(t *testing.T) {
	repos, base := exampleRepo(t, nil)
	dir := repos.Dirs["acme/deploys"]
	fleet, err := os.ReadFile(filepath.Join(dir, "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(fleet), "namespace: tenant-globex", "namespace: payments", 1)
	if moved == string(fleet) {
		t.Fatal("globex's namespace is not in fleet.yaml")
	}
	head := commitOnTop(t, dir, map[string]string{"fleet.yaml": moved, "deploys/web-7.yaml": newPlan})
	host := &codeHost{}
	clusters := &cannedClusters{}
	checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Preview: clusters, Now: at("2026-11-24T10:00:00Z")}
	if _, err := checker.CheckPR(context.Background(), workflows.PlanPRInput{Repo: "acme/deploys", PR: 45, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"}); err != nil {
		t.Fatal(err)
	}
	for _, tg := range clusters.targets {
		if tg.Namespace == "payments" || tg.Tenant == "globex" {
			t.Errorf("previewed %s in %s", tg.Tenant, tg.Namespace)
		}
	}
	summary := host.runs[prepare.PlanCheckName+"/plan:acme/deploys#45/"+head].Report.Summary
	if !strings.Contains(summary, "⚠️ `globex`: not previewed: the base's fleet.yaml does not have this tenant in this cluster and namespace") {
		t.Errorf("summary:\n%s", summary)
	}
}
