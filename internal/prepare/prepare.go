// Package prepare is the Prepare step of a deployment (workflows.PlanSource):
// it reads the merged commit, loads and expands the plan, evaluates the
// policies of the base the PR was judged against, renders every tenant's
// manifests with kustomize, and puts each one, encrypted, in the payload
// store. Workflows get back the shape of the rollout and references;
// tenants are paged from the stored plan. The package also checks pull
// requests (PlanChecker): their plans, rendered for every tenant × service
// with the same Renderer and diffed against the clusters through a
// ClusterPreviewer, and what a PR without a plan changes in the next
// deploys; the check's Markdown comes from templates/plancheck.md.tmpl. It
// lists the plans of a merge (MergeReader).
package prepare

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

// Checkouts reads a commit of a repository (internal/gitrepo, or GitHub).
type Checkouts interface {
	Checkout(ctx context.Context, repo, sha string) (fs.FS, error)
}

// Store keeps payloads (internal/payload).
type Store interface {
	Put(ctx context.Context, key string, data []byte) (payload.Ref, error)
	Get(ctx context.Context, ref payload.Ref) ([]byte, error)
}

// Preparer prepares merged plans.
type Preparer struct {
	Repos Checkouts
	Store Store
	// Now is the clock policies are evaluated at (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	plans map[string]*stored // by plan reference
}

var _ workflows.PlanSource = (*Preparer)(nil)

// stored is what Prepare keeps for Tenants: the plan cut to one cluster
// and where each tenant's service manifests are.
type stored struct {
	Plan *planner.ExecutionPlan `json:"plan"`
	// KubeContext is the cluster's kubeconfig context (fleet.yaml's
	// kubeContext) when the fleet names one.
	KubeContext string `json:"kubeContext,omitempty"`
	// Manifests by "tenant/service".
	Manifests map[string]payload.Ref `json:"manifests"`
	// Boundaries are the tenants' boundaries that are not the default.
	Boundaries map[string]planner.Boundary `json:"boundaries,omitempty"`
}

// PlanKey is where the prepared plan of a deployment in a cluster is kept.
func PlanKey(cluster, deployment string) string {
	return fmt.Sprintf("deploys/%s/%s/plan.json", cluster, deployment)
}

// planRef writes a payload reference as one string ("key#sha256").
func planRef(r payload.Ref) string { return r.Key + "#" + r.Digest }

func parsePlanRef(s string) (payload.Ref, error) {
	key, digest, ok := strings.Cut(s, "#")
	if !ok || key == "" || digest == "" {
		return payload.Ref{}, workflows.Permanent(fmt.Errorf("plan reference %q is not key#sha256", s))
	}
	return payload.Ref{Key: key, Digest: digest}, nil
}

// Prepare reads, checks, renders and stores the plan of a merged PR for
// one cluster. Everything it can fail on that a retry cannot fix (an
// invalid plan, a policy denial, a manifest that does not render) is a
// permanent error whose text says what to fix.
func (p *Preparer) Prepare(ctx context.Context, req workflows.DeployRequest) (workflows.PreparedDeployment, error) {
	var none workflows.PreparedDeployment
	fsys, err := p.Repos.Checkout(ctx, req.Repo, req.SHA)
	if err != nil {
		return none, fmt.Errorf("checking out %s@%s: %w", req.Repo, req.SHA, err)
	}
	// Another plan's mistakes do not stop this one; the fleet's and this
	// plan's do.
	repo, err := planner.LoadRepo(fsys)
	if errs := planner.Errors(err, planner.FleetFile, req.PlanPath); len(errs) > 0 {
		return none, workflows.Permanent(fmt.Errorf("%s at %s: %w", req.PlanPath, short(req.SHA), errs.Err()))
	}
	plan, ok := repo.Plan(req.PlanPath)
	if !ok {
		return none, workflows.Permanent(fmt.Errorf("%s is not a plan at %s", req.PlanPath, short(req.SHA)))
	}
	exec, err := planner.Expand(plan, repo.Fleet)
	if err != nil {
		return none, workflows.Permanent(fmt.Errorf("expanding %s: %w", req.PlanPath, err))
	}
	policyFS, policySHA := fsys, req.SHA
	if req.PolicySHA != "" && req.PolicySHA != req.SHA {
		if policyFS, err = p.Repos.Checkout(ctx, req.Repo, req.PolicySHA); err != nil {
			return none, fmt.Errorf("checking out the policies' base %s: %w", short(req.PolicySHA), err)
		}
		policySHA = req.PolicySHA
	}
	decision, err := p.decide(policyFS, policySHA, req, exec)
	if err != nil {
		return none, err
	}
	if decision.Verdict == policies.VerdictDeny {
		return none, workflows.Permanent(fmt.Errorf("the policies at %s deny this deploy: %s", short(req.SHA), strings.Join(decision.Denials, "; ")))
	}
	cut := exec.ForCluster(req.Cluster)
	if cut.TenantCount() == 0 {
		return none, workflows.Permanent(fmt.Errorf("%s has no tenant in cluster %s", req.PlanPath, req.Cluster))
	}
	renderer, err := planner.NewRenderer(repo)
	if err != nil {
		return none, workflows.Permanent(fmt.Errorf("rendering %s: %w", req.PlanPath, err))
	}
	defer renderer.Close()
	st := &stored{Plan: cut, Manifests: map[string]payload.Ref{}, Boundaries: boundaries(repo.Fleet, cut)}
	if c, ok := repo.Fleet.Cluster(req.Cluster); ok {
		st.KubeContext = c.KubeContext
	}
	for _, w := range cut.Waves {
		for _, t := range w.Tenants {
			for _, name := range t.Services {
				if err := ctx.Err(); err != nil {
					return none, err
				}
				svc, _ := cut.Service(name)
				m, err := renderer.Render(t, svc)
				if err != nil {
					return none, workflows.Permanent(fmt.Errorf("rendering %s for %s: %w", name, t.Name, err))
				}
				ref, err := p.Store.Put(ctx, payload.ObjectKey(req.Cluster, req.DeploymentID, t.Name, name, m.Digest), m.YAML)
				if err != nil {
					return none, fmt.Errorf("storing the manifests of %s for %s: %w", name, t.Name, err)
				}
				st.Manifests[t.Name+"/"+name] = ref
			}
		}
	}
	data, err := json.Marshal(st)
	if err != nil {
		return none, err
	}
	ref, err := p.Store.Put(ctx, PlanKey(req.Cluster, req.DeploymentID), data)
	if err != nil {
		return none, fmt.Errorf("storing the prepared plan: %w", err)
	}
	p.remember(planRef(ref), st)
	return workflows.Summarize(cut, req.Cluster, planRef(ref), decision.Requirements), nil
}

