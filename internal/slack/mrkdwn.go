package slack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Markdown converts GitHub-flavoured Markdown, as prdeploy writes it for
// check runs and PR comments, to Slack's mrkdwn:
//
//	**bold**, __bold__      *bold*
//	*italic*                _italic_
//	~~struck~~              ~struck~
//	[text](url), ![alt](u)  <url|text>
//	<https://url>           <https://url>
//	# Heading               *Heading*
//	- item, * item, + item  • item
//	| a | b | (a table)     • a · b   (one line per row, header dropped)
//	---                     (dropped)
//	<!-- comment -->        (dropped)
//
// Code spans and fenced code blocks are kept; &, < and > are escaped
// everywhere as Slack asks, so text cannot mention or link by accident.
func Markdown(md string) string {
	md = htmlComment.ReplaceAllString(md, "")
	md = strings.Map(func(r rune) rune {
		if r == phOpen || r == phClose || r == boldMark {
			return -1
		}
		return r
	}, md)
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	out := make([]string, 0, len(lines))
	inFence := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			// The language tag would show as text in Slack.
			inFence = !inFence
			out = append(out, "```")
			continue
		}
		if inFence {
			out = append(out, escape(line))
			continue
		}
		if isTableRow(trimmed) {
			j := i
			for j < len(lines) && isTableRow(strings.TrimSpace(lines[j])) {
				j++
			}
			out = append(out, tableLines(lines[i:j])...)
			i = j - 1
			continue
		}
		switch {
		case trimmed == "":
			out = append(out, "")
		case horizontalRule.MatchString(trimmed):
			// dropped: Slack has no rule in mrkdwn
		case heading.MatchString(trimmed):
			text := heading.FindStringSubmatch(trimmed)[1]
			text = strings.NewReplacer("**", "", "__", "").Replace(text)
			out = append(out, "*"+inline(text)+"*")
		case listItem.MatchString(line):
			m := listItem.FindStringSubmatch(line)
			out = append(out, m[1]+"• "+inline(m[2]))
		case strings.HasPrefix(trimmed, ">"):
			out = append(out, "> "+inline(strings.TrimSpace(strings.TrimPrefix(trimmed, ">"))))
		default:
			out = append(out, inline(line))
		}
	}
	if inFence {
		out = append(out, "```")
	}
	return strings.TrimSpace(collapseBlankLines(strings.Join(out, "\n")))
}

var (
	htmlComment    = regexp.MustCompile(`(?s)<!--.*?-->`)
	horizontalRule = regexp.MustCompile(`^(?:-{3,}|\*{3,}|_{3,})$`)
	heading        = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*$`)
	listItem       = regexp.MustCompile(`^(\s*)[-*+]\s+(.*)$`)
	tableSeparator = regexp.MustCompile(`^\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?$`)
	blankLines     = regexp.MustCompile(`\n{3,}`)
)

func collapseBlankLines(s string) string { return blankLines.ReplaceAllString(s, "\n\n") }

func isTableRow(trimmed string) bool {
	return strings.HasPrefix(trimmed, "|") && len(trimmed) > 1
}

// tableLines turns a Markdown table into one short line per data row: a
// Slack message has no tables, and a chat reader wants the rows, not the
// grid. The header row goes when a separator row follows it.
func tableLines(rows []string) []string {
	var out []string
	for i, row := range rows {
		trimmed := strings.TrimSpace(row)
		if tableSeparator.MatchString(trimmed) {
			continue
		}
		if i+1 < len(rows) && tableSeparator.MatchString(strings.TrimSpace(rows[i+1])) {
			continue // the header
		}
		var cells []string
		for _, c := range splitCells(trimmed) {
			if c = strings.TrimSpace(c); c != "" {
				cells = append(cells, inline(c))
			}
		}
		if len(cells) > 0 {
			out = append(out, "• "+strings.Join(cells, " · "))
		}
	}
	return out
}

// splitCells splits a table row on the pipes that are not escaped (\|)
// and not inside a code span.
func splitCells(row string) []string {
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(row); i++ {
		c := row[i]
		switch {
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, cur.String())
}

// Placeholders stand for converted pieces (code spans, links, escaped
// characters) while the emphasis rules run over the rest of a line; they
// are private-use runes, removed from the input first.
const (
	phOpen   = '\uE000'
	phClose  = '\uE001'
	boldMark = '\uE002'
)

var (
	codeSpan    = regexp.MustCompile("(`+)(.+?)(`+)")
	backslashed = regexp.MustCompile("\\\\([\\\\`*_{}\\[\\]()#+\\-.!|~<>])")
	autolink    = regexp.MustCompile(`<(https?://[^\s<>]+)>`)
	mdLink      = regexp.MustCompile(`!?\[([^\]]*)\]\(\s*<?([^\s()<>]+(?:\([^\s()<>]*\))?[^\s()<>]*)>?(?:\s+"[^"]*")?\s*\)`)
	boldStars   = regexp.MustCompile(`\*\*(\S(?:.*?\S)?)\*\*`)
	boldUnders  = regexp.MustCompile(`(^|[^\w])__(\S(?:.*?\S)?)__($|[^\w])`)
	italicStar  = regexp.MustCompile(`(^|[^\w*])\*(\S(?:[^*]*?\S)?)\*($|[^\w*])`)
	strike      = regexp.MustCompile(`~~(\S(?:.*?\S)?)~~`)
	placeholder = regexp.MustCompile("\uE000([0-9]+)\uE001")
)

