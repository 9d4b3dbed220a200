package logging

import (
	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/podvalues"
)

// fluentCharts is the repository of both agents' charts
// (github.com/fluent/helm-charts).
const fluentCharts = "https://fluent.github.io/helm-charts"

// The agents' charts and images. Chart versions are from each chart's
// CHANGELOG.md in github.com/fluent/helm-charts; each image is pinned here
// so a chart bump never changes an agent silently.
var (
	// FluentBitChart: charts/fluent-bit v0.57.9 (2026-07-06) ships Fluent
	// Bit v5.0.9.
	FluentBitChart = helmrelease.Chart{Repo: fluentCharts, Name: "fluent-bit", Version: "0.57.9"}
	// FluentBitImage is the chart's own image at its appVersion.
	FluentBitImage = podvalues.Image{Repository: "cr.fluentbit.io/fluent/fluent-bit", Tag: "5.0.9", PullPolicy: "IfNotPresent"}

	// FluentdChart: charts/fluentd v0.6.0 (2025-08-14) ships Fluentd
	// 1.19.3 with the elasticsearch7 variant 1.1.
	FluentdChart = helmrelease.Chart{Repo: fluentCharts, Name: "fluentd", Version: "0.6.0"}
	// FluentdImage is the chart's default image at 0.6.0. The
	// elasticsearch7 variant, not 8: the 8.x Elasticsearch client insists
	// on talking to a genuine Elasticsearch (product check), which
	// LogScale's bulk API is not.
	FluentdImage = podvalues.Image{Repository: "fluent/fluentd-kubernetes-daemonset", Tag: "v1.19.3-debian-elasticsearch7-1.1", PullPolicy: "IfNotPresent"}
)
