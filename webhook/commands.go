package webhook

import (
	"fmt"
	"regexp"
	"strings"
)

// CommandName is a comment command without its slash.
type CommandName string

// The commands prdeploy understands in pull request comments.
const (
	CommandApprove  CommandName = "approve"
	CommandPause    CommandName = "pause"
	CommandResume   CommandName = "resume"
	CommandRollback CommandName = "rollback"
	CommandCancel   CommandName = "cancel"
	CommandStatus   CommandName = "status"
	CommandHelp     CommandName = "help"
)

// MaxCommands is how many commands one comment may hold; lines past it
// get one error result and are not run.
const MaxCommands = 10

// Command is one line of a comment that starts with a slash: a command to
// run, or an error result that explains to its author what is wrong with
// the line (Error is set). An error result has a Name when the command is
// known and only its arguments are wrong, and no Name for an unknown one.
type Command struct {
	Name CommandName `json:"name,omitempty"`
	// Args are the tenants of /rollback (none means every tenant the
	// deployment touched).
	Args []string `json:"args,omitempty"`
	// Note is the free text after the command: the note of an approval, the
	// reason for /pause, /resume or /cancel.
	Note string `json:"note,omitempty"`
	// Line is the 1-based line of the comment the command is on.
	Line int `json:"line"`
	// Text is the line as written, without surrounding spaces.
	Text string `json:"text"`
	// Error says, in Markdown fit to post as a reply, why the line is not a
	// valid command.
	Error string `json:"error,omitempty"`
}

// OK reports whether c is a command to run rather than an error result.
func (c Command) OK() bool { return c.Error == "" && c.Name != "" }

// commandSpec describes one command, for the parser and for HelpText.
type commandSpec struct {
	name    CommandName
	aliases []string
	usage   string
	help    string
	tenants bool // the arguments are tenant names; otherwise the rest of the line is a note
}

var commandSpecs = []commandSpec{
	{name: CommandApprove, usage: "/approve [note]",
		help: "Approve the gate the deployment waits at now. The note is recorded with the approval. Who may approve is set by the deploy policies on the base branch."},
	{name: CommandPause, aliases: []string{"hold"}, usage: "/pause [reason]",
		help: "Start no new tenant; tenants in progress finish. The reason is shown in the status."},
	{name: CommandResume, usage: "/resume [reason]",
		help: "Continue a paused deployment; tenants paused by a failed safety check retry."},
	{name: CommandRollback, usage: "/rollback [tenant…]", tenants: true,
		help: "Stop the deployment and roll back the named tenants, or every tenant it touched when none is named."},
	{name: CommandCancel, usage: "/cancel [reason]",
		help: "Stop the deployment and the tenants in progress. Nothing is rolled back."},
	{name: CommandStatus,
		usage: "/status",
		help:  "Reply with where the deployment is: phase, wave, tenants done, waiting gates."},
	{name: CommandHelp, usage: "/help",
		help: "Reply with this list."},
}

