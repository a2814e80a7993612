package devserver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"google.golang.org/protobuf/types/known/durationpb"
)

// clusterName is the single cluster's name, persisted with the namespace.
const clusterName = "active"

// ports are the gRPC ports of the four services of the single node, and
// the frontend's HTTP API port (Nexus endpoints need it; without it the
// server warns on every start).
type ports struct{ frontend, frontendHTTP, history, matching, worker int }

func pickPorts(frontend int) (ports, error) {
	p := ports{frontend: frontend}
	if p.frontend == 0 {
		var err error
		if p.frontend, err = freePort(); err != nil {
			return ports{}, err
		}
	} else if err := checkPortFree(p.frontend); err != nil {
		return ports{}, fmt.Errorf("frontend port %d is not free (pick another, or 0 for any): %w", p.frontend, err)
	}
	for _, dst := range []*int{&p.frontendHTTP, &p.history, &p.matching, &p.worker} {
		port, err := freePort()
		if err != nil {
			return ports{}, err
		}
		*dst = port
	}
	return p, nil
}

// sqlConfig is the SQLite data store: a file, or a private in-memory
// database whose name is random so that servers in one process (tests) do
// not share state through the plugin's connection pool.
func sqlConfig(dbFile string) *config.SQL {
	if dbFile == "" {
		return &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      "prdeploy-" + strconv.FormatUint(rand.Uint64(), 36),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}
	}
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbFile,
		ConnectAttributes: map[string]string{
			"mode": "rwc",
			// WAL with synchronous=NORMAL: a commit survives a crash of the
			// process (not necessarily of the machine) without an fsync per
			// transaction, which keeps the server fast on slow disks.
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "10000",
		},
	}
}

// prepareDatabase creates the schema when the database file is new and
// registers the namespace when it is missing. Both are idempotent: a later
// start on the same file keeps every workflow, schedule and namespace.
// (In memory, the plugin creates the schema when it opens the database.)
func prepareDatabase(sql *config.SQL, dbFile, namespace string, retention time.Duration) error {
	if dbFile != "" {
		info, err := os.Stat(dbFile)
		switch {
		case errors.Is(err, os.ErrNotExist) || err == nil && info.Size() == 0:
			if err := sqliteschema.SetupSchema(sql); err != nil {
				_ = os.Remove(dbFile) // a half-made schema would be taken as done next time
				return fmt.Errorf("creating the Temporal schema in %s: %w", dbFile, err)
			}
		case err != nil:
			return fmt.Errorf("reading %s: %w", dbFile, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, nil)
	if err != nil {
		return fmt.Errorf("describing namespace %q: %w", namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(retention)
	if err := sqliteschema.CreateNamespaces(sql, ns); err != nil {
		return fmt.Errorf("registering namespace %q: %w", namespace, err)
	}
	return nil
}

// serverConfig is the static configuration of a single node running all
// four services on loopback, with one history shard (a dev server never
// needs more, and the shard count is fixed once the database exists).
func serverConfig(sql *config.SQL, p ports) *config.Config {
	frontend := fmt.Sprintf("%s:%d", loopback, p.frontend)
	frontendHTTP := fmt.Sprintf("%s:%d", loopback, p.frontendHTTP)
	service := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: loopback}}
	}
	frontendService := service(p.frontend)
	frontendService.RPC.HTTPPort = p.frontendHTTP
	var c config.Config
	c.Global.Membership.MaxJoinDuration = 30 * time.Second
	c.Global.Membership.BroadcastAddress = loopback
	// No Global.Metrics: the server uses a no-op metrics handler and opens
	// no Prometheus port. No PProf port either.
	c.Persistence = config.Persistence{
		DefaultStore:     "sqlite",
		VisibilityStore:  "sqlite",
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{"sqlite": {SQL: sql}},
	}
	c.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			// ClusterID is left empty: the server generates one on the first
			// start and reads it back from the database afterwards.
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend, HTTPAddress: frontendHTTP},
		},
	}
	c.DCRedirectionPolicy.Policy = "noop"
	c.Services = map[string]config.Service{
		string(primitives.FrontendService): frontendService,
		string(primitives.HistoryService):  service(p.history),
		string(primitives.MatchingService): service(p.matching),
		string(primitives.WorkerService):   service(p.worker),
	}
	c.Archival.History.State = "disabled"
	c.Archival.Visibility.State = "disabled"
	c.NamespaceDefaults.Archival.History.State = "disabled"
	c.NamespaceDefaults.Archival.Visibility.State = "disabled"
	c.PublicClient.HostPort = frontend
	return &c
}

// staticHosts pins every service to its one loopback address, so the node
// needs no ringpop membership (faster start, no gossip ports).
func staticHosts(p ports) map[primitives.ServiceName]static.Hosts {
	host := func(port int) static.Hosts { return static.SingleLocalHost(fmt.Sprintf("%s:%d", loopback, port)) }
	return map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: host(p.frontend),
		primitives.HistoryService:  host(p.history),
		primitives.MatchingService: host(p.matching),
		primitives.WorkerService:   host(p.worker),
	}
}

// dynamicConfig holds the run-time settings of a single-node dev server.
// Workflow Update and Schedules, which prdeploy relies on, are on by
// default in this server version; they are set here so that a change of
// default cannot turn them off unnoticed.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		dynamicconfig.FrontendEnableSchedules.Key():                            true,
		dynamicconfig.WorkerEnableScheduler.Key():                              true,
		// New search attributes are visible at once (as in the CLI dev
		// server); reads then go to the database, hence the higher QPS caps.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.FrontendPersistenceMaxQPS.Key():               10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():                45000,
		// List/count workflows from the CLI or the status command: the
		// default of 10 RPS is meant for a shared cluster.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Mutable-state cache: 8k entries instead of 128k keeps memory in
		// line with a single node's workload.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8192,
	}
}
