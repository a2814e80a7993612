package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Defaults for zero Options fields.
const (
	DefaultNamespace = "default"
	DefaultRetention = 30 * 24 * time.Hour
	// MinRetention is the server's floor for a local namespace.
	MinRetention = time.Hour
	// DatabaseFile is the SQLite file's name inside Options.DataDir.
	DatabaseFile = "temporal.db"
	lockFile     = "temporal.lock"
)

// ErrDataDirInUse is returned by Start when another process (or another
// Server in this process) runs on the same data dir.
var ErrDataDirInUse = errors.New("data dir in use")

// Options configure Start. The zero value is a valid in-memory server.
type Options struct {
	// DataDir holds the SQLite database (DataDir/temporal.db); it is created
	// if missing. Empty means in memory: everything is lost on Stop.
	DataDir string
	// Namespace is registered on start if missing; default "default".
	Namespace string
	// FrontendPort is the loopback gRPC port clients and workers dial;
	// 0 picks a free one (see FrontendAddress).
	FrontendPort int
	// Logger receives the server's warnings and errors (its info and debug
	// logs are dropped); nil discards them.
	Logger *slog.Logger
	// Retention is how long closed workflows are kept; default 30 days,
	// at least MinRetention. A changed value is applied to an existing
	// namespace on start.
	Retention time.Duration
}

// Server is a running single-node Temporal server.
type Server struct {
	server    temporal.Server
	address   string
	namespace string
	logger    *slog.Logger   // for SDK clients, unfiltered
	logLevel  *slog.LevelVar // the server logger's floor
	unlock    func()
	stopOnce  sync.Once
}

// Start runs the server and returns once its frontend answers and the
// namespace is usable. ctx bounds that last wait (the services themselves
// start within the server's own start-up timeout); the server runs until
// Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("starting the embedded Temporal server: %w", err)
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Retention < MinRetention {
		return nil, fmt.Errorf("namespace retention %s is shorter than the server's minimum of %s", opts.Retention, MinRetention)
	}
	if opts.FrontendPort < 0 || opts.FrontendPort > 65535 {
		return nil, fmt.Errorf("frontend port %d is out of range (use 0 to pick a free one)", opts.FrontendPort)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	s := &Server{namespace: opts.Namespace, logger: opts.Logger, logLevel: new(slog.LevelVar), unlock: func() {}}
	s.logLevel.Set(slog.LevelWarn)
	started := false
	defer func() {
		if !started {
			s.unlock()
		}
	}()

	var dbFile string
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data dir: %w", err)
		}
		unlock, err := lockDataDir(filepath.Join(opts.DataDir, lockFile))
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
		dbFile = filepath.Join(opts.DataDir, DatabaseFile)
	}
	sql := sqlConfig(dbFile)
	if err := prepareDatabase(sql, dbFile, opts.Namespace, opts.Retention); err != nil {
		return nil, err
	}
	p, err := pickPorts(opts.FrontendPort)
	if err != nil {
		return nil, err
	}
	s.address = fmt.Sprintf("%s:%d", loopback, p.frontend)

	conf := serverConfig(sql, p)
	logger := serverLogger{slog.New(levelHandler{min: s.logLevel, next: opts.Logger.Handler()}).With("component", "temporal-server")}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("building the server's authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("building the server's claim mapper: %w", err)
	}
	s.server, err = temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(staticHosts(p)),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("assembling the Temporal server: %w", err)
	}
	if err := s.server.Start(); err != nil { // a failed start is rolled back by the server
		return nil, fmt.Errorf("starting the Temporal server on %s: %w", s.address, err)
	}
	if err := s.ready(ctx, opts.Retention); err != nil {
		s.stopServer()
		return nil, err
	}
	started = true
	return s, nil
}

// ready waits for the frontend to serve the namespace, and brings the
// namespace's retention to the configured value (it is only written at
// registration, so a changed Options.Retention is applied here).
func (s *Server) ready(ctx context.Context, retention time.Duration) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("describing namespace %q on %s: %w", s.namespace, s.address, err)
	}
	if ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == retention {
		return nil
	}
	_, err = c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: s.namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(retention)},
	})
	if err != nil {
		return fmt.Errorf("setting retention of namespace %q to %s: %w", s.namespace, retention, err)
	}
	return nil
}

// FrontendAddress is the host:port that clients and workers dial.
func (s *Server) FrontendAddress() string { return s.address }

// Namespace is the namespace registered by Start.
func (s *Server) Namespace() string { return s.namespace }

// Client dials an SDK client to the server's namespace, logging through
// Options.Logger. The caller closes it.
func (s *Server) Client() (client.Client, error) {
	c, err := client.Dial(client.Options{
		HostPort:  s.address,
		Namespace: s.namespace,
		Logger:    sdklog.NewStructuredLogger(s.logger),
	})
	if err != nil {
		return nil, fmt.Errorf("dialing the embedded Temporal server at %s: %w", s.address, err)
	}
	return c, nil
}

// Stop shuts the server down gracefully: in-flight requests finish, state
// is on disk, and a later Start on the same DataDir resumes every open
// workflow. Close clients and stop workers first. Stop is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.logLevel.Set(slog.LevelError) // the server warns routinely while shutting down
		s.stopServer()
		s.unlock()
	})
}

func (s *Server) stopServer() {
	if err := s.server.Stop(); err != nil {
		s.logger.Error("stopping the embedded Temporal server", "address", s.address, "error", err)
	}
}
