//go:build pins

// Package pins keeps the dependency versions named in DESIGN.md in go.mod
// before the code that uses them lands, so that `go mod tidy` does not drop
// them and later work does not fight the resolver. It is never built: the
// `pins` build tag is not set by any target.
package pins

import (
	_ "github.com/bradleyfalzon/ghinstallation/v2"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/cel-go/cel"
	_ "github.com/google/go-github/v60/github"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/slack-go/slack"
	_ "github.com/spf13/cobra"
	_ "github.com/temporalio/ui-server/v2/server"
	_ "go.temporal.io/api/workflowservice/v1"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/server/temporaltest"
	_ "gocloud.dev/blob"
	_ "gocloud.dev/secrets"
	_ "k8s.io/client-go/kubernetes"
	_ "sigs.k8s.io/kustomize/api/krusty"
)
