package githubapp

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestTeams(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.teams = []string{"web", "sre", "platform"}
	f.members["sre"] = map[string]string{"alice": "active"}
	f.members["web"] = map[string]string{"alice": "active", "bob": "active"}
	f.members["platform"] = map[string]string{"alice": "pending"}
	c := newTokenClient(t, f)
	ctx := context.Background()

	got, err := c.Teams(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"acme/sre", "acme/web"}; !slices.Equal(got, want) {
		t.Errorf("teams = %v, want %v (pending is not a member)", got, want)
	}
	if got, _ := c.Teams(ctx, "carol"); len(got) != 0 {
		t.Errorf("carol's teams = %v, want none", got)
	}

	// Within a minute the answer is cached; the team list for 5 minutes.
	before := f.total()
	if got, _ := c.Teams(ctx, "alice"); !slices.Equal(got, []string{"acme/sre", "acme/web"}) || f.total() != before {
		t.Errorf("cached answer %v cost %d requests", got, f.total()-before)
	}
	f.mu.Lock()
	f.members["platform"]["alice"] = "active"
	f.mu.Unlock()
	clock.Advance(2 * time.Minute)
	got, err = c.Teams(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"acme/platform", "acme/sre", "acme/web"}; !slices.Equal(got, want) {
		t.Errorf("after 2 minutes: %v, want %v", got, want)
	}
	if n := f.count("GET", "/orgs/acme/teams"); n != 1 {
		t.Errorf("team list read %d times, want 1 (cached 5 minutes)", n)
	}
	clock.Advance(5 * time.Minute)
	if _, err := c.Teams(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET", "/orgs/acme/teams"); n != 2 {
		t.Errorf("team list read %d times, want 2 after it expired", n)
	}

	if _, err := c.Teams(ctx, "../../admin"); !isPermanent(err) {
		t.Errorf("a bad login: err = %v, want permanent", err)
	}
	noOrg := newTokenClient(t, f, func(c *Config) { c.Org = "" })
	if got, err := noOrg.Teams(ctx, "alice"); err != nil || got != nil {
		t.Errorf("without an org: %v, %v; want none", got, err)
	}
}

func TestPermission(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"write", "maintain"}
	f.perms["bob"] = [2]string{"read", "security-reviewer"} // a custom role
	f.perms["carol"] = [2]string{"none", ""}
	c := newTokenClient(t, f)
	ctx := context.Background()

	for login, want := range map[string]string{"alice": "maintain", "bob": "read", "carol": "none"} {
		got, err := c.Permission(ctx, "acme/deploys", login)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %q, want %q", login, got, want)
		}
	}
	if _, err := c.Permission(ctx, "acme/deploys", "nobody"); !isPermanent(err) {
		t.Errorf("an unknown user: err = %v, want permanent", err)
	}
}
