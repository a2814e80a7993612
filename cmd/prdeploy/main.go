// Command prdeploy is the GitOps deployer driven by pull requests: it checks
// deploy plans (`prdeploy plan`), and later serves webhooks and runs the
// deployment workflows.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command (docs/operations.md#exit-codes):
// 0 it worked (a plan is valid, a restart succeeded), 1 it did not (an
// invalid plan, a denying policy, an unreachable Temporal, a failed
// restart), 2 the command line is wrong (an unknown command or flag, a
// missing argument), and nothing was done.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
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
	cmd, err := root.ExecuteC()
	var use usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &use):
		fmt.Fprintln(stderr, "prdeploy:", err)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
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
		Long:          "prdeploy rolls deploy plans out across tenants and services from merged pull requests,\nwith safety checks, approval gates and rollbacks.\n\nExit codes: 0 ok, 1 failed or invalid, 2 wrong command line.",
		Version:       readBuildInfo().Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate(versionText(readBuildInfo()))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newPlanCmd(), newPolicyCmd(), newDemoCmd(), newServeCmd(), newStatusCmd(), newRestartCmd(), newVersionCmd())
	// Added now, not when Execute runs, so that they refuse typos too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	requireKnownSubcommands(root)
	return root
}

// requireKnownSubcommands makes every command that groups others (the
// root, `plan`, `policy`) refuse an unknown subcommand with exit 2 and a
// "did you mean", instead of printing its help and exiting 0: a typo in CI
// (`prdeploy plan valdiate …`) must fail the build. Without a subcommand
// it prints its help (exit 0), as gh and kubectl do.
func requireKnownSubcommands(cmd *cobra.Command) {
	if !cmd.HasSubCommands() {
		return
	}
	for _, c := range cmd.Commands() {
		requireKnownSubcommands(c)
	}
	if cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += `; did you mean "` + strings.Join(s, `" or "`) + `"?`
		} else {
			var names []string
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, c.Name())
				}
			}
			msg += "; commands: " + strings.Join(names, ", ")
		}
		return usageError{errors.New(msg)}
	}
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
