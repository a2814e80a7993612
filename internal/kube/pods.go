package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/prdeploy/prdeploy/workflows"
)

// BadWaitingReasons are container states that do not heal by waiting: a
// pod in one fails podsAvailable at once, without waiting for the ratio.
var BadWaitingReasons = []string{
	"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError",
}

// PodsAvailable is the podsAvailable safety check: the tenant's workloads
// of the checked services must have at least MinReadyRatio of their desired
// pods available, and no pod may be stuck in a bad waiting reason.
type PodsAvailable struct {
	Clients ClientSource
}

var _ workflows.Prober = (*PodsAvailable)(nil)

// Probe runs the check once (four list requests: three workload kinds and
// the namespace's pods).
func (p *PodsAvailable) Probe(ctx context.Context, _ string, t workflows.CheckTarget) (workflows.CheckResult, error) {
	cl, err := p.Clients.For(t.Cluster, t.KubeContext)
	if err != nil {
		return workflows.CheckResult{}, workflows.Permanent(err)
	}
	ws, err := cl.labelledWorkloads(ctx, t.Namespace, t.Services)
	if err != nil {
		return workflows.CheckResult{}, classify(err)
	}
	pods, err := cl.Typed.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return workflows.CheckResult{}, classify(fmt.Errorf("listing pods in %s: %w", t.Namespace, err))
	}
	return PodsAvailableResult(ws, pods.Items, t.MinReadyRatio)
}

// PodsAvailableResult decides the check from workloads and the pods of
// their namespace (pure, for tests).
func PodsAvailableResult(workloads []*unstructured.Unstructured, pods []corev1.Pod, minRatio float64) (workflows.CheckResult, error) {
	if minRatio <= 0 {
		minRatio = 1
	}
	var short []string
	for _, w := range workloads {
		desired, available, selector, err := availability(w)
		if err != nil {
			return workflows.CheckResult{}, err
		}
		for i := range pods {
			if selector == nil || !selector.Matches(labels.Set(pods[i].Labels)) || pods[i].DeletionTimestamp != nil {
				continue
			}
			if reason := badContainer(&pods[i]); reason != "" {
				return workflows.CheckResult{Reason: fmt.Sprintf("%s: pod %s: %s", describe(w), pods[i].Name, reason)}, nil
			}
		}
		if desired > 0 && float64(available) < minRatio*float64(desired) {
			short = append(short, fmt.Sprintf("%s has %d of %d pods available", describe(w), available, desired))
		}
	}
	if len(short) > 0 {
		sort.Strings(short)
		return workflows.CheckResult{Reason: fmt.Sprintf("%s (minimum %g%%)", strings.Join(short, "; "), minRatio*100)}, nil
	}
	return workflows.CheckResult{OK: true}, nil
}

// availability reads a workload's desired and available pods and its pod
// selector.
func availability(w *unstructured.Unstructured) (desired, available int32, sel labels.Selector, err error) {
	var ls *metav1.LabelSelector
	switch w.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(w.Object, &d); err == nil {
			desired, available, ls = 1, d.Status.AvailableReplicas, d.Spec.Selector
			if d.Spec.Replicas != nil {
				desired = *d.Spec.Replicas
			}
		}
	case "StatefulSet":
		var s appsv1.StatefulSet
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(w.Object, &s); err == nil {
			desired, available, ls = 1, s.Status.AvailableReplicas, s.Spec.Selector
			if s.Spec.Replicas != nil {
				desired = *s.Spec.Replicas
			}
		}
	case "DaemonSet":
		var ds appsv1.DaemonSet
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(w.Object, &ds); err == nil {
			desired, available, ls = ds.Status.DesiredNumberScheduled, ds.Status.NumberAvailable, ds.Spec.Selector
		}
	}
	if err != nil {
		return 0, 0, nil, fmt.Errorf("reading %s: %w", describe(w), err)
	}
	if ls != nil {
		if sel, err = metav1.LabelSelectorAsSelector(ls); err != nil {
			return 0, 0, nil, fmt.Errorf("%s: pod selector: %w", describe(w), err)
		}
	}
	return desired, available, sel, nil
}

// badContainer names a container stuck in a bad waiting reason.
func badContainer(p *corev1.Pod) string {
	for _, st := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if w := st.State.Waiting; w != nil && slices.Contains(BadWaitingReasons, w.Reason) {
			msg := fmt.Sprintf("container %s is in %s", st.Name, w.Reason)
			if w.Message != "" {
				msg += " (" + w.Message + ")"
			}
			return msg
		}
	}
	return ""
}
