package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/cmd/plan/planout"
	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/helmrelease/render"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/stacks"
)

// repoRoot holds Pulumi.yaml and the stack files.
const repoRoot = "../../.."

// requiredStacks must all exist, so a lost stack file cannot shrink what is
// rendered.
var requiredStacks = []string{"dev", "staging", "prod", "local"}

// documentedSubstitutions are the pins newer than anything the chart
// repository holds (../shared/charts/SOURCES.md, "Versions that differ"):
// there the nearest older version is rendered. Any other missing pin fails.
var documentedSubstitutions = map[string]string{
	"kube-prometheus-stack 91.4.1":       "88.5.3",
	"prometheus-operator-crds 32.0.0":    "31.0.1",
	"gateway-helm v1.9.3":                "v1.9.0",
	"gateway-crds-helm v1.9.3":           "v1.9.0",
	"aws-load-balancer-controller 3.6.0": "3.5.0",
}

// renderedStack is one stack's configuration, releases and render results.
type renderedStack struct {
	Name     string
	Config   *stacks.Config
	Result   *harness.Result
	Releases []render.Release
	Results  []*render.Result
}

var (
	renderOnce  sync.Once
	renderErr   error
	rendered    []renderedStack
	renderTook  time.Duration
	repository  *render.Repository
	chartsFound string
)

// chartsDir is the chart repository: $PLATFORM_CHARTS_DIR or
// ../shared/charts beside the repository, as cmd/plan reads it.
func chartsDir() string {
	dir, _ := planout.ChartsDir(repoRoot)
	return dir
}

// stackReleases evaluates a stack file with the program (stacks.Run, under
// the mocks harness) and returns the Helm releases it declares, with the
// values it sends.
func stackReleases(name string) (*stackrun.Stack, []render.Release, error) {
	return stackReleasesIn(repoRoot, name)
}

// stackReleasesIn is stackReleases for the stack file in dir.
func stackReleasesIn(dir, name string) (*stackrun.Stack, []render.Release, error) {
	st, err := stackrun.Run(dir, name)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", name, err)
	}
	var rels []render.Release
	for _, r := range st.Result.OfType(render.Types...) {
		rel, err := render.ReleaseFromResource(r.Type, r.PlainInputs())
		if err != nil {
			return nil, nil, fmt.Errorf("stack %s: %w", name, err)
		}
		rels = append(rels, rel)
	}
	return st, rels, nil
}

func kubeVersion(cfg *stacks.Config) string {
	if cfg.Cluster.KubernetesVersion != "" {
		return cfg.Cluster.KubernetesVersion
	}
	return cluster.DefaultKubernetesVersion
}

// renderAll renders every release of every stack once per test binary.
func renderAll(t *testing.T) []renderedStack {
	t.Helper()
	renderOnce.Do(func() {
		dir := chartsDir()
		if _, err := os.Stat(filepath.Join(dir, "index.yaml")); err != nil {
			renderErr = fmt.Errorf("chart repository not found: %v (set %s to a directory with index.yaml and the chart archives)", err, planout.ChartsDirEnv)
			return
		}
		chartsFound = dir
		repository, renderErr = render.OpenRepository(dir)
		if renderErr != nil {
			return
		}
		names, err := harness.StackNames(repoRoot)
		if err != nil {
			renderErr = err
			return
		}
		for _, name := range names {
			st, rels, err := stackReleases(name)
			if err != nil {
				renderErr = err
				return
			}
			start := time.Now()
			results, err := render.All(repository, rels, kubeVersion(st.Config))
			renderTook += time.Since(start)
			if err != nil {
				renderErr = fmt.Errorf("stack %s: %w", name, err)
				return
			}
			rendered = append(rendered, renderedStack{Name: name, Config: st.Config, Result: st.Result, Releases: rels, Results: results})
		}
	})
	require.NoError(t, renderErr)
	var names []string
	for _, s := range rendered {
		names = append(names, s.Name)
	}
	for _, s := range requiredStacks {
		require.Contains(t, names, s, "stack file Pulumi.%s.yaml", s)
	}
	return rendered
}

// TestEveryReleaseRenders renders each chart the program installs, for
// every stack file, with the values the program sends, and says in one
// line where an older chart version stands in for the pin.
func TestEveryReleaseRenders(t *testing.T) {
	all := renderAll(t)
	notes := map[string]bool{}
	for _, s := range all {
		require.NotEmpty(t, s.Results, "stack %s installs Helm releases", s.Name)
		require.Len(t, s.Results, len(s.Releases), "stack %s: every release rendered", s.Name)
		for _, r := range s.Results {
			require.NotEmpty(t, r.Objects, "stack %s release %s renders objects", s.Name, r.Release.Name)
			res := r.Resolved
			if res.Substituted() {
				want, ok := documentedSubstitutions[res.Chart+" "+res.Pinned]
				require.True(t, ok, "stack %s release %s: chart %s %s is not in %s and is not a documented substitution (SOURCES.md)", s.Name, r.Release.Name, res.Chart, res.Pinned, chartsFound)
				require.Equal(t, want, res.Version, "stack %s release %s: nearest older version", s.Name, r.Release.Name)
				notes[res.Note()] = true
			}
		}
	}
	var lines []string
	for n := range notes {
		lines = append(lines, n)
	}
	sort.Strings(lines)
	for _, l := range lines {
		t.Log(l)
	}
	t.Logf("rendered %d stacks in %s (charts from %s)", len(all), renderTook.Round(time.Millisecond), chartsFound)
}

func TestSummary(t *testing.T) {
	for _, s := range renderAll(t) {
		for _, r := range s.Results {
			var kinds []string
			for k, n := range r.Counts() {
				kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
			}
			sort.Strings(kinds)
			t.Logf("%s %s %s %s: %s", s.Name, r.Release.Name, r.Resolved.Chart, r.Resolved.Version, strings.Join(kinds, " "))
		}
	}
}

// Every release a stack installs is a chart of stacks.PinnedCharts, the
// list a chart mirror or directory must hold (platform:charts).
func TestEveryReleaseIsAPinnedChart(t *testing.T) {
	pinned := map[string]bool{}
	for _, c := range stacks.PinnedCharts() {
		pinned[c.Name+" "+c.Version] = true
	}
	for _, s := range renderAll(t) {
		for _, r := range s.Releases {
			assert.True(t, pinned[r.Chart+" "+r.Version], "stack %s release %s: chart %s %s is not in stacks.PinnedCharts", s.Name, r.Name, r.Chart, r.Version)
		}
	}
}
