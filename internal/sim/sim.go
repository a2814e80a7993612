package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

// PolicyTime is the instant the demo and the test harnesses judge
// policies at: Wednesday 2026-11-25, 10:00 in Berlin, outside the example
// repository's freezes (the holiday freeze, Friday afternoons), so that
// they tell the same story on any day. `prdeploy serve` judges at the wall
// clock. It fits prepare.Preparer.Now and serve.Options.PolicyClock.
func PolicyTime() time.Time { return time.Date(2026, time.November, 25, 9, 0, 0, 0, time.UTC) }

// Event is one recorded call.
type Event struct {
	Kind   string // snapshot, apply, rollout-start, rollout-done, rollout-failed, rollback, restart
	Key    string // tenant/service
	Image  string
	Deploy string
	// Generation is the deployment's place in merge order (apply,
	// rollback; 0 when not ordered).
	Generation int64
	At         time.Time
}

// Cluster is an in-memory cluster.
type Cluster struct {
	// RolloutTime is how long every rollout (and restart) takes.
	RolloutTime time.Duration

	mu        sync.Mutex
	live      map[string]string // tenant/service → image
	snapshots map[string]string // deployment/tenant/service → image before
	failing   map[string]string // tenant/service → rollout failure reason
	// stamps and stampsBefore are what the objects' annotations would
	// say (tenant/service, deployment/tenant/service).
	stamps       map[string]workflows.Stamp
	stampsBefore map[string]*workflows.Stamp
	// failingImages makes rollouts of an image fail anywhere.
	failingImages map[string]string
	events        []Event
	// OnEvent, when set, is called (without the lock) after each event.
	OnEvent func(Event)
	// held, while open, keeps every rollout from finishing (HoldRollouts).
	held chan struct{}
}

