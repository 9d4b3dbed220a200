package logging

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/logging/agentspec"
	"github.com/cnplatform/platform/components/podvalues"
)

// Fluent Bit's HTTP server and configuration file (written in
// [agentspec]).
const (
	FluentBitMetricsPort = agentspec.FluentBitMetricsPort
	FluentBitMetricsPath = agentspec.FluentBitMetricsPath
	FluentBitHealthPath  = agentspec.FluentBitHealthPath
	FluentBitConfigFile  = agentspec.FluentBitConfigFile
	fluentBitConfigDir   = "/fluent-bit/etc/conf"
	// IngestTokenEnv is the environment variable holding the ingest token,
	// filled from the Kubernetes Secret; the configuration refers to it as
	// ${LOGSCALE_INGEST_TOKEN}, which both agents expand at start.
	IngestTokenEnv = "LOGSCALE_INGEST_TOKEN"
	containerLogs  = agentspec.ContainerLogDir + "/*.log"
	kubeTag        = "kube.*"
)

// kubeTagPrefix is what the tail input's tag kube.* becomes for a file in
// ContainerLogDir (the `*` is the file's path, slashes as dots), so the
// kubernetes filter finds pod, namespace and container after it.
var kubeTagPrefix = "kube" + strings.ReplaceAll(agentspec.ContainerLogDir, "/", ".") + "."

// FluentBitConfig is Fluent Bit's YAML configuration document
// (docs.fluentbit.io, "YAML configuration").
type FluentBitConfig struct {
	Service  FluentBitService  `json:"service"`
	Pipeline FluentBitPipeline `json:"pipeline"`
}

// FluentBitService is the `service` section.
type FluentBitService struct {
	Flush       int    `json:"flush"`
	LogLevel    string `json:"log_level"`
	ParsersFile string `json:"parsers_file"`
	HTTPServer  bool   `json:"http_server"`
	HTTPListen  string `json:"http_listen"`
	HTTPPort    int    `json:"http_port"`
	// HealthCheck makes /api/v1/health answer 500 once the output has had
	// more than HCErrorsCount errors or HCRetryFailureCount failed retries
	// within HCPeriod seconds.
	HealthCheck         bool `json:"health_check"`
	HCErrorsCount       int  `json:"hc_errors_count"`
	HCRetryFailureCount int  `json:"hc_retry_failure_count"`
	HCPeriod            int  `json:"hc_period"`
	// StoragePath is where filesystem chunks live: the hostPath buffer.
	StoragePath string `json:"storage.path"`
	// StorageSync: normal, or full (fsync every write).
	StorageSync     string `json:"storage.sync"`
	StorageChecksum bool   `json:"storage.checksum"`
	// StorageMaxChunksUp bounds the chunks held in memory.
	StorageMaxChunksUp int `json:"storage.max_chunks_up"`
	// StorageBacklogMemLimit bounds memory used to replay the backlog after
	// a restart.
	StorageBacklogMemLimit string `json:"storage.backlog.mem_limit"`
	StorageMetrics         bool   `json:"storage.metrics"`
	// SchedulerBase and SchedulerCap (seconds) bound the retry back-off: a
	// failed chunk waits 1 + a random time between base and
	// min(cap, base x 2^tries) seconds (src/flb_scheduler.c,
	// backoff_full_jitter, v5.0.9; keys in src/flb_config.c). Unset, the cap
	// is 2000 s, so after a two-minute outage chunks sat idle for minutes
	// after LogScale came back. See schedulerCap.
	SchedulerBase int `json:"scheduler.base"`
	SchedulerCap  int `json:"scheduler.cap"`
}

// FluentBitPipeline is the `pipeline` section.
type FluentBitPipeline struct {
	Inputs  []TailInput `json:"inputs"`
	Filters []any       `json:"filters"`
	Outputs []ESOutput  `json:"outputs"`
}

