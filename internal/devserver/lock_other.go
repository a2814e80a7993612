//go:build !unix

package devserver

// lockDataDir is a no-op where flock is not available; running two servers
// on one data dir is then the user's responsibility.
func lockDataDir(string) (unlock func(), err error) { return func() {}, nil }
