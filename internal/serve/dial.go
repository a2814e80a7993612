package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/prdeploy/prdeploy/internal/config"
)

// dialTimeout bounds the first contact with Temporal when the caller's
// context has no deadline: a CLI whose server is down should say so, not
// hang.
const dialTimeout = 10 * time.Second

// Dial connects a client to the Temporal cluster a configuration names:
// temporal.address (with the TLS options) when set, else the embedded
// server of a running `prdeploy serve` on temporal.listen. It starts no
// server: commands like `prdeploy status` use it to talk to the one that
// serves. The caller closes the client.
func Dial(ctx context.Context, cfg *config.Config, log *slog.Logger) (client.Client, error) {
	return dial(ctx, cfg, log, nil)
}

// dial is Dial with the SDK's metrics going to mh (nil: none).
func dial(ctx context.Context, cfg *config.Config, log *slog.Logger, mh client.MetricsHandler) (client.Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := cfg.Temporal
	opts := client.Options{HostPort: t.Address, Namespace: t.Namespace, Logger: sdklog.NewStructuredLogger(log), MetricsHandler: mh}
	embedded := t.Address == ""
	if embedded {
		if t.Listen == "" {
			return nil, errors.New("no Temporal to connect to: set temporal.address, or temporal.listen for the embedded server of `prdeploy serve`")
		}
		opts.HostPort = t.Listen
	} else if t.TLSCert != "" || t.TLSCA != "" {
		tc, err := tlsConfig(t)
		if err != nil {
			return nil, err
		}
		opts.ConnectionOptions.TLS = tc
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialTimeout)
		defer cancel()
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		if embedded {
			return nil, fmt.Errorf("connecting to the embedded Temporal server at %s (temporal.listen): %w; is `prdeploy serve` running with this config?", opts.HostPort, err)
		}
		return nil, fmt.Errorf("connecting to Temporal at %s (temporal.address): %w", opts.HostPort, err)
	}
	return c, nil
}
