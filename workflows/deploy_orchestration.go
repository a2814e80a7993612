package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/commands"
	"github.com/prdeploy/prdeploy/policies"
)

// Phases of a deployment.
const (
	PhasePreparing       = "preparing"
	PhaseRunning         = "running"
	PhaseWaitingApproval = "waiting-for-approval"
	PhasePausedBetween   = "pausing-between-waves"
	PhasePaused          = "paused"
	PhaseStopping        = "stopping"
	PhaseSucceeded       = "succeeded"
	PhaseFailed          = "failed"
	PhaseCancelled       = "cancelled"
	PhaseRolledBack      = "rolled-back"
)

// OrchestrationInput starts (State nil) or continues (State set) a deployment.
type OrchestrationInput struct {
	Request DeployRequest       `json:"request"`
	State   *OrchestrationState `json:"state,omitempty"`
	// HistoryLimit: continue-as-new past this many events (0: default).
	HistoryLimit int `json:"historyLimit,omitempty"`
}

// OrchestrationState is everything a deployment must remember, carried
// across continue-as-new. Tenants appear once they start; the rest are
// counted as untouched.
type OrchestrationState struct {
	Request  DeployRequest       `json:"request"`
	Prepared *PreparedDeployment `json:"prepared,omitempty"`
	Phase    string              `json:"phase"`
	// Wave is the current wave; Started counts its tenants started so far.
	Wave    int            `json:"wave"`
	Started int            `json:"started"`
	Tenants []TenantRecord `json:"tenants,omitempty"`
	Gates   []GateState    `json:"gates,omitempty"`
	// Paused by a human (/pause) or by a tenant paused on failure.
	Paused      bool   `json:"paused,omitempty"`
	PauseReason string `json:"pauseReason,omitempty"`
	// Stop: start nothing more. StopPhase is the phase to end in.
	Stop       bool      `json:"stop,omitempty"`
	StopPhase  string    `json:"stopPhase,omitempty"`
	StopReason string    `json:"stopReason,omitempty"`
	WaveWaited bool      `json:"waveWaited,omitempty"`
	Runs       int       `json:"runs"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// TenantRecord is one started tenant.
type TenantRecord struct {
	Tenant string `json:"tenant"`
	Wave   int    `json:"wave"`
	// Index is the tenant's place in its wave, to read it again later.
	Index      int             `json:"index"`
	Phase      string          `json:"phase"`
	Failure    string          `json:"failure,omitempty"`
	LockWait   *LockWait       `json:"lockWait,omitempty"`
	Services   []ServiceStatus `json:"services,omitempty"`
	StartedAt  time.Time       `json:"startedAt"`
	FinishedAt time.Time       `json:"finishedAt,omitempty"`
	// Assignment is kept while the tenant runs; a finished tenant's is
	// read again from the plan store when it must be rolled back.
	Assignment *TenantAssignment `json:"assignment,omitempty"`
}

// GateState is one approval gate.
type GateState struct {
	ID        string              `json:"id"`
	Wave      int                 `json:"wave"`
	Approvals []policies.Approval `json:"approvals,omitempty"`
	// Withdrawn are the sources ("review/123") of approvals withdrawn
	// (/unapprove, a dismissed review): the same comment, review or press
	// never counts again, even delivered after Temporal forgot its
	// workflow.
	Withdrawn    []string             `json:"withdrawn,omitempty"`
	Open         bool                 `json:"open"`
	WaitingSince time.Time            `json:"waitingSince,omitempty"`
	OpenedAt     time.Time            `json:"openedAt,omitempty"`
	Status       *policies.GateStatus `json:"status,omitempty"`
}

// Status is the answer to the status query.
type Status struct {
	OrchestrationState
	Waves     []WaveSummary  `json:"waves"`
	Total     int            `json:"total"`
	Untouched int            `json:"untouched"`
	Counts    map[string]int `json:"counts"`
	// Superseded counts the tenant × service steps left to deployments
	// merged after this one (Counts counts tenants).
	Superseded int `json:"superseded,omitempty"`
}

// ApproveRequest is an approval from a person, from some channel.
type ApproveRequest struct {
	// Gate is the gate approved; empty means the gate that waits now.
	Gate string `json:"gate,omitempty"`
	// GateToken binds a button press to the gate its button was shown
	// for (GateToken of the gate's id); empty for comments and reviews.
	GateToken string `json:"gateToken,omitempty"`
	// Commit is the commit an approving review approves (reviews only).
	Commit   string          `json:"commit,omitempty"`
	Login    string          `json:"login"`
	Source   policies.Source `json:"source"`
	SourceID string          `json:"sourceId"`
	Note     string          `json:"note,omitempty"`
}

// UnapproveRequest withdraws approvals: /unapprove (the person's own),
// or a dismissed review (Source review, by its SourceID).
type UnapproveRequest struct {
	Login    string          `json:"login"`
	Source   policies.Source `json:"source"`
	SourceID string          `json:"sourceId,omitempty"`
}

// CommandRequest is /pause, /resume, /cancel or /rollback.
type CommandRequest struct {
	By      string   `json:"by"`
	Reason  string   `json:"reason,omitempty"`
	Tenants []string `json:"tenants,omitempty"`
}

// Reply answers an update.
type Reply struct {
	Message string `json:"message"`
}

// Orchestration rolls a prepared plan out in one cluster: canary first,
// then waves, at most maxParallel DeployTenant children at once, pausing
// between waves and at approval gates, reacting to approvals and commands,
// and continuing as new (after draining its children) before its history
// grows long.
func Orchestration(ctx workflow.Context, in OrchestrationInput) (Status, error) {
	o := &orchestration{in: in, running: map[string]*runningTenant{}}
	if in.State != nil {
		o.s = *in.State
		o.s.Runs++
	} else {
		o.s = OrchestrationState{Request: in.Request, Phase: PhasePreparing, StartedAt: workflow.Now(ctx)}
	}
	o.limit = in.HistoryLimit
	if o.limit == 0 {
		o.limit = DefaultHistoryLimit
	}
	if err := o.setup(ctx); err != nil {
		return Status{}, err
	}
	return o.run(ctx)
}

type runningTenant struct {
	child  workflow.ChildWorkflowFuture
	cancel workflow.CancelFunc
}

type orchestration struct {
	in      OrchestrationInput
	s       OrchestrationState
	limit   int
	running map[string]*runningTenant
	// page buffers the next tenants of the current wave.
	page []TenantAssignment
}

func (o *orchestration) status() Status {
	st := Status{OrchestrationState: o.s, Counts: map[string]int{}}
	if p := o.s.Prepared; p != nil {
		st.Waves = p.Waves
		for _, w := range p.Waves {
			st.Total += w.Tenants
		}
	}
	for _, t := range o.s.Tenants {
		st.Counts[t.Phase]++
		for _, s := range t.Services {
			if s.Phase == ServiceSuperseded {
				st.Superseded++
			}
		}
	}
	st.Untouched = st.Total - len(o.s.Tenants)
	return st
}

func (o *orchestration) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return o.status(), nil }); err != nil {
		return err
	}
	notFinished := func() error {
		if o.finished() {
			return fmt.Errorf("deployment %s has finished (%s)", o.s.Request.DeploymentID, o.s.Phase)
		}
		return nil
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove, o.approve, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, r ApproveRequest) error {
			if err := notFinished(); err != nil {
				return err
			}
			if r.Login == "" || r.SourceID == "" {
				return errors.New("an approval needs a login and a source id")
			}
			g := o.waitingGate()
			switch {
			case g == nil && r.Gate != "":
				return fmt.Errorf("gate %s is not waiting for approval", r.Gate)
			case g == nil:
				return errors.New("no gate is waiting for approval")
			case r.Gate != "" && r.Gate != g.ID:
				return fmt.Errorf("gate %s is not waiting for approval; %s is", r.Gate, g.ID)
			case r.GateToken != "" && r.GateToken != GateToken(g.ID):
				return fmt.Errorf("this button was for another gate; %s waits now: press its own Approve button", g.ID)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateUnapprove, o.unapprove, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, r UnapproveRequest) error {
			if err := notFinished(); err != nil {
				return err
			}
			if r.Login == "" && r.SourceID == "" {
				return errors.New("a withdrawal needs a login or a review id")
			}
			return nil
		},
	}); err != nil {
		return err
	}
	// Every other command that sends an update has a handler here; a
	// command defined without one fails every deployment's setup (and so
	// every test that runs one).
	handlers := o.commandHandlers()
	for _, c := range commands.All {
		name := c.UpdateName()
		if name == "" || name == UpdateApprove || name == UpdateUnapprove {
			continue
		}
		h, ok := handlers[c.Name]
		if !ok {
			return fmt.Errorf("the command /%s sends the update %q, which the Orchestration does not handle", c.Name, name)
		}
		err := workflow.SetUpdateHandlerWithOptions(ctx, name, h, workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, r CommandRequest) error {
				if err := notFinished(); err != nil {
					return err
				}
				if name == UpdateResume && !o.s.Paused {
					return errors.New("the deployment is not paused")
				}
				if name == UpdatePause && o.s.Paused {
					return errors.New("the deployment is already paused")
				}
				if name == UpdateHold && !slices.ContainsFunc(o.s.Tenants, func(t TenantRecord) bool { return t.Phase == TenantPaused }) {
					return errors.New("no tenant is paused on a failed check")
				}
				return nil
			},
		})
		if err != nil {
			return err
		}
	}
	workflow.Go(ctx, o.listenTenantEvents)
	return nil
}

// commandHandlers are the handlers of the commands that send a
// CommandRequest update, by command (commands.All).
func (o *orchestration) commandHandlers() map[commands.Name]func(workflow.Context, CommandRequest) (Reply, error) {
	return map[commands.Name]func(workflow.Context, CommandRequest) (Reply, error){
		commands.Pause:    o.pause,
		commands.Resume:   o.resume,
		commands.Hold:     o.hold,
		commands.Cancel:   o.cancel,
		commands.Rollback: o.rollback,
	}
}

// runningNames lists running tenants in a fixed order: commands must be
// issued in the same order on replay.
func (o *orchestration) runningNames() []string {
	names := make([]string, 0, len(o.running))
	for n := range o.running {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (o *orchestration) finished() bool {
	switch o.s.Phase {
	case PhaseSucceeded, PhaseFailed, PhaseCancelled, PhaseRolledBack:
		return true
	}
	return false
}

func (o *orchestration) tenant(name string) *TenantRecord {
	for i := range o.s.Tenants {
		if o.s.Tenants[i].Tenant == name {
			return &o.s.Tenants[i]
		}
	}
	return nil
}

func (o *orchestration) listenTenantEvents(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalTenantEvent)
	for {
		var ev TenantEvent
		ch.Receive(ctx, &ev)
		t := o.tenant(ev.Tenant)
		if t == nil {
			continue
		}
		switch ev.Kind {
		case EventLockWait:
			t.LockWait = ev.LockWait
		case EventLockAcquired:
			t.LockWait = nil
		case EventPaused:
			t.Phase = TenantPaused
			t.Failure = ev.Reason
			o.s.Paused = true
			o.s.PauseReason = fmt.Sprintf("tenant %s: %s", ev.Tenant, ev.Reason)
		}
	}
}

func (o *orchestration) waitingGate() *GateState {
	for i := range o.s.Gates {
		g := &o.s.Gates[i]
		if !g.Open && !g.WaitingSince.IsZero() {
			return g
		}
	}
	return nil
}

func (o *orchestration) requirements(gate string) []policies.Requirement {
	var out []policies.Requirement
	for _, r := range o.s.Prepared.Requirements {
		if r.Gate == gate {
			out = append(out, r)
		}
	}
	return out
}

func (o *orchestration) run(ctx workflow.Context) (Status, error) {
	if o.s.Prepared == nil {
		err := o.placeInHistory(ctx)
		if err == nil {
			err = o.prepare(ctx)
		}
		if err != nil {
			o.s.Phase, o.s.Error = PhaseFailed, err.Error()
			o.s.FinishedAt = workflow.Now(ctx)
			return o.status(), err
		}
	}
	waves := o.s.Prepared.Waves
	for o.s.Wave < len(waves) && !o.s.Stop {
		w := waves[o.s.Wave]
		if o.s.Started == 0 {
			if err := o.beforeWave(ctx, w); err != nil {
				return o.status(), err
			}
		}
		if err := o.runWave(ctx, w); err != nil {
			return o.status(), err // continue-as-new or failure
		}
		if o.s.Stop {
			break
		}
		o.s.Wave++
		o.s.Started = 0
		o.s.WaveWaited = false
	}
	return o.finish(ctx)
}

// versionMergeOrder: deployments read their merge's place in the deploy
// branch's history before Prepare (histories before it did not).
const versionMergeOrder = "merge-order"

// placeInHistory reads the merge's generation, once, unless the starter
// gave it: every tenant's locks and applies carry it from then on.
func (o *orchestration) placeInHistory(ctx workflow.Context) error {
	req := &o.s.Request
	if req.Generation != 0 || req.SHA == "" || workflow.GetVersion(ctx, versionMergeOrder, workflow.DefaultVersion, 1) != 1 {
		return nil
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	if err := workflow.ExecuteActivity(actx, (*DeployActivities).MergeGeneration, *req).Get(ctx, &req.Generation); err != nil {
		// Unordered, it could overwrite a newer merge: stop instead.
		return fmt.Errorf("placing the merge in the deploy branch's history: %w", err)
	}
	return nil
}

func (o *orchestration) prepare(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var p PreparedDeployment
	if err := workflow.ExecuteActivity(actx, (*DeployActivities).Prepare, o.s.Request).Get(ctx, &p); err != nil {
		return fmt.Errorf("preparing %s: %w", o.s.Request.PlanPath, err)
	}
	if p.MaxParallel < 1 {
		p.MaxParallel = 1
	}
	o.s.Prepared = &p
	for i, w := range p.Waves {
		if w.Gate != "" {
			o.s.Gates = append(o.s.Gates, GateState{ID: w.Gate, Wave: i})
		}
	}
	o.s.Phase = PhaseRunning
	return nil
}

// beforeWave waits at the wave's gate and pauses between waves.
func (o *orchestration) beforeWave(ctx workflow.Context, w WaveSummary) error {
	if w.Gate != "" {
		g := &o.s.Gates[slices.IndexFunc(o.s.Gates, func(g GateState) bool { return g.Wave == o.s.Wave })]
		if !g.Open {
			if g.WaitingSince.IsZero() {
				g.WaitingSince = workflow.Now(ctx)
			}
			o.s.Phase = PhaseWaitingApproval
			if err := workflow.Await(ctx, func() bool { return g.Open || o.s.Stop }); err != nil {
				return err
			}
		}
	}
	if o.s.Wave > 0 && o.s.Prepared.PauseBetweenWaves > 0 && !o.s.WaveWaited && !o.s.Stop {
		o.s.Phase = PhasePausedBetween
		if _, err := workflow.AwaitWithTimeout(ctx, o.s.Prepared.PauseBetweenWaves, func() bool { return o.s.Stop }); err != nil {
			return err
		}
		o.s.WaveWaited = true
	}
	if !o.s.Stop {
		o.s.Phase = PhaseRunning
	}
	return nil
}

const tenantPageSize = 100

// runWave starts the wave's tenants, at most maxParallel at a time, until
// all have finished; it drains and continues as new when history is long.
func (o *orchestration) runWave(ctx workflow.Context, w WaveSummary) error {
	for {
		long := workflow.GetInfo(ctx).GetCurrentHistoryLength() > o.limit
		canStart := !o.s.Stop && !o.s.Paused && !long && o.s.Started < w.Tenants && len(o.running) < o.s.Prepared.MaxParallel
		if canStart {
			if err := o.startNext(ctx); err != nil {
				return err
			}
			continue
		}
		if len(o.running) == 0 {
			if o.s.Stop || o.s.Started >= w.Tenants {
				return nil
			}
			if long {
				return o.continueAsNew(ctx)
			}
		}
		// Wait for something to change: a tenant finishing, resume, stop.
		started, stop, paused, n := o.s.Started, o.s.Stop, o.s.Paused, len(o.running)
		if err := workflow.Await(ctx, func() bool {
			return len(o.running) != n || o.s.Stop != stop || o.s.Paused != paused || o.s.Started != started
		}); err != nil {
			return err
		}
		o.startRollbacks(ctx)
	}
}

func (o *orchestration) startNext(ctx workflow.Context) error {
	if len(o.page) == 0 {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		req := TenantsRequest{PlanRef: o.s.Prepared.PlanRef, Wave: o.s.Wave, Offset: o.s.Started, Limit: tenantPageSize}
		if err := workflow.ExecuteActivity(actx, (*DeployActivities).Tenants, req).Get(ctx, &o.page); err != nil {
			return fmt.Errorf("reading tenants of wave %d: %w", o.s.Wave, err)
		}
		if len(o.page) == 0 {
			return fmt.Errorf("wave %d has no tenant at offset %d", o.s.Wave, o.s.Started)
		}
	}
	a := o.page[0]
	o.page = o.page[1:]
	o.s.Tenants = append(o.s.Tenants, TenantRecord{Tenant: a.Tenant, Wave: o.s.Wave, Index: o.s.Started, Phase: TenantLocking, StartedAt: workflow.Now(ctx), Assignment: &a})
	o.s.Started++
	o.startTenant(ctx, a, false)
	return nil
}

func (o *orchestration) startTenant(ctx workflow.Context, a TenantAssignment, rollback bool) {
	p := o.s.Prepared
	id := TenantWorkflowID(p.Cluster, p.Deployment, a.Tenant)
	if rollback {
		id = RollbackWorkflowID(p.Cluster, p.Deployment, a.Tenant)
	}
	cctx, cancel := workflow.WithCancel(ctx)
	cctx = workflow.WithChildOptions(cctx, workflow.ChildWorkflowOptions{
		WorkflowID:          id,
		TaskQueue:           TaskQueue,
		WaitForCancellation: true,
		ParentClosePolicy:   enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	in := TenantInput{
		Deployment: p.Deployment, ParentID: workflow.GetInfo(ctx).WorkflowExecution.ID, Assignment: a,
		Checks: p.Checks, OnFailure: p.OnFailure, ApplyTimeout: p.ApplyTimeout, Rollback: rollback,
	}
	if g := o.s.Request.Generation; g > 0 {
		in.Merge, in.Generation = o.s.Request.SHA, g
	}
	rt := &runningTenant{child: workflow.ExecuteChildWorkflow(cctx, DeployTenantWorkflow, in), cancel: cancel}
	o.running[a.Tenant] = rt
	workflow.Go(ctx, func(gctx workflow.Context) {
		var res TenantResult
		err := rt.child.Get(gctx, &res)
		delete(o.running, a.Tenant)
		t := o.tenant(a.Tenant)
		t.FinishedAt = workflow.Now(gctx)
		t.LockWait = nil
		if err != nil {
			res = TenantResult{Phase: TenantFailed, Failure: err.Error()}
		}
		if t.Phase == TenantRollingBack && res.Phase == TenantCancelled {
			return // stopped for a rollback: startRollbacks takes it from here
		}
		t.Phase, t.Failure, t.Services = res.Phase, res.Failure, res.Services
		if t.Phase == TenantSucceeded || t.Phase == TenantSuperseded {
			// Keep the state small: details stay in the tenant's history,
			// but what was superseded, and by whom, is reported.
			t.Services = slices.DeleteFunc(t.Services, func(s ServiceStatus) bool { return s.Phase != ServiceSuperseded })
			if len(t.Services) == 0 {
				t.Services = nil
			}
		}
		if (t.Phase == TenantSucceeded || t.Phase == TenantSuperseded) && !rollback {
			t.Assignment = nil
		}
		if t.Phase == TenantFailed || (t.Phase == TenantRolledBack && !rollback) {
			o.stop(PhaseFailed, fmt.Sprintf("tenant %s %s: %s", a.Tenant, t.Phase, t.Failure))
		}
		if t.Phase != TenantPaused && o.s.Paused && strings.HasPrefix(o.s.PauseReason, "tenant "+a.Tenant+":") {
			o.s.Paused, o.s.PauseReason = false, ""
		}
	})
}

// startRollbacks starts rollback children for tenants marked rolling back
// that are not running anymore.
func (o *orchestration) startRollbacks(ctx workflow.Context) {
	for i := range o.s.Tenants {
		t := &o.s.Tenants[i]
		if t.Phase != TenantRollingBack || o.running[t.Tenant] != nil {
			continue
		}
		if t.Assignment == nil {
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
			var page []TenantAssignment
			req := TenantsRequest{PlanRef: o.s.Prepared.PlanRef, Wave: t.Wave, Offset: t.Index, Limit: 1}
			if err := workflow.ExecuteActivity(actx, (*DeployActivities).Tenants, req).Get(ctx, &page); err != nil || len(page) != 1 || page[0].Tenant != t.Tenant {
				t.Phase, t.Failure = TenantFailed, fmt.Sprintf("cannot roll back: reading the tenant from the plan: %v", err)
				continue
			}
			t.Assignment = &page[0]
		}
		o.startTenant(ctx, *t.Assignment, true)
	}
}

func (o *orchestration) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	o.page = nil
	return workflow.NewContinueAsNewError(ctx, Orchestration, OrchestrationInput{Request: o.in.Request, State: &o.s, HistoryLimit: o.in.HistoryLimit})
}

func (o *orchestration) finish(ctx workflow.Context) (Status, error) {
	// A stop may leave rollbacks to run and tenants to drain.
	for {
		o.startRollbacks(ctx)
		if len(o.running) == 0 {
			break
		}
		n := len(o.running)
		if err := workflow.Await(ctx, func() bool { return len(o.running) != n }); err != nil {
			return o.status(), err
		}
	}
	o.s.Phase = PhaseSucceeded
	if o.s.Stop {
		o.s.Phase = o.s.StopPhase
		o.s.Error = o.s.StopReason
	}
	o.s.FinishedAt = workflow.Now(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return o.status(), err
	}
	return o.status(), nil
}

// tenantRecordJSON is TenantRecord's JSON object form.
type tenantRecordJSON TenantRecord

// MarshalJSON writes a tenant that succeeded without anything to tell as
// a short array, [tenant, wave, index, phase, startedUnix, finishedUnix],
// so that an Orchestration's state and result stay far below Temporal's
// payload limits at hundreds of tenants (about 50 bytes a tenant instead
// of 140). Any other tenant is a JSON object.
func (r TenantRecord) MarshalJSON() ([]byte, error) {
	if r.Phase == TenantSucceeded && r.Failure == "" && r.LockWait == nil && len(r.Services) == 0 && r.Assignment == nil {
		return json.Marshal([]any{r.Tenant, r.Wave, r.Index, r.Phase, r.StartedAt.Unix(), r.FinishedAt.Unix()})
	}
	return json.Marshal(tenantRecordJSON(r))
}

// UnmarshalJSON reads both forms of MarshalJSON.
func (r *TenantRecord) UnmarshalJSON(data []byte) error {
	if len(data) == 0 || data[0] != '[' {
		return json.Unmarshal(data, (*tenantRecordJSON)(r))
	}
	var started, finished int64
	fields := []any{&r.Tenant, &r.Wave, &r.Index, &r.Phase, &started, &finished}
	if err := json.Unmarshal(data, &fields); err != nil {
		return fmt.Errorf("reading a tenant record: %w", err)
	}
	r.StartedAt, r.FinishedAt = time.Unix(started, 0).UTC(), time.Unix(finished, 0).UTC()
	return nil
}
