package serve_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/serve"
)

// serveChildEnv, set to a configuration file, makes the test binary
// `prdeploy serve` itself instead of running tests: a process of its own,
// which a test can SIGKILL (crash_test.go).
const serveChildEnv = "PRDEPLOY_SERVE_CHILD"

// serveReadyPrefix starts the line a serve child prints on stdout, with
// its HTTP address, once everything listens.
const serveReadyPrefix = "prdeploy-serve-ready "

func TestMain(m *testing.M) {
	if path := os.Getenv(serveChildEnv); path != "" {
		os.Exit(serveChild(path))
	}
	os.Exit(m.Run())
}

// serveChild runs serve as `prdeploy serve --config path` does: JSON logs
// on stderr, until SIGTERM or SIGINT.
func serveChild(path string) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := config.Load(path)
	if err != nil {
		log.Error("loading the configuration", "file", path, "error", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve.Run(ctx, cfg, log, func(addr string) { fmt.Println(serveReadyPrefix + addr) }); err != nil {
		log.Error("serve", "error", err)
		return 1
	}
	return 0
}
