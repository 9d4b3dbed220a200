package stacks

import (
	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/monitoring"
	"github.com/cnplatform/platform/components/routing"
)

// ChartsConfig is where the stack's Helm charts come from
// (`platform:charts`, an object). Air-gapped and regulated installations
// point every chart at their own mirror, which serves each chart under its
// upstream name at the exact pinned version.
type ChartsConfig struct {
	// Repository: "oci://<registry>/<path>", "https://<host>/<path>" (a
	// Helm repository), or "file://<directory>" (chart archives
	// <name>-<version>.tgz). Default: each chart's upstream repository.
	Repository string `json:"repository,omitempty"`

	// Source is Repository parsed.
	Source helmrelease.Source `json:"-"`
}

// PinnedCharts lists every chart the program can install, at its pinned
// version: what a mirror must serve.
func PinnedCharts() []helmrelease.Chart {
	out := append([]helmrelease.Chart{}, routing.Charts()...)
	out = append(out, monitoring.CRDChart, helmrelease.Chart{Repo: monitoring.ChartRepo, Name: monitoring.ChartName, Version: monitoring.ChartVersion})
	return append(out, logging.FluentBitChart, logging.FluentdChart)
}

// loadCharts reads `platform:charts`. A directory source must hold the
// archive of every pinned chart: a missing one is reported here, before
// anything is registered, with chart, version and the file looked for.
func loadCharts(r *reader, c *Config) {
	const allowed = "must be an object with repository"
	r.object("charts", &c.Charts, allowed)
	if c.Charts.Repository == "" {
		return // upstream
	}
	src, err := helmrelease.ParseSource(c.Charts.Repository)
	if err != nil {
		r.problem(Key("charts")+".repository", c.Charts.Repository, err.Error())
		return
	}
	if err := src.Check(PinnedCharts()...); err != nil {
		r.problems = append(r.problems, Key("charts")+".repository: "+err.Error())
		return
	}
	c.Charts.Source = src
}
