package webhook

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/prdeploy/prdeploy/commands"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseCommands(t *testing.T) {
	approve := func(line int, text, note string) Command {
		return Command{Name: CommandApprove, Line: line, Text: text, Note: note}
	}
	cases := []struct {
		name string
		body string
		want []Command
	}{
		{"empty", "", nil},
		{"prose", "Looks good to me, ship it.", nil},
		{"approve", "/approve", []Command{approve(1, "/approve", "")}},
		{"approve with note", "/approve canary error rate is flat", []Command{approve(1, "/approve canary error rate is flat", "canary error rate is flat")}},
		{"note keeps its spacing and case", "/approve  Checked   with @acme/sre ", []Command{approve(1, "/approve  Checked   with @acme/sre", "Checked   with @acme/sre")}},
		{"tab after the command", "/approve\tok", []Command{approve(1, "/approve\tok", "ok")}},
		{"leading spaces", "   /approve", []Command{approve(1, "/approve", "")}},
		{"leading tab is an indented code block", "\t/approve", nil},
		{"windows line endings", "hi\r\n/approve\r\n", []Command{approve(2, "/approve", "")}},
		{"case-insensitive", "/APPROVE\n/Pause", []Command{approve(1, "/APPROVE", ""), {Name: CommandPause, Line: 2, Text: "/Pause"}}},
		{"trailing punctuation", "/approve.\n/status:", []Command{approve(1, "/approve.", ""), {Name: CommandStatus, Line: 2, Text: "/status:"}}},
		{"unapprove", "/unapprove", []Command{{Name: CommandUnapprove, Line: 1, Text: "/unapprove"}}},
		{"unapprove with a reason", "/Unapprove the canary regressed", []Command{{Name: CommandUnapprove, Line: 1, Text: "/Unapprove the canary regressed", Note: "the canary regressed"}}},
		{"hold keeps paused tenants paused", "/hold until the incident is over", []Command{{Name: CommandHold, Line: 1, Text: "/hold until the incident is over", Note: "until the incident is over"}}},
		{"every command", "/pause\n/resume\n/rollback\n/cancel\n/status\n/help", []Command{
			{Name: CommandPause, Line: 1, Text: "/pause"},
			{Name: CommandResume, Line: 2, Text: "/resume"},
			{Name: CommandRollback, Line: 3, Text: "/rollback"},
			{Name: CommandCancel, Line: 4, Text: "/cancel"},
			{Name: CommandStatus, Line: 5, Text: "/status"},
			{Name: CommandHelp, Line: 6, Text: "/help"},
		}},
		{"several in one comment, in order", "Canary looks fine.\n\n/approve\nand then\n/status\n", []Command{
			approve(3, "/approve", ""),
			{Name: CommandStatus, Line: 5, Text: "/status"},
		}},
		{"not at line start", "please /approve this", nil},
		{"one command per line", "/approve /rollback", []Command{approve(1, "/approve /rollback", "/rollback")}},
		{"rollback tenants", "/rollback acme-prod globex-eu 7eleven", []Command{{Name: CommandRollback, Line: 1,
			Text: "/rollback acme-prod globex-eu 7eleven", Args: []string{"acme-prod", "globex-eu", "7eleven"}}}},
		{"rollback repeated tenant", "/rollback acme acme", []Command{{Name: CommandRollback, Line: 1,
			Text: "/rollback acme acme", Args: []string{"acme"}}}},
		{"fenced backticks", "```\n/approve\n```\n/status", []Command{{Name: CommandStatus, Line: 4, Text: "/status"}}},
		{"fenced tildes with info", "~~~sh\n/rollback\n~~~\n", nil},
		{"fence closes only with its own kind", "```\n~~~\n/approve\n```\n/status", []Command{{Name: CommandStatus, Line: 5, Text: "/status"}}},
		{"longer fence needs longer close", "````\n```\n/approve\n````\n/help", []Command{{Name: CommandHelp, Line: 5, Text: "/help"}}},
		{"indented fence", "  ```\n  /approve\n  ```", nil},
		{"unclosed fence hides the rest", "```\n/approve", nil},
		{"quote", "> /approve\n\n/status", []Command{{Name: CommandStatus, Line: 3, Text: "/status"}}},
		// Issue 13: a command is what a reader of the rendered comment sees.
		{"lazy quote continuation", "> quoted\n/approve", nil},
		{"multi-line HTML comment", "<!--\n/approve\n-->", nil},
		{"HTML comment opened mid-paragraph", "LGTM <!--\n/approve\n--> thanks", nil},
		{"unclosed HTML comment hides the rest", "<!-- note\n\n/approve", nil},
		{"pre block", "<pre>\n/approve\n</pre>", nil},
		{"pre block with blank lines", "<pre>\n\n/approve\n\n</pre>", nil},
		{"details body", "<details><summary>logs</summary>\n\n/approve\n\n</details>", nil},
		{"after details closes", "<details>\n\nx\n\n</details>\n\n/status", []Command{{Name: CommandStatus, Line: 7, Text: "/status"}}},
		{"four-space indented code", "    /approve", nil},
		{"indented code after a blank line", "text\n\n    /approve", nil},
		{"list item", "- /approve", nil},
		{"heading", "# /approve", nil},
		{"table cell", "| a |\n|---|\n| /approve |", nil},
		{"three spaces is still a paragraph", "   /approve", []Command{approve(1, "/approve", "")}},
		{"indented quote", "  >/rollback", nil},
		{"quoted fence does not open a fence", "> ```\n/approve", []Command{approve(2, "/approve", "")}},
		{"inline code", "`/approve`", nil},
		{"inline code in prose", "type `/approve` to approve", nil},
		{"inline code across lines", "run ``the\n/approve\ncommand`` when ready", nil},
		{"unmatched backtick is text", "it`s done\n/approve", []Command{approve(2, "/approve", "")}},
		{"inline code closed before the line", "`x`\n/approve", []Command{approve(2, "/approve", "")}},
		{"paths are not commands", "/usr/bin/env is missing\n// comment\n/ 2", nil},
		{"lone slash", "/", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseCommands(c.body)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseCommands(%q)\n got %+v\nwant %+v", c.body, got, c.want)
			}
		})
	}
}

