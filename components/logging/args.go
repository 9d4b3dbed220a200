package logging

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/logging/agentspec"
	"github.com/cnplatform/platform/components/namespace"
)

// Agents that can ship the logs (written in [agentspec]).
const (
	FluentBit = agentspec.FluentBit
	Fluentd   = agentspec.Fluentd
)

// MemoryLimitRangeMiB is the memory limit each agent may be given, in MiB;
// the stack configuration applies the same range.
var MemoryLimitRangeMiB = map[string][2]int{FluentBit: {32, 1024}, Fluentd: {128, 4096}}

// Agents lists the allowed values of Args.Agent.
var Agents = []string{FluentBit, Fluentd}

// LogScale's two Elastic Bulk endpoints (written in [agentspec]).
const (
	IngestPath = agentspec.IngestPath
	BulkPath   = agentspec.BulkPath
)

// IngestUser is the user name LogScale expects beside an ingest token on
// its Elasticsearch bulk API (the token is the password).
const IngestUser = "ingest"

// Defaults.
const (
	DefaultNamespace            = namespace.DefaultLogging
	DefaultMonitoringNamespace  = namespace.DefaultMonitoring
	DefaultLogRateKiBPerSecond  = 512 // 0.5 MB/s per node: a busy node
	DefaultOutageMinutes        = 60
	DefaultFluentBitMemoryMiB   = 100
	DefaultFluentdMemoryMiB     = 512
	DefaultFluentBitCPUMilli    = 50
	DefaultFluentdCPUMilli      = 100
	DefaultBufferHostPath       = "/var/lib/platform-logging"
	DefaultPriorityClassName    = "system-node-critical"
	DefaultIngestTokenSecretKey = "token"
	DefaultAgent                = FluentBit
	// chunkMiB is the size Fluent Bit gives a chunk (about 2 MB), which is
	// what one `storage.max_chunks_up` slot costs in memory.
	chunkMiB = 2
)

// typeToken is the component's Pulumi type; errors name it with the
// component's name.
const typeToken = "platform:logging:Logging"

// MonitoringArgs says the Prometheus Operator is installed, so the agent
// gets a ServiceMonitor.
type MonitoringArgs struct {
	// DependsOn: the ServiceMonitor waits for these, at least what installs
	// the Prometheus Operator CRDs. Default none.
	DependsOn []pulumi.Resource
}

