package githubsim

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// label is one of a repository's labels. Names are unique in a repository
// and matched case-insensitively, as on GitHub.
type label struct {
	id          int64
	name        string
	color       string
	description string
}

// defaultLabelColor is the colour GitHub gives a label created without one,
// as adding an unknown label to an issue does.
const defaultLabelColor = "ededed"

func (rp *repo) labelNamed(name string) *label {
	for _, l := range rp.labels {
		if strings.EqualFold(l.name, name) {
			return l
		}
	}
	return nil
}

func validateLabelName(name string) error {
	if strings.TrimSpace(name) == "" {
		return &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "Label", Field: "name", Code: "missing_field"}}}
	}
	return nil
}

// CreateLabel adds a label to a repository (colour ededed, no description).
// No webhook is delivered: GitHub's "label" event is not simulated.
func (s *Server) CreateLabel(ctx context.Context, repoName, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoLocked(repoName)
	if err != nil {
		return err
	}
	if err := validateLabelName(name); err != nil {
		return err
	}
	if rp.labelNamed(name) != nil {
		return &errValidation{msg: "Validation Failed", errors: []fieldError{{Resource: "Label", Field: "name", Code: "already_exists"}}}
	}
	s.newLabelLocked(rp, name)
	return nil
}

func (s *Server) newLabelLocked(rp *repo, name string) *label {
	l := &label{id: s.nextID(idLabel), name: name, color: defaultLabelColor}
	rp.labels = append(rp.labels, l)
	return l
}

// mayLabel: labelling an issue or pull request takes the triage role.
// Call with s.mu held.
func (s *Server) mayLabel(rp *repo, u *user) error {
	if permRank[s.permissionLocked(rp, u)] >= permRank["triage"] {
		return nil
	}
	return fmt.Errorf("%s may not label issues of %s: it takes the triage role or more (SetPermission)", u.login, rp.fullName())
}

// AddLabels labels a pull request as actor, who needs the triage role or
// more. Unknown labels are created in the repository, as GitHub's API does;
// labels the pull request already has are left alone. Each new label
// delivers pull_request "labeled". It returns every label of the pull
// request, sorted by name.
func (s *Server) AddLabels(ctx context.Context, repoName string, number int, actor string, labels ...string) ([]string, error) {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	u, err := s.userLocked(actor)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if err := s.mayLabel(p.repo, u); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	evs, err := s.addLabelsLocked(ctx, p, u, labels)
	names := labelNames(p.labels)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.deliverAll(ctx, evs)
	return names, nil
}

// addLabelsLocked adds labels to p and renders one "labeled" event per new
// label (each payload shows the labels as they were after that label).
func (s *Server) addLabelsLocked(ctx context.Context, p *pull, u *user, names []string) ([]event, error) {
	for _, n := range names {
		if err := validateLabelName(n); err != nil {
			return nil, err
		}
	}
	var evs []event
	for _, n := range names {
		l := p.repo.labelNamed(n)
		if l == nil {
			l = s.newLabelLocked(p.repo, n)
		}
		if p.hasLabel(l) {
			continue
		}
		p.labels = append(p.labels, l)
		sortLabels(p.labels)
		p.updated = s.now()
		evs = append(evs, s.pullEvent(ctx, p, "labeled", u, map[string]any{"label": s.labelJSON(p.repo, l)}))
	}
	return evs, nil
}

// RemoveLabel removes a label from a pull request as actor (triage role or
// more) and delivers pull_request "unlabeled". Removing a label the pull
// request does not have is an error (GitHub answers 404).
func (s *Server) RemoveLabel(ctx context.Context, repoName string, number int, actor, name string) error {
	s.mu.Lock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	u, err := s.userLocked(actor)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if err := s.mayLabel(p.repo, u); err != nil {
		s.mu.Unlock()
		return err
	}
	ev, err := s.removeLabelLocked(ctx, p, u, name)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("removing %q from %s#%d: %w", name, repoName, number, err)
	}
	s.deliverAll(ctx, []event{ev})
	return nil
}

func (s *Server) removeLabelLocked(ctx context.Context, p *pull, u *user, name string) (event, error) {
	for i, l := range p.labels {
		if strings.EqualFold(l.name, name) {
			p.labels = append(p.labels[:i:i], p.labels[i+1:]...)
			p.updated = s.now()
			return s.pullEvent(ctx, p, "unlabeled", u, map[string]any{"label": s.labelJSON(p.repo, l)}), nil
		}
	}
	return event{}, &errStatus{404, "Label does not exist"}
}

// Labels returns the labels of a pull request, sorted by name (nil when
// the pull request does not exist).
func (s *Server) Labels(repoName string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pullLocked(repoName, number)
	if err != nil {
		return nil
	}
	return labelNames(p.labels)
}

func (p *pull) hasLabel(l *label) bool {
	for _, o := range p.labels {
		if o == l {
			return true
		}
	}
	return false
}

// sortLabels orders labels by name, case-insensitively, as GitHub lists them.
func sortLabels(ls []*label) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := strings.ToLower(ls[i].name), strings.ToLower(ls[j].name)
		if a != b {
			return a < b
		}
		return ls[i].name < ls[j].name
	})
}

func labelNames(ls []*label) []string {
	if len(ls) == 0 {
		return nil
	}
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.name)
	}
	return out
}

func (s *Server) labelJSON(rp *repo, l *label) labelJSON {
	return labelJSON{ID: l.id, NodeID: nodeID("Label", l.id), URL: s.repoAPI(rp, "labels", l.name), Name: l.name,
		Color: l.color, Description: nullable(l.description)}
}

func (s *Server) labelsJSON(rp *repo, ls []*label) []labelJSON {
	out := make([]labelJSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, s.labelJSON(rp, l))
	}
	return out
}
