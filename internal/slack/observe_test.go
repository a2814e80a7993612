package slack

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/prdeploy/prdeploy/workflows"
)

// failures records what Config.ObserveError is told.
type failures struct {
	mu      sync.Mutex
	methods []string
}

func (f *failures) observe(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		method += " (nil error)"
	}
	f.methods = append(f.methods, method)
}

func (f *failures) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.methods
	f.methods = nil
	return out
}

// TestObserveError: a call that fails after its retry is told once with
// its method; a retry that succeeds, and answers the client acts on (a
// deleted message, a user not found), are not failures.
func TestObserveError(t *testing.T) {
	fake := newFakeSlack(t)
	fake.users = []slackUser{{ID: "U0CAROL", Email: "carol@example.com"}}
	var seen failures
	c := fake.client(t, Config{
		LookupByEmail: true,
		Emails:        map[string]string{"carol": "carol@example.com", "dave": "dave@example.com"},
		ObserveError:  seen.observe,
	})
	ctx := context.Background()
	m := workflows.ChatMessage{Channel: "C0DEPLOYS", Report: waitingReport(), Deployment: deployment}

	ref, err := c.UpsertMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	m.Ref = ref
	fake.fail("chat.update", 1, 500, "", nil)
	if _, err := c.UpsertMessage(ctx, m); err != nil {
		t.Fatalf("update retried once: %v", err)
	}
	fake.deleteMessages()
	if m.Ref, err = c.UpsertMessage(ctx, m); err != nil {
		t.Fatalf("repost of a deleted message: %v", err)
	}
	if _, ok, err := c.LookupUser(ctx, "dave"); ok || err != nil {
		t.Fatalf("LookupUser(dave) = %t, %v; want not found", ok, err)
	}
	if _, ok, err := c.GitHubLogin(ctx, "U0NOBODY"); ok || err != nil {
		t.Fatalf("GitHubLogin(U0NOBODY) = %t, %v; want not found", ok, err)
	}
	if got := seen.take(); len(got) != 0 {
		t.Fatalf("observed %v after calls that succeeded or got an answer", got)
	}

	fake.fail("chat.update", 2, 500, "", nil)
	if _, err := c.UpsertMessage(ctx, m); err == nil {
		t.Fatal("update failing twice succeeded")
	}
	fake.fail("chat.postMessage", 1, 0, "channel_not_found", nil)
	if err := c.Reply(ctx, m.Ref, "hello"); err == nil {
		t.Fatal("reply to a missing channel succeeded")
	}
	fake.fail("users.lookupByEmail", 2, 0, "internal_error", nil)
	if _, _, err := c.LookupUser(ctx, "carol"); err == nil {
		t.Fatal("lookup failing twice succeeded")
	}
	if err := c.Ephemeral(ctx, "http://127.0.0.1:1/closed", "hi"); err == nil {
		t.Fatal("ephemeral answer to a closed port succeeded")
	}
	want := []string{"chat.update", "chat.postMessage", "users.lookupByEmail", "response_url"}
	if got := seen.take(); !slices.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}
