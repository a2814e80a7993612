// Package commands is prdeploy's vocabulary of people's commands: one
// definition per command (its name, its arguments, who may use it, its
// help, the Orchestration update it sends, the buttons that stand for it),
// from which the comment parser and its /help reply (webhook), the update
// names and the command handling (workflows), the routing of button presses
// (internal/temporalx), and the check-run and Slack buttons all derive.
//
// Adding a command is one entry in All plus its handler in the deployment
// workflow; the names here are wire names (comments, update names, button
// identifiers) and never change.
//
// The package is pure and imports nothing of prdeploy, so that webhook and
// workflows, which must not import each other, both may import it.
package commands
