package githubapp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestUpsertCommentEditsInPlace(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	// 150 comments first, so that ours is on the second page; one of
	// them is someone quoting our marker, which is not ours to edit.
	for i := range 150 {
		body := fmt.Sprintf("comment %d", i)
		if i == 10 {
			body = "> " + Marker("plan") + "\n> quoted"
		}
		f.addComment(12, "someone", body)
	}
	c := newTokenClient(t, f)
	ctx := context.Background()

	if err := c.UpsertComment(ctx, "acme/deploys", 12, "plan", "plan v1"); err != nil {
		t.Fatal(err)
	}
	mine := f.commentsBy("deploy-bot")
	if len(mine) != 1 || mine[0].Body != Marker("plan")+"\nplan v1" {
		t.Fatalf("after the first upsert: %+v", mine)
	}
	id := mine[0].ID

	if err := c.UpsertComment(ctx, "acme/deploys", 12, "plan", "plan v2"); err != nil {
		t.Fatal(err)
	}
	mine = f.commentsBy("deploy-bot")
	if len(mine) != 1 || mine[0].ID != id || !strings.HasSuffix(mine[0].Body, "\nplan v2") {
		t.Errorf("after the second upsert: %+v, want comment %d edited", mine, id)
	}
	if n := f.count("PATCH", fmt.Sprintf("/repos/acme/deploys/issues/comments/%d", id)); n != 1 {
		t.Errorf("%d edits, want 1", n)
	}
	// Pages were read in turn.
	if n := f.count("GET", "/repos/acme/deploys/issues/12/comments"); n != 4 {
		t.Errorf("%d list requests, want 2 per upsert", n)
	}

	// The same body again changes nothing.
	before := f.count("PATCH", "/repos/acme/deploys/issues/comments/*")
	if err := c.UpsertComment(ctx, "acme/deploys", 12, "plan", "plan v2"); err != nil {
		t.Fatal(err)
	}
	if f.count("PATCH", "/repos/acme/deploys/issues/comments/*") != before {
		t.Error("an unchanged body was sent again")
	}
	// Another key is another comment; the user is looked up once.
	if err := c.UpsertComment(ctx, "acme/deploys", 12, "deploy:prod/api", "deploying"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.commentsBy("deploy-bot")); n != 2 {
		t.Errorf("%d comments of ours, want 2", n)
	}
	if n := f.count("GET", "/user"); n != 1 {
		t.Errorf("GET /user %d times, want 1", n)
	}
	if f.allComments()[10].Body != "> "+Marker("plan")+"\n> quoted" {
		t.Error("someone else's comment was edited")
	}
}

func TestUpsertCommentRejectsBadKeys(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	c := newTokenClient(t, f)
	for _, key := range []string{"", "a -->", "x y"} {
		if err := c.UpsertComment(context.Background(), "acme/deploys", 1, key, "b"); !isPermanent(err) {
			t.Errorf("key %q: err = %v, want permanent", key, err)
		}
	}
}

func TestReplyAndReact(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	c := newTokenClient(t, f)
	ctx := context.Background()

	if err := c.Reply(ctx, "acme/deploys", 3, strings.Repeat("x", 70000)); err != nil {
		t.Fatal(err)
	}
	if body := f.allComments()[0].Body; len(body) > maxCommentBody || !strings.Contains(body, "cut to fit") {
		t.Errorf("a long reply is %d bytes, want cut to %d", len(f.allComments()[0].Body), maxCommentBody)
	}
	if err := c.React(ctx, "acme/deploys", 555, "eyes"); err != nil {
		t.Fatal(err)
	}
	if err := c.React(ctx, "acme/deploys", 555, "+1"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got := slices.Clone(f.reactions[555])
	f.mu.Unlock()
	if !slices.Equal(got, []string{"eyes", "+1"}) {
		t.Errorf("reactions = %v", got)
	}
	if err := c.React(ctx, "acme/deploys", 555, "thumbsup"); !isPermanent(err) {
		t.Errorf("unknown reaction: err = %v, want permanent", err)
	}
}

func (f *fakeGitHub) allComments() []fakeComment { return f.commentsBy("") }

func (f *fakeGitHub) commentsBy(user string) []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeComment
	for _, c := range f.comments {
		if user == "" || c.User == user {
			out = append(out, *c)
		}
	}
	return out
}
