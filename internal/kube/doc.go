// Package kube adapts prdeploy's workflows to Kubernetes with client-go.
//
// Besides applying (server-side apply as field manager "prdeploy"), it
// previews: Previewer dry-runs the apply of rendered manifests per tenant
// and compares the server's answer with what is live, for pull requests.
//
// Health is decided per kind by pure functions with the semantics of
// `kubectl rollout status`: a workload is Progressing until its controller
// has observed the latest generation and every replica runs the new
// template and is available; it is Failed when the controller gives up
// (a Deployment's ProgressDeadlineExceeded). The functions take the object
// and return a Health, so they are tested against YAML fixtures without a
// cluster.
package kube
