// Command prdeploy is the command line: `prdeploy serve` (the server, see
// internal/serve), `prdeploy demo`, `plan validate` and `plan show`,
// `policy validate`, `status`, `restart` and `version`.
//
// It owns flags, configuration loading, output formats (text, Markdown,
// JSON) and exit codes (0 worked, 1 did not, 2 the command line is
// wrong), and it wires the other packages together; it may import any of
// them. It holds no deploy decision of its own: what a plan, a policy or a
// restart means is decided in planner and policies, which it calls.
package main
