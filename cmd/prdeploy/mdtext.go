package main

import (
	"regexp"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// markdownText renders the Markdown prdeploy writes for GitHub (plan
// descriptions and policy decisions) for a terminal: headings underlined,
// tables as aligned columns, the wave lists that GitHub folds in
// <details> as plain sections, code blocks (the previews' diffs) as they
// are, indented, and no Markdown or HTML markup left.
func markdownText(md string) string {
	var out strings.Builder
	lines := strings.Split(md, "\n")
	fence := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case fence != "":
			if strings.TrimSpace(l) == fence {
				fence = ""
				continue
			}
			out.WriteString("  " + l + "\n")
		case strings.HasPrefix(l, "```"):
			fence = strings.TrimRight(l, "abcdefghijklmnopqrstuvwxyz")
		case strings.HasPrefix(l, "> [!") && len(l) > len("> [!]"):
			// > [!WARNING] → Warning:
			kind := strings.TrimSuffix(strings.TrimPrefix(l, "> [!"), "]")
			out.WriteString(strings.ToUpper(kind[:1]) + strings.ToLower(kind[1:]) + ":\n")
		case strings.HasPrefix(l, "> "):
			out.WriteString(inlineText(strings.TrimPrefix(l, "> ")) + "\n")
		case strings.HasPrefix(strings.TrimSpace(l), "|"):
			j := i
			for j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "|") {
				j++
			}
			writeTable(&out, lines[i:j])
			i = j - 1
		case strings.HasPrefix(l, "#"):
			level := len(l) - len(strings.TrimLeft(l, "#"))
			title := inlineText(strings.TrimSpace(l[level:]))
			underline := "-"
			if level <= 3 {
				underline = "="
			}
			out.WriteString(title + "\n" + strings.Repeat(underline, utf8.RuneCountInString(title)) + "\n")
		case strings.Contains(l, "<summary>"):
			// <details><summary>Wave 1: canary — 2 tenants</summary>
			title := summaryRE.FindStringSubmatch(l)
			if title != nil {
				out.WriteString(inlineText(title[1]) + ":\n")
			}
		case strings.TrimSpace(l) == "</details>" || strings.HasPrefix(strings.TrimSpace(l), "<!--"):
		default:
			out.WriteString(inlineText(l) + "\n")
		}
	}
	// Folded sections leave runs of blank lines behind.
	s := blankRunRE.ReplaceAllString(out.String(), "\n\n")
	return strings.TrimRight(s, "\n") + "\n"
}

var (
	summaryRE  = regexp.MustCompile(`<summary>(.*?)</summary>`)
	blankRunRE = regexp.MustCompile(`\n{3,}`)
	linkRE     = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)\)`)
	tagRE      = regexp.MustCompile(`</?(details|summary|br|b|i|code|sub|sup)\s*/?>`)
)

// inlineText removes inline markup: **bold**, `code`, links (kept as
// "text (url)"), escapes and stray HTML tags.
func inlineText(s string) string {
	s = linkRE.ReplaceAllString(s, "$1 ($2)")
	s = tagRE.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "**", "")
	s = strings.ReplaceAll(s, "`", "")
	return unescapeMarkdown(s)
}

func unescapeMarkdown(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\`*_{}[]()#+-.!|<>~", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// writeTable aligns a Markdown table: no separator row, no empty header.
func writeTable(out *strings.Builder, rows []string) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		cells := splitRow(r)
		if isSeparator(cells) {
			continue
		}
		empty := true
		for i, c := range cells {
			cells[i] = inlineText(strings.TrimSpace(c))
			empty = empty && cells[i] == ""
		}
		if empty {
			continue
		}
		tw.Write([]byte(strings.Join(cells, "\t") + "\n"))
	}
	tw.Flush()
}

// splitRow splits "| a | b \| c |" into its cells, keeping escaped pipes.
func splitRow(r string) []string {
	r = strings.TrimSpace(r)
	r = strings.TrimPrefix(r, "|")
	if strings.HasSuffix(r, "|") && !strings.HasSuffix(r, `\|`) {
		r = r[:len(r)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(r); i++ {
		switch {
		case r[i] == '\\' && i+1 < len(r) && r[i+1] == '|':
			cur.WriteString(`\|`)
			i++
		case r[i] == '|':
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(r[i])
		}
	}
	return append(cells, cur.String())
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(strings.TrimSpace(c), "-:") != "" || strings.TrimSpace(c) == "" {
			return false
		}
	}
	return len(cells) > 0
}
