package stacks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/namespace"
)

// LoggingConfig configures the log pipeline to LogScale (docs/logging.md).
type LoggingConfig struct {
	// Enabled (`platform:logging`): default on when logScaleUrl is set (in
	// local, once the ingest token is set too).
	Enabled bool
	// Agent (`platform:logAgent`): fluent-bit (default) or fluentd.
	Agent string
	// LogScaleURL (`platform:logScaleUrl`): https base URL of LogScale.
	// Required when logging is on.
	LogScaleURL string
	// Repository (`platform:logScaleRepository`): the LogScale repository
	// the ingest token writes to. Required when logging is on.
	Repository string
	// IngestToken (`platform:logScaleIngestToken`): the repository's ingest
	// token, a Pulumi secret. Required when logging is on.
	IngestToken Secret
	// LogRateKiBPerNode (`platform:logRateKiBPerNode`): expected log volume
	// of one node in KiB/s. Default per environment (Defaults).
	LogRateKiBPerNode int
	// OutageMinutes (`platform:logOutageMinutes`): LogScale outage each node
	// buffers through without loss. Default per environment (Defaults).
	OutageMinutes int
	// BufferMiB (`platform:logBufferMiB`): disk buffer per node. Default
	// OutageMinutes x LogRateKiBPerNode; at least one minute of logs.
	BufferMiB int
	// MemoryLimitMiB (`platform:logMemoryLimitMiB`): agent memory limit.
	// Default logging.DefaultFluentBitMemoryMiB or DefaultFluentdMemoryMiB.
	MemoryLimitMiB int
	// ExcludeNamespaces (`platform:logExcludeNamespaces`): namespaces whose
	// logs are not shipped. Default none.
	ExcludeNamespaces []string
	// StorageSyncFull: Fluent Bit fsyncs every buffer write. On in prod
	// only; not configurable.
	StorageSyncFull bool

	// set remembers which keys the stack file gives, so an explicit 0 is
	// validated rather than replaced by a default.
	set map[string]bool
}

var logMemoryRangeByAgent = map[string][2]int{logging.FluentBit: {32, 1024}, logging.Fluentd: {128, 4096}}

// loadLogging reads the logging keys (read every key unconditionally, so
// KnownKeys lists them).
func loadLogging(r *reader, c *Config) {
	l := &c.Logging
	l.set = map[string]bool{}
	for _, k := range []string{"logging", "logRateKiBPerNode", "logOutageMinutes", "logBufferMiB", "logMemoryLimitMiB"} {
		if _, ok := r.src.Get(Key(k)); ok {
			l.set[k] = true
		}
	}
	r.boolean("logging", &l.Enabled)
	r.str("logAgent", &l.Agent)
	r.str("logScaleUrl", &l.LogScaleURL)
	r.str("logScaleRepository", &l.Repository)
	r.secret("logScaleIngestToken", &l.IngestToken)
	r.integer("logRateKiBPerNode", &l.LogRateKiBPerNode)
	r.integer("logOutageMinutes", &l.OutageMinutes)
	r.integer("logBufferMiB", &l.BufferMiB)
	r.integer("logMemoryLimitMiB", &l.MemoryLimitMiB)
	r.object("logExcludeNamespaces", &l.ExcludeNamespaces, "must be a list of namespace names")
}

// defaultLogging fills what the stack file left out, per environment.
func defaultLogging(c *Config) {
	l := &c.Logging
	if !l.set["logging"] {
		l.Enabled = l.LogScaleURL != ""
		// local previews on a fresh checkout with no secret set: logging
		// waits for its token there (SecretSettings says so).
		if c.Environment == Local && l.Enabled && !l.IngestToken.IsSet() {
			l.Enabled = false
			c.Notices = append(c.Notices, "logging is off until the ingest token is set: pulumi config set --secret "+Key("logScaleIngestToken")+" <ingest-token>")
		}
	}
	if l.Agent == "" {
		l.Agent = logging.DefaultAgent
	}
	d, ok := Defaults[c.Environment]
	if !ok {
		return
	}
	if !l.set["logRateKiBPerNode"] {
		l.LogRateKiBPerNode = d.LogRateKiBPerNode
	}
	if !l.set["logOutageMinutes"] {
		l.OutageMinutes = d.LogOutageMinutes
	}
	if !l.set["logBufferMiB"] && l.LogRateKiBPerNode > 0 && l.OutageMinutes > 0 {
		l.BufferMiB = logging.BufferMiBFor(l.LogRateKiBPerNode, l.OutageMinutes)
	}
	if !l.set["logMemoryLimitMiB"] {
		l.MemoryLimitMiB = logging.DefaultFluentBitMemoryMiB
		if l.Agent == logging.Fluentd {
			l.MemoryLimitMiB = logging.DefaultFluentdMemoryMiB
		}
	}
	l.StorageSyncFull = c.Environment == Prod
}

