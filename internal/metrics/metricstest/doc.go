// Package metricstest reads what a /metrics handler serves, for tests:
// Scrape serves it on a loopback HTTP server, GETs it once, and returns
// its samples by series.
//
// It is a test harness: only tests import it, and it imports nothing of
// prdeploy.
package metricstest
