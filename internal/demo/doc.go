// Package demo runs prdeploy's whole story on embedded defaults: `prdeploy
// serve` itself (embedded Temporal server and Web UI, webhook server, a
// worker with the real GitHub client, Prepare and encrypted payload store)
// in front of the GitHub simulator holding the example GitOps repository,
// on a simulated cluster or the local Kubernetes control plane. It opens a
// PR with a plan, shows the plan check, merges, prints the rollout's
// progress, has SREs approve the canary gate (after two refused
// approvals), and shows how it ended.
//
// Run reads as the story's phases (startGitHub, startServe,
// openPullRequest, mergeUntilTheGate, approveTheGate, finish); every wait
// is bounded and says what it waited for. The policies judge at a fixed,
// printed instant (Options.PolicyTime, by default sim.PolicyTime), so the
// story is the same on any day; serve itself judges at the wall clock.
//
// It is wiring, like internal/serve, and may import the adapters and the
// simulators; only cmd/prdeploy imports it (and tests that share
// SetupGitHub's people). It holds no deploy decision of its own.
package demo
