package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildInfo is what `prdeploy version` reports: enough to say which code
// runs and against which Temporal it was built.
type buildInfo struct {
	// Version is the module version ("(devel)" for a build from a
	// checkout).
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from, when known;
	// Modified says the work tree had local changes.
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	// TemporalSDK and TemporalServer are the versions of the Temporal
	// modules linked in (the server is the embedded one).
	TemporalSDK    string `json:"temporalSDK"`
	TemporalServer string `json:"temporalServer"`
}

// readBuildInfo reads the versions the Go toolchain recorded in the binary.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(unknown)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		TemporalSDK: "(not linked)", TemporalServer: "(not linked)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version + " (replaces " + d.Version + ")"
		}
		switch d.Path {
		case "go.temporal.io/sdk":
			b.TemporalSDK = v
		case "go.temporal.io/server":
			b.TemporalServer = v
		}
	}
	return b
}

// versionText is `prdeploy version` and `prdeploy --version`.
func versionText(b buildInfo) string {
	var s strings.Builder
	fmt.Fprintf(&s, "prdeploy %s\n", b.Version)
	commit := b.Commit
	if commit == "" {
		commit = "unknown (built without VCS information)"
	}
	if b.CommitTime != "" {
		commit += " (" + b.CommitTime + ")"
	}
	if b.Modified {
		commit += ", with local changes"
	}
	fmt.Fprintf(&s, "  commit:          %s\n", commit)
	fmt.Fprintf(&s, "  go:              %s %s\n", b.Go, b.Platform)
	fmt.Fprintf(&s, "  temporal sdk:    %s\n", b.TemporalSDK)
	fmt.Fprintf(&s, "  temporal server: %s\n", b.TemporalServer)
	return s.String()
}

func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version [--output text|json]",
		Short: "Print prdeploy's version, commit, Go version and the Temporal SDK and server it was built with",
		Args:  wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuildInfo()
			switch output {
			case "text":
				_, err := fmt.Fprint(cmd.OutOrStdout(), versionText(b))
				return err
			case "json":
				return writeJSON(cmd.OutOrStdout(), b)
			}
			return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