// decide evaluates the policies of the base the PR was judged against
// (DeployRequest.PolicySHA), at the current time: a freeze that began after
// the PR was checked still stops the deploy, and a PR that edits the
// policies does not change the rules of its own rollout.
func (p *Preparer) decide(fsys fs.FS, sha string, req workflows.DeployRequest, exec *planner.ExecutionPlan) (policies.Decision, error) {
	rev := policies.Revision{SHA: sha}
	rules, err := policies.Load(fsys, rev)
	if err != nil {
		return policies.Decision{}, workflows.Permanent(fmt.Errorf("the policies at %s do not load: %w", short(sha), err))
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	// The PR's facts, read from GitHub at merge, are what the plan check
	// judged (labels, changed files, the actor's teams); a request of an
	// older build has none and is judged as that build did.
	var pr policies.PRFacts
	var actor policies.Actor
	if req.Facts != nil {
		pr, actor = req.Facts.Policy()
	} else {
		pr = policies.PRFacts{Number: req.PR, Author: req.PRAuthor, HeadSHA: req.SHA}
		actor = policies.Actor{Login: req.MergedBy}
		if actor.Login == "" {
			actor.Login = req.PRAuthor
		}
	}
	d, err := rules.Evaluate(policies.Input{Plan: exec, PR: pr, Actor: actor, Now: now()})
	if err != nil {
		return d, workflows.Permanent(err)
	}
	return d, nil
}

func (p *Preparer) remember(ref string, st *stored) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.plans == nil || len(p.plans) >= 16 {
		p.plans = map[string]*stored{}
	}
	p.plans[ref] = st
}

// Tenants returns a page of a wave's tenants with their manifest
// references, from the stored plan (read once per worker, then cached).
func (p *Preparer) Tenants(ctx context.Context, req workflows.TenantsRequest) ([]workflows.TenantAssignment, error) {
	p.mu.Lock()
	st, ok := p.plans[req.PlanRef]
	p.mu.Unlock()
	if !ok {
		ref, err := parsePlanRef(req.PlanRef)
		if err != nil {
			return nil, err
		}
		data, err := p.Store.Get(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("reading the prepared plan: %w", err)
		}
		st = &stored{}
		if err := json.Unmarshal(data, st); err != nil {
			return nil, workflows.Permanent(fmt.Errorf("reading the prepared plan %s: %w", ref.Key, err))
		}
		p.remember(req.PlanRef, st)
	}
	out := workflows.Assign(st.Plan, req, func(tenant, service string) (string, string) {
		r := st.Manifests[tenant+"/"+service]
		return r.Key, r.Digest
	})
	for i := range out {
		out[i].KubeContext = st.KubeContext
		for j := range out[i].Services {
			out[i].Services[j].KubeContext = st.KubeContext
		}
	}
	withBoundaries(st, out)
	return out, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