// Args configures the log pipeline.
type Args struct {
	// Agent: FluentBit or Fluentd. Default [DefaultAgent].
	Agent string
	// Namespace the agent runs in. Default [DefaultNamespace].
	Namespace string
	// LogScaleURL is the LogScale base URL, https only, without a path, such
	// as https://cloud.community.humio.com. Required.
	LogScaleURL string
	// Repository is the LogScale repository the ingest token writes to.
	// LogScale picks the repository from the token; the name is sent as the
	// bulk request's index so events and dashboards show where they went.
	// Required.
	Repository string
	// IngestToken is the repository's ingest token, a Pulumi secret. It is
	// written only into a Kubernetes Secret. Required.
	IngestToken pulumi.StringInput
	// ClusterName is added to every event as the `cluster` field. Default
	// none (no field added).
	ClusterName string
	// LogRateKiBPerSecond is the expected log volume of one node. Default
	// [DefaultLogRateKiBPerSecond].
	LogRateKiBPerSecond int
	// OutageMinutes is how long a LogScale outage the node buffer must
	// survive without dropping logs. Default [DefaultOutageMinutes].
	OutageMinutes int
	// BufferMiB is the disk buffer per node. Default: OutageMinutes x
	// LogRateKiBPerSecond, rounded up. Must hold at least one minute of logs.
	BufferMiB int
	// BufferHostPath is the node directory the buffer lives in. Default
	// [DefaultBufferHostPath].
	BufferHostPath string
	// StorageSyncFull makes Fluent Bit fsync every chunk write (crash safe at
	// the cost of disk IO). Default false (`normal`).
	StorageSyncFull bool
	// MemoryLimitMiB is the agent container's memory limit. Default
	// [DefaultFluentBitMemoryMiB] or [DefaultFluentdMemoryMiB].
	MemoryLimitMiB int
	// MemoryRequestMiB is the memory request. Default half the limit.
	MemoryRequestMiB int
	// CPURequestMilli is the CPU request. Default for Fluent Bit
	// [CPUMilliFor] the log rate (at least [DefaultFluentBitCPUMilli]), for
	// Fluentd [DefaultFluentdCPUMilli].
	CPURequestMilli int
	// ExcludeNamespaces are namespaces whose logs are not shipped. Default none.
	ExcludeNamespaces []string
	// MonitoringNamespace may scrape the agent's metrics. Default
	// [DefaultMonitoringNamespace].
	MonitoringNamespace string
	// Monitoring: the Prometheus Operator is installed; the agent gets a
	// ServiceMonitor. Default nil: none (the CRD does not exist).
	Monitoring *MonitoringArgs
	// APIServer is where the agent reads pod metadata from (the platform's
	// one API-server rule). Default any address on namespace.APIServerPort
	// (namespace.AnyAPIServer); on EKS pass namespace.EKSAPIServer.
	APIServer *namespace.APIServer
	// PriorityClassName of the agent pods. Default
	// [DefaultPriorityClassName], so
	// the agent is the last thing evicted from a node under pressure.
	PriorityClassName string
}

// withDefaults returns a copy of a with every default applied.
func (a Args) withDefaults() Args {
	out := a
	contract.SetDefault(&out.Agent, DefaultAgent)
	contract.SetDefault(&out.Namespace, DefaultNamespace)
	contract.SetDefault(&out.MonitoringNamespace, DefaultMonitoringNamespace)
	contract.SetDefault(&out.LogRateKiBPerSecond, DefaultLogRateKiBPerSecond)
	contract.SetDefault(&out.OutageMinutes, DefaultOutageMinutes)
	contract.SetDefault(&out.BufferMiB, BufferMiBFor(out.LogRateKiBPerSecond, out.OutageMinutes))
	contract.SetDefault(&out.BufferHostPath, DefaultBufferHostPath)
	if out.MemoryLimitMiB == 0 {
		out.MemoryLimitMiB = DefaultFluentBitMemoryMiB
		if out.Agent == Fluentd {
			out.MemoryLimitMiB = DefaultFluentdMemoryMiB
		}
	}
	contract.SetDefault(&out.MemoryRequestMiB, out.MemoryLimitMiB/2)
	if out.CPURequestMilli == 0 {
		out.CPURequestMilli = CPUMilliFor(out.LogRateKiBPerSecond)
		if out.Agent == Fluentd {
			out.CPURequestMilli = DefaultFluentdCPUMilli
		}
	}
	if out.APIServer == nil {
		anyAPI := namespace.AnyAPIServer(namespace.APIServerPort)
		out.APIServer = &anyAPI
	}
	contract.SetDefault(&out.PriorityClassName, DefaultPriorityClassName)
	return out
}

// Buffer sizing: LogRateKiBPerSecond is log volume as the node's files hold
// it; a line of SizingLineBytes takes BufferBytesPerLine in the buffer
// (measured with the real agent; written in [agentspec]).
const (
	SizingLineBytes    = agentspec.SizingLineBytes
	BufferBytesPerLine = agentspec.BufferBytesPerLine
)

// CPUMicrosPerLine is Fluent Bit's CPU time per line of SizingLineBytes
// (measured with the real agent; written in [agentspec]).
const CPUMicrosPerLine = agentspec.CPUMicrosPerLine

