package serve

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/devserver"
)

// TestDial connects to a Temporal server as an external cluster
// (temporal.address) and as the embedded server of a running `prdeploy
// serve` (temporal.listen), in the configured namespace; an address where
// nothing listens gives an error naming it, and for the embedded case
// asks whether serve runs.
func TestDial(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts, err := devserver.Start(ctx, devserver.Options{Namespace: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()

	for name, tc := range map[string]config.Temporal{
		"external": {Address: ts.FrontendAddress(), Namespace: "ops"},
		"embedded": {Listen: ts.FrontendAddress(), Namespace: "ops"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Dial(ctx, &config.Config{Temporal: tc}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The client works, in the configured namespace.
			if _, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{}); err != nil {
				t.Errorf("listing workflows in namespace ops: %v", err)
			}
		})
	}

	refused := freeAddr(t)
	for _, tc := range []struct {
		name     string
		temporal config.Temporal
		want     []string
		not      string
	}{
		{"embedded not running", config.Temporal{Listen: refused},
			[]string{"cannot reach the embedded Temporal server of `prdeploy serve` at " + refused + ": connection refused; is `prdeploy serve` running with this configuration, or is temporal.listen right?"}, "desc ="},
		{"external unreachable", config.Temporal{Address: refused},
			[]string{"cannot reach Temporal at " + refused + ": connection refused; is Temporal running there, or is temporal.address right?"}, "desc ="},
		{"bad CA file", config.Temporal{Address: refused, TLSCA: filepath.Join(t.TempDir(), "none.pem")},
			[]string{"temporal.tlsCA"}, ""},
		{"nothing configured", config.Temporal{}, []string{"set temporal.address"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			c, err := Dial(ctx, &config.Config{Temporal: tc.temporal}, nil)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tc.not != "" && strings.Contains(err.Error(), tc.not) {
				t.Errorf("error %q mentions %q", err, tc.not)
			}
			if d := time.Since(start); d > dialTimeout+5*time.Second {
				t.Errorf("Dial took %v to fail", d)
			}
		})
	}
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