func TestParseCommandsErrors(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		wantName CommandName // of the error result
		contains []string    // in the error message
	}{
		{"unknown command", "/deploy now", "", []string{"Unknown command `/deploy`", "`/approve`", "`/rollback`", "`/help`"}},
		{"unknown command keeps the case-folded name", "/LGTM", "", []string{"`/lgtm`"}},
		{"invalid tenant", "/rollback Acme_Prod", CommandRollback, []string{"`Acme_Prod` is not a tenant name", "Nothing was rolled back"}},
		{"several invalid tenants", "/rollback ok -bad UPPER", CommandRollback, []string{"`-bad`, `UPPER` are not tenant names"}},
		{"tenant too long", "/rollback " + strings.Repeat("a", 64), CommandRollback, []string{"not a tenant name"}},
		{"mention is quoted", "/rollback @acme/sre", CommandRollback, []string{"`@acme/sre`"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseCommands(c.body)
			if len(got) != 1 {
				t.Fatalf("ParseCommands(%q) = %+v, want one error result", c.body, got)
			}
			r := got[0]
			if r.OK() || r.Error == "" || r.Name != c.wantName || r.Args != nil || r.Line != 1 {
				t.Fatalf("got %+v, want an error result named %q without args", r, c.wantName)
			}
			for _, s := range c.contains {
				if !strings.Contains(r.Error, s) {
					t.Errorf("error %q does not say %q", r.Error, s)
				}
			}
		})
	}
	t.Run("error results stay in order with commands", func(t *testing.T) {
		got := ParseCommands("/approve\n/deploy\n/status")
		if len(got) != 3 || !got[0].OK() || got[1].OK() || !got[2].OK() || got[1].Line != 2 {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("at most MaxCommands", func(t *testing.T) {
		got := ParseCommands(strings.Repeat("/status\n", MaxCommands+5))
		if len(got) != MaxCommands+1 {
			t.Fatalf("got %d results, want %d commands and one error", len(got), MaxCommands+1)
		}
		last := got[MaxCommands]
		if last.OK() || last.Line != MaxCommands+1 || !strings.Contains(last.Error, "at most") {
			t.Fatalf("last result %+v", last)
		}
	})
}

func TestHelpTextGolden(t *testing.T) {
	got := HelpText()
	for _, s := range commands.All {
		if !strings.Contains(got, "`/"+string(s.Name)) {
			t.Errorf("HelpText does not describe /%s", s.Name)
		}
	}
	golden := filepath.Join("testdata", "help.golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./webhook -run TestHelpTextGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("HelpText changed; run with -update if intended.\n got:\n%s\nwant:\n%s", got, want)
	}
}

// FuzzParseCommands: any comment parses without panicking, and every result
// is a known command with valid arguments or an error result.
func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{
		"", "/approve", "/approve note", "/hold\n/resume", "/rollback acme beta", "/rollback Bad!",
		"```\n/approve\n```", "~~~~\n/x\n~~~", "> /approve", "`/approve`", "``a\n/approve\nb``",
		"/deploy", "/", "//", "/APPROVE.", "\t/status\r\n", "/help\n" + strings.Repeat("/status\n", 12),
		"`` ` ```` `\n/cancel", "/rollback \xff\xfe", "/appr\x00ove",
	} {
		f.Add(s)
	}
	known := map[CommandName]bool{}
	for _, s := range commands.All {
		known[s.Name] = true
	}
	f.Fuzz(func(t *testing.T, body string) {
		lines := strings.Count(body, "\n") + 1
		got := ParseCommands(body)
		if len(got) > MaxCommands+1 {
			t.Fatalf("%d results", len(got))
		}
		for _, c := range got {
			if c.Line < 1 || c.Line > lines {
				t.Fatalf("line %d outside the comment's %d lines: %+v", c.Line, lines, c)
			}
			if c.Error != "" {
				if c.OK() {
					t.Fatalf("error result is OK: %+v", c)
				}
				continue
			}
			if !known[c.Name] {
				t.Fatalf("result with unknown name and no error: %+v", c)
			}
			for _, a := range c.Args {
				if !tenantName.MatchString(a) {
					t.Fatalf("invalid tenant %q in a valid result", a)
				}
			}
			if !strings.HasPrefix(c.Text, "/") {
				t.Fatalf("text %q does not start with a slash", c.Text)
			}
		}
	})
}