// TailInput reads container log files.
type TailInput struct {
	Name string `json:"name"`
	Tag  string `json:"tag"`
	Path string `json:"path"`
	// ExcludePath: comma-separated patterns of files not to read (excluded
	// namespaces), so their logs are never read, buffered or sent.
	ExcludePath string `json:"exclude_path,omitempty"`
	// MultilineParser joins lines the runtime split (CRI partial lines).
	MultilineParser string `json:"multiline.parser"`
	// DB remembers file offsets across restarts (on the hostPath buffer).
	DB            string `json:"db"`
	DBLocking     bool   `json:"db.locking"`
	SkipLongLines bool   `json:"skip_long_lines"`
	// RefreshInterval (seconds) between scans of the path for new files.
	// A rotation's new file is usually found at once, through the
	// symlink (plugins/in_tail/tail_file.c flb_tail_file_rotated, v5.0.9);
	// when the runtime has not reopened it yet, only the next scan finds
	// it, and at 10 MiB per rotation a busy container fills most of a
	// file in a 10 s scan interval.
	RefreshInterval int `json:"refresh_interval"`
	// RotateWait (seconds) a rotated file is still read before it is
	// closed, read to its end or not (flb_tail_file_purge; upstream
	// fluent/fluent-bit#10414). The default 5 drops what an agent more
	// than 5 s behind has not read; the kubelet deletes a rotated file at
	// its next rotation (it compresses it), which bounds what a longer
	// wait can save. What keeps the agent from falling behind is its CPU
	// request (CPUMilliFor; docs/logging.md, "A busy node").
	RotateWait int `json:"rotate_wait"`
	// ReadFromHead: a file found at start without an offset in DB (a
	// rotation while the agent was down, a node's first start) is read
	// from its start; the default reads it from its end, losing what it
	// holds. Offsets in DB still win. Files found later are always read
	// from their start (read_newly_discovered_files_from_head).
	ReadFromHead bool `json:"read_from_head"`
	// BufferChunkSize and BufferMaxSize: each read of a file takes up to
	// this much (default 32k): fewer reads of a busy container's file,
	// at most 128k of memory per file. A line longer than BufferMaxSize is skipped
	// (SkipLongLines); the runtime splits lines at 16 KiB.
	BufferChunkSize string `json:"buffer_chunk_size"`
	BufferMaxSize   string `json:"buffer_max_size"`
	// Threaded stays false: a threaded input hands its records to the
	// engine through a queue after it has stored the file offset, so a
	// SIGKILL (an OOM kill, a node crash) lost the lines in that queue
	// (validation/logagent, scenario kill: 54 of 25,000 lines lost
	// threaded, none without).
	Threaded bool `json:"threaded"`
	// StorageType filesystem: chunks are written to the buffer directory,
	// so a restart or an outage loses nothing.
	StorageType string `json:"storage.type"`
}

// KubernetesFilter adds pod metadata to each record.
type KubernetesFilter struct {
	Name          string `json:"name"`
	Match         string `json:"match"`
	KubeTagPrefix string `json:"kube_tag_prefix"`
	// MergeLog parses JSON log lines into fields.
	MergeLog bool `json:"merge_log"`
	KeepLog  bool `json:"keep_log"`
	// K8sLoggingParser lets a pod suggest a parser by annotation.
	K8sLoggingParser bool `json:"k8s-logging.parser"`
	// K8sLoggingExclude drops the logs of pods annotated
	// `fluentbit.io/exclude: "true"`.
	K8sLoggingExclude bool `json:"k8s-logging.exclude"`
	Labels            bool `json:"labels"`
	Annotations       bool `json:"annotations"`
	// BufferSize for API responses; pods with many labels need more than
	// the 32k default.
	BufferSize string `json:"buffer_size"`
}

// ModifyFilter adds fixed fields.
type ModifyFilter struct {
	Name  string `json:"name"`
	Match string `json:"match"`
	Add   string `json:"add"`
}

