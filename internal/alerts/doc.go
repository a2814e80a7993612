// Package alerts is the noCriticalAlerts safety check: it asks
// Alertmanager (API v2) for active, unsilenced, uninhibited alerts that
// match the plan's matchers.
//
// It owns the Alertmanager adapter, a workflows.Prober for the check kind
// noCriticalAlerts; alertstest runs a real Alertmanager for its tests.
//
// It imports workflows (the port it implements) and nothing else of
// prdeploy; the domain packages never import it (internal/archtest).
package alerts
