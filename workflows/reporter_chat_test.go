package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/prdeploy/prdeploy/workflows"
)

// closedStatus is a deployment that has already finished.
type closedStatus struct{ st workflows.Status }

func (c closedStatus) DeploymentStatus(context.Context, string, string) (workflows.Status, bool, error) {
	return c.st, true, nil
}

// outageChat refuses the first calls, as Slack does when it is down.
type outageChat struct {
	mu       sync.Mutex
	refuse   int
	messages int
	replies  []string
}

var errSlackDown = errors.New("slack server error: 503 Service Unavailable")

func (c *outageChat) down() bool {
	if c.refuse > 0 {
		c.refuse--
		return true
	}
	return false
}

func (c *outageChat) UpsertMessage(_ context.Context, m workflows.ChatMessage) (workflows.ChatRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down() {
		return workflows.ChatRef{}, errSlackDown
	}
	c.messages++
	return workflows.ChatRef{Channel: "C0DEPLOYS", TS: "1700000000.000001"}, nil
}

func (c *outageChat) Reply(_ context.Context, _ workflows.ChatRef, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down() {
		return errSlackDown
	}
	c.replies = append(c.replies, text)
	return nil
}

func (c *outageChat) Ephemeral(context.Context, string, string) error { return nil }
func (c *outageChat) LookupUser(context.Context, string) (string, bool, error) {
	return "", false, nil
}
func (c *outageChat) GitHubLogin(context.Context, string) (string, bool, error) {
	return "", false, nil
}

type nopCheckRuns struct{}

func (nopCheckRuns) PublishCheckRun(context.Context, workflows.CheckRun) (int64, error) {
	return 1, nil
}

// TestReporterCatchesUpWithChatAfterTheEnd: the reporter first sees a
// deployment already finished while Slack is down; it keeps polling (it
// does not drop the final message and milestones) and posts them once
// Slack answers again, each once.
func TestReporterCatchesUpWithChatAfterTheEnd(t *testing.T) {
	st := workflows.Status{
		OrchestrationState: workflows.OrchestrationState{
			Request: workflows.DeployRequest{Repo: "acme/deploys", SHA: "abc", Cluster: "c1", DeploymentID: "web-12"},
			Phase:   workflows.PhaseSucceeded, StartedAt: time.Unix(1_790_000_000, 0), FinishedAt: time.Unix(1_790_000_100, 0),
		},
		Total: 1, Counts: map[string]int{workflows.TenantSucceeded: 1},
	}
	chat := &outageChat{refuse: 3}
	acts := &workflows.ReportActivities{Statuses: closedStatus{st}, CheckRuns: nopCheckRuns{}, Chat: chat, ChatChannels: map[string]string{"*": "#deploys"}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	if _, err := env.ExecuteActivity(acts.PublishReports, workflows.ReportInput{Request: st.Request, Every: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	chat.mu.Lock()
	defer chat.mu.Unlock()
	if chat.messages == 0 || len(chat.replies) == 0 {
		t.Fatalf("after the outage: %d message posts, replies %q", chat.messages, chat.replies)
	}
	seen := map[string]int{}
	for _, r := range chat.replies {
		seen[r]++
		if seen[r] > 1 {
			t.Errorf("posted twice: %q", r)
		}
	}
}
