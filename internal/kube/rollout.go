package kube

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// RolloutError is a rollout that failed (its progress deadline passed, or
// the workload was deleted while it rolled out); waiting longer cannot fix
// it.
type RolloutError struct {
	Object string
	Reason string
}

func (e *RolloutError) Error() string {
	return fmt.Sprintf("rollout of %s failed: %s", e.Object, e.Reason)
}

// HeartbeatEvery is how often a wait reports progress even when nothing
// changes (activities heartbeat through it).
var HeartbeatEvery = 2 * time.Second

// WaitHealthy waits until every workload is rolled out, with the
// semantics of `kubectl rollout status`: it reads each workload, then
// watches it until its health is Healthy (done) or Failed (a RolloutError).
// An unreachable apiserver, a closed watch and other retryable errors are
// ridden out with a backoff; the caller's context bounds the wait.
// progress, if set, is called at least every HeartbeatEvery.
func (cl *Client) WaitHealthy(ctx context.Context, workloads []*unstructured.Unstructured, progress func(string)) error {
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for _, w := range workloads {
		if err := cl.waitOne(ctx, w, tick.C, progress); err != nil {
			return err
		}
	}
	return nil
}

func (cl *Client) waitOne(ctx context.Context, obj *unstructured.Unstructured, tick <-chan time.Time, progress func(string)) error {
	name := describe(obj)
	ri, err := cl.resource(obj)
	if err != nil {
		return err
	}
	detail := "waiting for " + name
	report := func() {
		if progress != nil {
			progress(detail)
		}
	}
	// check evaluates one version of the workload: done, or a failure.
	check := func(u *unstructured.Unstructured) (bool, error) {
		h, err := WorkloadHealth(u)
		switch {
		case err != nil:
			return false, &RolloutError{Object: name, Reason: err.Error()}
		case h.Status == Healthy:
			return true, nil
		case h.Status == Failed:
			return false, &RolloutError{Object: name, Reason: h.Message}
		}
		if d := name + ": " + h.Message; d != detail {
			detail = d
			report()
		}
		return false, nil
	}
	backoff := 100 * time.Millisecond
	for {
		err := func() error {
			cur, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading %s: %w", name, err)
			}
			if done, err := check(cur); done || err != nil {
				return err
			}
			timeout := int64(300)
			w, err := ri.Watch(ctx, metav1.ListOptions{
				FieldSelector:   fields.OneTermEqualSelector("metadata.name", obj.GetName()).String(),
				ResourceVersion: cur.GetResourceVersion(),
				TimeoutSeconds:  &timeout,
			})
			if err != nil {
				return fmt.Errorf("watching %s: %w", name, err)
			}
			defer w.Stop()
			backoff = 100 * time.Millisecond // connected again
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-tick:
					report()
				case ev, ok := <-w.ResultChan():
					if !ok {
						return errWatchClosed
					}
					switch ev.Type {
					case watch.Added, watch.Modified:
						if u, ok := ev.Object.(*unstructured.Unstructured); ok {
							if done, err := check(u); done || err != nil {
								return err
							}
						}
					case watch.Deleted:
						return &RolloutError{Object: name, Reason: "it was deleted while it rolled out"}
					case watch.Error:
						return errWatchClosed
					}
				}
			}
		}()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("waiting for %s: %w (last: %s)", name, ctx.Err(), detail)
		case err == errWatchClosed:
			// read again and watch from there
		case !Retryable(err):
			return err
		default:
			detail = fmt.Sprintf("%s: %v (retrying)", name, err)
			report()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %s)", name, ctx.Err(), detail)
		case <-tick:
			report()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

var errWatchClosed = fmt.Errorf("watch closed")
