// Package archtest holds no code, only the test that keeps the house's
// import rules (imports_test.go), the ones each package's doc states:
//
//   - The domain packages are pure and small in what they reach. planner
//     imports no other prdeploy package, and takes the network away from
//     kustomize rather than using it (net/http and os/exec only in
//     planner/sandbox.go); policies imports planner and nothing that does
//     I/O (no os, no net); commands (the vocabulary of people's commands)
//     imports nothing of prdeploy; workflows imports commands, planner and
//     policies and the Temporal SDK, never the Temporal server or an
//     adapter; webhook may use commands, planner and policies, never
//     workflows or Temporal. None of them,
//     directly or not, reaches internal/, the Kubernetes client or the
//     Temporal server.
//   - Every SDK has one home: the Temporal server in internal/devserver,
//     client-go in internal/kube, go-git in the Git adapters, go-github
//     and slack-go in their adapters and webhook (event types), gocloud in
//     internal/payload, kustomize in planner, the Temporal Web UI in
//     internal/temporalui; the few other places that touch one say why.
//   - Test harnesses (packages named …test) are the only packages that
//     import "testing", and only tests and other harnesses import them.
//
// readme_test.go checks that the README's layout table names every
// package.
//
// A rule that no longer fits is changed here, in the test, and in the
// package's doc together.
package archtest
