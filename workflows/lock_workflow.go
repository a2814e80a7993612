package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// LockRequest asks for a lock on behalf of a running workflow.
type LockRequest struct {
	// RequestID is unique per request: "<requester run id>/<lock key>".
	RequestID  string `json:"requestId"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	// Owner describes the requester for people ("deploy:prod/ingest-v41").
	Owner string    `json:"owner"`
	At    time.Time `json:"at"`
	// Order places a deployment's request in the deploy branch's history;
	// nil for requests that are not ordered (restarts, deployments that
	// do not know their merge's place).
	Order *Stamp `json:"order,omitempty"`
}

// LockRelease gives a lock back, or withdraws a queued request.
type LockRelease struct {
	RequestID string `json:"requestId"`
}

// LockGrant tells a requester it holds the lock.
type LockGrant struct {
	Key       LockKey `json:"key"`
	RequestID string  `json:"requestId"`
}

// LockSuperseded tells a requester that a deployment merged after its own
// holds the lock or waits for it: the requester leaves the service to it
// and does not wait. The request is gone from the Lock.
type LockSuperseded struct {
	Key       LockKey `json:"key"`
	RequestID string  `json:"requestId"`
	By        Stamp   `json:"by"`
}

// LockQueued tells a requester who holds the lock it waits for.
type LockQueued struct {
	Key       LockKey   `json:"key"`
	RequestID string    `json:"requestId"`
	Holder    string    `json:"holder"`
	Since     time.Time `json:"since"`
}

// LockState is the whole state of a Lock, carried across continue-as-new.
type LockState struct {
	Key         LockKey       `json:"key"`
	Holder      *LockRequest  `json:"holder,omitempty"`
	HolderSince time.Time     `json:"holderSince,omitempty"`
	Queue       []LockRequest `json:"queue,omitempty"`
	Grants      int           `json:"grants"`
	// Superseded counts requests released because a newer merge holds
	// or waits.
	Superseded int `json:"superseded,omitempty"`
	// HistoryLimit: continue-as-new past this many events (0: default).
	HistoryLimit int `json:"historyLimit,omitempty"`
}

// DefaultHistoryLimit is where long-lived workflows continue as new, well
// below Temporal's 10,240-event warning.
const DefaultHistoryLimit = 8000

// Lock is a FIFO queueing mutex for one service in one tenant. Requesters
// start it with signal-with-start (RequestLock); it grants by signalling
// them. Deployments' requests carry their merge's place in history: a
// request older than the holder or a waiter, and a waiter older than a new
// request, is released at once as superseded, since the newer merge will
// change the service anyway. A holder that closes without releasing (terminated, timed out,
// failed) is noticed by a watch activity and loses the lock, so a dead
// holder never blocks the queue and two holders are never let in. The Lock
// ends when it is free and nobody waits.
func Lock(ctx workflow.Context, s LockState) error {
	l := &lockRun{LockState: s}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (LockState, error) { return l.LockState, nil }); err != nil {
		return err
	}
	return l.run(ctx)
}

type lockRun struct {
	LockState
	// watchFuture completes when the current holder closes; watchCancel
	// stops watching when the holder releases.
	watchFuture workflow.Future
	watchCancel workflow.CancelFunc
}

func (l *lockRun) run(ctx workflow.Context) error {
	acquire := workflow.GetSignalChannel(ctx, SignalLockAcquire)
	release := workflow.GetSignalChannel(ctx, SignalLockRelease)
	limit := l.HistoryLimit
	if limit == 0 {
		limit = DefaultHistoryLimit
	}
	for {
		l.grantNext(ctx)
		// Watch the holder only while someone waits: a dead holder blocks
		// nobody otherwise, and most locks are never contended.
		if l.Holder != nil && len(l.Queue) > 0 && l.watchFuture == nil {
			l.watch(ctx)
		}
		if l.Holder == nil && len(l.Queue) == 0 && acquire.Len() == 0 && release.Len() == 0 {
			return nil // free and nobody waits
		}
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > limit && acquire.Len() == 0 && release.Len() == 0 {
			if l.watchCancel != nil {
				l.watchCancel() // the new run watches again
			}
			return workflow.NewContinueAsNewError(ctx, Lock, l.LockState)
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(acquire, func(c workflow.ReceiveChannel, _ bool) {
			var r LockRequest
			c.Receive(ctx, &r)
			l.enqueue(ctx, r)
		})
		sel.AddReceive(release, func(c workflow.ReceiveChannel, _ bool) {
			var r LockRelease
			c.Receive(ctx, &r)
			l.release(r.RequestID)
		})
		if l.watchFuture != nil {
			sel.AddFuture(l.watchFuture, func(f workflow.Future) {
				l.watchFuture, l.watchCancel = nil, nil
				if f.Get(ctx, nil) == nil && l.Holder != nil {
					workflow.GetLogger(ctx).Warn("lock holder closed without releasing; freeing the lock", "lock", l.Key.String(), "holder", l.Holder.WorkflowID)
					l.Holder = nil
				}
			})
		}
		sel.Select(ctx)
	}
}

// enqueue adds a request unless it is already holder or queued (a retried
// signal-with-start delivers the same request twice), or is superseded.
func (l *lockRun) enqueue(ctx workflow.Context, r LockRequest) {
	if l.Holder != nil && l.Holder.RequestID == r.RequestID {
		return
	}
	if slices.ContainsFunc(l.Queue, func(q LockRequest) bool { return q.RequestID == r.RequestID }) {
		return
	}
	// Only ordered requests are compared: for others (histories from
	// before merge order, restarts) nothing changes.
	if r.Order != nil && r.Order.Generation > 0 {
		if by := l.newest(); by.Newer(r.Order.Generation) {
			l.supersede(ctx, r, *by)
			return
		}
		queue := l.Queue[:0:0]
		for _, q := range l.Queue {
			if r.Order.Newer(generation(q)) {
				l.supersede(ctx, q, *r.Order)
				continue
			}
			queue = append(queue, q)
		}
		l.Queue = queue
	}
	l.Queue = append(l.Queue, r)
	if l.Holder != nil {
		q := LockQueued{Key: l.Key, RequestID: r.RequestID, Holder: l.Holder.Owner, Since: l.HolderSince}
		// Best effort: the requester may have gone; it then never waits.
		_ = workflow.SignalExternalWorkflow(ctx, r.WorkflowID, r.RunID, SignalLockQueued, q).Get(ctx, nil)
	}
}

// newest is the order of the newest merge that holds or waits, if any.
func (l *lockRun) newest() *Stamp {
	var out *Stamp
	consider := func(r LockRequest) {
		if r.Order != nil && (out == nil || r.Order.Generation > out.Generation) {
			out = r.Order
		}
	}
	if l.Holder != nil {
		consider(*l.Holder)
	}
	for _, q := range l.Queue {
		consider(q)
	}
	return out
}

func generation(r LockRequest) int64 {
	if r.Order == nil {
		return 0
	}
	return r.Order.Generation
}

// supersede tells a requester that a newer merge takes the service.
func (l *lockRun) supersede(ctx workflow.Context, r LockRequest, by Stamp) {
	l.Superseded++
	workflow.GetLogger(ctx).Info("lock request superseded by a newer merge", "lock", l.Key.String(), "requester", r.WorkflowID, "by", by.Deployment)
	// Best effort: a requester that has gone needs no answer.
	_ = workflow.SignalExternalWorkflow(ctx, r.WorkflowID, r.RunID, SignalLockSuperseded, LockSuperseded{Key: l.Key, RequestID: r.RequestID, By: by}).Get(ctx, nil)
}

func (l *lockRun) release(requestID string) {
	if l.Holder != nil && l.Holder.RequestID == requestID {
		l.Holder = nil
		if l.watchCancel != nil {
			l.watchCancel()
		}
		l.watchFuture, l.watchCancel = nil, nil
		return
	}
	l.Queue = slices.DeleteFunc(l.Queue, func(q LockRequest) bool { return q.RequestID == requestID })
}

// grantNext hands a free lock to the first requester still running.
func (l *lockRun) grantNext(ctx workflow.Context) {
	for l.Holder == nil && len(l.Queue) > 0 {
		next := l.Queue[0]
		l.Queue = l.Queue[1:]
		err := workflow.SignalExternalWorkflow(ctx, next.WorkflowID, next.RunID, SignalLockGranted, LockGrant{Key: l.Key, RequestID: next.RequestID}).Get(ctx, nil)
		if err != nil {
			workflow.GetLogger(ctx).Info("lock requester has gone; skipping it", "lock", l.Key.String(), "requester", next.WorkflowID, "error", err)
			continue
		}
		l.Holder = &next
		l.HolderSince = workflow.Now(ctx)
		l.Grants++
	}
}

// watch starts an activity that returns when the holder closes.
func (l *lockRun) watch(ctx workflow.Context) {
	wctx, cancel := workflow.WithCancel(ctx)
	l.watchCancel = cancel
	holder := *l.Holder
	wctx = workflow.WithActivityOptions(wctx, workflow.ActivityOptions{
		StartToCloseTimeout: 365 * 24 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	l.watchFuture = workflow.ExecuteActivity(wctx, (*LockActivities).WatchHolder, WatchHolderRequest{WorkflowID: holder.WorkflowID, RunID: holder.RunID})
}

// heldLock is a lock a workflow holds.
type heldLock struct {
	key       LockKey
	requestID string
}

// lockInbox receives the Lock workflows' answers for every acquirer in one
// workflow (a RollingRestart acquires for several tenants at once), so that
// no acquirer consumes another's grant.
type lockInbox struct {
	granted    map[string]bool
	queued     map[string]LockQueued
	superseded map[string]LockSuperseded
}

// newLockInbox starts receiving lock answers; call it once per workflow.
func newLockInbox(ctx workflow.Context) *lockInbox {
	in := &lockInbox{granted: map[string]bool{}, queued: map[string]LockQueued{}, superseded: map[string]LockSuperseded{}}
	granted := workflow.GetSignalChannel(ctx, SignalLockGranted)
	queued := workflow.GetSignalChannel(ctx, SignalLockQueued)
	superseded := workflow.GetSignalChannel(ctx, SignalLockSuperseded)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(granted, func(c workflow.ReceiveChannel, _ bool) {
				var g LockGrant
				c.Receive(ctx, &g)
				in.granted[g.RequestID] = true
			})
			sel.AddReceive(queued, func(c workflow.ReceiveChannel, _ bool) {
				var q LockQueued
				c.Receive(ctx, &q)
				in.queued[q.RequestID] = q
			})
			sel.AddReceive(superseded, func(c workflow.ReceiveChannel, _ bool) {
				var s LockSuperseded
				c.Receive(ctx, &s)
				in.superseded[s.RequestID] = s
			})
			sel.Select(ctx)
		}
	})
	return in
}

// lockHolder acquires and releases locks for a workflow.
type lockHolder struct {
	inbox *lockInbox
	owner string
	// order places the requests in merge order (nil: not ordered).
	order *Stamp
	held  []heldLock
	// superseded are the keys a newer merge takes: not held, not to be
	// touched.
	superseded map[LockKey]Stamp
	onWait     func(ctx workflow.Context, w LockWait)
	onHeld     func(ctx workflow.Context)
}

// acquire takes the locks in sorted order, one after the other, so that two
// workflows never wait on each other. A lock that a newer merge holds or
// waits for is not taken: it goes to superseded. On error or cancellation
// the locks taken so far stay in held; call releaseAll.
func (h *lockHolder) acquire(ctx workflow.Context, keys []LockKey) error {
	keys = slices.Clone(keys)
	SortLockKeys(keys)
	keys = slices.Compact(keys)
	info := workflow.GetInfo(ctx)
	// A local activity: one signal-with-start, without a round trip through
	// the server to schedule it.
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 10 * time.Second},
	})
	for _, key := range keys {
		req := LockRequest{
			RequestID:  info.WorkflowExecution.RunID + "/" + key.String(),
			WorkflowID: info.WorkflowExecution.ID,
			RunID:      info.WorkflowExecution.RunID,
			Owner:      h.owner,
			At:         workflow.Now(ctx),
			Order:      h.order,
		}
		// Registered before the request, so a cancellation while waiting
		// withdraws it.
		h.held = append(h.held, heldLock{key: key, requestID: req.RequestID})
		if err := workflow.ExecuteLocalActivity(actx, activityRequestLock, key, req).Get(ctx, nil); err != nil {
			return fmt.Errorf("requesting lock %s: %w", key, err)
		}
		waited := false
		superseded := false
		for !h.inbox.granted[req.RequestID] && !superseded {
			err := workflow.Await(ctx, func() bool {
				_, q := h.inbox.queued[req.RequestID]
				_, s := h.inbox.superseded[req.RequestID]
				return h.inbox.granted[req.RequestID] || s || (q && !waited)
			})
			if err != nil {
				return err
			}
			if s, ok := h.inbox.superseded[req.RequestID]; ok {
				superseded = true
				if h.superseded == nil {
					h.superseded = map[LockKey]Stamp{}
				}
				h.superseded[key] = s.By
				h.held = h.held[:len(h.held)-1] // the Lock has let it go
				delete(h.inbox.superseded, req.RequestID)
				break
			}
			if q, ok := h.inbox.queued[req.RequestID]; ok && !waited {
				waited = true
				if h.onWait != nil {
					h.onWait(ctx, LockWait{Lock: q.Key.String(), Holder: q.Holder, Since: q.Since})
				}
			}
		}
		delete(h.inbox.granted, req.RequestID)
		delete(h.inbox.queued, req.RequestID)
		if waited && !superseded {
			recordWait(ctx, MetricLockWait, key.Cluster, workflow.Now(ctx).Sub(req.At))
		}
		if waited && h.onHeld != nil { // held, or no longer waited for
			h.onHeld(ctx)
		}
	}
	return nil
}

// releaseAll gives back every lock held or requested, even when ctx is
// cancelled.
func (h *lockHolder) releaseAll(ctx workflow.Context) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	for i := len(h.held) - 1; i >= 0; i-- {
		l := h.held[i]
		err := workflow.SignalExternalWorkflow(dctx, l.key.WorkflowID(), "", SignalLockRelease, LockRelease{RequestID: l.requestID}).Get(dctx, nil)
		if err != nil {
			// The Lock has ended (it only ends when free): nothing to release.
			workflow.GetLogger(ctx).Info("releasing lock", "lock", l.key.String(), "error", err)
		}
	}
	h.held = nil
}

// activityRequestLock is the registered name of Activities.RequestLock: a
// local activity is called by name so that the worker's Activities (not a
// nil receiver) runs it.
const activityRequestLock = "RequestLock"
