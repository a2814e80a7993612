// Package simtest runs deployments for tests: the embedded Temporal server
// (in memory), a worker with the real workflows and activities on a
// simulated cluster (internal/sim), and a GitOps repository committed to a
// local git repository for Prepare. Deployments are started as a merge
// would start them, in cluster prod-eu.
//
// It is a test harness: only tests import it. It may import the adapters
// it runs (devserver, gitrepo, payload, prepare, temporalx) and sim.
package simtest
