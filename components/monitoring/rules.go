package monitoring

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/monitoring/promrule"
	"github.com/cnplatform/platform/components/namespace"
)

// Severities. critical pages, warning goes to chat, info is only visible in
// the Alertmanager UI and Grafana.
const (
	Critical = "critical"
	Warning  = "warning"
	Info     = "info"
)

// envoyLatencyBuckets are the upper bounds (ms) of Envoy's default histogram
// buckets; the latency threshold must be one, so the SLI is exact.
var envoyLatencyBuckets = []int{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// RuleArgs parameterises the platform's alert rules.
type RuleArgs struct {
	// RunbookBaseURL is prefixed to the lower-cased alert name for
	// runbook_url. Default [DefaultRunbookBaseURL] (docs/monitoring.md).
	RunbookBaseURL string
	// MonitoringNamespace: where Prometheus and Alertmanager run. Default
	// [DefaultNamespace].
	MonitoringNamespace string
	// GatewayNamespace: where the Envoy proxies of the gateway run. Default
	// [DefaultGatewayNamespace].
	GatewayNamespace string
	// AvailabilityObjective: share of gateway requests that must not be 5xx. Default
	// [DefaultAvailabilityObjective].
	AvailabilityObjective float64
	// LatencyObjective: share of gateway requests that must finish within
	// LatencyThresholdMs. Default [DefaultLatencyObjective].
	LatencyObjective float64
	// LatencyThresholdMs: one of Envoy's bucket bounds. Default
	// [DefaultLatencyThresholdMs].
	LatencyThresholdMs int
	// LoggingNamespace, LogAgentJob, LogAgentDaemonSet locate Fluent Bit.
	// Defaults [DefaultLoggingNamespace], [DefaultLogAgentJob],
	// [DefaultLogAgentDaemonSet].
	LoggingNamespace, LogAgentJob, LogAgentDaemonSet string
	// ExpectedSeries is the active-series count Prometheus is sized for.
	// Default [DefaultExpectedSeries].
	ExpectedSeries int
}

// Defaults of RuleArgs.
const (
	DefaultRunbookBaseURL        = "https://github.com/cnplatform/platform/blob/main/docs/monitoring.md#"
	DefaultGatewayNamespace      = namespace.EnvoyGateway
	DefaultLoggingNamespace      = namespace.DefaultLogging
	DefaultLogAgentJob           = logging.FluentBit
	DefaultLogAgentDaemonSet     = logging.FluentBit
	DefaultAvailabilityObjective = 0.999
	DefaultLatencyObjective      = 0.99
	DefaultLatencyThresholdMs    = 500
)

func (r *RuleArgs) defaults() {
	contract.SetDefault(&r.RunbookBaseURL, DefaultRunbookBaseURL)
	contract.SetDefault(&r.MonitoringNamespace, DefaultNamespace)
	contract.SetDefault(&r.GatewayNamespace, DefaultGatewayNamespace)
	contract.SetDefault(&r.LoggingNamespace, DefaultLoggingNamespace)
	contract.SetDefault(&r.LogAgentJob, DefaultLogAgentJob)
	contract.SetDefault(&r.LogAgentDaemonSet, DefaultLogAgentDaemonSet)
	contract.SetDefault(&r.AvailabilityObjective, DefaultAvailabilityObjective)
	contract.SetDefault(&r.LatencyObjective, DefaultLatencyObjective)
	contract.SetDefault(&r.LatencyThresholdMs, DefaultLatencyThresholdMs)
	contract.SetDefault(&r.ExpectedSeries, DefaultExpectedSeries)
}

func (r RuleArgs) validate() []string {
	var p []string
	for name, o := range map[string]float64{"AvailabilityObjective": r.AvailabilityObjective, "LatencyObjective": r.LatencyObjective} {
		if err := CheckObjective(o); err != nil {
			p = append(p, fmt.Sprintf("Rules.%s %v: %v", name, o, err))
		}
	}
	if err := CheckLatencyThreshold(r.LatencyThresholdMs); err != nil {
		p = append(p, fmt.Sprintf("Rules.LatencyThresholdMs %d: %v", r.LatencyThresholdMs, err))
	}
	return p
}

// RuleGroup, Rule and RuleFile are the rule file's types, declared in the
// stdlib-only [promrule] so the validation module reads them without this
// package's dependencies.
type (
	RuleGroup = promrule.Group
	Rule      = promrule.Rule
	RuleFile  = promrule.File
)

func (r RuleArgs) alert(name, severity, forDuration, expr, summary, description string) Rule {
	return Rule{
		Alert: name, Expr: expr, For: forDuration,
		Labels: map[string]string{"severity": severity},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": r.RunbookBaseURL + strings.ToLower(name),
		},
	}
}

