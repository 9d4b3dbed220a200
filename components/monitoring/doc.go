// Package monitoring installs the platform's metrics and alerting: the
// upstream kube-prometheus-stack chart (Prometheus Operator, highly available
// Prometheus and Alertmanager, Grafana, kube-state-metrics, node-exporter)
// tuned for EKS, plus the platform's own alert rules, Alertmanager routing
// and Grafana dashboards.
//
// Everything the chart and Prometheus read (chart values, rule groups, the
// Alertmanager configuration, dashboards) is built by plain Go functions from
// typed structs, so the tests and the plan command can produce and check the
// exact files without Pulumi. Receiver URLs and keys never enter chart values:
// they live in a Kubernetes Secret mounted into Alertmanager and are read with
// *_file settings.
package monitoring
