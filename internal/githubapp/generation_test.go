package githubapp

import (
	"context"
	"strings"
	"testing"
)

// TestGenerationCountsTheWholeHistory: a shallow checkout does not stand
// in the way; each later commit on the branch counts more, by SHA or
// (when the server refuses SHAs) through the branches; an unknown commit
// is a permanent error.
func TestGenerationCountsTheWholeHistory(t *testing.T) {
	for _, bySHA := range []bool{true, false} {
		c, _, g, main, _ := newGitFixture(t, bySHA)
		ctx := context.Background()
		if _, err := c.Checkout(ctx, "acme/deploys", main[2]); err != nil { // shallow when bySHA
			t.Fatal(err)
		}
		for i := len(main) - 1; i >= 0; i-- {
			got, err := c.Generation(ctx, "acme/deploys", main[i])
			if err != nil {
				t.Fatalf("bySHA %v: %v", bySHA, err)
			}
			if got != int64(i+1) {
				t.Errorf("bySHA %v: commit %d has generation %d, want %d", bySHA, i, got, i+1)
			}
		}
		before := g.requests.Load()
		if _, err := c.Generation(ctx, "acme/deploys", main[1]); err != nil {
			t.Fatal(err)
		}
		if n := g.requests.Load() - before; n != 0 {
			t.Errorf("bySHA %v: a commit already fetched sent %d git requests", bySHA, n)
		}
		if _, err := c.Generation(ctx, "acme/deploys", strings.Repeat("ab", 20)); !isPermanent(err) {
			t.Errorf("bySHA %v: unknown commit: %v, want permanent", bySHA, err)
		}
	}
}
