package prepare_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/internal/gitrepo/gittest"
	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/workflows"
)

// exampleRepo commits the example GitOps repository, plus extra files, to a
// new Git repository and returns its commit.
func exampleRepo(t *testing.T, extra map[string]string) (gitrepo.Local, string) {
	t.Helper()
	dir := t.TempDir()
	sha := gittest.Commit(t, dir, "../../examples/gitops-repo", extra, "merge")
	return gitrepo.Local{Dirs: map[string]string{"acme/deploys": dir}}, sha
}

func at(s string) func() time.Time {
	return func() time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
}

// TestPrepareStoresEveryManifestEncrypted prepares the example ingest-v42
// plan for prod-eu from a real Git commit: the summary has the plan's
// waves and the approvals the policies ask for; every tenant's manifests
// are in the store, and a second Preparer (a restarted worker) pages the
// same tenants from the stored plan.
func TestPrepareStoresEveryManifestEncrypted(t *testing.T) {
	ctx := context.Background()
	// Another plan's mistake does not block this deploy.
	// The fleet names prod-eu's kubeconfig context eu-admin.
	fleet, err := os.ReadFile("../../examples/gitops-repo/fleet.yaml")
	if err != nil || !strings.Contains(string(fleet), "kubeContext: prod-eu\n") {
		t.Fatalf("fleet: %v", err)
	}
	repos, sha := exampleRepo(t, map[string]string{"deploys/broken.yaml": "apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: broken}\nspec: {}\n",
		"fleet.yaml": strings.Replace(string(fleet), "kubeContext: prod-eu\n", "kubeContext: eu-admin\n", 1)})
	store, err := payload.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := &prepare.Preparer{Repos: repos, Store: store, Now: at("2026-11-24T10:00:00Z")}
	req := workflows.DeployRequest{Repo: "acme/deploys", SHA: sha, PlanPath: "deploys/ingest-v42.yaml", Cluster: "prod-eu", DeploymentID: "ingest-v42", PR: 12, PRAuthor: "cy", MergedBy: "ana"}
	prep, err := p.Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(prep.PlanRef, "deploys/prod-eu/ingest-v42/plan.json#") || prep.Cluster != "prod-eu" || len(prep.Waves) < 2 {
		t.Fatalf("prepared: %+v", prep)
	}
	if len(prep.Requirements) == 0 || prep.Requirements[0].Rule != "prod-needs-sre" || prep.Requirements[0].Approvals != 2 {
		t.Fatalf("requirements: %+v", prep.Requirements)
	}
	total := 0
	for w, ws := range prep.Waves {
		page, err := (&prepare.Preparer{Repos: repos, Store: store}).Tenants(ctx, workflows.TenantsRequest{PlanRef: prep.PlanRef, Wave: w, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != ws.Tenants {
			t.Fatalf("wave %s: %d tenants, summary says %d", ws.Name, len(page), ws.Tenants)
		}
		for _, a := range page {
			if a.KubeContext != "eu-admin" { // fleet.yaml's kubeContext for prod-eu
				t.Fatalf("%s: kube context %q", a.Tenant, a.KubeContext)
			}
			for _, s := range a.Services {
				if s.KubeContext != a.KubeContext {
					t.Fatalf("%s/%s: kube context %q", a.Tenant, s.Service, s.KubeContext)
				}
				yaml, err := store.Get(ctx, payload.Ref{Key: s.ManifestRef, Digest: s.ManifestDigest})
				if err != nil {
					t.Fatalf("%s/%s: %v", a.Tenant, s.Service, err)
				}
				if !strings.Contains(string(yaml), "image: registry.example.com/acme/ingest:4.2.0") || !strings.Contains(string(yaml), "namespace: "+a.Namespace) {
					t.Fatalf("%s/%s manifests:\n%s", a.Tenant, s.Service, yaml)
				}
				total++
			}
		}
	}
	if total == 0 {
		t.Fatal("no manifests")
	}
	t.Logf("%d manifests stored for %d waves", total, len(prep.Waves))

	// Prepare again (an activity retry): same plan reference.
	again, err := p.Prepare(ctx, req)
	if err != nil || again.PlanRef != prep.PlanRef {
		t.Fatalf("retry: %v, %s vs %s", err, again.PlanRef, prep.PlanRef)
	}
}

// TestPrepareRefusals: what a retry cannot fix fails at once, saying what
// is wrong.
func TestPrepareRefusals(t *testing.T) {
	ctx := context.Background()
	repos, sha := exampleRepo(t, nil)
	store, err := payload.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := workflows.DeployRequest{Repo: "acme/deploys", SHA: sha, PlanPath: "deploys/ingest-v42.yaml", Cluster: "prod-eu", DeploymentID: "ingest-v42", PRAuthor: "cy", MergedBy: "ana"}
	for _, c := range []struct {
		name string
		now  string
		edit func(*workflows.DeployRequest)
		want string
	}{
		{"freeze began after the PR was checked", "2026-12-22T10:00:00Z", nil, "Holiday change freeze"},
		{"no such plan", "2026-11-24T10:00:00Z", func(r *workflows.DeployRequest) { r.PlanPath = "deploys/nope.yaml" }, "deploys/nope.yaml is not a plan at"},
		{"cluster without tenants", "2026-11-24T10:00:00Z", func(r *workflows.DeployRequest) { r.Cluster = "prod-ap" }, "deploys/ingest-v42.yaml has no tenant in cluster prod-ap"},
		{"unknown commit", "2026-11-24T10:00:00Z", func(r *workflows.DeployRequest) { r.SHA = strings.Repeat("1", 40) }, "is not in the repository"},
	} {
		req := base
		if c.edit != nil {
			c.edit(&req)
		}
		_, err := (&prepare.Preparer{Repos: repos, Store: store, Now: at(c.now)}).Prepare(ctx, req)
		var perm workflows.PermanentError
		if err == nil || !errors.As(err, &perm) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a permanent error with %q", c.name, err, c.want)
		}
	}
}

// TestPoliciesComeFromTheBase: a PR that lets its author approve, merged,
// does not change the approvals its own rollout needs: they come from the
// base before the merge.
func TestPoliciesComeFromTheBase(t *testing.T) {
	ctx := context.Background()
	repos, base := exampleRepo(t, nil)
	dir := repos.Dirs["acme/deploys"]
	approvals, err := os.ReadFile(filepath.Join(dir, "policies/approvals.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	merged := commitOnTop(t, dir, map[string]string{"policies/approvals.yaml": strings.ReplaceAll(string(approvals), "allowAuthor: false", "allowAuthor: true")})
	store, err := payload.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := &prepare.Preparer{Repos: repos, Store: store, Now: at("2026-11-24T10:00:00Z")}
	req := workflows.DeployRequest{Repo: "acme/deploys", SHA: merged, PolicySHA: base, PlanPath: "deploys/ingest-v42.yaml", Cluster: "prod-eu", DeploymentID: "ingest-v42", PRAuthor: "cy"}
	prep, err := p.Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(prep.Requirements) == 0 || prep.Requirements[0].AllowAuthor {
		t.Fatalf("the merged PR's own policy change applied to its rollout: %+v", prep.Requirements)
	}
	// The merged policies do apply to the next deploy (read at its base).
	req.PolicySHA, req.DeploymentID = merged, "ingest-v42b"
	if prep, err = p.Prepare(ctx, req); err != nil || !prep.Requirements[0].AllowAuthor {
		t.Fatalf("merged policies: %+v %v", prep.Requirements, err)
	}
}
