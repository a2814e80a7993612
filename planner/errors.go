package planner

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/runenames"
)

// Pos is a position in a YAML file: 1-based line and column.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Error is one problem found in a plan or fleet file. It always says where
// (file, line, column, and the field path) and what to do about it.
type Error struct {
	File string `json:"file"`
	Pos
	// Path is the field the problem is about, e.g. "spec.services[1].after[0]".
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// Error formats the problem the way compilers do: file:line:col: path: message.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList collects every problem found in one pass. Sort puts it in file
// order so that users fix problems top to bottom.
type ErrorList []Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return fmt.Sprintf("%d errors:\n%s", len(l), strings.Join(lines, "\n"))
}

// Sort orders the errors by file, line and column, keeping the order in which
// errors at the same place were found.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err returns nil when the list is empty, and the sorted list otherwise.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Unique drops repeated reports of the same problem at the same place,
// keeping the first.
func (l ErrorList) Unique() ErrorList {
	seen := map[Error]bool{}
	var out ErrorList
	for _, e := range l {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// What one file, and one repository, may cost to read. A file over a
// limit fails on its own, with an error at its position; the other files
// of the repository are read as usual.
const (
	// MaxFileBytes is the largest plan or policy file read.
	MaxFileBytes = 1 << 20
	// MaxFleetBytes is the largest fleet.yaml read.
	MaxFleetBytes = 4 << 20
	// MaxNodes is the most YAML values (scalars, lists and mappings) a plan
	// or policy file may hold once every alias is expanded.
	MaxNodes = 100_000
	// MaxFleetNodes is the same bound for fleet.yaml.
	MaxFleetNodes = 500_000
	// MaxFiles is the most plan files read from deploys/, and the most
	// policy files read from policies/.
	MaxFiles = 10_000
	// MaxRepoBytes is the most bytes of plan files read from deploys/ in
	// all; the plans after that (in name order) are reported, not read.
	MaxRepoBytes = 64 << 20
	// MaxErrorsPerFile is the most problems reported per file; one more
	// line says that the rest were left out.
	MaxErrorsPerFile = 100
)

// LimitErrors sorts the problems of one file and keeps the first
// MaxErrorsPerFile, saying so when it drops some. Collecting should stop a
// little after the limit (as decoder.errorf and checker.errorf do), so that
// a file with a million problems costs no more than one with a hundred.
func LimitErrors(l ErrorList) ErrorList {
	l.Sort()
	if len(l) <= MaxErrorsPerFile {
		return l
	}
	last := l[MaxErrorsPerFile-1]
	return append(l[:MaxErrorsPerFile:MaxErrorsPerFile], Error{File: last.File, Pos: last.Pos,
		Message: fmt.Sprintf("more problems in this file are not shown (at most %d are reported per file); fix these first", MaxErrorsPerFile)})
}

// quoteList renders names for "known: a, b, c" hints.
func quoteList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// maxNameLen is the longest name (a DNS label) the planner accepts.
const maxNameLen = 63

// closest returns the candidate nearest to s by edit distance, if it is close
// enough to be a plausible typo.
func closest(s string, candidates []string) string {
	if len(s) > 2*maxNameLen {
		return "" // not a typo of a name; and edit distance costs len²
	}
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describeRune names a character the way Unicode does: U+0430 CYRILLIC
// SMALL LETTER A.
func describeRune(r rune) string {
	if name := runenames.Name(r); name != "" {
		return fmt.Sprintf("U+%04X %s", r, name)
	}
	return fmt.Sprintf("U+%04X", r)
}

// lookalike explains why name, which holds characters outside ASCII, is not
// one of the known names it looks like: it names each character that
// differs from the known name with as many characters (a Cyrillic "а" for
// a Latin "a"), or the characters that the known name does not have (a
// zero-width space). Names are ASCII, so "did you mean" would only show two
// names that look the same. It returns "" for ASCII names.
func lookalike(name, file string, known []string) string {
	var odd []int // rune positions (0-based) of non-ASCII characters
	runes := []rune(name)
	for i, r := range runes {
		if r >= utf8.RuneSelf {
			odd = append(odd, i)
		}
	}
	if len(odd) == 0 {
		return ""
	}
	for _, k := range known {
		kr := []rune(k)
		if len(kr) != len(runes) {
			continue
		}
		var diffs []string
		for i := range runes {
			if runes[i] != kr[i] {
				if runes[i] < utf8.RuneSelf {
					diffs = nil // an ASCII difference: not a look-alike of k
					break
				}
				diffs = append(diffs, fmt.Sprintf("%s at position %d where %s has %q", describeRune(runes[i]), i+1, file, kr[i]))
			}
		}
		if len(diffs) > 0 {
			return fmt.Sprintf("it looks like %q but is not the same: %s; retype it", k, strings.Join(diffs, ", "))
		}
	}
	var ascii []rune
	for _, r := range runes {
		if r < utf8.RuneSelf {
			ascii = append(ascii, r)
		}
	}
	var chars []string
	for _, i := range odd {
		chars = append(chars, fmt.Sprintf("%s at position %d", describeRune(runes[i]), i+1))
	}
	for _, k := range known {
		if k == string(ascii) {
			return fmt.Sprintf("it looks like %q but holds %s, which %s does not have; retype it", k, strings.Join(chars, ", "), file)
		}
	}
	return fmt.Sprintf("it holds %s; names are ASCII (a-z, 0-9 and '-')", strings.Join(chars, ", "))
}
