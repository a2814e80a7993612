// Package alertstest runs a real Alertmanager for tests: Debian's
// prometheus-alertmanager (or the binary named by $PRDEPLOY_ALERTMANAGER),
// on a free loopback port with a throwaway config and storage, with
// helpers to post alerts and silences through its API v2.
//
// Without the binary, tests are skipped with that reason, unless
// PRDEPLOY_REAL=required (make test, CI), which makes it a failure.
//
// It is a test harness: only tests import it, and it imports nothing of
// prdeploy.
package alertstest
