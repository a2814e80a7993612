package commands

// Name is a command's name without its slash, as written in a comment
// ("/approve") and as the update it sends is named ("approve").
type Name string

// The commands. Their names are wire names: never rename one.
const (
	Approve   Name = "approve"
	Unapprove Name = "unapprove"
	Pause     Name = "pause"
	Resume    Name = "resume"
	Hold      Name = "hold"
	Rollback  Name = "rollback"
	Cancel    Name = "cancel"
	Status    Name = "status"
	Help      Name = "help"
)

// Args is what follows a command on its line.
type Args int

const (
	// ArgsNote: the rest of the line is free text (a note or a reason).
	ArgsNote Args = iota
	// ArgsTenants: the rest of the line is tenant names.
	ArgsTenants
)

// Audience is who may use a command. Everyone must have write access to
// the repository; approvals are judged by the deploy policies as well.
type Audience int

const (
	// Writers: anyone with write access to the repository.
	Writers Audience = iota
	// Approvers: writers whom the base branch's deploy policies accept
	// for the waiting gate.
	Approvers
)

// Slack action identifiers that are not a command's own name: the
// question asked about a tenant paused on a failure. Their value is
// "<deployment workflow ID>|<tenant>".
const (
	// ActionInvestigate is Slack's "Investigate (keep paused)": /hold.
	ActionInvestigate = "investigate"
	// ActionRollbackTenant is Slack's "Roll back now": /rollback <tenant>.
	ActionRollbackTenant = "rollback-tenant"
)

// Command is the definition of one command.
type Command struct {
	Name Name
	// Aliases are other names a comment may use.
	Aliases []string
	// Usage and Help are the command's line in the /help reply.
	Usage string
	Help  string
	Args  Args
	Who   Audience
	// Update says the command is sent to the deployment as the
	// Orchestration update of its name; status and help are answered by
	// prdeploy itself.
	Update bool
	// Button says the command is also a button, on the check run and in
	// Slack, whose identifier is its name.
	Button bool
	// Actions are the Slack action identifiers that stand for the command
	// besides its name (ActionInvestigate, ActionRollbackTenant).
	Actions []string
}

// UpdateName is the name of the Orchestration update the command sends,
// or "" when it sends none.
func (c Command) UpdateName() string {
	if !c.Update {
		return ""
	}
	return string(c.Name)
}

// All are the commands, in the order /help lists them.
var All = []Command{
	{Name: Approve, Usage: "/approve [note]", Who: Approvers, Update: true, Button: true,
		Help: "Approve the gate the deployment waits at now. The note is recorded with the approval. Who may approve is set by the deploy policies on the base branch."},
	{Name: Unapprove, Usage: "/unapprove [reason]", Update: true,
		Help: "Withdraw your own approvals of the gate the deployment waits at now (comments, reviews and buttons alike). An open gate stays open: use `/pause` or `/rollback` then."},
	{Name: Pause, Usage: "/pause [reason]", Update: true, Button: true,
		Help: "Start no new tenant; tenants in progress finish. The reason is shown in the status."},
	{Name: Resume, Usage: "/resume [reason]", Update: true, Button: true,
		Help: "Continue a paused deployment; tenants paused by a failed safety check retry."},
	{Name: Hold, Usage: "/hold [reason]", Update: true, Actions: []string{ActionInvestigate},
		Help: "Keep the tenants paused by a failed safety check paused, without their automatic rollback, while you investigate; then `/resume` or `/rollback`."},
	{Name: Rollback, Usage: "/rollback [tenant…]", Args: ArgsTenants, Update: true, Button: true, Actions: []string{ActionRollbackTenant},
		Help: "Stop the deployment and roll back the named tenants, or every tenant it touched when none is named."},
	{Name: Cancel, Usage: "/cancel [reason]", Update: true,
		Help: "Stop the deployment and the tenants in progress. Nothing is rolled back."},
	{Name: Status, Usage: "/status",
		Help: "Reply with where the deployment is: phase, wave, tenants done, waiting gates."},
	{Name: Help, Usage: "/help",
		Help: "Reply with this list."},
}

// Lookup finds the command a comment names by word (lowercase), aliases
// included.
func Lookup(word string) (Command, bool) {
	for _, c := range All {
		if string(c.Name) == word {
			return c, true
		}
		for _, a := range c.Aliases {
			if a == word {
				return c, true
			}
		}
	}
	return Command{}, false
}

// Get is the definition of a command by name.
func Get(n Name) (Command, bool) {
	for _, c := range All {
		if c.Name == n {
			return c, true
		}
	}
	return Command{}, false
}

// ForAction finds the command a button stands for: a command that is a
// button, by its name, or one of a command's Actions.
func ForAction(id string) (Command, bool) {
	for _, c := range All {
		if c.Button && string(c.Name) == id {
			return c, true
		}
		for _, a := range c.Actions {
			if a == id {
				return c, true
			}
		}
	}
	return Command{}, false
}