var (
	// commandWord is what may follow the slash for a line to be a command
	// attempt at all: "/usr/bin/env" or "/ 2" is prose, "/deploy" is an
	// unknown command.
	commandWord = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	tenantName  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// lookupCommand finds the command named word (lowercase), aliases included.
func lookupCommand(word string) (commandSpec, bool) {
	for _, s := range commandSpecs {
		if string(s.name) == word {
			return s, true
		}
		for _, a := range s.aliases {
			if a == word {
				return s, true
			}
		}
	}
	return commandSpec{}, false
}

// ParseCommands reads the commands in a pull request comment. A command is
// a line that starts, after optional spaces, with a slash and a command
// name (any case); there is at most one per line. Lines in fenced code
// blocks (``` or ~~~), quoted lines (starting with >) and lines that begin
// inside an inline code span are not read. A comment with no command gives
// no result; an unknown command or a bad argument gives an error result.
func ParseCommands(body string) []Command {
	p := commentParser{}
	lines := strings.Split(body, "\n")
	for i, raw := range lines {
		raw = strings.TrimSuffix(raw, "\r")
		trimmed := strings.TrimLeft(raw, " \t")
		switch {
		case p.fenceLen > 0:
			if closesFence(trimmed, p.fenceChar, p.fenceLen) {
				p.fenceLen = 0
			}
		case fenceOpen(trimmed) > 0:
			p.flush()
			p.fenceChar, p.fenceLen = trimmed[0], fenceOpen(trimmed)
		case strings.HasPrefix(trimmed, ">"), strings.TrimSpace(trimmed) == "":
			p.flush()
		default:
			p.para = append(p.para, paraLine{no: i + 1, text: raw, indent: len(raw) - len(trimmed)})
		}
		if p.done {
			break
		}
	}
	p.flush()
	return p.out
}

type paraLine struct {
	no     int // 1-based
	text   string
	indent int // bytes of leading spaces
}

type commentParser struct {
	fenceChar byte
	fenceLen  int
	para      []paraLine // consecutive lines of one paragraph
	out       []Command
	done      bool
}

// flush reads the commands of the paragraph collected so far. A paragraph
// is read as a whole because an inline code span may run across its lines.
func (p *commentParser) flush() {
	if len(p.para) == 0 || p.done {
		p.para = p.para[:0]
		return
	}
	var joined strings.Builder
	starts := make([]int, len(p.para))
	for i, l := range p.para {
		if i > 0 {
			joined.WriteByte('\n')
		}
		starts[i] = joined.Len() + l.indent
		joined.WriteString(l.text)
	}
	spans := codeSpans(joined.String())
	for i, l := range p.para {
		if insideSpan(spans, starts[i]) {
			continue
		}
		c, ok := parseLine(strings.TrimSpace(l.text), l.no)
		if !ok {
			continue
		}
		if len(p.out) == MaxCommands {
			p.out = append(p.out, Command{Line: l.no, Text: c.Text,
				Error: fmt.Sprintf("A comment may hold at most %d commands; this one and the ones after it were not run.", MaxCommands)})
			p.done = true
			break
		}
		p.out = append(p.out, c)
	}
	p.para = p.para[:0]
}

// parseLine reads one trimmed line; ok is false when it is not a command
// attempt.
func parseLine(line string, no int) (Command, bool) {
	if !strings.HasPrefix(line, "/") {
		return Command{}, false
	}
	token, rest := line, ""
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		token, rest = line[:i], line[i:]
	}
	// "/approve." and "/approve:" are /approve.
	word := strings.TrimRight(strings.ToLower(token[1:]), ".,:;!?")
	if !commandWord.MatchString(word) {
		return Command{}, false
	}
	rest = strings.TrimSpace(rest)
	c := Command{Line: no, Text: line}
	spec, known := lookupCommand(word)
	if !known {
		c.Error = fmt.Sprintf("Unknown command `/%s`. prdeploy understands %s; comment `/help` for what each does.", word, commandList())
		return c, true
	}
	c.Name = spec.name
	if !spec.tenants {
		c.Note = rest
		return c, true
	}
	var bad []string
	for _, t := range strings.Fields(rest) {
		if !tenantName.MatchString(t) {
			bad = append(bad, codeSpan(t))
			continue
		}
		if !contains(c.Args, t) {
			c.Args = append(c.Args, t)
		}
	}
	if len(bad) > 0 {
		c.Args = nil
		c.Error = fmt.Sprintf("`/%s`: %s %s. Tenant names are lowercase letters, digits and `-`, start with a letter or digit, and have at most 63 characters, as in fleet.yaml. Nothing was rolled back.",
			spec.name, strings.Join(bad, ", "), notTenantNames(len(bad)))
	}
	return c, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func notTenantNames(n int) string {
	if n == 1 {
		return "is not a tenant name"
	}
	return "are not tenant names"
}

// codeSpan quotes user text for a Markdown reply: in a code span (so
// @mentions and links do not render), without backticks, and short.
func codeSpan(s string) string {
	s = strings.ReplaceAll(s, "`", "")
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	if s == "" {
		return "(empty)"
	}
	return "`" + s + "`"
}

func commandList() string {
	var names []string
	for _, s := range commandSpecs {
		names = append(names, "`/"+string(s.name)+"`")
	}
	return strings.Join(names, ", ")
}

// fenceOpen returns the length of the fence a trimmed line opens (three or
// more backticks or tildes), or 0.
func fenceOpen(trimmed string) int {
	if len(trimmed) < 3 || (trimmed[0] != '`' && trimmed[0] != '~') {
		return 0
	}
	n := runLen(trimmed, 0)
	if n < 3 {
		return 0
	}
	return n
}

// closesFence reports whether a trimmed line closes a fence of n chars c:
// at least n of them and nothing else.
func closesFence(trimmed string, c byte, n int) bool {
	if len(trimmed) == 0 || trimmed[0] != c {
		return false
	}
	m := runLen(trimmed, 0)
	return m >= n && strings.TrimSpace(trimmed[m:]) == ""
}

// runLen is the length of the run of s[i] starting at i.
func runLen(s string, i int) int {
	j := i
	for j < len(s) && s[j] == s[i] {
		j++
	}
	return j - i
}

// codeSpans returns the [open, close) byte ranges of the inline code spans
// in s: a run of n backticks up to the next run of exactly n backticks. A
// run with no closing run is literal text.
func codeSpans(s string) [][2]int {
	var spans [][2]int
	unclosed := map[int]bool{} // run lengths known to have no closing run further on
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		n := runLen(s, i)
		open := i
		i += n
		if unclosed[n] {
			continue
		}
		end := -1
		for k := i; k < len(s); {
			if s[k] != '`' {
				k++
				continue
			}
			m := runLen(s, k)
			if m == n {
				end = k + m
				break
			}
			k += m
		}
		if end < 0 {
			unclosed[n] = true
			continue
		}
		spans = append(spans, [2]int{open, end})
		i = end
	}
	return spans
}

// insideSpan reports whether offset falls after the opening backticks of a
// span and before its end.
func insideSpan(spans [][2]int, offset int) bool {
	for _, sp := range spans {
		if offset > sp[0] && offset < sp[1] {
			return true
		}
	}
	return false
}

// HelpText is the Markdown reply to /help: every command, what it does,
// and how commands are written.
func HelpText() string {
	var b strings.Builder
	b.WriteString("#### prdeploy commands\n\n")
	b.WriteString("Comment on the pull request, one command per line, at the start of the line.\n\n")
	b.WriteString("| command | what it does |\n|---|---|\n")
	for _, s := range commandSpecs {
		usage := "`" + s.usage + "`"
		if len(s.aliases) > 0 {
			var as []string
			for _, a := range s.aliases {
				as = append(as, "`/"+a+"`")
			}
			usage += " (also " + strings.Join(as, ", ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", usage, s.help)
	}
	b.WriteString("\nCommand names are not case-sensitive. Lines in code blocks, in inline code and in quotes (`>`) are not read, ")
	b.WriteString("and neither are edited comments: post a new comment instead. ")
	fmt.Fprintf(&b, "A comment may hold up to %d commands; they run in order. ", MaxCommands)
	b.WriteString("Tenant names are the names in fleet.yaml, for example `/rollback acme-prod globex-eu`.\n")
	return b.String()
}
