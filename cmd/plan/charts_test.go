package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/cmd/plan/planout"
)

// chartRepository is the static Helm repository the plan renders from in
// these tests: $PLATFORM_CHARTS_DIR or ../shared/charts. Missing, the test
// fails: it is how the charts get into the loop.
func chartRepository(t *testing.T) string {
	t.Helper()
	dir, _ := chartsDir("", repoRoot)
	_, err := os.Stat(filepath.Join(dir, "index.yaml"))
	require.NoError(t, err, "chart repository (set %s)", planout.ChartsDirEnv)
	return dir
}

// -json reports, per release, the chart version rendered and the object
// counts; a pin the repository lacks is rendered at the nearest older
// version and said so in one line on stderr.
func TestJSONReportsRenderedCharts(t *testing.T) {
	charts := chartRepository(t)
	code, out, stderr := plan(t, "-dir", repoRoot, "-stack", "prod", "-json", "-charts", charts)
	require.Equal(t, 0, code, stderr)
	var p Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	byRelease := map[string]planout.ChartReport{}
	for _, c := range p.Charts {
		byRelease[c.Release] = c
	}
	releases := 0
	for _, r := range p.Resources {
		if r.Type == "kubernetes:helm.sh/v3:Release" || r.Type == "kubernetes:helm.sh/v4:Chart" {
			releases++
			c, ok := byRelease[r.Name]
			if assert.True(t, ok, "release %s reported", r.Name) {
				assert.Equal(t, r.Inputs["version"], c.Pinned, r.Name)
				assert.Positive(t, c.Objects, r.Name)
				sum := 0
				for _, n := range c.Kinds {
					sum += n
				}
				assert.Equal(t, c.Objects, sum, r.Name)
			}
		}
	}
	require.Positive(t, releases)
	assert.Len(t, p.Charts, releases)
	kps := byRelease["kube-prometheus-stack"]
	assert.Equal(t, "88.5.3", kps.Rendered)
	assert.Equal(t, 1, kps.Kinds["Prometheus"])
	assert.Contains(t, stderr, "plan: chart kube-prometheus-stack: pinned "+kps.Pinned+" is not in the chart repository; rendering 88.5.3, the nearest older version\n")
	assert.Equal(t, 1, strings.Count(stderr, "chart kube-prometheus-stack: pinned"), "one line per chart")
}

// -out writes each release's (and CRD chart's) rendered manifests under
// charts/<release>/.
func TestOutWritesRenderedCharts(t *testing.T) {
	charts := chartRepository(t)
	dir := t.TempDir()
	code, _, stderr := plan(t, "-dir", repoRoot, "-stack", "dev", "-out", dir, "-charts", charts)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(filepath.Join(dir, "charts", "fluent-bit", planout.ReleaseFile))
	require.NoError(t, err)
	var rep planout.ChartReport
	require.NoError(t, yaml.UnmarshalStrict(b, &rep))
	assert.Equal(t, "logging", rep.Namespace)
	assert.Equal(t, rep.Pinned, rep.Rendered)
	ds, err := os.ReadFile(filepath.Join(dir, "charts", "fluent-bit", "fluent-bit", "templates", "daemonset.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(ds), "kind: DaemonSet")
	_, err = os.Stat(filepath.Join(dir, "charts", "prometheus-operator-crds", "prometheus-operator-crds", "charts", "crds", "templates", "crd-prometheuses.yaml"))
	assert.NoError(t, err, "the CRD charts are written too")
	_, err = os.Stat(filepath.Join(dir, "charts", "kube-prometheus-stack", "kube-prometheus-stack", "charts", "crds", "crds", "crd-prometheuses.yaml"))
	assert.True(t, os.IsNotExist(err), "the release skips its crds/: %v", err)
}

// A chart repository the user names must exist.
func TestNamedChartRepositoryMustExist(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	code, _, stderr := plan(t, "-dir", repoRoot, "-stack", "dev", "-json", "-charts", missing)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "plan: rendering charts from "+missing+": chart repository:")
}