// validateLogging adds a problem for every bad value.
func validateLogging(p *problems, c *Config) {
	l := &c.Logging
	if !slices.Contains(logging.Agents, l.Agent) {
		p.add(Key("logAgent"), l.Agent, "must be one of %s", strings.Join(logging.Agents, ", "))
	}
	if l.LogScaleURL != "" {
		if _, _, err := logging.ParseLogScaleURL(l.LogScaleURL); err != nil {
			p.add(Key("logScaleUrl"), l.LogScaleURL, "must be an https URL of LogScale such as https://cloud.community.humio.com: %v", err)
		}
	}
	if err := logging.CheckRepository(l.Repository); l.Repository != "" && err != nil {
		p.add(Key("logScaleRepository"), l.Repository, "%v", err)
	}
	for i, ns := range l.ExcludeNamespaces {
		key := fmt.Sprintf("%s[%d]", Key("logExcludeNamespaces"), i)
		if err := namespace.CheckName(ns); err != nil {
			p.add(key, ns, "%v", err)
		}
		if ns == logging.DefaultNamespace {
			p.add(key, ns, "the log agent's own namespace cannot be excluded: its errors must reach LogScale")
		}
	}
	if l.LogRateKiBPerNode < 1 {
		p.add(Key("logRateKiBPerNode"), l.LogRateKiBPerNode, "must be at least 1 (KiB/s of logs per node)")
	}
	if l.OutageMinutes < 1 {
		p.add(Key("logOutageMinutes"), l.OutageMinutes, "must be at least 1: the buffer must hold at least one minute of logs")
	}
	if l.LogRateKiBPerNode >= 1 && l.OutageMinutes >= 1 {
		if minutes := logging.MinutesBuffered(l.BufferMiB, l.LogRateKiBPerNode); minutes < 1 {
			p.add(Key("logBufferMiB"), l.BufferMiB, "is below one minute of logs at %d KiB/s per node: at least %d MiB",
				l.LogRateKiBPerNode, logging.BufferMiBFor(l.LogRateKiBPerNode, 1))
		}
		// The buffer lives on the node's root volume, beside images and pods.
		if disk := c.Cluster.Nodes.DiskSizeGiB; c.Environment != Local && disk > 0 && l.BufferMiB > disk*1024/4 {
			p.add(Key("logBufferMiB"), l.BufferMiB, "must fit in a quarter of the node disk (nodes.diskSizeGiB %d: at most %d MiB); lower logOutageMinutes or logRateKiBPerNode, or grow the disk",
				disk, disk*1024/4)
		}
	}
	if r, ok := logMemoryRangeByAgent[l.Agent]; ok && (l.MemoryLimitMiB < r[0] || l.MemoryLimitMiB > r[1]) {
		p.add(Key("logMemoryLimitMiB"), l.MemoryLimitMiB, "must be between %d and %d MiB for %s", r[0], r[1], l.Agent)
	}
	if !l.Enabled {
		return
	}
	if l.LogScaleURL == "" {
		p.add(Key("logScaleUrl"), "", "is required when logging is on (platform:logging): the https URL of LogScale")
	}
	if l.Repository == "" {
		p.add(Key("logScaleRepository"), "", "is required when logging is on (platform:logging): the LogScale repository name")
	}
}

// LoggingArgs turns the configuration into the component's args (without
// the monitoring dependency), so tests and tools render exactly what a stack
// deploys. The token is a secret output.
func LoggingArgs(cfg *Config) *logging.Args {
	l := cfg.Logging
	args := &logging.Args{
		Agent:               l.Agent,
		LogScaleURL:         l.LogScaleURL,
		Repository:          l.Repository,
		IngestToken:         l.IngestToken.Output(),
		ClusterName:         cfg.Cluster.Name,
		LogRateKiBPerSecond: l.LogRateKiBPerNode,
		OutageMinutes:       l.OutageMinutes,
		BufferMiB:           l.BufferMiB,
		StorageSyncFull:     l.StorageSyncFull,
		MemoryLimitMiB:      l.MemoryLimitMiB,
		ExcludeNamespaces:   l.ExcludeNamespaces,
	}
	args.APIServer = cfg.APIServer()
	if cfg.Environment == Local {
		args.ClusterName = cfg.Local.KubeconfigContext
	}
	return args
}

// deployLogging builds the logging component onto p.Provider. The same
// DaemonSet runs on EKS and on kind (local); nothing of it is AWS-specific.
func deployLogging(ctx *pulumi.Context, cfg *Config, p *Platform) error {
	if !cfg.Logging.Enabled {
		return nil
	}
	args := LoggingArgs(cfg)
	if p.Monitoring != nil {
		// The release itself, not the component: a dependency on a component
		// covers only the children registered by then.
		args.Monitoring = &logging.MonitoringArgs{DependsOn: []pulumi.Resource{p.Monitoring.Release}}
	}
	comp, err := logging.NewLogging(ctx, "logging", args, pulumi.Provider(p.Provider), cfg.Charts.Source.Option())
	if err != nil {
		return err
	}
	p.Logging = comp
	return nil
}