// HoldRollouts keeps every rollout (begun or to come) from finishing until
// release is called, so a test can act while one is surely in progress.
func (c *Cluster) HoldRollouts() (release func()) {
	ch := make(chan struct{})
	c.mu.Lock()
	c.held = ch
	c.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

var _ workflows.Cluster = (*Cluster)(nil)

// NewCluster returns a cluster whose rollouts take rollout.
func NewCluster(rollout time.Duration) *Cluster {
	return &Cluster{RolloutTime: rollout, live: map[string]string{}, snapshots: map[string]string{}, failing: map[string]string{},
		stamps: map[string]workflows.Stamp{}, stampsBefore: map[string]*workflows.Stamp{}, failingImages: map[string]string{}}
}

func key(t workflows.ServiceTarget) string { return t.Tenant + "/" + t.Service }

func (c *Cluster) record(ev Event) {
	ev.At = time.Now()
	c.mu.Lock()
	c.events = append(c.events, ev)
	cb := c.OnEvent
	c.mu.Unlock()
	if cb != nil {
		cb(ev)
	}
}

// SetLive sets what runs now.
func (c *Cluster) SetLive(tenant, service, image string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[tenant+"/"+service] = image
}

// Live returns what runs now.
func (c *Cluster) Live(tenant, service string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[tenant+"/"+service]
}

// FailRollouts makes rollouts of a service in a tenant fail (reason "" heals).
func (c *Cluster) FailRollouts(tenant, service, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if reason == "" {
		delete(c.failing, tenant+"/"+service)
		return
	}
	c.failing[tenant+"/"+service] = reason
}

// FailImage makes rollouts of an image fail in every tenant ("" heals).
func (c *Cluster) FailImage(image, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if reason == "" {
		delete(c.failingImages, image)
		return
	}
	c.failingImages[image] = reason
}

// LiveStamp returns the stamp of what runs now, as the objects'
// annotations would, or of a rollback that left nothing.
func (c *Cluster) LiveStamp(ctx context.Context, t workflows.ServiceTarget) (*workflows.Stamp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stamps[key(t)]
	if !ok {
		return nil, nil
	}
	return &s, nil
}

// Stamp returns what the live objects of tenant/service are stamped with.
func (c *Cluster) Stamp(tenant, service string) (workflows.Stamp, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stamps[tenant+"/"+service]
	return s, ok
}

// Events returns every recorded call.
func (c *Cluster) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// Count returns how many events of a kind were recorded for tenant/service.
func (c *Cluster) Count(kind, tenant, service string) int {
	n := 0
	for _, e := range c.Events() {
		if e.Kind == kind && e.Key == tenant+"/"+service {
			n++
		}
	}
	return n
}

// Snapshot records the live image before the deploy, once per deployment.
func (c *Cluster) Snapshot(ctx context.Context, t workflows.ServiceTarget) (workflows.SnapshotRef, error) {
	c.mu.Lock()
	sk := t.Deployment + "/" + key(t)
	prev, ok := c.snapshots[sk]
	if !ok {
		prev = c.live[key(t)]
		c.snapshots[sk] = prev
		if s, ok := c.stamps[key(t)]; ok {
			c.stampsBefore[sk] = &s
		} else {
			c.stampsBefore[sk] = nil
		}
	}
	c.mu.Unlock()
	c.record(Event{Kind: "snapshot", Key: key(t), Image: prev, Deploy: t.Deployment})
	return workflows.SnapshotRef{Ref: "sim://" + sk, Empty: prev == ""}, nil
}

// Apply sets the target's image live.
func (c *Cluster) Apply(ctx context.Context, t workflows.ServiceTarget) (workflows.ApplyResult, error) {
	c.mu.Lock()
	prev := c.live[key(t)]
	c.live[key(t)] = t.Image
	c.stamps[key(t)] = t.Stamp()
	c.mu.Unlock()
	c.record(Event{Kind: "apply", Key: key(t), Image: t.Image, Deploy: t.Deployment, Generation: t.Generation})
	switch prev {
	case "":
		return workflows.ApplyResult{Created: 1}, nil
	case t.Image:
		return workflows.ApplyResult{Unchanged: 1}, nil
	}
	return workflows.ApplyResult{Configured: 1}, nil
}

// WaitRollout takes RolloutTime, then succeeds or fails as set.
func (c *Cluster) WaitRollout(ctx context.Context, t workflows.ServiceTarget, progress func(string)) error {
	c.record(Event{Kind: "rollout-start", Key: key(t), Image: t.Image, Deploy: t.Deployment})
	if err := c.wait(ctx, progress); err != nil {
		return err
	}
	c.mu.Lock()
	reason := c.failing[key(t)]
	if r, ok := c.failingImages[t.Image]; ok && reason == "" {
		reason = r
	}
	c.mu.Unlock()
	if reason != "" {
		c.record(Event{Kind: "rollout-failed", Key: key(t), Image: t.Image, Deploy: t.Deployment})
		return workflows.Permanent(fmt.Errorf("rollout of %s failed: %s", key(t), reason))
	}
	c.record(Event{Kind: "rollout-done", Key: key(t), Image: t.Image, Deploy: t.Deployment})
	return nil
}

func (c *Cluster) wait(ctx context.Context, progress func(string)) error {
	deadline := time.Now().Add(c.RolloutTime)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if progress != nil {
			progress("rolling out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-time.After(time.Until(deadline)):
		}
	}
	c.mu.Lock()
	held := c.held
	c.mu.Unlock()
	if held == nil {
		return nil
	}
	tick.Reset(200 * time.Millisecond)
	for {
		select {
		case <-held:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if progress != nil {
				progress("rolling out")
			}
		}
	}
}

// Rollback restores the image recorded by Snapshot.
func (c *Cluster) Rollback(ctx context.Context, t workflows.ServiceTarget, _ *workflows.SnapshotRef, _ func(string)) error {
	c.mu.Lock()
	sk := t.Deployment + "/" + key(t)
	prev, ok := c.snapshots[sk]
	if ok {
		if prev == "" {
			delete(c.live, key(t))
			delete(c.stamps, key(t))
			if t.Generation > 0 {
				c.stamps[key(t)] = t.Stamp() // the tombstone (kube.TombstoneKey)
			}
		} else {
			c.live[key(t)] = prev
			// What is restored carries the restoring deployment's stamp
			// (an unordered one restores the old stamp).
			switch before := c.stampsBefore[sk]; {
			case t.Generation > 0:
				c.stamps[key(t)] = t.Stamp()
			case before != nil:
				c.stamps[key(t)] = *before
			default:
				delete(c.stamps, key(t))
			}
		}
	}
	c.mu.Unlock()
	if !ok {
		return workflows.Permanent(fmt.Errorf("no snapshot of %s for %s", key(t), t.Deployment))
	}
	c.record(Event{Kind: "rollback", Key: key(t), Image: prev, Deploy: t.Deployment, Generation: t.Generation})
	return nil
}

// Restart records a restart; its rollout is waited for by WaitRollout.
func (c *Cluster) Restart(ctx context.Context, t workflows.ServiceTarget) error {
	c.record(Event{Kind: "restart", Key: key(t), Deploy: t.Deployment})
	return nil
}

// Prober is a safety-check prober whose checks pass until told otherwise.
type Prober struct {
	mu      sync.Mutex
	failing map[string]string // tenant/check → reason
	// FailedAt records when a failing probe first answered, per tenant/check.
	FailedAt map[string]time.Time
}

var _ workflows.Prober = (*Prober)(nil)

// NewProber returns a prober whose checks all pass.
func NewProber() *Prober {
	return &Prober{failing: map[string]string{}, FailedAt: map[string]time.Time{}}
}

// Fail makes a check fail for a tenant ("" heals it).
func (p *Prober) Fail(tenant, check, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if reason == "" {
		delete(p.failing, tenant+"/"+check)
		return
	}
	p.failing[tenant+"/"+check] = reason
}

// FirstFailure returns when a failing probe first answered for tenant/check.
func (p *Prober) FirstFailure(tenant, check string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.FailedAt[tenant+"/"+check]
	return t, ok
}

// Probe answers from the failures set.
func (p *Prober) Probe(ctx context.Context, check string, t workflows.CheckTarget) (workflows.CheckResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if reason, ok := p.failing[t.Tenant+"/"+check]; ok {
		if _, seen := p.FailedAt[t.Tenant+"/"+check]; !seen {
			p.FailedAt[t.Tenant+"/"+check] = time.Now()
		}
		return workflows.CheckResult{OK: false, Reason: reason}, nil
	}
	return workflows.CheckResult{OK: true}, nil
}

// Directory maps logins to teams.
type Directory map[string][]string

var _ workflows.Directory = Directory(nil)

// Teams returns the login's teams.
func (d Directory) Teams(ctx context.Context, login string) ([]string, error) {
	return d[login], nil
}

// Plans serves execution plans kept in memory as a PlanSource.
type Plans struct {
	mu    sync.Mutex
	plans map[string]*planner.ExecutionPlan
	reqs  map[string][]policies.Requirement
	refs  map[string]*planner.ExecutionPlan
	gate  Gate
	// prepared records the deployments whose Prepare returned, in order.
	prepared []string
}

var _ workflows.PlanSource = (*Plans)(nil)

// NewPlans returns an empty plan source.
func NewPlans() *Plans {
	return &Plans{plans: map[string]*planner.ExecutionPlan{}, reqs: map[string][]policies.Requirement{}, refs: map[string]*planner.ExecutionPlan{}}
}

// Hold makes Prepare of a deployment wait until release is called: a
// Prepare as slow as the test wants, without sleeping.
func (p *Plans) Hold(deployment string) (release func()) { return p.gate.Hold(deployment) }

// Prepared returns the deployments whose Prepare has returned, in order.
func (p *Plans) Prepared() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.prepared)
}

