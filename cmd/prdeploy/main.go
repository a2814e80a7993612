// Command prdeploy is the GitOps deployer driven by pull requests: it checks
// deploy plans (`prdeploy plan`), and later serves webhooks and runs the
// deployment workflows.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1 // the input was read and is wrong (an invalid plan)
	exitUsage   = 2 // the command line is wrong
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// invalidError marks input that was read and found wrong; its details were
// already printed.
type invalidError struct{ msg string }

func (e invalidError) Error() string { return e.msg }

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var inv invalidError
	var use usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &inv):
		fmt.Fprintln(stderr, "prdeploy:", err)
		return exitInvalid
	case errors.As(err, &use):
		fmt.Fprintln(stderr, "prdeploy:", err)
		fmt.Fprintln(stderr, "Run 'prdeploy --help' for usage.")
		return exitUsage
	default:
		fmt.Fprintln(stderr, "prdeploy:", err)
		return exitInvalid
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "prdeploy",
		Short:         "GitOps deployer driven by pull requests",
		Long:          "prdeploy rolls deploy plans out across tenants and services from merged pull requests,\nwith safety checks, approval gates and rollbacks.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newPlanCmd(), newDemoCmd(), newServeCmd(), newStatusCmd(), newRestartCmd())
	return root
}

// wrapArgs turns cobra's argument validation errors into usage errors.
func wrapArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
