package prepare_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/workflows"
)

// initech's ingest overlay, with objects that cross its boundary added.
const crossingOverlay = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../services/ingest
  - escalate.yaml
patches:
  - path: config.yaml
`

const escalate = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: initech-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: tenant-initech}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: initech-inject}
webhooks: []
`

// TestPrepareRefusesWhatCrossesTheBoundary: a merged overlay that brings a
// ClusterRoleBinding to cluster-admin and an admission webhook stops the
// deploy with a permanent error naming the objects and the rules.
func TestPrepareRefusesWhatCrossesTheBoundary(t *testing.T) {
	ctx := context.Background()
	repos, sha := exampleRepo(t, map[string]string{
		"tenants/initech/ingest/kustomization.yaml": crossingOverlay,
		"tenants/initech/ingest/escalate.yaml":      escalate,
	})
	store, err := payload.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := &prepare.Preparer{Repos: repos, Store: store, Now: at("2026-11-24T10:00:00Z")}
	_, err = p.Prepare(ctx, workflows.DeployRequest{Repo: "acme/deploys", SHA: sha, PlanPath: "deploys/ingest-v42.yaml", Cluster: "prod-eu", DeploymentID: "ingest-v42", PRAuthor: "cy", MergedBy: "ana"})
	var perm workflows.PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
	for _, want := range []string{
		`ClusterRoleBinding initech-admin: rbac.authorization.k8s.io/ClusterRoleBinding is cluster-scoped`, `boundary rule "cluster-scoped"`,
		`boundary rule "cluster-admin"`,
		`MutatingWebhookConfiguration initech-inject`, `boundary rule "admission-webhook"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant %q", err, want)
		}
	}
	if _, ok, _ := store.Lookup(ctx, prepare.PlanKey("prod-eu", "ingest-v42")); ok {
		t.Error("a plan that crosses a boundary was stored")
	}
}

// TestPreparedTargetsCarryTheBoundary: a tenant whose boundary is not the
// default gets it on its service targets, for the check before apply;
// the others carry nothing (the default).
func TestPreparedTargetsCarryTheBoundary(t *testing.T) {
	ctx := context.Background()
	fleet, err := os.ReadFile("../../examples/gitops-repo/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(fleet), "    namespace: tenant-initech\n", "    namespace: tenant-initech\n    boundary: {clusterKinds: [rbac.authorization.k8s.io/ClusterRoleBinding]}\n", 1)
	if edited == string(fleet) {
		t.Fatal("fleet.yaml has no tenant-initech")
	}
	repos, sha := exampleRepo(t, map[string]string{"fleet.yaml": edited})
	store, err := payload.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := &prepare.Preparer{Repos: repos, Store: store, Now: at("2026-11-24T10:00:00Z")}
	prep, err := p.Prepare(ctx, workflows.DeployRequest{Repo: "acme/deploys", SHA: sha, PlanPath: "deploys/ingest-v42.yaml", Cluster: "prod-eu", DeploymentID: "ingest-v42", PRAuthor: "cy", MergedBy: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for w := range prep.Waves {
		page, err := (&prepare.Preparer{Repos: repos, Store: store}).Tenants(ctx, workflows.TenantsRequest{PlanRef: prep.PlanRef, Wave: w, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			for _, s := range a.Services {
				switch {
				case a.Tenant == "initech" && (s.Boundary == nil || len(s.Boundary.ClusterKinds) != 1 || len(s.Boundary.Kinds) == 0):
					t.Errorf("initech/%s boundary = %+v", s.Service, s.Boundary)
				case a.Tenant != "initech" && s.Boundary != nil:
					t.Errorf("%s/%s carries a default boundary", a.Tenant, s.Service)
				}
				seen++
			}
		}
	}
	if seen == 0 {
		t.Fatal("no targets")
	}
}

// TestPlanCheckRendersTheBoundary: the PR that adds the crossing overlay
// and a plan deploying to it fails its check with the objects and the
// rules; a patch fetched by URL is annotated at its line.
func TestPlanCheckRendersTheBoundary(t *testing.T) {
	ctx := context.Background()
	repos, base := exampleRepo(t, nil)
	dir := repos.Dirs["acme/deploys"]
	head := commitOnTop(t, dir, map[string]string{
		"deploys/web-7.yaml":                     newPlan,
		"tenants/initech/web/kustomization.yaml": "resources:\n  - ../../../services/web\n  - escalate.yaml\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: PatchTransformer\n    metadata: {name: p}\n    path: http://169.254.169.254/latest/patch.yaml\n",
		"tenants/initech/web/escalate.yaml":      escalate,
	})
	host := &codeHost{}
	checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Now: at("2026-11-24T10:00:00Z")}
	res, err := checker.CheckPR(ctx, workflows.PlanPRInput{Repo: "acme/deploys", PR: 32, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	run := host.runs[prepare.PlanCheckName+"/plan:acme/deploys#32/"+head]
	if res.Conclusion != "failure" || run.Report.Conclusion != "failure" {
		t.Fatalf("conclusion %q: %s", res.Conclusion, run.Report.Summary)
	}
	// The fetch is refused before kustomize builds anything: first the
	// URL, at its line.
	found := false
	for _, a := range run.Annotations {
		found = found || (a.Path == "tenants/initech/web/kustomization.yaml" && a.StartLine == 9 && strings.Contains(a.Message, "http://169.254.169.254/latest/patch.yaml is not in the repository"))
	}
	if !found {
		t.Fatalf("no annotation at the URL: %+v\n%s", run.Annotations, run.Report.Summary)
	}

	// Without the URL, the boundary speaks.
	head = commitOnTop(t, dir, map[string]string{"tenants/initech/web/kustomization.yaml": "resources:\n  - ../../../services/web\n  - escalate.yaml\n"})
	if _, err := checker.CheckPR(ctx, workflows.PlanPRInput{Repo: "acme/deploys", PR: 32, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"}); err != nil {
		t.Fatal(err)
	}
	run = host.runs[prepare.PlanCheckName+"/plan:acme/deploys#32/"+head]
	for _, want := range []string{"`initech/web`: ClusterRoleBinding initech-admin", `boundary rule "cluster-scoped"`, `boundary rule "cluster-admin"`, `MutatingWebhookConfiguration initech-inject`, `boundary rule "admission-webhook"`} {
		if !strings.Contains(run.Report.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.Report.Summary)
		}
	}
	if run.Report.Conclusion != "failure" || len(run.Annotations) != 3 || run.Annotations[0].Path != "deploys/web-7.yaml" {
		t.Errorf("conclusion %s, annotations %+v", run.Report.Conclusion, run.Annotations)
	}
	// globex is not touched by initech's overlay.
	if strings.Contains(run.Report.Summary, "globex/web`") {
		t.Errorf("globex reported:\n%s", run.Report.Summary)
	}
}
