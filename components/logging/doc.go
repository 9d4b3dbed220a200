// Package logging ships every container's logs from every node to
// CrowdStrike Falcon LogScale (formerly Humio) through LogScale's
// Elasticsearch-compatible bulk API.
//
// The default agent is Fluent Bit (upstream chart, a DaemonSet tolerating
// every taint); Fluentd (upstream chart) is the alternative for teams on the
// original setup. Both agents' pipelines are generated from typed Go values by
// plain functions (Render), so tests and the plan command see exactly what
// the pods run, and both are built not to lose logs: a filesystem buffer on a
// hostPath sized from the outage to survive, retries without limit, and
// bounded memory. The generated configuration lives in a ConfigMap we own
// and holds no secret: the ingest token reaches the pod only through a
// Kubernetes Secret, read into an environment variable the configuration
// refers to.
package logging
