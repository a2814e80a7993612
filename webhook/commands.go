package webhook

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"

	"github.com/prdeploy/prdeploy/commands"
)

// CommandName is a comment command without its slash (commands.Name).
type CommandName = commands.Name

// The commands prdeploy understands in pull request comments; their
// definitions are commands.All.
const (
	CommandApprove   = commands.Approve
	CommandUnapprove = commands.Unapprove
	CommandPause     = commands.Pause
	CommandResume    = commands.Resume
	CommandHold      = commands.Hold
	CommandRollback  = commands.Rollback
	CommandCancel    = commands.Cancel
	CommandStatus    = commands.Status
	CommandHelp      = commands.Help
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

var (
	// commandWord is what may follow the slash for a line to be a command
	// attempt at all: "/usr/bin/env" or "/ 2" is prose, "/deploy" is an
	// unknown command.
	commandWord = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	tenantName  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// MaxCommentBytes bounds the comment ParseCommands reads: GitHub keeps
// comments to 65,536 characters, so a larger body did not come from it.
const MaxCommentBytes = 262144

// ParseCommands reads the commands in a pull request comment, as a reader
// of the rendered comment sees them. The comment is parsed as GitHub
// Flavored Markdown (goldmark), and a command is a line of a top-level
// paragraph that starts with a slash and a command name (any case); there
// is at most one per line. Code (fenced, indented or inline), quotes (lazy
// continuations included), lists, headings, tables, HTML blocks and
// comments, and anything inside an HTML element such as <details> or <pre>
// are never read. A comment with no command gives no result; an unknown
// command or a bad argument gives an error result.
func ParseCommands(body string) []Command {
	if len(body) > MaxCommentBytes {
		return nil
	}
	src := []byte(strings.ReplaceAll(body, "\r\n", "\n"))
	doc := markdown.Parser().Parse(text.NewReader(src))
	p := commentParser{src: src}
	depth := 0 // open HTML elements around the current top-level block
	for n := doc.FirstChild(); n != nil && !p.done; n = n.NextSibling() {
		switch b := n.(type) {
		case *ast.HTMLBlock:
			depth = htmlDepth(depth, blockText(src, b))
		case *ast.Paragraph:
			if depth == 0 {
				p.paragraph(b)
			}
			depth = htmlDepth(depth, inlineHTML(src, b))
		}
	}
	return p.out
}

// markdown parses like GitHub: CommonMark plus tables, strikethrough,
// autolinks and task lists.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

type commentParser struct {
	src  []byte
	out  []Command
	done bool
}

// paragraph reads the commands of one top-level paragraph: each of its
// lines that does not begin inside inline code or inline HTML.
func (p *commentParser) paragraph(para *ast.Paragraph) {
	hidden := hiddenSpans(para)
	lines := para.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		raw := string(seg.Value(p.src))
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" {
			continue
		}
		at := seg.Start + (len(raw) - len(strings.TrimLeft(raw, " \t")))
		if insideSpan(hidden, at) {
			continue
		}
		no := 1 + strings.Count(string(p.src[:seg.Start]), "\n")
		c, ok := parseLine(trimmed, no)
		if !ok {
			continue
		}
		if len(p.out) == MaxCommands {
			p.out = append(p.out, Command{Line: no, Text: c.Text,
				Error: fmt.Sprintf("A comment may hold at most %d commands; this one and the ones after it were not run.", MaxCommands)})
			p.done = true
			return
		}
		p.out = append(p.out, c)
	}
}

// hiddenSpans are the [start, stop) byte ranges of a paragraph's inline
// code spans and inline HTML (an HTML comment may run across lines).
func hiddenSpans(para *ast.Paragraph) [][2]int {
	var spans [][2]int
	_ = ast.Walk(para, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch x := n.(type) {
		case *ast.CodeSpan:
			lo, hi := -1, -1
			for c := x.FirstChild(); c != nil; c = c.NextSibling() {
				if t, ok := c.(*ast.Text); ok {
					if lo < 0 {
						lo = t.Segment.Start
					}
					hi = t.Segment.Stop
				}
			}
			if lo >= 0 {
				// The opening backticks sit before the first segment.
				spans = append(spans, [2]int{lo - 1, hi + 1})
			}
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			if x.Segments.Len() > 0 {
				spans = append(spans, [2]int{x.Segments.At(0).Start - 1, x.Segments.At(x.Segments.Len() - 1).Stop})
			}
		}
		return ast.WalkContinue, nil
	})
	return spans
}

