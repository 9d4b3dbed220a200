package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/namespace"
)

// LoggingConfig configures the log pipeline to LogScale (docs/logging.md):
// `platform:logging`, one object (loggingKey), and the secret
// `platform:logScaleIngestToken`. The fields hold the values after
// defaulting.
type LoggingConfig struct {
	// Enabled (`enabled`): default on when logScaleUrl is set (in local,
	// once the ingest token is set too).
	Enabled bool
	// Agent (`agent`): fluent-bit (default) or fluentd.
	Agent string
	// LogScaleURL (`logScaleUrl`): https base URL of LogScale. Required
	// when logging is on.
	LogScaleURL string
	// Repository (`repository`): the LogScale repository the ingest token
	// writes to. Required when logging is on.
	Repository string
	// IngestToken (`platform:logScaleIngestToken`, a key of its own so
	// `pulumi config set --secret` sets it): the repository's ingest token.
	// Required when logging is on.
	IngestToken Secret
	// LogRateKiBPerNode (`rateKiBPerNode`): expected log volume of one node
	// in KiB/s. Default per environment (Defaults).
	LogRateKiBPerNode int
	// OutageMinutes (`outageMinutes`): LogScale outage each node buffers
	// through without loss. Default per environment (Defaults).
	OutageMinutes int
	// BufferMiB (`bufferMiB`): disk buffer per node. Default
	// logging.BufferMiBFor(LogRateKiBPerNode, OutageMinutes); at least one
	// minute of logs.
	BufferMiB int
	// MemoryLimitMiB (`memoryLimitMiB`): agent memory limit. Default
	// logging.DefaultFluentBitMemoryMiB or DefaultFluentdMemoryMiB.
	MemoryLimitMiB int
	// ExcludeNamespaces (`excludeNamespaces`): namespaces whose logs are not
	// shipped. Default none.
	ExcludeNamespaces []string
	// StorageSyncFull: Fluent Bit fsyncs every buffer write. On in prod
	// only; not configurable.
	StorageSyncFull bool

	// key is `platform:logging` as the stack file writes it.
	key loggingKey
}

// loggingKey is `platform:logging` as written: a pointer tells an unset
// field from an explicit zero, which is validated rather than defaulted.
type loggingKey struct {
	Enabled           *bool    `json:"enabled,omitempty"`
	Agent             string   `json:"agent,omitempty"`
	LogScaleURL       string   `json:"logScaleUrl,omitempty"`
	Repository        string   `json:"repository,omitempty"`
	RateKiBPerNode    *int     `json:"rateKiBPerNode,omitempty"`
	OutageMinutes     *int     `json:"outageMinutes,omitempty"`
	BufferMiB         *int     `json:"bufferMiB,omitempty"`
	MemoryLimitMiB    *int     `json:"memoryLimitMiB,omitempty"`
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
}

// loggingField is the key of a field of platform:logging.
func loggingField(field string) string { return Key("logging") + "." + field }

// loadLogging reads `platform:logging` and the ingest token.
func loadLogging(r *reader, c *Config) {
	l := &c.Logging
	r.object("logging", &l.key, "must be an object with enabled, agent, logScaleUrl, repository, rateKiBPerNode, outageMinutes, bufferMiB, memoryLimitMiB, excludeNamespaces")
	r.secret("logScaleIngestToken", &l.IngestToken)
	k := l.key
	l.Agent, l.LogScaleURL, l.Repository, l.ExcludeNamespaces = k.Agent, k.LogScaleURL, k.Repository, k.ExcludeNamespaces
}

// valueOr is *p, or v when p is nil.
func valueOr[T any](p *T, v T) T {
	if p == nil {
		return v
	}
	return *p
}

