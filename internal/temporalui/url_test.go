package temporalui_test

import (
	"testing"

	"github.com/prdeploy/prdeploy/internal/temporalui"
)

func TestWorkflowURL(t *testing.T) {
	tests := []struct {
		name, base, namespace, id, want string
	}{
		{"deployment ID with colon and slash",
			"http://localhost:8233", "default", "deploy:prod-eu/web-7",
			"http://localhost:8233/namespaces/default/workflows/deploy%3Aprod-eu%2Fweb-7"},
		{"trailing slash on the base",
			"http://localhost:8233/", "default", "plan-42",
			"http://localhost:8233/namespaces/default/workflows/plan-42"},
		{"base with a path prefix",
			"https://prdeploy.example.com/temporal", "prod", "lock:prod-eu",
			"https://prdeploy.example.com/temporal/namespaces/prod/workflows/lock%3Aprod-eu"},
		{"space, plus, percent, query and fragment characters",
			"http://ui", "default", "a b+c%d?e#f&g=h",
			"http://ui/namespaces/default/workflows/a%20b%2Bc%25d%3Fe%23f%26g%3Dh"},
		{"non-ASCII",
			"http://ui", "default", "déploy",
			"http://ui/namespaces/default/workflows/d%C3%A9ploy"},
		{"unreserved characters stay",
			"http://ui", "my-ns.1", "a-b_c.d~e",
			"http://ui/namespaces/my-ns.1/workflows/a-b_c.d~e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := temporalui.WorkflowURL(tt.base, tt.namespace, tt.id); got != tt.want {
				t.Errorf("WorkflowURL(%q, %q, %q)\n got %s\nwant %s", tt.base, tt.namespace, tt.id, got, tt.want)
			}
		})
	}
}
