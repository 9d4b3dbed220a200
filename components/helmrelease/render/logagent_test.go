package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/helmrelease/render"
	"github.com/cnplatform/platform/components/logging"
)

// variantStack writes a copy of a stack file with extra config into a temp
// project directory and returns the directory.
func variantStack(t *testing.T, from, name string, config map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi."+from+".yaml"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	cfg, _ := doc["config"].(map[string]any)
	require.NotNil(t, cfg)
	for k, v := range config {
		// An object key's fields are merged into the stack file's object.
		if fields, ok := v.(map[string]any); ok {
			if cur, ok := cfg[k].(map[string]any); ok {
				for f, fv := range fields {
					cur[f] = fv
				}
				continue
			}
		}
		cfg[k] = v
	}
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+name+".yaml"), out, 0o644))
	project, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o644))
	return dir
}

// Issue 10 item 11, fluentd: with the program's values the chart renders
// no dashboards ConfigMap (`dashboards.enabled` must be a bool: the
// chart's `if` takes the string "false" as true), and the rendered
// DaemonSet parses strictly (no duplicate checksum/config annotation).
func TestFluentdAgentRendersWithoutDashboardsOrDuplicateKeys(t *testing.T) {
	renderAll(t) // the chart repository
	st, rels, err := stackReleasesIn(variantStack(t, "prod", "fluentd", map[string]any{"platform:logging": map[string]any{"agent": logging.Fluentd}}), "fluentd")
	require.NoError(t, err)
	var rel *render.Release
	for i := range rels {
		if rels[i].Chart == logging.FluentdChart.Name {
			rel = &rels[i]
		}
	}
	require.NotNil(t, rel, "the fluentd stack installs the fluentd chart")
	res, err := render.RenderFrom(repository, *rel, render.Options{KubeVersion: kubeVersion(st.Config)})
	require.NoError(t, err)
	daemonSets := 0
	for _, o := range res.Objects {
		assert.NotContains(t, o.Source, "configmap-dashboards", "fluentd dashboards ConfigMap rendered: %s", o.ID())
		if o.Kind() == "DaemonSet" {
			daemonSets++
		}
	}
	assert.Equal(t, 1, daemonSets)
}

// Issue 10 item 11, fluent-bit: the strict parse fails on a duplicate key,
// naming it: the chart writes checksum/config itself, so our pod
// annotation of the same name would be a second checksum/config.
func TestDuplicateKeyInRenderedYAMLFails(t *testing.T) {
	var rel render.Release
	for _, s := range renderAll(t) {
		for _, r := range s.Results {
			if r.Resolved.Chart == logging.FluentBitChart.Name {
				rel = r.Release
			}
		}
	}
	require.NotEmpty(t, rel.Name, "a stack installs fluent-bit")
	_, err := render.RenderFrom(repository, rel, render.Options{})
	require.NoError(t, err, "the program's values")

	values := map[string]any{}
	for k, v := range rel.Values {
		values[k] = v
	}
	values["podAnnotations"] = map[string]any{"checksum/config": "ours"}
	rel.Values = values
	_, err = render.RenderFrom(repository, rel, render.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "checksum/config")
	assert.Contains(t, err.Error(), "already set")
	assert.True(t, strings.Contains(err.Error(), "fluent-bit/templates/daemonset.yaml"), err.Error())
}
