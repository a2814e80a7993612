package commands

import "testing"

// TestVocabulary: names, aliases and action identifiers are unique, and
// every button and action leads back to its command.
func TestVocabulary(t *testing.T) {
	seen := map[string]Name{}
	claim := func(word string, n Name) {
		t.Helper()
		if other, ok := seen[word]; ok {
			t.Errorf("%q names both /%s and /%s", word, other, n)
		}
		seen[word] = n
	}
	for _, c := range All {
		claim(string(c.Name), c.Name)
		for _, a := range c.Aliases {
			claim(a, c.Name)
		}
		if c.Usage == "" || c.Help == "" {
			t.Errorf("/%s has no usage or help", c.Name)
		}
		if got, ok := Lookup(string(c.Name)); !ok || got.Name != c.Name {
			t.Errorf("Lookup(%q) = %v, %v", c.Name, got.Name, ok)
		}
	}
	actions := map[string]Name{}
	for _, c := range All {
		ids := c.Actions
		if c.Button {
			ids = append([]string{string(c.Name)}, ids...)
		}
		for _, id := range ids {
			if other, ok := actions[id]; ok {
				t.Errorf("action %q stands for both /%s and /%s", id, other, c.Name)
			}
			actions[id] = c.Name
			if got, ok := ForAction(id); !ok || got.Name != c.Name {
				t.Errorf("ForAction(%q) = /%s, %v; want /%s", id, got.Name, ok, c.Name)
			}
		}
	}
	if _, ok := ForAction(string(Status)); ok {
		t.Error("status is not a button")
	}
}

// TestWireNames: the names are in comments, update names, button
// identifiers and recorded histories; they never change.
func TestWireNames(t *testing.T) {
	want := map[Name]string{Approve: "approve", Unapprove: "unapprove", Pause: "pause", Resume: "resume", Hold: "hold",
		Rollback: "rollback", Cancel: "cancel", Status: "", Help: ""}
	for n, update := range want {
		c, ok := Get(n)
		if !ok {
			t.Fatalf("/%s is not defined", n)
		}
		if c.UpdateName() != update {
			t.Errorf("/%s sends update %q, want %q", n, c.UpdateName(), update)
		}
	}
	if c, _ := ForAction("investigate"); c.Name != Hold {
		t.Errorf("Slack's investigate is /%s, want /hold", c.Name)
	}
	if c, _ := ForAction("rollback-tenant"); c.Name != Rollback {
		t.Errorf("Slack's rollback-tenant is /%s, want /rollback", c.Name)
	}
}