func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e8)/1e6, 'f', -1, 64) + "%"
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// burnWindows are the multi-window multi-burn-rate pairs (Google SRE
// workbook, "Alerting on SLOs"): a long window proves the burn is
// significant, a short one that it is still happening (fast reset).
var burnWindows = []string{"5m", "30m", "1h", "2h", "6h", "1d"}

// burnAlerts returns the critical (14.4x over 1h/5m or 6x over 6h/30m: 2 %
// or 5 % of a 30-day budget) and warning (3x over 1d/2h: 10 % of the budget
// per day) rules of one SLI, sharing an alert name so the page inhibits the
// ticket.
func (r RuleArgs) burnAlerts(name, record string, objective float64, summary, description string) []Rule {
	budget := "(1 - " + num(objective) + ")"
	pair := func(factor, long, short string) string {
		return fmt.Sprintf("(%s:ratio_rate%s > (%s * %s) and %s:ratio_rate%s > (%s * %s))", record, long, factor, budget, record, short, factor, budget)
	}
	return []Rule{
		r.alert(name, Critical, "2m", pair("14.4", "1h", "5m")+"\nor\n"+pair("6", "6h", "30m"),
			summary+" fast", description+" At this rate the 30-day error budget is gone within days: act now."),
		r.alert(name, Warning, "15m", pair("3", "1d", "2h"),
			summary+" slowly", description+" At this rate the 30-day error budget is gone before the month ends."),
	}
}

