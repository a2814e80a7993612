package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/prdeploy/prdeploy/internal/config"
)

// dialTimeout bounds the first contact with Temporal when the caller's
// context has no deadline: a CLI whose server is down should say so, not
// hang.
const dialTimeout = 10 * time.Second

// TemporalSource says where the Temporal address and namespace a command
// dials came from, so that its errors name what the user set: a flag
// ("--temporal-address"), an environment variable ("TEMPORAL_ADDRESS") or
// a key of the configuration ("temporal.address in prdeploy.yaml"). Empty
// fields mean the configuration's keys.
type TemporalSource struct {
	Address, Namespace string
	// Serve is true when the address is meant to be a running `prdeploy
	// serve` (a command of the CLI), so errors ask whether it runs.
	Serve bool
}

// Dial connects a client to the Temporal cluster a configuration names:
// temporal.address (with the TLS options) when set, else the embedded
// server of a running `prdeploy serve` on temporal.listen. It starts no
// server: commands like `prdeploy status` use it to talk to the one that
// serves. The caller closes the client.
func Dial(ctx context.Context, cfg *config.Config, log *slog.Logger) (client.Client, error) {
	return DialFrom(ctx, cfg, log, TemporalSource{})
}

// DialFrom is Dial with errors that name where the address and namespace
// came from.
func DialFrom(ctx context.Context, cfg *config.Config, log *slog.Logger, src TemporalSource) (client.Client, error) {
	return dial(ctx, cfg, log, nil, src)
}

// dial is Dial with the SDK's metrics going to mh (nil: none).
func dial(ctx context.Context, cfg *config.Config, log *slog.Logger, mh client.MetricsHandler, src TemporalSource) (client.Client, error) {
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
	addrFrom := src.Address
	if addrFrom == "" {
		addrFrom = "temporal.address"
		if embedded {
			addrFrom = "temporal.listen"
		}
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		switch {
		case embedded:
			return nil, fmt.Errorf("cannot reach the embedded Temporal server of `prdeploy serve` at %s: %s; is `prdeploy serve` running with this configuration, or is %s right?", opts.HostPort, dialReason(err), addrFrom)
		case src.Serve:
			return nil, fmt.Errorf("cannot reach Temporal at %s: %s; is `prdeploy serve` running, or is %s right?", opts.HostPort, dialReason(err), addrFrom)
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s: %s; is Temporal running there, or is %s right?", opts.HostPort, dialReason(err), addrFrom)
	}
	// A namespace that does not exist fails every later call with a gRPC
	// message; say it now, naming the setting.
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.Namespace})
	var nf *serviceerror.NamespaceNotFound
	if errors.As(err, &nf) {
		c.Close()
		nsFrom := src.Namespace
		if nsFrom == "" {
			nsFrom = "temporal.namespace"
		}
		return nil, fmt.Errorf("no namespace %q on Temporal at %s; is %s right?", t.Namespace, opts.HostPort, nsFrom)
	}
	return c, nil
}

var grpcDescRE = regexp.MustCompile(`desc = "?(.*?)"?$`)

// dialReason says in a few words why a dial failed, without gRPC's
// layers of wrapping.
func dialReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "no such host"):
		return "no such host"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "DeadlineExceeded") || strings.Contains(msg, "i/o timeout") || strings.Contains(msg, "deadline exceeded"):
		return "no answer in time"
	case strings.Contains(msg, "x509") || strings.Contains(msg, "tls:") || strings.Contains(msg, "certificate"):
		if m := grpcDescRE.FindStringSubmatch(msg); m != nil {
			msg = m[1]
		}
		return "TLS failed (" + strings.TrimPrefix(msg, "transport: authentication handshake failed: ") + "); check temporal.tlsCA, tlsCert and tlsKey"
	}
	if m := grpcDescRE.FindStringSubmatch(msg); m != nil {
		msg = m[1]
	}
	return strings.TrimPrefix(msg, "transport: Error while dialing: ")
}
