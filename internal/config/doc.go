// Package config reads prdeploy.yaml, the configuration of `prdeploy
// serve`: strictly (unknown keys and wrong types are errors at
// file:line:col, like plans), with secrets taken from files or environment
// variables, never from the file itself, and never printed.
//
// It owns the file's schema, its defaults and its checks; what a key does
// is done by internal/serve. It imports planner only (for its
// file:line:col errors), never an adapter or an SDK client.
package config