// inline converts the spans of one line.
func inline(s string) string {
	var held []string
	hold := func(v string) string {
		held = append(held, v)
		return fmt.Sprintf("%c%d%c", phOpen, len(held)-1, phClose)
	}
	s = codeSpan.ReplaceAllStringFunc(s, func(m string) string {
		g := codeSpan.FindStringSubmatch(m)
		if len(g[1]) != len(g[3]) {
			return m
		}
		code := strings.TrimSpace(g[2])
		if code == "" {
			return m
		}
		// Slack has no double-backtick spans; a backtick inside one would
		// end the span early, so it becomes a look-alike.
		return hold("`" + escape(strings.ReplaceAll(code, "`", "ˋ")) + "`")
	})
	s = backslashed.ReplaceAllStringFunc(s, func(m string) string {
		return hold(escape(m[1:]))
	})
	s = autolink.ReplaceAllStringFunc(s, func(m string) string {
		return hold("<" + linkURL(m[1:len(m)-1]) + ">")
	})
	s = mdLink.ReplaceAllStringFunc(s, func(m string) string {
		g := mdLink.FindStringSubmatch(m)
		text := strings.TrimSpace(g[1])
		u := linkURL(g[2])
		if text == "" {
			return hold("<" + u + ">")
		}
		// Link text keeps its emphasis, not its own links.
		text = emphasis(escape(strings.NewReplacer("|", "¦", "[", "", "]", "").Replace(text)))
		return hold("<" + u + "|" + text + ">")
	})
	s = emphasis(escape(s))
	// Placeholders may nest (a link whose text held a code span), so
	// restore until none is left.
	for strings.ContainsRune(s, phOpen) {
		next := placeholder.ReplaceAllStringFunc(s, func(m string) string {
			i, err := strconv.Atoi(placeholder.FindStringSubmatch(m)[1])
			if err != nil || i >= len(held) {
				return ""
			}
			return held[i]
		})
		if next == s {
			break
		}
		s = next
	}
	return strings.ReplaceAll(s, string(boldMark), "*")
}

// emphasis rewrites bold, italic and strikethrough; bold is marked with a
// private rune until italics are done, so *x* from **x** stays bold.
func emphasis(s string) string {
	b := string(boldMark)
	s = boldStars.ReplaceAllString(s, b+"$1"+b)
	s = boldUnders.ReplaceAllString(s, "$1"+b+"$2"+b+"$3")
	s = italicStar.ReplaceAllString(s, "${1}_${2}_${3}")
	s = strike.ReplaceAllString(s, "~$1~")
	return s
}

// escape escapes the three characters Slack reserves for its own markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// linkURL makes u safe inside <…|…>: & is escaped as in any text, and the
// characters that would end the link or start its label are
// percent-encoded.
func linkURL(u string) string {
	u = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C", " ", "%20").Replace(u)
	return strings.ReplaceAll(u, "&", "&amp;")
}

// slackLen is a text's length as Slack counts it for its limits (UTF-16
// code units: an emoji outside the BMP counts twice, which errs on the
// safe side if Slack counts code points).
func slackLen(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// cutText shortens s to at most max units (slackLen), ending with "…".
func cutText(s string, max int) string {
	if slackLen(s) <= max {
		return s
	}
	n := 0
	for i, r := range s {
		l := utf16.RuneLen(r)
		if l < 0 {
			l = 1
		}
		if n+l > max-1 {
			return s[:i] + "…"
		}
		n += l
	}
	return s
}

// splitSections cuts mrkdwn text into pieces of at most max units, at line
// breaks, or at spaces inside a line longer than a piece. A fenced code
// block cut in two is closed at the end of one piece and opened again at
// the start of the next.
func splitSections(text string, max int) []string {
	const fence = "```"
	var (
		out    []string
		cur    strings.Builder
		curLen int
		open   bool // inside a fence at the end of cur
	)
	emit := func() {
		body := cur.String()
		if open {
			body += "\n" + fence
		}
		if strings.Trim(body, "`\n ") != "" {
			out = append(out, strings.TrimSpace(body))
		}
		cur.Reset()
		curLen = 0
		if open {
			cur.WriteString(fence)
			curLen = len(fence)
		}
	}
	budget := max - len(fence) - 1 // room to close a fence
	for _, line := range strings.Split(text, "\n") {
		for _, piece := range splitLine(line, budget-len(fence)-1) {
			need := slackLen(piece)
			if cur.Len() > 0 {
				need++
			}
			if cur.Len() > 0 && curLen+need > budget {
				emit()
				need = slackLen(piece)
				if cur.Len() > 0 {
					need++
				}
			}
			if cur.Len() > 0 {
				cur.WriteByte('\n')
			}
			cur.WriteString(piece)
			curLen += need
			if strings.TrimSpace(piece) == fence {
				open = !open
			}
		}
	}
	emit()
	return out
}

// splitLine cuts a line longer than max units at spaces, or anywhere when a
// word is longer than that.
func splitLine(line string, max int) []string {
	if slackLen(line) <= max {
		return []string{line}
	}
	var out []string
	for slackLen(line) > max {
		cut, n := 0, 0
		for i, r := range line {
			l := utf16.RuneLen(r)
			if l < 0 {
				l = 1
			}
			if n+l > max {
				cut = i
				break
			}
			n += l
		}
		if sp := strings.LastIndexByte(line[:cut], ' '); sp > cut/2 {
			cut = sp
		}
		if cut == 0 {
			_, size := utf8.DecodeRuneInString(line)
			cut = size
		}
		out = append(out, strings.TrimRight(line[:cut], " "))
		line = strings.TrimLeft(line[cut:], " ")
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