// ESOutput sends records to LogScale's Elasticsearch bulk API.
type ESOutput struct {
	Name  string `json:"name"`
	Match string `json:"match"`
	Host  string `json:"host"`
	Port  int    `json:"port"`
	// Path stays empty. The es output posts to Path + "/_bulk"
	// (plugins/out_es/es_conf.c, v5.0.9), so the documented
	// /api/v1/ingest/elastic-bulk as Path would become the undocumented
	// /api/v1/ingest/elastic-bulk/_bulk; without it requests go to /_bulk,
	// the other Elastic Bulk endpoint LogScale documents (BulkPath).
	Path             string `json:"path,omitempty"`
	TLS              bool   `json:"tls"`
	TLSVerify        bool   `json:"tls.verify"`
	HTTPUser         string `json:"http_user"`
	HTTPPasswd       string `json:"http_passwd"`
	Index            string `json:"index"`
	SuppressTypeName bool   `json:"suppress_type_name"`
	Compress         string `json:"compress"`
	// RetryLimit no_limits: a chunk is retried until LogScale takes it.
	RetryLimit string `json:"retry_limit"`
	// StorageTotalLimitSize caps the disk buffer of this output; past it the
	// oldest chunks are dropped.
	StorageTotalLimitSize string `json:"storage.total_limit_size"`
	// BufferSize of the HTTP response: "false" = no limit. The bulk reply
	// has one item per document (0.85-2.4 MB per request at 20,000
	// lines/s); a reply larger than the buffer makes the HTTP client fail
	// the request (src/flb_http_client.c, "cannot increase buffer", v5.0.9)
	// after LogScale has taken the documents, and the chunk is sent again
	// forever: duplicates. The reply is bounded by the request, which is
	// bounded by one chunk (about 2 MB of records).
	BufferSize string `json:"buffer_size"`
	TraceError bool   `json:"trace_error"`
	// Workers: one sender thread, which keeps several requests in flight
	// (coroutines). Measured at 20,000 lines/s with 1.4 MB replies, one
	// worker kept up (caught up about a second after the burst) in a
	// peak of 65-73 MiB; two peaked at 77-94 MiB of the 100 MiB limit.
	Workers int `json:"workers"`
}

// FluentBitConfigFor builds the pipeline from defaulted, valid args.
func FluentBitConfigFor(a Args) FluentBitConfig {
	host, port, _ := ParseLogScaleURL(a.LogScaleURL)
	sync := "normal"
	if a.StorageSyncFull {
		sync = "full"
	}
	var exclude []string
	for _, ns := range a.ExcludeNamespaces {
		exclude = append(exclude, agentspec.NamespaceLogFiles(ns))
	}
	filters := []any{KubernetesFilter{
		Name:              "kubernetes",
		Match:             kubeTag,
		KubeTagPrefix:     kubeTagPrefix,
		MergeLog:          true,
		KeepLog:           false,
		K8sLoggingParser:  true,
		K8sLoggingExclude: true,
		Labels:            true,
		Annotations:       false,
		BufferSize:        "256k",
	}}
	if a.ClusterName != "" {
		filters = append(filters, ModifyFilter{Name: "modify", Match: kubeTag, Add: "cluster " + a.ClusterName})
	}
	return FluentBitConfig{
		Service: FluentBitService{
			Flush:                  1,
			LogLevel:               "info",
			ParsersFile:            "/fluent-bit/etc/parsers.conf",
			HTTPServer:             true,
			HTTPListen:             "0.0.0.0",
			HTTPPort:               FluentBitMetricsPort,
			HealthCheck:            true,
			HCErrorsCount:          5,
			HCRetryFailureCount:    5,
			HCPeriod:               60,
			StoragePath:            strings.TrimSuffix(a.BufferHostPath, "/") + "/flb-storage/",
			StorageSync:            sync,
			StorageChecksum:        false,
			StorageMaxChunksUp:     maxChunksUp(a.MemoryLimitMiB),
			StorageBacklogMemLimit: fmt.Sprintf("%dM", max(a.MemoryLimitMiB/10, 5)),
			StorageMetrics:         true,
			SchedulerBase:          schedulerBase,
			SchedulerCap:           schedulerCap(a.OutageMinutes),
		},
		Pipeline: FluentBitPipeline{
			Inputs: []TailInput{{
				Name:            "tail",
				Tag:             kubeTag,
				Path:            containerLogs,
				ExcludePath:     strings.Join(exclude, ","),
				MultilineParser: "cri, docker",
				DB:              strings.TrimSuffix(a.BufferHostPath, "/") + "/tail-containers.db",
				DBLocking:       true,
				SkipLongLines:   true,
				RefreshInterval: 2,
				RotateWait:      30,
				ReadFromHead:    true,
				BufferChunkSize: "64k",
				BufferMaxSize:   "128k",
				Threaded:        false,
				StorageType:     "filesystem",
			}},
			Filters: filters,
			Outputs: []ESOutput{{
				Name:                  "es",
				Match:                 kubeTag,
				Host:                  host,
				Port:                  port,
				TLS:                   true,
				TLSVerify:             true,
				HTTPUser:              IngestUser,
				HTTPPasswd:            "${" + IngestTokenEnv + "}",
				Index:                 a.Repository,
				SuppressTypeName:      true,
				Compress:              "gzip",
				RetryLimit:            "no_limits",
				StorageTotalLimitSize: megabytes(a.BufferMiB),
				BufferSize:            "false",
				TraceError:            false,
				Workers:               1,
			}},
		},
	}
}

