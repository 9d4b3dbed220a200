// Package agentspec holds what the logging component fixes about the log
// agents and LogScale that the real-agent test (validation/logagent) needs
// too: the agents' names, Fluent Bit's HTTP server and configuration file,
// the node's container log directory, LogScale's Elastic Bulk endpoints and
// the buffer sizing measured with the real agent. It imports nothing, so
// the validation module imports it without the Pulumi SDK; the logging
// package exports the same names.
package agentspec

// Agents that can ship the logs; each is also its Helm release's name.
const (
	// FluentBit is the default agent: ~450 KB base memory, bounded buffers.
	FluentBit = "fluent-bit"
	// Fluentd is the original setup's agent: more plugins, far more memory
	// (over 60 MB base, seen at 1.5 GB per node under load).
	Fluentd = "fluentd"
)

// Fluent Bit's HTTP server: metrics and health. The chart names the
// container port `http` and exposes it through its Service.
const (
	FluentBitMetricsPort = 2020
	FluentBitMetricsPath = "/api/v2/metrics/prometheus"
	FluentBitHealthPath  = "/api/v1/health"
	// FluentBitConfigFile is the key of the generated configuration in the
	// ConfigMap; the chart mounts the ConfigMap at /fluent-bit/etc/conf.
	FluentBitConfigFile = "fluent-bit.yaml"
)

// ContainerLogDir is where a node keeps a link to every container's log
// file, named <pod>_<namespace>_<container>-<id>.log; the agents tail
// ContainerLogDir/*.log.
const ContainerLogDir = "/var/log/containers"

// NamespaceLogFiles is the pattern of the log files of namespace's
// containers in ContainerLogDir.
func NamespaceLogFiles(namespace string) string {
	return ContainerLogDir + "/*_" + namespace + "_*.log"
}

// LogScale documents two Elastic Bulk endpoints on its base URL,
// /api/v1/ingest/elastic-bulk and /_bulk ("LogScale URLs and Endpoints",
// https://library.humio.com/falcon-logscale-cloud/endpoints.html).
const (
	// IngestPath is the first.
	IngestPath = "/api/v1/ingest/elastic-bulk"
	// BulkPath is the second, the one both agents reach: Fluent Bit's es
	// output and fluent-plugin-elasticsearch append /_bulk to their
	// `path`, which is therefore left empty.
	BulkPath = "/_bulk"
)

// Buffer sizing. The log rate is log volume as the node's files hold it,
// but the buffer holds records: each line parsed and carrying the
// Kubernetes metadata and cluster field the filters add, so a line takes
// more room in the buffer than in its file. These constants are
// measured with the real agent (validation/logagent, docs/logging.md
// "Measured"), which fails when the measurement drifts from them.
const (
	// SizingLineBytes is the average container log line the sizing
	// assumes, CRI prefix included.
	SizingLineBytes = 200
	// BufferBytesPerLine is what such a line takes in Fluent Bit's
	// filesystem buffer, counted as storage.total_limit_size counts.
	BufferBytesPerLine = 640
	// CPUMicrosPerLine is the agent's CPU time per such line, read, parsed,
	// enriched with pod metadata and shipped: measured with the real agent
	// at 10,000 lines/s (validation/logagent, the rotation scenario, which
	// fails when the agent needs more): 20-26 µs on the machines the tests
	// run on, 30-38 µs in an independent run; the sizing takes the slower.
	// The CPU request follows from it (logging.CPUMilliFor).
	CPUMicrosPerLine = 40
)

// LogScale's documented request limits
// (library.humio.com/falcon-logscale-self-hosted, MAX_INGEST_REQUEST_SIZE
// and MAX_EVENT_SIZE; the cloud's limits page gives the same event size).
const (
	// LogScaleMaxRequestBytes: a larger request is refused (HTTP 413),
	// measured after content encoding is removed (decompressed).
	LogScaleMaxRequestBytes = 32 << 20
	// LogScaleMaxEventBytes: a larger event is truncated.
	LogScaleMaxEventBytes = 1 << 20
)

// PlainFluentBitConfig is a Fluent Bit YAML configuration read back as
// plain YAML, as the agent reads it: sections and plugins are maps, not the
// logging package's Go types, so a reader checks the keys the agent gets
// and can rewrite any of them (validation/logagent) without knowing them.
type PlainFluentBitConfig struct {
	Service  map[string]any `json:"service"`
	Pipeline struct {
		Inputs  []map[string]any `json:"inputs"`
		Filters []map[string]any `json:"filters"`
		Outputs []map[string]any `json:"outputs"`
	} `json:"pipeline"`
}
