// Package gitrepo reads a commit of a Git repository as an fs.FS, with
// go-git: what a merged plan deploys is exactly what its commit holds, never
// a working tree that may have moved on.
//
// It owns reading commits with go-git (Local: repositories on disk, for
// tests and a git cache); it imports workflows (the port it implements)
// and nothing else of prdeploy.
package gitrepo
