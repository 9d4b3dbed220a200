package logging

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cnplatform/platform/components/logging/agentspec"
	"github.com/cnplatform/platform/components/podvalues"
)

// Fluentd's Prometheus endpoint (the chart names the port `metrics`).
const (
	FluentdMetricsPort = 24231
	FluentdMetricsPath = "/metrics"
	// FluentdConfigFile is the key of the generated configuration in our
	// ConfigMap, mounted at /etc/fluent/config.d by the chart; the chart's
	// fluent.conf includes config.d/*.conf.
	FluentdConfigFile = "logscale.conf"
)

// FluentdParam is one `key value` line.
type FluentdParam struct {
	Key   string
	Value string
	// Quoted writes the value in double quotes, where Fluentd expands
	// "#{ENV['...']}".
	Quoted bool
}

// FluentdDirective is a `<name arg> ... </name>` section.
type FluentdDirective struct {
	Name     string
	Arg      string
	Params   []FluentdParam
	Children []FluentdDirective
}

// FluentdConfig is a list of top-level directives.
type FluentdConfig []FluentdDirective

func p(key, value string) FluentdParam { return FluentdParam{Key: key, Value: value} }

// FluentdConfigFor builds the pipeline from defaulted, valid args. It
// mirrors the Fluent Bit pipeline: tail the container logs, add Kubernetes
// metadata, drop excluded pods, ship to LogScale through a file buffer that
// retries forever and blocks the input (not drops) when full.
func FluentdConfigFor(a Args) FluentdConfig {
	host, port, _ := ParseLogScaleURL(a.LogScaleURL)
	buffer := strings.TrimSuffix(a.BufferHostPath, "/")
	var exclude []string
	for _, ns := range a.ExcludeNamespaces {
		exclude = append(exclude, strconv.Quote(agentspec.NamespaceLogFiles(ns)))
	}
	tail := FluentdDirective{Name: "source", Params: []FluentdParam{
		p("@type", "tail"),
		p("@id", "in_tail_container_logs"),
		p("path", containerLogs),
		p("pos_file", buffer+"/fluentd-containers.log.pos"),
		p("tag", "kubernetes.*"),
		p("read_from_head", "true"),
		p("follow_inodes", "true"),
	}, Children: []FluentdDirective{{Name: "parse", Params: []FluentdParam{
		// The CRI log format: <time> <stream> <P|F> <message>.
		p("@type", "regexp"),
		p("expression", `/^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>[FP]) (?<log>.*)$/`),
		p("time_format", "%Y-%m-%dT%H:%M:%S.%N%:z"),
	}}}}
	if len(exclude) > 0 {
		tail.Params = append(tail.Params, p("exclude_path", "["+strings.Join(exclude, ", ")+"]"))
	}
	cfg := FluentdConfig{
		{Name: "source", Params: []FluentdParam{
			p("@type", "prometheus"), p("bind", "0.0.0.0"), p("port", strconv.Itoa(FluentdMetricsPort)), p("metrics_path", FluentdMetricsPath),
		}},
		{Name: "source", Params: []FluentdParam{p("@type", "prometheus_output_monitor"), p("interval", "10")}},
		tail,
		{Name: "filter", Arg: "kubernetes.**", Params: []FluentdParam{
			p("@type", "kubernetes_metadata"),
			p("@id", "filter_kube_metadata"),
			p("skip_labels", "false"),
			p("skip_container_metadata", "false"),
			p("skip_master_url", "true"),
			// Only the exclusion annotation is kept, to honour it below.
			p("annotation_match", `["^fluentbit\.io/exclude$"]`),
		}},
		{Name: "filter", Arg: "kubernetes.**", Params: []FluentdParam{p("@type", "grep")}, Children: []FluentdDirective{{
			Name:   "exclude",
			Params: []FluentdParam{p("key", "$.kubernetes.annotations['fluentbit.io/exclude']"), p("pattern", "/^true$/")},
		}}},
	}
	if a.ClusterName != "" {
		cfg = append(cfg, FluentdDirective{Name: "filter", Arg: "kubernetes.**", Params: []FluentdParam{p("@type", "record_transformer")},
			Children: []FluentdDirective{{Name: "record", Params: []FluentdParam{p("cluster", a.ClusterName)}}}})
	}
	cfg = append(cfg, FluentdDirective{Name: "match", Arg: "kubernetes.**", Params: []FluentdParam{
		p("@type", "elasticsearch"),
		p("@id", "out_logscale"),
		p("host", host),
		p("port", strconv.Itoa(port)),
		p("scheme", "https"),
		p("ssl_verify", "true"),
		p("ssl_version", "TLSv1_2"),
		// No path: fluent-plugin-elasticsearch's client, like Fluent Bit's
		// es output, posts to <path>/_bulk, so a path of IngestPath would
		// reach /api/v1/ingest/elastic-bulk/_bulk, which LogScale does not
		// document; without one it reaches /_bulk (BulkPath), which it does.
		p("user", IngestUser),
		{Key: "password", Value: "#{ENV['" + IngestTokenEnv + "']}", Quoted: true},
		p("index_name", a.Repository),
		p("suppress_type_name", "true"),
		// LogScale is not Elasticsearch: do not probe its version.
		p("verify_es_version_at_startup", "false"),
		p("default_elasticsearch_version", "7"),
		p("reconnect_on_error", "true"),
		p("reload_connections", "false"),
		p("request_timeout", "30s"),
		p("log_es_400_reason", "true"),
	}, Children: []FluentdDirective{{Name: "buffer", Params: []FluentdParam{
		p("@type", "file"),
		p("path", buffer+"/fluentd-buffer/logscale"),
		p("flush_mode", "interval"),
		p("flush_interval", "5s"),
		p("flush_thread_count", "2"),
		p("chunk_limit_size", "4MB"),
		p("total_limit_size", fmt.Sprintf("%dMB", a.BufferMiB)),
		// When the buffer is full, stop reading the files (they stay on the
		// node) rather than dropping records.
		p("overflow_action", "block"),
		p("retry_forever", "true"),
		p("retry_type", "exponential_backoff"),
		p("retry_max_interval", "60s"),
	}}}})
	return cfg
}