// CPUMilliFor is the Fluent Bit CPU request (millicores) that keeps up with
// rateKiB of logs per second, lines of SizingLineBytes at CPUMicrosPerLine
// each, and never below DefaultFluentBitCPUMilli. A request below it lets
// a busy node's agent fall behind its files, and the kubelet deletes a
// rotated file at its next rotation whether it was read or not.
func CPUMilliFor(rateKiB int) int {
	linesPerSecond := float64(rateKiB) * 1024 / SizingLineBytes
	return max(DefaultFluentBitCPUMilli, int(math.Ceil(linesPerSecond*CPUMicrosPerLine/1000)))
}

// BufferMiBFor is the disk buffer that holds minutes of logs at rateKiB
// KiB/s of log files, rounded up to a whole MiB.
func BufferMiBFor(rateKiB, minutes int) int {
	bytes := int64(rateKiB) * 1024 * 60 * int64(minutes) * BufferBytesPerLine / SizingLineBytes
	return int((bytes + 1<<20 - 1) >> 20)
}

// MinutesBuffered is how many minutes of logs at rateKiB KiB/s a buffer of
// bufferMiB holds.
func MinutesBuffered(bufferMiB, rateKiB int) float64 {
	if rateKiB <= 0 {
		return 0
	}
	return float64(bufferMiB) * 1024 * SizingLineBytes / BufferBytesPerLine / float64(rateKiB) / 60
}

