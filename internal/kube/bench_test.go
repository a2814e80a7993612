package kube

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/workflows"
)

// benchDeployment is one of the 100 Deployments: svc-N in namespace ns.
func benchDeployment(ns string, n int, tag string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: svc-%[2]d, namespace: %[1]s, labels: {prdeploy.dev/service: svc-%[2]d}}
spec:
  replicas: 2
  selector: {matchLabels: {app: svc-%[2]d}}
  template:
    metadata: {labels: {app: svc-%[2]d}}
    spec: {containers: [{name: app, image: "registry.example.com/svc:%[3]s"}]}
`, ns, n, tag)
}

// parallel runs jobs 0..n-1 on `workers` goroutines and returns the first
// error.
func parallel(n, workers int, job func(i int) error) error {
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				errs <- job(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkRollout100 rolls a new image out to 100 Deployments across 20
// namespaces, 10 at a time, twice per iteration on the same control
// plane: with prdeploy's adapters (snapshot, server-side apply, watch until
// rolled out, as the activities run them) and with `kubectl apply
// --server-side` + `kubectl rollout status`. It reports both, their ratio,
// and apiserver requests per service rollout.
func BenchmarkRollout100(b *testing.B) {
	const namespaces, perNamespace, workers = 20, 5, 10
	cp := kubetest.Need(b, controlPlane, noPlaneWhy)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		b.Skip("kubectl is not installed: no baseline")
	}
	cfg, err := cp.Config()
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{c}, Store: store}
	dir := b.TempDir()
	ctx := context.Background()
	for _, prefix := range []string{"bench-p", "bench-k"} {
		for j := range namespaces {
			ns := fmt.Sprintf("%s-%02d", prefix, j)
			if _, err := c.Apply(ctx, mustDecode(b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n"), false); err != nil {
				b.Fatal(err)
			}
		}
	}
	var prdeploy, baseline time.Duration
	var requests int64
	b.ResetTimer()
	for iter := 0; b.Loop(); iter++ {
		tag := fmt.Sprintf("b%d", iter)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		// prdeploy
		start, before := time.Now(), c.Requests()
		err := parallel(namespaces*perNamespace, workers, func(i int) error {
			ns := fmt.Sprintf("bench-p-%02d", i/perNamespace)
			data := []byte(benchDeployment(ns, i%perNamespace, tag))
			bl, _ := store.Put(ctx, fmt.Sprintf("bench/%s/%d/%s", ns, i, Digest(data)), data)
			tg := workflows.ServiceTarget{Deployment: "bench-" + tag, Cluster: "local", Tenant: ns, Namespace: ns,
				Service: fmt.Sprintf("svc-%d", i%perNamespace), ManifestRef: bl.Key, ManifestDigest: bl.Digest}
			if _, err := cl.Snapshot(ctx, tg); err != nil {
				return err
			}
			if _, err := cl.Apply(ctx, tg); err != nil {
				return err
			}
			return cl.WaitRollout(ctx, tg, nil)
		})
		if err != nil {
			b.Fatal(err)
		}
		prdeploy += time.Since(start)
		requests += c.Requests() - before
		// kubectl
		start = time.Now()
		err = parallel(namespaces*perNamespace, workers, func(i int) error {
			ns, n := fmt.Sprintf("bench-k-%02d", i/perNamespace), i%perNamespace
			file := filepath.Join(dir, fmt.Sprintf("%s-%d.yaml", ns, n))
			if err := os.WriteFile(file, []byte(benchDeployment(ns, n, tag)), 0o644); err != nil {
				return err
			}
			for _, args := range [][]string{
				{"apply", "--server-side", "--field-manager=kubectl-bench", "-f", file},
				{"rollout", "status", "-n", ns, fmt.Sprintf("deployment/svc-%d", n), "--timeout=2m"},
			} {
				cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", cp.Kubeconfig}, args...)...)
				cmd.Env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(dir, "cache"))
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("kubectl %v: %v: %s", args, err, out)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		baseline += time.Since(start)
		cancel()
	}
	n := float64(b.N)
	b.ReportMetric(prdeploy.Seconds()/n, "prdeploy-s/op")
	b.ReportMetric(baseline.Seconds()/n, "kubectl-s/op")
	b.ReportMetric(prdeploy.Seconds()/baseline.Seconds(), "prdeploy/kubectl")
	b.ReportMetric(float64(requests)/n/float64(namespaces*perNamespace), "requests/rollout")
}
