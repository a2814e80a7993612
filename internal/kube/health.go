package kube

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// HealthStatus orders how a workload is doing, from best to worst.
type HealthStatus int

// Health statuses.
const (
	Healthy HealthStatus = iota
	Progressing
	Failed
)

func (s HealthStatus) String() string {
	return [...]string{"Healthy", "Progressing", "Failed"}[s]
}

// Health is the state of one workload's rollout.
type Health struct {
	Status  HealthStatus
	Message string
}

// WorkloadHealth decides the health of a Deployment, StatefulSet or
// DaemonSet given as unstructured (as read back from the apiserver). Other
// kinds have no rollout and are Healthy once applied.
func WorkloadHealth(obj *unstructured.Unstructured) (Health, error) {
	var err error
	switch obj.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &d); err == nil {
			return DeploymentHealth(&d), nil
		}
	case "StatefulSet":
		var s appsv1.StatefulSet
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &s); err == nil {
			return StatefulSetHealth(&s), nil
		}
	case "DaemonSet":
		var ds appsv1.DaemonSet
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &ds); err == nil {
			return DaemonSetHealth(&ds), nil
		}
	default:
		return Health{Status: Healthy}, nil
	}
	return Health{}, fmt.Errorf("reading %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
}

func progressing(format string, args ...any) Health {
	return Health{Status: Progressing, Message: fmt.Sprintf(format, args...)}
}

// DeploymentHealth follows `kubectl rollout status deployment`.
func DeploymentHealth(d *appsv1.Deployment) Health {
	if d.Generation > d.Status.ObservedGeneration {
		return progressing("waiting for the deployment spec update to be observed")
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Health{Status: Failed, Message: fmt.Sprintf("deployment %q exceeded its progress deadline: %s", d.Name, c.Message)}
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case st.UpdatedReplicas < want:
		return progressing("%d out of %d new replicas have been updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return progressing("%d old replicas are pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return progressing("%d of %d updated replicas are available", st.AvailableReplicas, st.UpdatedReplicas)
	}
	return Health{Status: Healthy, Message: fmt.Sprintf("deployment %q successfully rolled out", d.Name)}
}

// StatefulSetHealth follows `kubectl rollout status statefulset`,
// partitioned rolling updates included.
func StatefulSetHealth(s *appsv1.StatefulSet) Health {
	if s.Status.ObservedGeneration == 0 || s.Generation > s.Status.ObservedGeneration {
		return progressing("waiting for the statefulset spec update to be observed")
	}
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	st := s.Status
	if st.ReadyReplicas < want {
		return progressing("waiting for %d pods to be ready", want-st.ReadyReplicas)
	}
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return Health{Status: Healthy, Message: fmt.Sprintf("statefulset %q uses OnDelete: pods update when deleted", s.Name)}
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		if st.UpdatedReplicas < want-*ru.Partition {
			return progressing("waiting for partitioned roll out to finish: %d out of %d new pods have been updated", st.UpdatedReplicas, want-*ru.Partition)
		}
		return Health{Status: Healthy, Message: fmt.Sprintf("partitioned roll out complete: %d new pods have been updated", st.UpdatedReplicas)}
	}
	if st.UpdateRevision != st.CurrentRevision {
		return progressing("waiting for statefulset rolling update to complete %d pods at revision %s", st.UpdatedReplicas, st.UpdateRevision)
	}
	return Health{Status: Healthy, Message: fmt.Sprintf("statefulset rolling update complete %d pods at revision %s", st.CurrentReplicas, st.CurrentRevision)}
}

// DaemonSetHealth follows `kubectl rollout status daemonset`.
func DaemonSetHealth(ds *appsv1.DaemonSet) Health {
	if ds.Generation > ds.Status.ObservedGeneration {
		return progressing("waiting for the daemon set spec update to be observed")
	}
	st := ds.Status
	if ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		return Health{Status: Healthy, Message: fmt.Sprintf("daemon set %q uses OnDelete: pods update when deleted", ds.Name)}
	}
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return progressing("%d out of %d new pods have been updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return progressing("%d of %d updated pods are available", st.NumberAvailable, st.DesiredNumberScheduled)
	}
	return Health{Status: Healthy, Message: fmt.Sprintf("daemon set %q successfully rolled out", ds.Name)}
}