var repository = contract.NewShape(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`, "must be a LogScale repository name (letters, digits, _ . -)")

// CheckRepository says whether s can name a LogScale repository; the
// stack configuration checks with it too.
func CheckRepository(s string) error { return repository.Check(s) }

// CheckAgent says whether s names one of Agents.
func CheckAgent(s string) error {
	if !slices.Contains(Agents, s) {
		return fmt.Errorf("must be one of %s", strings.Join(Agents, ", "))
	}
	return nil
}

// CheckMemoryLimit says whether mib is in the agent's memory-limit range
// (MemoryLimitRangeMiB); nothing for an unknown agent, which CheckAgent
// reports.
func CheckMemoryLimit(agent string, mib int) error {
	if r, ok := MemoryLimitRangeMiB[agent]; ok && (mib < r[0] || mib > r[1]) {
		return fmt.Errorf("must be between %d and %d MiB for %s", r[0], r[1], agent)
	}
	return nil
}

// CheckBuffer says whether a buffer of bufferMiB holds at least a minute of
// logs at rateKiB KiB/s.
func CheckBuffer(bufferMiB, rateKiB int) error {
	if MinutesBuffered(bufferMiB, rateKiB) < 1 {
		return fmt.Errorf("holds less than one minute, and may not be below one minute of logs at %d KiB/s per node: at least %d MiB", rateKiB, BufferMiBFor(rateKiB, 1))
	}
	return nil
}

// ParseLogScaleURL checks that raw is an https URL with a host and no path,
// query or credentials, and returns its host and port (443 when absent).
func ParseLogScaleURL(raw string) (host string, port int, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, err
	}
	switch {
	case u.Scheme != "https":
		return "", 0, fmt.Errorf("the scheme must be https, not %q", u.Scheme)
	case u.Hostname() == "":
		return "", 0, fmt.Errorf("a host name is required")
	case u.User != nil:
		return "", 0, fmt.Errorf("credentials do not belong in the URL: the ingest token is a secret")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return "", 0, fmt.Errorf("give the base URL only (no path, query or fragment): the ingest path %s is added", IngestPath)
	}
	port = 443
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("port %q is not a TCP port", p)
		}
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		// TLS verification needs a name the certificate was issued for.
		return "", 0, fmt.Errorf("use a host name, not an IP address, so the certificate can be verified")
	}
	return u.Hostname(), port, nil
}

// validate returns every problem with defaulted Args, joined.
func (a Args) validate() error {
	var errs contract.Problems
	add := errs.Add
	if err := CheckAgent(a.Agent); err != nil {
		add("Agent %q: %v", a.Agent, err)
	}
	if err := namespace.CheckName(a.Namespace); err != nil {
		add("Namespace %q: %v", a.Namespace, err)
	}
	if _, _, err := ParseLogScaleURL(a.LogScaleURL); err != nil {
		add("LogScaleURL %q: %v", a.LogScaleURL, err)
	}
	if err := CheckRepository(a.Repository); err != nil {
		add("Repository %q: %v", a.Repository, err)
	}
	if a.LogRateKiBPerSecond < 1 {
		add("LogRateKiBPerSecond %d must be at least 1", a.LogRateKiBPerSecond)
	}
	if a.OutageMinutes < 1 {
		add("OutageMinutes %d must be at least 1", a.OutageMinutes)
	}
	if a.LogRateKiBPerSecond >= 1 {
		if err := CheckBuffer(a.BufferMiB, a.LogRateKiBPerSecond); err != nil {
			add("BufferMiB %d %v", a.BufferMiB, err)
		}
	}
	if !strings.HasPrefix(a.BufferHostPath, "/") || strings.HasPrefix(a.BufferHostPath+"/", "/var/log/") {
		// /var/log is mounted read-only; the buffer must live elsewhere.
		add("BufferHostPath %q must be an absolute path outside /var/log", a.BufferHostPath)
	}
	if err := CheckMemoryLimit(a.Agent, a.MemoryLimitMiB); err != nil {
		add("MemoryLimitMiB %d %v", a.MemoryLimitMiB, err)
	}
	if a.MemoryRequestMiB > a.MemoryLimitMiB || a.MemoryRequestMiB < 1 {
		add("MemoryRequestMiB %d must be between 1 and MemoryLimitMiB (%d)", a.MemoryRequestMiB, a.MemoryLimitMiB)
	}
	if a.CPURequestMilli < 1 {
		add("CPURequestMilli %d must be positive", a.CPURequestMilli)
	}
	for _, ns := range a.ExcludeNamespaces {
		if err := namespace.CheckName(ns); err != nil {
			add("ExcludeNamespaces: %q %v", ns, err)
		}
		if ns == a.Namespace {
			add("ExcludeNamespaces: %q is the agent's own namespace; its errors must reach LogScale", ns)
		}
	}
	if err := a.APIServer.Validate(); err != nil {
		add("%v", err)
	}
	return errs.Err()
}

// maxChunksUp bounds the chunks Fluent Bit keeps in memory so that they use
// at most a quarter of the memory limit (each maps about 2 MiB); the rest
// stays on disk until the output catches up. A chunk in memory is also one
// that can be in flight, and a request in flight holds its bulk body, the
// gzip of it and LogScale's reply on the heap: measured at 20,000 lines/s
// with 1.4-1.9 MB replies and two output workers, half the limit in chunks
// brought the agent to 88-98 MiB of a 100 MiB limit (docs/logging.md,
// Measured).
func maxChunksUp(memoryLimitMiB int) int {
	n := memoryLimitMiB / 4 / chunkMiB
	if n < 4 {
		n = 4
	}
	return n
}

// schedulerBase is the shortest retry wait (seconds, plus Fluent Bit's own
// second): a blip is retried within 3-5 s.
const schedulerBase = 2

// schedulerCap is the longest a failed chunk waits between tries (seconds),
// sized from the outage the buffer is sized for. Once LogScale is back,
// every chunk is tried again within the cap, so catching up takes the cap
// plus the time to send the backlog. A longer outage fills more chunks,
// each tried about twice per cap while LogScale is away: the cap grows
// with the outage (one second per four minutes of it), so a full buffer's
// retries and the catch-up of many nodes are spread over more time, up to
// 30 s so that an outage of a minute or more is caught up in less time
// than it lasted. At least 10 s.
func schedulerCap(outageMinutes int) int {
	return min(max(outageMinutes/4, 10), 30)
}
