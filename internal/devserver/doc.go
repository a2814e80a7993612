// Package devserver runs a complete Temporal server inside the prdeploy
// process, for `prdeploy serve` without --temporal-address and for
// `make demo`.
//
// # Model
//
// The server is one node running the four Temporal services (frontend,
// history, matching, worker) on loopback ports, wired to each other through
// static host lists rather than ringpop membership. Only the frontend's port
// matters to callers: SDK clients and workers dial FrontendAddress, and the
// `temporal` CLI can be pointed at it too.
//
// State lives in SQLite through the server's own sqlite persistence plugin,
// both for workflow histories and for visibility (list/count). With a data
// dir, the database is the file DataDir/temporal.db: its schema is created
// on the first start and reused afterwards, so every open deployment,
// signal, update and schedule outlives a restart of prdeploy; the workflow
// simply resumes when a worker polls again. Without a data dir the database
// is in memory and private to the Server, for tests and throwaway demos.
// There is one history shard; that count is written into the database on
// the first start and cannot change.
//
// One namespace (default "default") is registered on start if missing, with
// the configured retention for closed workflows (default 30 days). Workflow
// Update and Schedules, which prdeploy relies on, are switched on
// explicitly in the server's dynamic config, together with settings suited
// to a single node (see dynamicConfig).
//
// A data dir is locked (temporal.lock) while a server runs on it: two
// servers on one database would fight over the history shard.
//
// The server logs through the caller's slog.Logger at warn and above only;
// its info and debug output is meant for operators of real clusters.
//
// # What it is not
//
// It is a development and single-replica server: no TLS, no authorization,
// no metrics endpoint and no HTTP API. The Web UI is a separate package,
// internal/temporalui, pointed at FrontendAddress. Production deployments of
// prdeploy use an existing Temporal cluster instead. The SQLite plugin keeps
// its database connection open until the process exits, even after Stop.
//
// # Imports
//
// It is the only package that imports go.temporal.io/server (each test
// binary that links it links the whole server), and it imports nothing of
// prdeploy: serve and the test harnesses start it.
package devserver
