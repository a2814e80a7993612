package policies

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prdeploy/prdeploy/planner"
)

// ErrNoRevision is returned by Load when the caller does not say which base
// revision the policy files were read from.
var ErrNoRevision = errors.New("policies: Load needs the SHA of the base revision the policy files were read from; say which base revision you read")

var (
	ruleNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	teamRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	loginRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`)
	waveNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// IsPolicyFile reports whether a repository path is a policy file.
func IsPolicyFile(p string) bool {
	dir, file := path.Split(p)
	return dir == planner.PoliciesDir+"/" && (strings.HasSuffix(file, ".yaml") || strings.HasSuffix(file, ".yml"))
}

// Load reads every policy file (policies/*.yaml, in name order) from fsys,
// which must be the base revision rev of the pull request being judged.
// A repository without a policies directory has no rules. Every problem in
// every file is reported in one planner.ErrorList, at file:line:col; on
// error there is no RuleSet, and callers deny (see LoadFailed).
//
// What it reads is bounded like plans (planner.MaxFileBytes per file,
// planner.MaxNodes YAML values per file with aliases expanded,
// planner.MaxFiles files, planner.MaxErrorsPerFile problems per file): a
// file over a limit gets one error at its position, and the other files are
// still checked, so that every problem is reported in one pass.
func Load(fsys fs.FS, rev Revision) (*RuleSet, error) {
	if rev.SHA == "" {
		return nil, ErrNoRevision
	}
	set, errs, err := load(fsys)
	if err != nil {
		return nil, fmt.Errorf("policies: reading %s/ at %s: %w", planner.PoliciesDir, rev.Short(), err)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	set.Revision = rev
	return set, nil
}

// Validate checks the policy files of fsys the way Load does, for a
// command that validates a repository (prdeploy policy validate, plan
// validate): it returns every problem at file:line:col, sorted, or nil
// when the policies load. A policies/ directory that cannot be listed is
// one problem without a position.
func Validate(fsys fs.FS) planner.ErrorList {
	_, errs, err := load(fsys)
	if err != nil {
		return planner.ErrorList{{File: planner.PoliciesDir, Message: fmt.Sprintf("cannot read the policy files: %v", err)}}
	}
	errs.Sort()
	return errs
}

// load reads and checks every policy file. err is set only when the
// directory cannot be listed; problems in files are in errs.
func load(fsys fs.FS) (*RuleSet, planner.ErrorList, error) {
	set := &RuleSet{}
	entries, err := fs.ReadDir(fsys, planner.PoliciesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return set, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var errs planner.ErrorList
	byName := map[string]Rule{}
	policies := map[string]string{}
	read := 0
	for _, e := range entries {
		name := path.Join(planner.PoliciesDir, e.Name())
		if e.IsDir() || !IsPolicyFile(name) {
			continue
		}
		if read++; read > planner.MaxFiles {
			errs = append(errs, planner.Error{File: name, Pos: planner.Pos{Line: 1, Col: 1},
				Message: fmt.Sprintf("not read: %s/ holds more than %d policy files, the most read", planner.PoliciesDir, planner.MaxFiles)})
			continue
		}
		data, err := planner.ReadFile(fsys, name, planner.MaxFileBytes)
		var tooLarge planner.Error
		switch {
		case errors.As(err, &tooLarge):
			errs = append(errs, tooLarge)
			continue
		case err != nil:
			errs = append(errs, planner.Error{File: name, Pos: planner.Pos{Line: 1, Col: 1}, Message: fmt.Sprintf("cannot read the policy file: %v", err)})
			continue
		}
		set.Files = append(set.Files, name)
		c, rules := loadFile(name, data)
		if c.pos != nil && c.policy != "" {
			if other, dup := policies[c.policy]; dup {
				c.errorf("metadata.name", "policy %q is already defined in %s; give each policy file its own name", c.policy, other)
			}
			policies[c.policy] = name
		}
		for _, r := range rules {
			if prev, dup := byName[r.Name]; dup {
				c.errorf(fmt.Sprintf("rules[%d].name", r.index), "rule %q is already defined at %s:%d; rule names are unique across all policy files", r.Name, prev.File, prev.Line)
				continue
			}
			byName[r.Name] = r
			set.Rules = append(set.Rules, r)
		}
		errs = append(errs, planner.LimitErrors(*c.errs)...)
	}
	slices.Sort(set.Files)
	return set, errs, nil
}

// fileChecker records problems in one policy file against its positions.
// It reports at most one problem per field path, so that a value the
// decoder already rejected is not reported again by the checks.
type fileChecker struct {
	file   string
	policy string
	pos    planner.Positions
	errs   *planner.ErrorList
	seen   map[string]bool
}

func (c fileChecker) errorf(p, format string, args ...any) {
	if c.seen[p] || len(*c.errs) > planner.MaxErrorsPerFile {
		return
	}
	c.seen[p] = true
	*c.errs = append(*c.errs, planner.Error{File: c.file, Pos: c.pos.At(p), Path: p, Message: fmt.Sprintf(format, args...)})
}

func (c fileChecker) has(p string) bool { _, ok := c.pos[p]; return ok }

// hasChildren reports whether any field below p was written.
func (c fileChecker) hasChildren(p string) bool {
	for k := range c.pos {
		if strings.HasPrefix(k, p+".") {
			return true
		}
	}
	return false
}

// loadFile decodes and checks one file. It returns the rules that are
// valid on their own; the checker holds every problem found.
func loadFile(file string, data []byte) (fileChecker, []Rule) {
	var doc policyFile
	pos, decodeErrs := planner.Decode(file, data, &doc)
	errs := planner.ErrorList{}
	c := fileChecker{file: file, pos: pos, errs: &errs, seen: map[string]bool{}, policy: doc.Metadata.Name}
	for _, e := range decodeErrs {
		c.seen[e.Path] = true
		errs = append(errs, e)
	}
	if len(decodeErrs) > 0 && len(pos) == 0 {
		c.pos = nil
		return c, nil // not YAML at all: nothing more to say
	}
	switch {
	case doc.APIVersion == "":
		c.errorf("apiVersion", "apiVersion is required; use %s", planner.APIVersion)
	case doc.APIVersion != planner.APIVersion:
		c.errorf("apiVersion", "unsupported apiVersion %q; this prdeploy reads %s", doc.APIVersion, planner.APIVersion)
	}
	switch {
	case doc.Kind == "":
		c.errorf("kind", "kind is required; use %s", KindDeployPolicy)
	case doc.Kind != KindDeployPolicy:
		c.errorf("kind", "kind %q is not %s", doc.Kind, KindDeployPolicy)
	}
	if doc.Metadata.Name == "" {
		c.errorf("metadata.name", "the policy needs a name; add metadata.name, e.g. production")
	}
	if len(doc.Rules) == 0 {
		c.errorf("rules", "the policy has no rules; add rules or delete the file")
	}
	var rules []Rule
	seen := map[string]bool{}
	for i, rs := range doc.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		if c.seen[p] && !c.hasChildren(p) {
			continue // not a mapping: the decoder said so
		}
		r, ok := c.rule(p, rs)
		if rs.Name != "" && seen[rs.Name] {
			c.errorf(p+".name", "rule %q is defined twice in this file; rule names are unique across all policy files", rs.Name)
			continue
		}
		seen[rs.Name] = true
		if ok {
			r.Policy, r.File, r.Line, r.index = doc.Metadata.Name, file, c.pos.At(p).Line, i
			rules = append(rules, r)
		}
	}
	return c, rules
}

// rule checks one rule; ok is false when it has problems.
func (c fileChecker) rule(p string, rs ruleSpec) (Rule, bool) {
	before := len(*c.errs)
	r := Rule{Name: rs.Name, Description: rs.Description, When: rs.When, Message: rs.Message}
	switch {
	case rs.Name == "":
		c.errorf(p+".name", "the rule needs a name; add name, e.g. prod-needs-sre")
	case !ruleNameRE.MatchString(rs.Name):
		c.errorf(p+".name", "rule name %q must be 1-63 lower-case letters, digits and '-'", rs.Name)
	}
	label := "the rule"
	if rs.Name != "" {
		label = fmt.Sprintf("rule %q", rs.Name)
	}

	var effects []string
	if rs.Require != nil || c.has(p+".require") {
		effects = append(effects, EffectRequire)
	}
	if rs.Deny != nil || c.has(p+".deny") {
		effects = append(effects, EffectDeny)
	}
	if rs.Freeze != nil || c.has(p+".freeze") {
		effects = append(effects, EffectFreeze)
	}
	if rs.Limits != nil || c.has(p+".limits") {
		effects = append(effects, EffectLimits)
	}
	switch len(effects) {
	case 0:
		c.errorf(p, "%s has no effect; add one of require, deny, freeze or limits", label)
	case 1:
		r.Effect = effects[0]
	default:
		c.errorf(p+"."+effects[1], "%s has both %s and %s; a rule has exactly one effect, so split it into two rules", label, effects[0], effects[1])
	}

	if c.has(p+".when") && strings.TrimSpace(rs.When) == "" {
		c.errorf(p+".when", "when is empty; remove it to apply the rule always")
	} else if rs.When != "" {
		prg, msgs := compileWhen(rs.When)
		if len(msgs) > 0 {
			c.errorf(p+".when", "%s", strings.Join(msgs, "; "))
		}
		r.when = prg
	}

	switch r.Effect {
	case EffectRequire:
		if rs.Require == nil {
			c.errorf(p+".require", "require needs at least from: {teams: [...]} or from: {users: [...]}")
		} else {
			r.Require = c.require(p+".require", rs.Require)
		}
	case EffectDeny:
		if rs.Deny == nil || strings.TrimSpace(*rs.Deny) == "" {
			c.errorf(p+".deny", "deny needs the message shown on the pull request, e.g. deny: \"No deploys on Fridays\"")
		} else {
			r.Deny = *rs.Deny
		}
		if c.has(p + ".message") {
			c.errorf(p+".message", "a deny rule's message is the deny text itself; remove message")
		}
	case EffectFreeze:
		if rs.Freeze == nil {
			c.errorf(p+".freeze", "freeze needs from, until and timeZone")
		} else {
			r.Freeze = c.freeze(p+".freeze", rs.Freeze)
		}
	case EffectLimits:
		if rs.Limits == nil {
			c.errorf(p+".limits", "limits sets no limit; use canaryRequiredAbove, maxTenants, maxTenantsPerWave, maxParallel or minPauseBetweenWaves")
		} else {
			r.Limits = c.limits(p+".limits", rs.Limits)
		}
	}
	return r, len(*c.errs) == before
}

func (c fileChecker) require(p string, s *requireSpec) *Require {
	r := &Require{Approvals: s.Approvals, AllowAuthor: s.AllowAuthor, AllowReviews: true, Gates: s.Gates,
		AllowContributors: s.AllowContributors, AllowMerger: s.AllowMerger}
	if s.AllowReviews != nil {
		r.AllowReviews = *s.AllowReviews
	}
	if !c.has(p + ".approvals") {
		r.Approvals = 1
	} else if s.Approvals < 1 {
		c.errorf(p+".approvals", "approvals must be at least 1, got %d", s.Approvals)
	}
	if len(s.From.Teams) == 0 && len(s.From.Users) == 0 {
		c.errorf(p+".from", "say who may approve: from needs at least one team (org/slug) or user, e.g. from: {teams: [acme/sre]}")
	}
	seen := map[string]bool{}
	for i, t := range s.From.Teams {
		tp := fmt.Sprintf("%s.from.teams[%d]", p, i)
		switch {
		case strings.HasPrefix(t, "@"):
			c.errorf(tp, "write the team without @, as org/slug: %s", strings.TrimPrefix(t, "@"))
		case !teamRE.MatchString(t):
			c.errorf(tp, "team %q must be written as org/slug, e.g. acme/sre", t)
		case seen["team:"+strings.ToLower(t)]:
			c.errorf(tp, "team %q is listed twice", t)
		}
		seen["team:"+strings.ToLower(t)] = true
		r.Teams = append(r.Teams, t)
	}
	for i, u := range s.From.Users {
		up := fmt.Sprintf("%s.from.users[%d]", p, i)
		switch {
		case strings.HasPrefix(u, "@"):
			c.errorf(up, "write the login without @: %s", strings.TrimPrefix(u, "@"))
		case !loginRE.MatchString(u):
			c.errorf(up, "%q is not a GitHub login", u)
		case seen["user:"+strings.ToLower(u)]:
			c.errorf(up, "user %q is listed twice", u)
		}
		seen["user:"+strings.ToLower(u)] = true
		r.Users = append(r.Users, u)
	}
	if len(s.From.Teams) == 0 && len(s.From.Users) > 0 && r.Approvals > len(s.From.Users) {
		c.errorf(p+".approvals", "%d approvals can never be given by the %d listed users; add users or a team, or lower approvals", r.Approvals, len(s.From.Users))
	}
	switch {
	case !c.has(p + ".gates"):
		r.Gates = []string{AllGates}
	case len(s.Gates) == 0:
		c.errorf(p+".gates", "gates is empty; list gate ids (after-canary, before-<wave>) or [\"*\"] for every gate")
	}
	gates := map[string]bool{}
	for i, g := range s.Gates {
		gp := fmt.Sprintf("%s.gates[%d]", p, i)
		switch {
		case g == AllGates:
			if len(s.Gates) > 1 {
				c.errorf(gp, "\"*\" already means every gate; list either \"*\" or gate ids")
			}
		case !validGateID(g):
			c.errorf(gp, "unknown gate %q; use after-canary, before-<wave name> or \"*\"", g)
		case gates[g]:
			c.errorf(gp, "gate %q is listed twice", g)
		}
		gates[g] = true
	}
	return r
}

func validGateID(g string) bool {
	if g == planner.GateAfterCanary {
		return true
	}
	wave, ok := strings.CutPrefix(g, planner.GateBefore(""))
	return ok && waveNameRE.MatchString(wave)
}

func (c fileChecker) freeze(p string, s *freezeSpec) *Freeze {
	f := &Freeze{}
	switch s.TimeZone {
	case "":
		c.errorf(p+".timeZone", "a freeze needs the time zone its times are in, e.g. timeZone: Europe/Berlin or UTC")
		return f
	case "Local":
		c.errorf(p+".timeZone", "timeZone Local depends on the server; name the zone, e.g. Europe/Berlin or UTC")
		return f
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		c.errorf(p+".timeZone", "unknown time zone %q; use an IANA name such as Europe/Berlin, America/New_York or UTC", s.TimeZone)
		return f
	}
	f.Zone = loc
	parse := func(field, v string) (time.Time, bool) {
		fp := p + "." + field
		if v == "" {
			c.errorf(fp, "freeze needs %s, written like 2026-12-20T00:00 in %s", field, s.TimeZone)
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(timeLayout, v, loc)
		if err != nil {
			c.errorf(fp, "invalid time %q; write it like 2026-12-20T00:00 (local time in %s)", v, s.TimeZone)
			return time.Time{}, false
		}
		if t.Format(timeLayout) != v {
			c.errorf(fp, "%s does not exist in %s (the clocks skip it for daylight saving time); pick another time", v, s.TimeZone)
			return time.Time{}, false
		}
		if t.Add(-time.Hour).Format(timeLayout) == v || t.Add(time.Hour).Format(timeLayout) == v {
			c.errorf(fp, "%s happens twice in %s (the clocks go back for daylight saving time); pick another time", v, s.TimeZone)
			return time.Time{}, false
		}
		return t, true
	}
	from, okFrom := parse("from", s.From)
	until, okUntil := parse("until", s.Until)
	if okFrom && okUntil && !until.After(from) {
		c.errorf(p+".until", "the freeze ends (%s) before it starts (%s); until must be after from", s.Until, s.From)
	}
	f.From, f.Until = from, until
	return f
}

func (c fileChecker) limits(p string, s *limitsSpec) *Limits {
	l := &Limits{
		CanaryRequiredAbove:  s.CanaryRequiredAbove,
		MaxTenants:           s.MaxTenants,
		MaxTenantsPerWave:    s.MaxTenantsPerWave,
		MaxParallel:          s.MaxParallel,
		MinPauseBetweenWaves: s.MinPauseBetweenWaves.D(),
	}
	set := false
	for _, f := range []struct {
		name string
		v    int
	}{
		{"canaryRequiredAbove", s.CanaryRequiredAbove},
		{"maxTenants", s.MaxTenants},
		{"maxTenantsPerWave", s.MaxTenantsPerWave},
		{"maxParallel", s.MaxParallel},
	} {
		if !c.has(p + "." + f.name) {
			continue
		}
		set = true
		if f.v < 1 {
			c.errorf(p+"."+f.name, "%s must be at least 1, got %d", f.name, f.v)
		}
	}
	if c.has(p + ".minPauseBetweenWaves") {
		set = true
		if s.MinPauseBetweenWaves == 0 {
			c.errorf(p+".minPauseBetweenWaves", "minPauseBetweenWaves must be longer than 0s")
		}
	}
	if !set {
		c.errorf(p, "limits sets no limit; use canaryRequiredAbove, maxTenants, maxTenantsPerWave, maxParallel or minPauseBetweenWaves")
	}
	return l
}