// megabytes writes a size in Fluent Bit's units: its K, M and G are powers
// of 1000 (flb_utils_size_to_bytes), so MiB are converted, rounding up.
func megabytes(mib int) string {
	bytes := int64(mib) << 20
	return fmt.Sprintf("%dM", (bytes+999_999)/1_000_000)
}

// RenderFluentBit writes the configuration as Fluent Bit reads it.
func RenderFluentBit(c FluentBitConfig) (string, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", err
	}
	return "# Generated by components/logging from the stack's configuration. Do not edit.\n" + string(b), nil
}

// FluentBitValues are the fluent-bit chart's values we set.
type FluentBitValues struct {
	Kind  string          `json:"kind"`
	Image podvalues.Image `json:"image"`
	// TestFramework off: its test pod uses busybox:latest.
	TestFramework Enabled `json:"testFramework"`
	// ExistingConfigMap is our ConfigMap with the generated configuration.
	ExistingConfigMap string   `json:"existingConfigMap"`
	Args              []string `json:"args"`
	AgentPod
	MetricsPort           int           `json:"metricsPort"`
	DaemonSetVolumes      []Volume      `json:"daemonSetVolumes"`
	DaemonSetVolumeMounts []VolumeMount `json:"daemonSetVolumeMounts"`
	// ServiceMonitor off in the chart: we declare our own, which depends on
	// the monitoring component (the chart cannot).
	ServiceMonitor Enabled `json:"serviceMonitor"`
}

// tokenEnv is the only way the token reaches the agent.
func tokenEnv(secretName string) EnvVar {
	return EnvVar{Name: IngestTokenEnv, ValueFrom: &EnvSource{SecretKeyRef: &SecretKeyRef{Name: secretName, Key: DefaultIngestTokenSecretKey}}}
}

// hostVolumes: /var/log read-only, the buffer directory writable.
func hostVolumes(a Args) ([]Volume, []VolumeMount) {
	return []Volume{
			{Name: "varlog", HostPath: &HostPathSource{Path: "/var/log", Type: "Directory"}},
			{Name: "buffer", HostPath: &HostPathSource{Path: a.BufferHostPath, Type: "DirectoryOrCreate"}},
		}, []VolumeMount{
			{Name: "varlog", MountPath: "/var/log", ReadOnly: true},
			{Name: "buffer", MountPath: a.BufferHostPath},
		}
}

// FluentBitValuesFor builds the chart values from defaulted, valid args.
// configChecksum rolls the pods when the generated configuration changes
// (the chart does not watch a ConfigMap it does not own). Its annotation key
// is not the chart's own checksum/config (a hash of the chart's ConfigMap
// template): the same key twice in the rendered pod template is a duplicate
// YAML key, and one of the two is silently dropped.
func FluentBitValuesFor(a Args, configMapName, secretName, configChecksum string) FluentBitValues {
	vols, mounts := hostVolumes(a)
	return FluentBitValues{
		Kind:              "DaemonSet",
		Image:             FluentBitImage,
		TestFramework:     Enabled{Enabled: false},
		ExistingConfigMap: configMapName,
		Args:              []string{"--workdir=/fluent-bit/etc", "--config=" + fluentBitConfigDir + "/" + FluentBitConfigFile},
		AgentPod: agentPod(a, secretName, configChecksum, true,
			// Liveness asks only whether the HTTP server answers: restarting
			// the agent cannot fix an unreachable LogScale (its buffer
			// survives restarts, but a crash loop delays the catch-up).
			Probe{HTTPGet: HTTPGetAction{Path: "/", Port: "http"}, InitialDelaySeconds: 10, PeriodSeconds: 10, FailureThreshold: 6},
			// Readiness follows the health check, which turns 500 on output
			// errors (chunks given up) only: with unlimited retries an
			// unreachable LogScale leaves it at 200 (measured with the real
			// agent); the LogOutputStalled alert, on the agent's metrics, is
			// what reports an outage.
			Probe{HTTPGet: HTTPGetAction{Path: FluentBitHealthPath, Port: "http"}, PeriodSeconds: 10, FailureThreshold: 3}),
		MetricsPort:           FluentBitMetricsPort,
		DaemonSetVolumes:      vols,
		DaemonSetVolumeMounts: mounts,
		ServiceMonitor:        Enabled{Enabled: false},
	}
}
