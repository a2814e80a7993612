// Package serve runs `prdeploy serve`: one process with the webhook server
// (GitHub, and Slack when configured), a worker with every workflow and
// activity on the real adapters, the status page, /metrics, and the
// embedded Temporal server unless an external one is configured. Roles
// split it for scaling out (webhook, worker). It stops gracefully: first
// no more webhooks, then the worker drains, then Temporal stops.
//
// Serve reads as its phases: check the role and the files the
// configuration names, listen, connect the adapters (Temporal, GitHub,
// payload store, clusters and checks), check readiness, give the
// activities their adapters, route HTTP, start the worker, start
// /metrics, serve until the context ends. Each phase registers what must
// be stopped; close stops it in reverse.
//
// It is the composition root: it may import every adapter and the domain
// packages, and it owns no domain logic (no policy, plan or workflow
// decision; policies judge at Options.PolicyClock, the wall clock unless
// the demo pins it). Only cmd/prdeploy, the demo and tests import it.
package serve
