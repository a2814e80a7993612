// Package gittest makes real Git repositories for tests: a work tree from
// a folder and files, committed with go-git.
//
// It is a test harness: only tests and other harnesses import it, and it
// imports nothing of prdeploy.
package gittest
