// Package planner is prdeploy's model of a GitOps repository and the pure
// step that turns a deploy plan into what will happen: plan, then execute.
//
// It reads the repository through an fs.FS (a directory, a Git tree at a
// commit, a map in tests): fleet.yaml (clusters, services, tenants and
// what each tenant may hold, its Boundary) and the plans under deploys/.
// Every input is decoded strictly and bounded in size; every problem is an
// Error at file:line:col with the field path and, where it can tell, a
// "did you mean" (Decode, ErrorList). Expand turns a Plan and the Fleet
// into an ExecutionPlan: services ordered by their after: DAG, tenants
// selected and split into canary and waves, gates, and the safety checks
// with their defaults. ResolveRestart does the same for a rolling restart
// (its tenants and default checks). A Renderer renders a tenant's service
// with kustomize into a Manifest, in a sandboxed child process without
// network or binaries, and checks it against the tenant's Boundary.
// ExecutionPlan.Markdown and JSON describe a plan for pull requests and
// scripts (golden files in testdata/golden). The preview types
// (PreviewTarget, TenantPreview) say what applying manifests would do in a
// tenant's cluster; DiffFields compares a live object with the server's
// dry-run answer (never showing a Secret's values) and GroupPreviews
// groups tenants with the same change.
//
// # What it must not import
//
// The planner is pure: no other prdeploy package, no Temporal, no
// Kubernetes client, no GitHub, Slack, Git or blob SDK, and no clock (time
// is passed in by its callers). It uses the standard library, YAML and
// kustomize; net/http and os/exec appear only in sandbox.go, which takes
// the network away from kustomize and runs the sandbox. Everyone else may
// import it. internal/archtest holds these rules.
package planner
