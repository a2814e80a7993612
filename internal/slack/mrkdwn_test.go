package slack

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"bold", "**Paused:** error rate", "*Paused:* error rate"},
		{"bold underscores", "__done__ now", "*done* now"},
		{"italic", "an *italic* word", "an _italic_ word"},
		{"bold and italic", "**b** and *i*", "*b* and _i_"},
		{"strike", "~~old~~ new", "~old~ new"},
		{"link", "[Live status](https://prdeploy.example/d/1) · [workflow history](https://temporal.example/h?a=1&b=2)",
			"<https://prdeploy.example/d/1|Live status> · <https://temporal.example/h?a=1&amp;b=2|workflow history>"},
		{"bold link", "**[PR #12](https://github.com/o/r/pull/12)**", "*<https://github.com/o/r/pull/12|PR #12>*"},
		{"link text with markup", "[**b** & <c>](https://x.example)", "<https://x.example|*b* &amp; &lt;c&gt;>"},
		{"link url with pipe", "[t](https://x.example/a|b)", "<https://x.example/a%7Cb|t>"},
		{"image", "![graph](https://x.example/g.png)", "<https://x.example/g.png|graph>"},
		{"autolink", "see <https://x.example/a>", "see <https://x.example/a>"},
		{"code kept", "cluster `prod-eu` · commit `0123456789ab`", "cluster `prod-eu` · commit `0123456789ab`"},
		{"no emphasis in code", "`**not bold**` and `a<b>`", "`**not bold**` and `a&lt;b&gt;`"},
		{"escapes", "a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"no injected mention", "<!channel> <@U123>", "&lt;!channel&gt; &lt;@U123&gt;"},
		{"backslash escapes", `1 \* 2 \| 3`, "1 * 2 | 3"},
		{"heading", "## Gates", "*Gates*"},
		{"heading with bold", "### **Failures**", "*Failures*"},
		{"list", "- `acme` failed: boom\n* two\n+ three", "• `acme` failed: boom\n• two\n• three"},
		{"nested list", "- a\n  - b", "• a\n  • b"},
		{"quote", "> careful", "> careful"},
		{"rule dropped", "a\n\n---\n\nb", "a\n\nb"},
		{"comment dropped", "<!-- prdeploy:status -->\nhello", "hello"},
		{"fence", "```yaml\nkey: <v>\n**x**\n```", "```\nkey: &lt;v&gt;\n**x**\n```"},
		{"unclosed fence closed", "```\ncode", "```\ncode\n```"},
		{"table to lines",
			"**Gates**\n\n| gate | state | approvals |\n|---|---|---|\n| `after-canary` | ⏳ waiting | none yet |\n| `wave-2` | not reached | @alice, @bob |\n",
			"*Gates*\n\n• `after-canary` · ⏳ waiting · none yet\n• `wave-2` · not reached · @alice, @bob"},
		{"table with escaped pipe and empty cell", "| a | b |\n|:--|--:|\n| x \\| y |  |", "• x | y"},
		{"table pipe in code", "| c |\n|---|\n| `a|b` |", "• `a|b`"},
		{"blank lines collapse", "a\n\n\n\nb", "a\n\nb"},
		{"crlf", "a\r\nb", "a\nb"},
		{"private runes removed", "a\uE000b\uE001c", "abc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Markdown(tc.in); got != tc.want {
				t.Errorf("Markdown(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestMarkdownReport converts a summary shaped like workflows.BuildReport's.
func TestMarkdownReport(t *testing.T) {
	in := "**checkout-v42** → cluster `prod` · PR #7 · commit `0123456789ab`\n\n" +
		"`████████░░░░░░░░░░░░` 4 of 10 tenants done\n\n" +
		"✅ succeeded 4 · ⏸️ paused 1\n\n" +
		"⏸️ **Paused:** noCriticalAlerts failed in acme\n\n" +
		"**Failures**\n\n- `acme` paused: alert HighErrorRate firing\n\n" +
		"**Gates**\n\n| gate | state | approvals |\n|---|---|---|\n| `after-canary` | ✅ open | @alice |\n\n" +
		"[Live status](https://prdeploy.example/s)\n"
	want := "*checkout-v42* → cluster `prod` · PR #7 · commit `0123456789ab`\n\n" +
		"`████████░░░░░░░░░░░░` 4 of 10 tenants done\n\n" +
		"✅ succeeded 4 · ⏸️ paused 1\n\n" +
		"⏸️ *Paused:* noCriticalAlerts failed in acme\n\n" +
		"*Failures*\n\n• `acme` paused: alert HighErrorRate firing\n\n" +
		"*Gates*\n\n• `after-canary` · ✅ open · @alice\n\n" +
		"<https://prdeploy.example/s|Live status>"
	if got := Markdown(in); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSplitSections(t *testing.T) {
	t.Run("short text is one piece", func(t *testing.T) {
		if got := splitSections("a\nb", 100); len(got) != 1 || got[0] != "a\nb" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("pieces within the limit, nothing lost", func(t *testing.T) {
		var lines []string
		for i := 0; i < 400; i++ {
			lines = append(lines, strings.Repeat("word ", 1+i%30)+"é🚀")
		}
		text := strings.Join(lines, "\n")
		got := splitSections(text, 300)
		if len(got) < 2 {
			t.Fatalf("want several pieces, got %d", len(got))
		}
		for i, p := range got {
			if n := slackLen(p); n > 300 {
				t.Errorf("piece %d is %d long", i, n)
			}
		}
		if strings.Join(got, "\n") != text {
			t.Error("the pieces do not add up to the text")
		}
	})
	t.Run("long line cut at spaces", func(t *testing.T) {
		line := strings.Repeat("abcdefghi ", 100)
		for _, p := range splitSections(line, 95) {
			if slackLen(p) > 95 {
				t.Errorf("piece %q too long", p)
			}
			if strings.Contains(p, "abcdefghi") && !strings.HasPrefix(p, "abcdefghi") {
				t.Errorf("cut inside a word: %q", p)
			}
		}
	})
	t.Run("a word longer than a piece", func(t *testing.T) {
		for _, p := range splitSections(strings.Repeat("x", 250), 100) {
			if slackLen(p) > 100 {
				t.Errorf("piece of %d", slackLen(p))
			}
		}
	})
	t.Run("code fence closed and reopened", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("intro\n```\n")
		for i := 0; i < 50; i++ {
			b.WriteString("line of code number\n")
		}
		b.WriteString("```\nafter")
		got := splitSections(b.String(), 200)
		if len(got) < 3 {
			t.Fatalf("want several pieces, got %d", len(got))
		}
		for i, p := range got {
			if strings.Count(p, "```")%2 != 0 {
				t.Errorf("piece %d has an unbalanced fence:\n%s", i, p)
			}
			if slackLen(p) > 200 {
				t.Errorf("piece %d is %d long", i, slackLen(p))
			}
		}
		if !strings.HasPrefix(got[1], "```\n") {
			t.Errorf("second piece does not reopen the fence: %q", got[1])
		}
	})
}

func TestCutText(t *testing.T) {
	if got := cutText("hello", 5); got != "hello" {
		t.Errorf("got %q", got)
	}
	if got := cutText("hello world", 6); got != "hello…" {
		t.Errorf("got %q", got)
	}
	// 🚀 counts 2 (UTF-16), so three of them do not fit in 5.
	if got := cutText("🚀🚀🚀", 5); got != "🚀🚀…" {
		t.Errorf("got %q", got)
	}
}
