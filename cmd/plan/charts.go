package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/cmd/plan/planout"
	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/helmrelease/render"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/stacks"
)

// chartsDir returns the chart repository to render from and whether the
// user named it (-charts or the environment): a named one must exist.
func chartsDir(flagValue, projectDir string) (string, bool) {
	if flagValue != "" {
		return flagValue, true
	}
	return planout.ChartsDir(projectDir)
}

// renderCharts renders every Helm release the stack declares, with the
// values it sends, for the cluster's Kubernetes version.
func renderCharts(res *harness.Result, cfg *stacks.Config, dir string) ([]*render.Result, error) {
	repo, err := render.OpenRepository(dir)
	if err != nil {
		return nil, err
	}
	var rels []render.Release
	for _, r := range res.OfType(render.Types...) {
		rel, err := render.ReleaseFromResource(r.Type, r.PlainInputs())
		if err != nil {
			return nil, err
		}
		rels = append(rels, rel)
	}
	kv := cfg.Cluster.KubernetesVersion
	if kv == "" {
		kv = cluster.DefaultKubernetesVersion
	}
	return render.All(repo, rels, kv)
}

// chartReports summarises rendered releases for the JSON plan.
func chartReports(results []*render.Result) []planout.ChartReport {
	out := []planout.ChartReport{}
	for _, r := range results {
		out = append(out, planout.ChartReport{
			Release: r.Release.Name, Namespace: r.Release.Namespace, Chart: r.Resolved.Chart,
			Pinned: r.Resolved.Pinned, Rendered: r.Resolved.Version, Note: r.Resolved.Note(),
			Objects: len(r.Objects), Kinds: r.Counts(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Release < out[j].Release })
	return out
}

// writeCharts writes each release's rendered manifests under
// DIR/charts/<release>/ (planout.ChartsSubdir), one file per chart template, so a pull request
// shows what the cluster will receive.
func writeCharts(results []*render.Result, dir string) error {
	for _, r := range results {
		base := filepath.Join(dir, planout.ChartsSubdir, r.Release.Name)
		if err := os.RemoveAll(base); err != nil {
			return err
		}
		if err := os.MkdirAll(base, 0o755); err != nil {
			return err
		}
		// release.yaml says what was rendered; the templates sit beside it
		// under <chart>/.
		meta, err := yaml.Marshal(chartReports([]*render.Result{r})[0])
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(base, planout.ReleaseFile), meta, 0o644); err != nil {
			return err
		}
		for name, b := range r.Files() {
			full := filepath.Join(base, filepath.FromSlash(name))
			if rel, err := filepath.Rel(base, full); err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
				return fmt.Errorf("release %s: template path %q leaves %s", r.Release.Name, name, base)
			}
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(full, b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// printChartNotes prints the one line per release rendered from an older
// chart version than the pin.
func printChartNotes(w io.Writer, results []*render.Result) {
	seen := map[string]bool{}
	for _, r := range results {
		if n := r.Resolved.Note(); n != "" && !seen[n] {
			seen[n] = true
			fmt.Fprintf(w, "plan: %s\n", n)
		}
	}
}

// renderForPlan renders the stack's releases when wanted and the chart
// repository is there; a repository the user named must exist.
func renderForPlan(res *harness.Result, cfg *stacks.Config, flagValue, projectDir string, wanted bool, stderr io.Writer) ([]*render.Result, int) {
	if !wanted {
		return nil, 0
	}
	dir, named := chartsDir(flagValue, projectDir)
	if _, err := os.Stat(filepath.Join(dir, "index.yaml")); err != nil && !named {
		fmt.Fprintf(stderr, "plan: Helm releases not rendered: no chart repository at %s (-charts DIR or $%s)\n", dir, planout.ChartsDirEnv)
		return nil, 0
	}
	rendered, err := renderCharts(res, cfg, dir)
	if err != nil {
		fmt.Fprintf(stderr, "plan: rendering charts from %s: %v\n", dir, err)
		return nil, 1
	}
	printChartNotes(stderr, rendered)
	return rendered, 0
}
