package payload

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/prdeploy/prdeploy/planner"
)

// Previews keeps the complete preview of each pull request — every tenant
// of its plans, which the check run's summary has room for only in part —
// for the status page, encrypted like manifests. One object per pull
// request holds its latest head's preview:
//
//	previews/<owner>/<repo>/<pr>.json
//
// so a pull request costs one object whatever its pushes.
type Previews struct {
	Store *Store
}

// PreviewKey is where a pull request's preview is kept.
func PreviewKey(repo string, pr int) string { return fmt.Sprintf("previews/%s/%d.json", repo, pr) }

// SavePreview keeps a head's preview, replacing the pull request's last.
func (p Previews) SavePreview(ctx context.Context, r planner.PreviewReport) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = p.Store.Put(ctx, PreviewKey(r.Repo, r.PR), data)
	return err
}

// Preview reads a pull request's latest preview; ok is false when it has
// none.
func (p Previews) Preview(ctx context.Context, repo string, pr int) (r planner.PreviewReport, ok bool, err error) {
	ref, ok, err := p.Store.Lookup(ctx, PreviewKey(repo, pr))
	if err != nil || !ok {
		return r, false, err
	}
	data, err := p.Store.Get(ctx, ref)
	if err != nil {
		return r, false, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, false, fmt.Errorf("reading the preview of %s#%d: %w", repo, pr, err)
	}
	return r, true, nil
}
