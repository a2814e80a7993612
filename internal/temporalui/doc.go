// Package temporalui serves the Temporal Web UI inside the prdeploy
// process, next to the embedded Temporal server (internal/devserver), the
// way `temporal server start-dev` does.
//
// # Model
//
// The UI is two things served from one HTTP listener by
// github.com/temporalio/ui-server/v2: the single-page application (its
// compiled assets are embedded in that module, about 6 MB) and an HTTP/JSON
// API under /api/v1 that the page calls and the UI server translates into
// gRPC calls to the Temporal frontend. The UI therefore needs nothing but the
// frontend's address; it keeps no state of its own. Every path that is
// neither the API nor an asset serves the application's index page, and the
// application routes in the browser: a link to a workflow (WorkflowURL)
// works when opened cold.
//
// The UI listens on Options.Listen, loopback and a free port by default.
// Links that prdeploy prints or posts (a deployment's workflow page in a PR
// comment) are built from URL, which is Options.PublicURL when the UI is
// reached through a reverse proxy, and the listen address otherwise. A path
// in PublicURL is the prefix the UI is served under: the proxy forwards it
// unchanged. Over https the UI's CSRF cookie is marked Secure.
//
// The UI server writes no request logs and no banner (its HideLogs setting)
// and does not look for new UI versions; the page fetches no release news.
//
// # What it is not
//
// It is the UI of the embedded development server: it dials the frontend
// in plaintext, with no TLS and no authorization, and anyone who can reach
// Options.Listen can signal, reset or terminate workflows through it. Keep it
// on loopback unless a proxy in front of it authenticates users.
//
// Two behaviours come from the UI server and cannot be changed from here.
// Its gRPC connection to the frontend is not closed by Stop (it idles until
// the process exits). And its rare internal errors (a panic in a handler, a
// failed response write) are written to standard output; Start checks the
// port first, because a UI server that cannot bind exits the process.
//
// # Imports
//
// It is the only package that imports the UI server
// (github.com/temporalio/ui-server) and imports nothing of prdeploy.
package temporalui
