package monitoring

import (
	"encoding/json"
	"fmt"
)

// Dashboard is the subset of Grafana's dashboard JSON model we generate.
type Dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Tags          []string `json:"tags"`
	Timezone      string   `json:"timezone"`
	SchemaVersion int      `json:"schemaVersion"`
	Refresh       string   `json:"refresh"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Panels []Panel `json:"panels"`
}

// Panel is a time-series panel.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	GridPos     GridPos     `json:"gridPos"`
	Datasource  Datasource  `json:"datasource"`
	FieldConfig FieldConfig `json:"fieldConfig"`
	Targets     []Target    `json:"targets"`
}

// GridPos places a panel.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Datasource refers to the chart's provisioned Prometheus data source.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// FieldConfig sets the unit.
type FieldConfig struct {
	Defaults struct {
		Unit string `json:"unit"`
	} `json:"defaults"`
}

// Target is one PromQL query.
type Target struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat"`
}

// promDS is the uid the kube-prometheus-stack chart gives its Prometheus
// data source (grafana.sidecar.datasources.uid default).
var promDS = Datasource{Type: "prometheus", UID: "prometheus"}

type panelSpec struct {
	title, unit, description string
	targets                  []Target
}

func dashboard(uid, title string, panels []panelSpec) Dashboard {
	d := Dashboard{UID: uid, Title: title, Tags: []string{"platform"}, Timezone: "utc", SchemaVersion: 39, Refresh: "1m"}
	d.Time.From, d.Time.To = "now-6h", "now"
	for i, p := range panels {
		panel := Panel{
			ID: i + 1, Type: "timeseries", Title: p.title, Description: p.description,
			GridPos:    GridPos{H: 8, W: 12, X: (i % 2) * 12, Y: (i / 2) * 8},
			Datasource: promDS, Targets: p.targets,
		}
		panel.FieldConfig.Defaults.Unit = p.unit
		for j := range panel.Targets {
			panel.Targets[j].RefID = string(rune('A' + j))
		}
		d.Panels = append(d.Panels, panel)
	}
	return d
}

// Dashboards returns the platform's Grafana dashboards as JSON, by file name.
func Dashboards(r RuleArgs) (map[string][]byte, error) {
	r.defaults()
	gw := fmt.Sprintf(`namespace=%q`, r.GatewayNamespace)
	ln := fmt.Sprintf(`namespace=%q`, r.LoggingNamespace)
	boards := map[string]Dashboard{
		"gateway-traffic.json": dashboard("platform-gateway", "Platform / Gateway traffic", []panelSpec{
			{title: "Requests per second by status class", unit: "reqps", targets: []Target{{
				Expr: `sum by (envoy_response_code_class) (rate(envoy_http_downstream_rq_xx{` + gw + `}[$__rate_interval]))`, LegendFormat: "{{envoy_response_code_class}}xx"}}},
			{title: "5xx ratio (SLI) and burn rate windows", unit: "percentunit", targets: []Target{
				{Expr: "gateway:envoy_http_5xx:ratio_rate5m", LegendFormat: "5m"},
				{Expr: "gateway:envoy_http_5xx:ratio_rate1h", LegendFormat: "1h"},
				{Expr: "gateway:envoy_http_5xx:ratio_rate1d", LegendFormat: "1d"}}},
			{title: "Latency percentiles", unit: "ms", targets: []Target{
				{Expr: `histogram_quantile(0.5, sum by (le) (rate(envoy_http_downstream_rq_time_bucket{` + gw + `}[$__rate_interval])))`, LegendFormat: "p50"},
				{Expr: `histogram_quantile(0.99, sum by (le) (rate(envoy_http_downstream_rq_time_bucket{` + gw + `}[$__rate_interval])))`, LegendFormat: "p99"}}},
			{title: fmt.Sprintf("Share of requests slower than %dms (SLI)", r.LatencyThresholdMs), unit: "percentunit", targets: []Target{
				{Expr: "gateway:envoy_http_slow:ratio_rate5m", LegendFormat: "5m"},
				{Expr: "gateway:envoy_http_slow:ratio_rate1h", LegendFormat: "1h"}}},
			{title: "Active downstream connections", unit: "short", targets: []Target{{
				Expr: `sum by (pod) (envoy_http_downstream_cx_active{` + gw + `})`, LegendFormat: "{{pod}}"}}},
		}),
		"log-pipeline.json": dashboard("platform-logs", "Platform / Log pipeline", []panelSpec{
			{title: "Records in / out per second", unit: "short", targets: []Target{
				{Expr: `sum(rate(fluentbit_input_records_total{` + ln + `}[$__rate_interval]))`, LegendFormat: "in"},
				{Expr: `sum by (name) (rate(fluentbit_output_proc_records_total{` + ln + `}[$__rate_interval]))`, LegendFormat: "out {{name}}"}}},
			{title: "Output errors, retries, failed retries", unit: "short", targets: []Target{
				{Expr: `sum by (name) (rate(fluentbit_output_errors_total{` + ln + `}[$__rate_interval]))`, LegendFormat: "errors {{name}}"},
				{Expr: `sum by (name) (rate(fluentbit_output_retries_total{` + ln + `}[$__rate_interval]))`, LegendFormat: "retries {{name}}"},
				{Expr: `sum by (name) (rate(fluentbit_output_retries_failed_total{` + ln + `}[$__rate_interval]))`, LegendFormat: "failed {{name}}"}}},
			{title: "Dropped records", unit: "short", description: "Any value above zero is lost logs.", targets: []Target{
				{Expr: `sum by (name) (increase(fluentbit_output_dropped_records_total{` + ln + `}[$__rate_interval]))`, LegendFormat: "{{name}}"}}},
			{title: "Buffer capacity left (storage.total_limit_size)", unit: "percent", targets: []Target{
				{Expr: `min by (pod, name) (fluentbit_output_chunk_available_capacity_percent{` + ln + `})`, LegendFormat: "{{pod}} {{name}}"}}},
			// Chunks, not bytes: the agent exports no byte count of its
			// filesystem buffer (busy_bytes counts only chunks in flight);
			// the capacity panel above is the fill level.
			{title: "Chunks held in the buffer (about 2 MB each)", unit: "short", targets: []Target{
				{Expr: `sum by (pod) (fluentbit_input_storage_chunks{` + ln + `})`, LegendFormat: "{{pod}} held"},
				{Expr: `sum by (pod) (fluentbit_input_storage_chunks_up{` + ln + `})`, LegendFormat: "{{pod}} in memory"}}},
			{title: "Agents up / scheduled", unit: "short", targets: []Target{
				{Expr: fmt.Sprintf(`sum(up{%s,job=%q})`, ln, r.LogAgentJob), LegendFormat: "up"},
				{Expr: fmt.Sprintf(`sum(kube_daemonset_status_desired_number_scheduled{%s,daemonset=%q})`, ln, r.LogAgentDaemonSet), LegendFormat: "desired"}}},
		}),
	}
	out := map[string][]byte{}
	for name, d := range boards {
		raw, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, err
		}
		out[name] = raw
	}
	return out, nil
}
