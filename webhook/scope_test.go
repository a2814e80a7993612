package webhook

import (
	"strings"
	"testing"
)

// Issue 13 item 2: the App may be installed on many repositories, and a
// writer may open a pull request into any branch. Only the deploy
// repository's deploy branch starts anything; the rest is acknowledged and
// counted.
func TestOutOfScopeDeliveriesStartNothing(t *testing.T) {
	opened := readPayload(t, "pull_request/opened.payload.json")
	closed := edit(t, "pull_request/closed.payload.json", map[string]any{
		"pull_request.merged": true, "pull_request.merge_commit_sha": "c4295bd74fb0f4fda03689c3df3f2803b658fd85",
	})
	comment := edit(t, "issue_comment/created.payload.json", onPR("/approve", nil))
	cases := []struct {
		name  string
		scope Scope
		event string
		body  []byte
		want  int
	}{
		{"PR in another repository", Scope{Repo: "acme/deploys"}, "pull_request", opened, 204},
		{"merge in another repository", Scope{Repo: "acme/deploys"}, "pull_request", closed, 204},
		{"command in another repository", Scope{Repo: "acme/deploys"}, "issue_comment", comment, 204},
		{"PR into another branch", Scope{Repo: "Codertocat/Hello-World", Branch: "main"}, "pull_request", opened, 204},
		{"merge into another branch", Scope{Repo: "Codertocat/Hello-World", Branch: "main"}, "pull_request", closed, 204},
		{"PR into a branch not the default", Scope{Repo: "Codertocat/Hello-World"}, "pull_request", []byte(strings.Replace(string(opened), `"ref": "master"`, `"ref": "weak-policies"`, 1)), 204},
		{"no scope configured accepts nothing", Scope{}, "pull_request", opened, 204},
		{"deploy repository, default branch", Scope{Repo: "codertocat/hello-world"}, "pull_request", opened, 202},
		{"deploy repository, named branch", Scope{Repo: "Codertocat/Hello-World", Branch: "master"}, "pull_request", opened, 202},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			var results []string
			h, err := NewHandler(Config{Secrets: []Secret{testSecret}, Dispatcher: rec, Logger: quietLogger(), Scope: c.scope,
				Observe: func(_, _, result string) { results = append(results, result) }})
			if err != nil {
				t.Fatal(err)
			}
			w := deliveryReq{event: c.event, body: c.body}.send(h)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.want, w.Header().Get(IgnoredHeader))
			}
			if c.want == 204 {
				if n := len(rec.got()); n != 0 {
					t.Fatalf("dispatched %d events, want none", n)
				}
				if len(results) != 1 || results[0] != ResultOutOfScope {
					t.Fatalf("observed %v, want [%s]", results, ResultOutOfScope)
				}
			} else if n := len(rec.got()); n != 1 {
				t.Fatalf("dispatched %d events, want 1", n)
			}
		})
	}
}