// defaultLogging fills what the stack file left out, per environment.
func defaultLogging(c *Config) {
	l := &c.Logging
	k := l.key
	l.Enabled = valueOr(k.Enabled, l.LogScaleURL != "")
	if k.Enabled == nil && c.Environment == Local && l.Enabled && !l.IngestToken.IsSet() {
		// local previews on a fresh checkout with no secret set: logging
		// waits for its token there (SecretSettings says so).
		l.Enabled = false
		c.Notices = append(c.Notices, "logging is off until the ingest token is set: pulumi config set --secret "+Key("logScaleIngestToken")+" <ingest-token>")
	}
	if l.Agent == "" {
		l.Agent = logging.DefaultAgent
	}
	d, ok := Defaults[c.Environment]
	if !ok {
		return
	}
	l.LogRateKiBPerNode = valueOr(k.RateKiBPerNode, d.LogRateKiBPerNode)
	l.OutageMinutes = valueOr(k.OutageMinutes, d.LogOutageMinutes)
	if l.LogRateKiBPerNode > 0 && l.OutageMinutes > 0 {
		l.BufferMiB = logging.BufferMiBFor(l.LogRateKiBPerNode, l.OutageMinutes)
	}
	l.BufferMiB = valueOr(k.BufferMiB, l.BufferMiB)
	memory := logging.DefaultFluentBitMemoryMiB
	if l.Agent == logging.Fluentd {
		memory = logging.DefaultFluentdMemoryMiB
	}
	l.MemoryLimitMiB = valueOr(k.MemoryLimitMiB, memory)
	l.StorageSyncFull = c.Environment == Prod
}

// validateLogging adds a problem for every bad value.
func validateLogging(p *problems, c *Config) {
	l := &c.Logging
	if err := logging.CheckAgent(l.Agent); err != nil {
		p.add(loggingField("agent"), l.Agent, "%v", err)
	}
	if l.LogScaleURL != "" {
		if _, _, err := logging.ParseLogScaleURL(l.LogScaleURL); err != nil {
			p.add(loggingField("logScaleUrl"), l.LogScaleURL, "must be an https URL of LogScale such as https://cloud.community.humio.com: %v", err)
		}
	}
	if err := logging.CheckRepository(l.Repository); l.Repository != "" && err != nil {
		p.add(loggingField("repository"), l.Repository, "%v", err)
	}
	for i, ns := range l.ExcludeNamespaces {
		key := fmt.Sprintf("%s[%d]", loggingField("excludeNamespaces"), i)
		if err := namespace.CheckName(ns); err != nil {
			p.add(key, ns, "%v", err)
		}
		if ns == logging.DefaultNamespace {
			p.add(key, ns, "the log agent's own namespace cannot be excluded: its errors must reach LogScale")
		}
	}
	if l.LogRateKiBPerNode < 1 {
		p.add(loggingField("rateKiBPerNode"), l.LogRateKiBPerNode, "must be at least 1 (KiB/s of logs per node)")
	}
	if l.OutageMinutes < 1 {
		p.add(loggingField("outageMinutes"), l.OutageMinutes, "must be at least 1: the buffer must hold at least one minute of logs")
	}
	if l.LogRateKiBPerNode >= 1 && l.OutageMinutes >= 1 {
		if err := logging.CheckBuffer(l.BufferMiB, l.LogRateKiBPerNode); err != nil {
			p.add(loggingField("bufferMiB"), l.BufferMiB, "%v", err)
		}
		// The buffer lives on the node's root volume, beside images and pods.
		if disk := c.Cluster.Nodes.DiskSizeGiB; c.Environment != Local && disk > 0 && l.BufferMiB > disk*1024/4 {
			p.add(loggingField("bufferMiB"), l.BufferMiB, "must fit in a quarter of the node disk (nodes.diskSizeGiB %d: at most %d MiB); lower outageMinutes or rateKiBPerNode, or grow the disk",
				disk, disk*1024/4)
		}
	}
	if err := logging.CheckMemoryLimit(l.Agent, l.MemoryLimitMiB); err != nil {
		p.add(loggingField("memoryLimitMiB"), l.MemoryLimitMiB, "%v", err)
	}
	if !l.Enabled {
		return
	}
	if l.LogScaleURL == "" {
		p.add(loggingField("logScaleUrl"), "", "is required when logging is on (platform:logging.enabled): the https URL of LogScale")
	}
	if l.Repository == "" {
		p.add(loggingField("repository"), "", "is required when logging is on (platform:logging.enabled): the LogScale repository name")
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