// Add makes a plan deployable, with the approvals its gates require.
func (p *Plans) Add(e *planner.ExecutionPlan, reqs []policies.Requirement) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plans[e.Deployment] = e
	p.reqs[e.Deployment] = reqs
}

// Prepare cuts the plan to the cluster and keeps it under a reference.
func (p *Plans) Prepare(ctx context.Context, req workflows.DeployRequest) (workflows.PreparedDeployment, error) {
	if err := p.gate.Wait(ctx, req.DeploymentID); err != nil {
		return workflows.PreparedDeployment{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() { p.prepared = append(p.prepared, req.DeploymentID) }()
	e, ok := p.plans[req.DeploymentID]
	if !ok {
		return workflows.PreparedDeployment{}, workflows.Permanent(fmt.Errorf("no plan %s", req.DeploymentID))
	}
	ce := e.ForCluster(req.Cluster)
	ref := "sim://plans/" + req.Cluster + "/" + req.DeploymentID
	p.refs[ref] = ce
	return workflows.Summarize(ce, req.Cluster, ref, p.reqs[req.DeploymentID]), nil
}

// Tenants pages through a prepared plan's tenants.
func (p *Plans) Tenants(ctx context.Context, req workflows.TenantsRequest) ([]workflows.TenantAssignment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.refs[req.PlanRef]
	if !ok {
		return nil, workflows.Permanent(fmt.Errorf("no prepared plan %s", req.PlanRef))
	}
	return workflows.Assign(e, req, func(tenant, service string) (string, string) {
		return "sim://manifests/" + tenant + "/" + service, ""
	}), nil
}

// Gate holds work by key (a deployment's Prepare, say) until released.
// The zero value holds nothing.
type Gate struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// Hold makes Wait(key) block until release is called.
func (g *Gate) Hold(key string) (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	if g.held == nil {
		g.held = map[string]chan struct{}{}
	}
	g.held[key] = ch
	g.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// Wait returns when key is not held, or was released, or ctx ends.
func (g *Gate) Wait(ctx context.Context, key string) error {
	g.mu.Lock()
	ch := g.held[key]
	g.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// GatedPlans is any plan source whose Prepare of a deployment waits at
// the Gate (keyed by deployment id).
type GatedPlans struct {
	workflows.PlanSource
	Gate *Gate
}

// Prepare waits at the gate, then prepares.
func (g GatedPlans) Prepare(ctx context.Context, req workflows.DeployRequest) (workflows.PreparedDeployment, error) {
	if err := g.Gate.Wait(ctx, req.DeploymentID); err != nil {
		return workflows.PreparedDeployment{}, err
	}
	return g.PlanSource.Prepare(ctx, req)
}
