// Package metrics is what `prdeploy serve` exposes on /metrics for
// Prometheus: how webhooks are answered, how GitHub and Slack respond, how
// long deployments wait at gates and locks, and how many deployments are
// in each state.
//
// # Model
//
// The packages that do the work know nothing of Prometheus. Each declares
// an optional observer, nil meaning off, that it calls with plain values
// when something happens: webhook.Config.Observe and
// webhook.SlackConfig.Observe per request, githubapp.Config.Observe per
// HTTP attempt, slack.Config.ObserveError per failed call. A Metrics
// supplies a method for each, and turns the calls into counters and
// gauges in a registry of its own, next to the Go runtime's and the
// process's metrics.
//
// Workflows cannot call out: whatever they do must replay identically.
// They record their waits on the SDK's metrics handler
// (workflow.GetMetricsHandler), which adds nothing to the history and is
// silent while a workflow replays, so a wait is observed once however
// often its workflow is replayed; activities count on the same handler
// (activity.GetMetricsHandler). TemporalHandler is that handler for the
// worker's client: it maps the workflows' two timers to histograms and the
// ignored-commands counter to a counter, and drops the SDK's own metrics.
//
// Deployment counts are not kept in the process at all: they are asked of
// Temporal's visibility store (one count per execution status) at each
// scrape, through a DeploymentCounter, within a short timeout. A failed
// count exports no deployment gauge for that scrape, rather than a partial
// set, and counts the failure instead.
//
// # Metrics
//
//	prdeploy_webhooks_total{source,event,result}        counter
//	    source: github, slack. event: the X-GitHub-Event or the Slack
//	    interaction type; "unknown" when missing, or when unverified and
//	    not one prdeploy uses. result: accepted, ignored, bad_signature,
//	    bad_request, error.
//	prdeploy_github_requests_total{method,code}         counter
//	    every API attempt, retries included; code "none" when no answer came.
//	prdeploy_github_rate_limit_remaining                gauge
//	    X-RateLimit-Remaining of the latest answer that had it; absent
//	    until one did. The App, each installation and a token have
//	    separate budgets: the value is the latest seen, whichever it was.
//	prdeploy_slack_errors_total{method}                 counter
//	    calls failed after their retry: chat.postMessage, chat.update,
//	    users.lookupByEmail, users.info, response_url.
//	prdeploy_commands_ignored_total{reason}             counter
//	    pull request commands neither run nor answered; reason
//	    not_writer: the sender has no write access to the repository.
//	prdeploy_gate_wait_seconds{cluster}                 histogram
//	    from a wave reaching its gate to the approval that opened it.
//	prdeploy_lock_wait_seconds{cluster}                 histogram
//	    from a lock request to its grant, for requests that queued
//	    behind another holder (locks granted at once are not counted).
//	prdeploy_deployments{state}                         gauge, at scrape
//	    Orchestration workflows by state: running, completed, failed,
//	    canceled, terminated, timed_out (closed ones within retention).
//	prdeploy_deployments_scrape_errors_total            counter
//	    scrapes whose deployment count failed or timed out.
//	go_*, process_*                                     the runtime's and process's
//
// # Imports
//
// It owns the Prometheus registry and the observers the adapters call; it
// imports workflows (the deployment counts' types) and githubapp (the API
// call it observes), never the domain's decisions, and the domain
// packages never import it: serve wires its observers in.
package metrics