// insideSpan reports whether offset falls inside one of spans (after its
// first byte).
func insideSpan(spans [][2]int, offset int) bool {
	for _, sp := range spans {
		if offset > sp[0] && offset < sp[1] {
			return true
		}
	}
	return false
}

func blockText(src []byte, b *ast.HTMLBlock) string {
	var sb strings.Builder
	lines := b.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		sb.Write(seg.Value(src))
	}
	if b.HasClosure() {
		closure := b.ClosureLine
		sb.Write(closure.Value(src))
	}
	return sb.String()
}

func inlineHTML(src []byte, para *ast.Paragraph) string {
	var sb strings.Builder
	_ = ast.Walk(para, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if x, ok := n.(*ast.RawHTML); ok && entering {
			for i := 0; i < x.Segments.Len(); i++ {
				seg := x.Segments.At(i)
				sb.Write(seg.Value(src))
			}
		}
		return ast.WalkContinue, nil
	})
	return sb.String()
}

var (
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlTag     = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*?(/?)>`)
	voidTags    = map[string]bool{"br": true, "hr": true, "img": true, "input": true, "wbr": true, "source": true, "meta": true, "link": true, "col": true, "area": true, "base": true, "embed": true, "param": true, "track": true}
)

// htmlDepth follows the elements the HTML in s opens and closes: while any
// is open, what follows is inside it (a <details> body, a <pre>), and no
// command there is read. An unterminated comment hides the rest.
func htmlDepth(depth int, s string) int {
	s = htmlComment.ReplaceAllString(s, "")
	if strings.Contains(s, "<!--") {
		return depth + 1<<20
	}
	for _, m := range htmlTag.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[2])
		switch {
		case voidTags[name] || m[3] == "/":
		case m[1] == "/":
			depth = max(depth-1, 0)
		default:
			depth++
		}
	}
	return depth
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
	spec, known := commands.Lookup(word)
	if !known {
		c.Error = fmt.Sprintf("Unknown command `/%s`. prdeploy understands %s; comment `/help` for what each does.", word, commandList())
		return c, true
	}
	c.Name = spec.Name
	if spec.Args != commands.ArgsTenants {
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
			spec.Name, strings.Join(bad, ", "), notTenantNames(len(bad)))
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
	for _, s := range commands.All {
		names = append(names, "`/"+string(s.Name)+"`")
	}
	return strings.Join(names, ", ")
}

// HelpText is the Markdown reply to /help: every command, what it does,
// and how commands are written.
func HelpText() string {
	var b strings.Builder
	b.WriteString("#### prdeploy commands\n\n")
	b.WriteString("Comment on the pull request, one command per line, at the start of the line.\n\n")
	b.WriteString("| command | what it does |\n|---|---|\n")
	for _, s := range commands.All {
		usage := "`" + s.Usage + "`"
		if len(s.Aliases) > 0 {
			var as []string
			for _, a := range s.Aliases {
				as = append(as, "`/"+a+"`")
			}
			usage += " (also " + strings.Join(as, ", ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", usage, s.Help)
	}
	b.WriteString("\nCommand names are not case-sensitive. Only plain paragraphs are read: lines in code (blocks or inline), quotes (`>`), lists, HTML comments and elements such as `<details>` are not, ")
	b.WriteString("and neither are edited comments: post a new comment instead. ")
	fmt.Fprintf(&b, "A comment may hold up to %d commands; they run in order. ", MaxCommands)
	b.WriteString("Tenant names are the names in fleet.yaml, for example `/rollback acme-prod globex-eu`. ")
	b.WriteString("Only people with write access to the repository are answered; prdeploy ignores commands from anyone else.\n")
	return b.String()
}
