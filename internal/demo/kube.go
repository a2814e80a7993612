package demo

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prdeploy/prdeploy/planner"
)

// realCluster is the demo on a real Kubernetes API server (the local
// control plane of hack/kube-up.sh): prdeploy's own adapters apply and
// watch the rollouts.
type realCluster struct {
	kubeconfig string // the demo's: a context named like the fleet's cluster
	client     kubernetes.Interface
	namespaces map[string]string // tenant → namespace
}

// setUpCluster does what a platform team does before prdeploy runs: a
// kubeconfig context for the fleet's cluster (fleet.yaml's kubeContext) and
// the tenants' namespaces.
func setUpCluster(ctx context.Context, kubeconfig, dir, repo, cluster string, tenants []string) (*realCluster, error) {
	kc, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", kubeconfig, err)
	}
	cur, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("%s has no current context", kubeconfig)
	}
	r, err := planner.LoadRepo(os.DirFS(repo))
	if err != nil {
		return nil, err
	}
	context := cluster
	if c, ok := r.Fleet.Cluster(cluster); ok && c.KubeContext != "" {
		context = c.KubeContext
	}
	kc.Contexts[context] = cur.DeepCopy()
	rc := &realCluster{kubeconfig: filepath.Join(dir, "kubeconfig"), namespaces: map[string]string{}}
	if err := clientcmd.WriteToFile(*kc, rc.kubeconfig); err != nil {
		return nil, err
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	if rc.client, err = kubernetes.NewForConfig(restConfig); err != nil {
		return nil, err
	}
	for _, t := range r.Fleet.Tenants {
		if t.Cluster != cluster || !slices.Contains(tenants, t.Name) {
			continue
		}
		rc.namespaces[t.Name] = t.Namespace
		_, err := rc.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.Namespace}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating namespace %s: %w", t.Namespace, err)
		}
	}
	return rc, nil
}

// deployments says what runs in the tenants' namespaces, as
// `kubectl get deployments` would.
func (rc *realCluster) deployments(ctx context.Context) ([]string, error) {
	var out []string
	for _, t := range slices.Sorted(maps.Keys(rc.namespaces)) {
		list, err := rc.client.AppsV1().Deployments(rc.namespaces[t]).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, d := range list.Items {
			var images []string
			for _, c := range d.Spec.Template.Spec.Containers {
				images = append(images, c.Image)
			}
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			out = append(out, fmt.Sprintf("%s/%s  %s  ready %d/%d  generation %d  (managed by %s)", d.Namespace, d.Name,
				strings.Join(images, ","), d.Status.ReadyReplicas, want, d.Generation, managers(d.ManagedFields)))
		}
	}
	return out, nil
}

func managers(fields []metav1.ManagedFieldsEntry) string {
	var m []string
	for _, f := range fields {
		if f.Operation == metav1.ManagedFieldsOperationApply && !slices.Contains(m, f.Manager) {
			m = append(m, f.Manager)
		}
	}
	return strings.Join(m, ",")
}