// RenderFluentd writes the configuration in Fluentd's own syntax.
func RenderFluentd(c FluentdConfig) string {
	var b strings.Builder
	b.WriteString("# Generated by components/logging from the stack's configuration. Do not edit.\n")
	var write func(d FluentdDirective, depth int)
	write = func(d FluentdDirective, depth int) {
		indent := strings.Repeat("  ", depth)
		if d.Arg != "" {
			fmt.Fprintf(&b, "%s<%s %s>\n", indent, d.Name, d.Arg)
		} else {
			fmt.Fprintf(&b, "%s<%s>\n", indent, d.Name)
		}
		for _, prm := range d.Params {
			v := prm.Value
			if prm.Quoted {
				v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
			}
			fmt.Fprintf(&b, "%s  %s %s\n", indent, prm.Key, v)
		}
		for _, c := range d.Children {
			write(c, depth+1)
		}
		fmt.Fprintf(&b, "%s</%s>\n", indent, d.Name)
	}
	for _, d := range c {
		write(d, 0)
	}
	return b.String()
}

// FluentdValues are the fluentd chart's values we set.
type FluentdValues struct {
	Kind           string          `json:"kind"`
	Variant        string          `json:"variant"`
	VariantVersion string          `json:"variantVersion"`
	Image          podvalues.Image `json:"image"`
	// ExtraFilesConfigMapNameOverride replaces the chart's config.d files
	// with our ConfigMap.
	ExtraFilesConfigMapNameOverride string `json:"extraFilesConfigMapNameOverride"`
	// The chart's own host mounts are off (it mounts /var/log writable);
	// ours are in Volumes/VolumeMounts.
	MountVarLogDirectory           bool          `json:"mountVarLogDirectory"`
	MountDockerContainersDirectory bool          `json:"mountDockerContainersDirectory"`
	Volumes                        []Volume      `json:"volumes"`
	VolumeMounts                   []VolumeMount `json:"volumeMounts"`
	AgentPod
	PodSecurityPolicy Enabled           `json:"podSecurityPolicy"`
	Metrics           FluentdMetrics    `json:"metrics"`
	Dashboards        FluentdDashboards `json:"dashboards"`
}

// FluentdMetrics turns the chart's ServiceMonitor off (we declare our own).
type FluentdMetrics struct {
	ServiceMonitor Enabled `json:"serviceMonitor"`
}

// FluentdDashboards switches the chart's dashboards ConfigMap. A bool: the
// chart tests `if .Values.dashboards.enabled`, where any non-empty string,
// "false" included, is true (its values.yaml default is the string "true").
type FluentdDashboards struct {
	Enabled bool `json:"enabled"`
}

// FluentdValuesFor builds the chart values from defaulted, valid args.
func FluentdValuesFor(a Args, configMapName, secretName, configChecksum string) FluentdValues {
	vols, mounts := hostVolumes(a)
	return FluentdValues{
		Kind:                            "DaemonSet",
		Variant:                         "elasticsearch7",
		VariantVersion:                  "1.1",
		Image:                           FluentdImage,
		ExtraFilesConfigMapNameOverride: configMapName,
		MountVarLogDirectory:            false,
		MountDockerContainersDirectory:  false,
		Volumes:                         vols,
		VolumeMounts:                    mounts,
		// Fluentd's image entrypoint rewrites files under /fluentd at start,
		// so its root filesystem stays writable (documented exception).
		AgentPod: agentPod(a, secretName, configChecksum, false,
			Probe{HTTPGet: HTTPGetAction{Path: FluentdMetricsPath, Port: "metrics"}, InitialDelaySeconds: 30, PeriodSeconds: 15, FailureThreshold: 4},
			Probe{HTTPGet: HTTPGetAction{Path: FluentdMetricsPath, Port: "metrics"}, PeriodSeconds: 10, FailureThreshold: 3}),
		PodSecurityPolicy: Enabled{Enabled: false},
		Metrics:           FluentdMetrics{ServiceMonitor: Enabled{Enabled: false}},
		Dashboards:        FluentdDashboards{Enabled: false},
	}
}
