package kube

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// checkBoundary refuses a target's objects that cross its tenant's
// boundary (fleet.yaml, carried on the target; the default when it
// carries none), before anything is read or applied. The planner checked
// them at the PR and at Prepare; this check does not trust that the
// manifests in the store are the ones it checked, and it knows the scope
// of every kind from the cluster itself.
func checkBoundary(cl *Client, t workflows.ServiceTarget, objs []*unstructured.Unstructured) error {
	b := planner.DefaultBoundary()
	if t.Boundary != nil {
		b = *t.Boundary
	}
	vs, err := cl.Violations(t.Namespace, b, objs)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return nil
	}
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Error()
	}
	return &ManifestError{Target: targetName(t), Reason: "crosses the tenant's boundary (fleet.yaml boundary): " + strings.Join(msgs, "; ")}
}