// RuleGroups builds the platform's own rules: gateway SLOs, the log pipeline,
// node and zone health, certificates, and Prometheus/Alertmanager themselves.
func RuleGroups(r RuleArgs) []RuleGroup {
	r.defaults()
	gw := fmt.Sprintf(`namespace=%q`, r.GatewayNamespace)
	var slo []Rule
	for _, w := range burnWindows {
		slo = append(slo,
			Rule{Record: "gateway:envoy_http_5xx:ratio_rate" + w, Expr: fmt.Sprintf(
				`sum by (namespace) (rate(envoy_http_downstream_rq_xx{%s,envoy_response_code_class="5"}[%s]))
/
sum by (namespace) (rate(envoy_http_downstream_rq_total{%s}[%s]))`, gw, w, gw, w)},
			Rule{Record: "gateway:envoy_http_slow:ratio_rate" + w, Expr: fmt.Sprintf(
				`1 - (
  sum by (namespace) (rate(envoy_http_downstream_rq_time_bucket{%s,le="%d"}[%s]))
/
  sum by (namespace) (rate(envoy_http_downstream_rq_time_count{%s}[%s]))
)`, gw, r.LatencyThresholdMs, w, gw, w)},
		)
	}
	slo = append(slo, r.burnAlerts("GatewayErrorBudgetBurn", "gateway:envoy_http_5xx", r.AvailabilityObjective,
		"Gateway in {{ $labels.namespace }} burns its 5xx error budget",
		fmt.Sprintf("More than the allowed share of requests through the gateway in {{ $labels.namespace }} fail with 5xx (availability objective %s).", percent(r.AvailabilityObjective)))...)
	slo = append(slo, r.burnAlerts("GatewayLatencyBudgetBurn", "gateway:envoy_http_slow", r.LatencyObjective,
		"Gateway in {{ $labels.namespace }} burns its latency budget",
		fmt.Sprintf("More than the allowed share of requests through the gateway in {{ $labels.namespace }} take longer than %dms (latency objective %s).", r.LatencyThresholdMs, percent(r.LatencyObjective)))...)

	ln := fmt.Sprintf(`namespace=%q`, r.LoggingNamespace)
	agent := fmt.Sprintf(`up{%s,job=%q}`, ln, r.LogAgentJob)
	ds := fmt.Sprintf(`{%s,daemonset=%q}`, ln, r.LogAgentDaemonSet)
	byOutput := "sum by (namespace, pod, name) "
	logs := []Rule{
		r.alert("LogAgentDown", Warning, "10m", agent+" == 0",
			"Log agent {{ $labels.pod }} is down",
			"Prometheus cannot scrape the log agent {{ $labels.pod }} ({{ $labels.instance }}): logs of its node are not shipped. They stay in the node's log files until rotation."),
		r.alert("LogAgentAbsent", Critical, "15m", "absent("+agent+")",
			"No log agent is running in {{ $labels.namespace }}",
			"Prometheus has no log agent target at all: no node ships logs, and logs are lost once the nodes rotate their files."),
		r.alert("LogDaemonSetNotScheduled", Warning, "15m",
			"kube_daemonset_status_desired_number_scheduled"+ds+"\n-\nkube_daemonset_status_current_number_scheduled"+ds+"\n> 0",
			"Log agent DaemonSet {{ $labels.daemonset }} is missing on some nodes",
			"Some nodes run no log agent pod (not scheduled: taints, resources or Pod Security), so their logs are not collected."),
		// An unreachable or refusing LogScale is not an output error: the
		// es output answers "retry" (plugins/out_es/es.c, v5.0.9) and, with
		// retry_limit no_limits, nothing ever fails, so the agent's health
		// endpoint stays 200 through an outage. What shows it is retries
		// without a single delivered record.
		r.alert("LogOutputStalled", Warning, "5m",
			byOutput+"(increase(fluentbit_output_retries_total{"+ln+"}[5m])) > 0\nunless\n"+
				byOutput+"(increase(fluentbit_output_proc_records_total{"+ln+"}[5m])) > 0",
			"Log output {{ $labels.name }} on {{ $labels.pod }} delivers nothing",
			"For 10 minutes the log agent's output {{ $labels.name }} has retried and delivered no record: LogScale is unreachable or refuses every request (the agent's log has the HTTP status). Logs wait in the node's buffer; watch LogBufferFilling."),
		// An output error (FLB_ERROR) drops the chunk: src/flb_engine.c
		// counts it in errors and dropped records alike.
		r.alert("LogOutputErrors", Warning, "15m", byOutput+"(rate(fluentbit_output_errors_total{"+ln+"}[5m])) > 0",
			"Log output {{ $labels.name }} on {{ $labels.pod }} keeps failing",
			"The log agent's output {{ $labels.name }} gives up chunks it cannot send (records it cannot format or a request refused for good); their records are dropped. The agent's log says why."),
		// A request LogScale refuses for good (413 above its request size
		// limit, 400) is answered "retry" too, and with no retry limit its
		// chunk is retried for ever while the others are delivered; the
		// lines in it never arrive, and no error or drop is counted
		// (src/flb_engine.c, v5.0.9). Retries for half an hour while
		// records still flow is that; an outage delivers nothing
		// (LogOutputStalled) and its catch-up retries for minutes.
		r.alert("LogChunkStuck", Critical, "30m",
			byOutput+"(increase(fluentbit_output_retries_total{"+ln+"}[15m])) > 0\nand\n"+
				byOutput+"(increase(fluentbit_output_proc_records_total{"+ln+"}[15m])) > 0",
			"Log output {{ $labels.name }} on {{ $labels.pod }} retries a chunk LogScale refuses",
			"For 30 minutes the log agent's output {{ $labels.name }} has delivered records and retried others: LogScale refuses some requests for good (the agent's log has the HTTP status, e.g. 413 for a request above its size limit), or has throttled it for half an hour. A refused chunk is retried for ever and its lines never arrive until the buffer drops them. Find the status in the agent's log; restarting the agent does not help."),
		r.alert("LogOutputRetriesSustained", Info, "30m", byOutput+"(rate(fluentbit_output_retries_total{"+ln+"}[5m])) > 0",
			"Log output {{ $labels.name }} on {{ $labels.pod }} is retrying",
			"The log agent has retried deliveries for 30 minutes: the destination is slow or throttling (HTTP 503 backlog)."),
		r.alert("LogOutputRetriesFailed", Warning, "1m", byOutput+"(increase(fluentbit_output_retries_failed_total{"+ln+"}[10m])) > 0",
			"Log output {{ $labels.name }} on {{ $labels.pod }} gave up retries",
			"Chunks exhausted their retries and left the buffer: those records were not delivered."),
		r.alert("LogRecordsDropped", Critical, "1m", byOutput+"(increase(fluentbit_output_dropped_records_total{"+ln+"}[10m])) > 0",
			"Log output {{ $labels.name }} on {{ $labels.pod }} dropped records",
			"The log agent dropped records: logs were lost. Find why the output rejects them or why the buffer overflowed."),
		r.alert("LogBufferFilling", Warning, "10m", "min by (namespace, pod, name) (fluentbit_output_chunk_available_capacity_percent{"+ln+"}) < 25",
			"Log buffer of {{ $labels.name }} on {{ $labels.pod }} is filling",
			"Less than 25% of the output's storage.total_limit_size is free: the destination is not keeping up. When it is full the oldest chunks are dropped."),
		r.alert("LogBufferFilling", Critical, "5m", "min by (namespace, pod, name) (fluentbit_output_chunk_available_capacity_percent{"+ln+"}) < 10",
			"Log buffer of {{ $labels.name }} on {{ $labels.pod }} is nearly full",
			"Less than 10% of the output's storage.total_limit_size is free: the oldest chunks are dropped soon."),
	}

	zoneOf := `label_replace(kube_node_labels{label_topology_kubernetes_io_zone!=""}, "zone", "$1", "label_topology_kubernetes_io_zone", "(.+)")`
	nodes := []Rule{
		r.alert("NodeNotReady", Warning, "15m",
			`max by (node, zone) (
  (kube_node_status_condition{condition="Ready",status="true"} == 0)
  * on (node) group_left (zone) `+zoneOf+`
)`,
			"Node {{ $labels.node }} in {{ $labels.zone }} is not Ready",
			"The node has not been Ready for 15 minutes. Its pods are rescheduled on other nodes; the node group replaces it if the instance is unhealthy."),
		r.alert("ZoneNoReadyNodes", Critical, "5m",
			`sum by (zone) (
  kube_node_status_condition{condition="Ready",status="true"}
  * on (node) group_left (zone) `+zoneOf+`
) == 0`,
			"No Ready node in zone {{ $labels.zone }}",
			"Every node in {{ $labels.zone }} is NotReady: the platform runs on the remaining zones only, and pods bound to volumes in this zone cannot start."),
	}

	certs := []Rule{
		r.alert("CertificateExpiringSoon", Warning, "1h", "(certmanager_certificate_expiration_timestamp_seconds - time()) < 14 * 86400",
			"Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 14 days",
			"cert-manager renews 30 days before expiry, so renewal has been failing for over two weeks. Check the Certificate's events and the ACME challenge."),
		r.alert("CertificateExpiringSoon", Critical, "15m", "(certmanager_certificate_expiration_timestamp_seconds - time()) < 3 * 86400",
			"Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 3 days",
			"The certificate is about to expire and clients will refuse the connection. Renew it now."),
		r.alert("CertificateNotReady", Warning, "15m", `certmanager_certificate_ready_status{condition!="True"} == 1`,
			"Certificate {{ $labels.namespace }}/{{ $labels.name }} is not Ready",
			"cert-manager cannot issue or renew the certificate. Check the Certificate's events and its issuer."),
	}

	mon := fmt.Sprintf(`namespace=%q`, r.MonitoringNamespace)
	self := []Rule{
		r.alert("PrometheusReplicaDown", Warning, "10m", fmt.Sprintf(`up{%s,job=%q} == 0`, mon, PrometheusName),
			"Prometheus replica {{ $labels.pod }} is down",
			"One Prometheus replica cannot be scraped; the other replica keeps alerting. If no replica runs, only the Watchdog heartbeat notices."),
		r.alert("PrometheusMemoryNearLimit", Warning, "15m", fmt.Sprintf(`max by (namespace, pod) (container_memory_working_set_bytes{%s,container="prometheus"})
/
max by (namespace, pod) (kube_pod_container_resource_limits{%s,container="prometheus",resource="memory"})
> 0.85`, mon, mon),
			"Prometheus {{ $labels.pod }} uses over 85% of its memory limit",
			"Prometheus is close to being OOM-killed (a restart replays the WAL and leaves a gap). Raise expectedActiveSeries so the sizing rule gives it more memory, or drop series."),
		r.alert("PrometheusActiveSeriesAboveSizing", Warning, "1h", fmt.Sprintf(`max by (namespace, pod) (prometheus_tsdb_head_series{%s,job=%q}) > 1.2 * %d`, mon, PrometheusName, r.ExpectedSeries),
			"Prometheus {{ $labels.pod }} holds more series than it is sized for",
			fmt.Sprintf("Active series exceed the sizing assumption (%d) by over 20%%. Raise expectedActiveSeries in platform:monitoring.prometheus so memory and disk follow.", r.ExpectedSeries)),
		r.alert("AlertmanagerReplicaDown", Warning, "10m", fmt.Sprintf(`up{%s,job=%q} == 0`, mon, AlertmanagerName),
			"Alertmanager replica {{ $labels.pod }} is down",
			"One Alertmanager replica cannot be scraped; Prometheus sends every alert to all replicas, so the others still notify."),
	}
	return []RuleGroup{
		{Name: "platform-gateway-slo", Rules: slo},
		{Name: "platform-log-pipeline", Rules: logs},
		{Name: "platform-nodes", Rules: nodes},
		{Name: "platform-certificates", Rules: certs},
		{Name: "platform-monitoring-self", Rules: self},
	}
}

// RulesYAML renders the rule groups as a Prometheus rule file.
func RulesYAML(r RuleArgs) ([]byte, error) {
	return yaml.Marshal(RuleFile{Groups: RuleGroups(r)})
}

// EnvoyLatencyBuckets lists the bucket bounds (ms) a latency threshold may take.
func EnvoyLatencyBuckets() []int { return slices.Clone(envoyLatencyBuckets) }
