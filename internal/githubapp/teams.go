package githubapp

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// How long team answers are trusted: the organisation's teams change
// rarely; a person's memberships are asked again after a minute, so a
// removal takes effect quickly.
const (
	teamListTTL   = 5 * time.Minute
	membershipTTL = time.Minute
)

type cachedTeams struct {
	slugs   []string
	expires time.Time
}

type cachedMembership struct {
	teams   []string
	expires time.Time
}

// Teams returns the teams of Config.Org that login is an active member of
// (child teams count), as sorted "org/slug". Without an Org, nobody is in
// a team.
func (c *Client) Teams(ctx context.Context, login string) ([]string, error) {
	org := c.cfg.Org
	if org == "" {
		return nil, nil
	}
	if err := checkLogin(login); err != nil {
		return nil, err
	}
	key := strings.ToLower(login)
	now := c.clock.Now()
	c.mu.Lock()
	if m, ok := c.members[key]; ok && now.Before(m.expires) {
		c.mu.Unlock()
		return slices.Clone(m.teams), nil
	}
	c.mu.Unlock()

	gh, err := c.forOrg(ctx, org)
	if err != nil {
		return nil, err
	}
	slugs, err := c.orgTeams(ctx, gh, org)
	if err != nil {
		return nil, err
	}
	var teams []string
	for _, slug := range slugs {
		m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, org, slug, login)
		if statusOf(err) == http.StatusNotFound {
			continue
		}
		if err != nil {
			return nil, classify(err, "reading %s's membership of %s/%s", login, org, slug)
		}
		if m.GetState() == "active" {
			teams = append(teams, org+"/"+slug)
		}
	}
	slices.Sort(teams)
	c.mu.Lock()
	c.members[key] = cachedMembership{teams: teams, expires: c.clock.Now().Add(membershipTTL)}
	c.mu.Unlock()
	return slices.Clone(teams), nil
}

// orgTeams lists the slugs of the organisation's teams.
func (c *Client) orgTeams(ctx context.Context, gh *github.Client, org string) ([]string, error) {
	c.mu.Lock()
	if t := c.teamList; t != nil && c.clock.Now().Before(t.expires) {
		c.mu.Unlock()
		return t.slugs, nil
	}
	c.mu.Unlock()
	var slugs []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		list, resp, err := gh.Teams.ListTeams(ctx, org, opts)
		if err != nil {
			return nil, classify(err, "listing the teams of %s", org)
		}
		for _, t := range list {
			if s := t.GetSlug(); nameRE.MatchString(s) {
				slugs = append(slugs, s)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	slices.Sort(slugs)
	c.mu.Lock()
	c.teamList = &cachedTeams{slugs: slugs, expires: c.clock.Now().Add(teamListTTL)}
	c.mu.Unlock()
	return slugs, nil
}
