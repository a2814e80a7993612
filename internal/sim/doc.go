// Package sim is a simulated fleet for tests and the demo's simulated-cluster
// mode: a Cluster whose rollouts take a set time and can be made to fail, a
// Prober whose checks can be made to fail, a plan source backed by execution
// plans in memory, and a team directory. Every call is recorded, so tests
// can count applies per target and see which work overlapped.
//
// It also holds the demo's and the harnesses' policy clock (PolicyTime),
// so that they judge the example policies the same on any day.
//
// It implements the workflows' ports with planner and policies types and
// nothing else of prdeploy: no adapter, no SDK client beyond what
// workflows brings, so a test of the workflows can run on it alone.
package sim
