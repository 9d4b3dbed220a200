package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/stacks"
)

// repoRoot holds Pulumi.yaml, the stack files and .tools.
const repoRoot = ".."

// kubeContext is the only context of the test cluster's kubeconfig: the
// value the test sets as platform:kubeconfigContext.
const kubeContext = "engine-test"

func chartsDir() string {
	if d := os.Getenv("PLATFORM_CHARTS_DIR"); d != "" {
		return d
	}
	return filepath.Join(repoRoot, "..", "shared", "charts")
}

func newEnv(t *testing.T, kubeconfig string) Env {
	t.Helper()
	tools, err := filepath.Abs(filepath.Join(repoRoot, ".tools"))
	require.NoError(t, err)
	return Env{ToolsRoot: tools, Dir: t.TempDir(), Kubeconfig: kubeconfig}
}

// localProgram is the program main.go runs (stacks.Run), with the chart
// pins this workspace cannot serve replaced by their nearest older version
// (ChartServer.NearestOlder, printed one line each).
func localProgram(charts *ChartServer) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if err := ctx.RegisterStackTransformation(charts.NearestOlder); err != nil {
			return err
		}
		return stacks.Run(ctx)
	}
}

// The configuration the test sets on the committed local stack. Nothing
// else differs from Pulumi.local.yaml.
func localConfig(charts *ChartServer) []struct {
	key, value string
	secret     bool
} {
	return []struct {
		key, value string
		secret     bool
	}{
		{"platform:kubeconfigContext", kubeContext, false},
		// The chart source a PR preview or an air-gapped deploy would point
		// at a mirror: here ../shared/charts over loopback.
		{"platform:charts.repository", charts.URL, false},
		// Secrets: Pulumi secrets in the stack (passphrase provider).
		{"platform:logScaleIngestToken", "engine-test-ingest-token", true},
		{"platform:grafanaAdminPassword", "engine-test-grafana-password", true},
	}
}

// TestLocalStackThroughTheEngine runs the committed local stack through the
// real Pulumi engine and Kubernetes provider against a real API server:
// up, a preview that must be empty, one configuration change that must
// update only what it should, the example app stack on top, and a destroy
// that must leave nothing of ours behind.
func TestLocalStackThroughTheEngine(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	bin, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin"))
	require.NoError(t, err)
	dir := t.TempDir()
	cluster, err := StartCluster(ctx, bin, dir, kubeContext)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, cluster.Stop()) })

	charts, err := ServeCharts(chartsDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = charts.Close() })

	env := newEnv(t, cluster.Kubeconfig)
	platform, err := env.NewProject(ctx, repoRoot, "local", localProgram(charts))
	require.NoError(t, err)
	for _, c := range localConfig(charts) {
		require.NoError(t, platform.Set(ctx, c.key, c.value, c.secret), c.key)
	}
	before, err := cluster.Objects(ctx)
	require.NoError(t, err)

	// 1. up
	up, err := platform.Up(ctx)
	require.NoError(t, err)
	for _, n := range charts.Notes() {
		fmt.Println(n)
	}
	created := len(up.With(apitype.OpCreate))
	require.Equal(t, created, up.Count(), "the first up only creates: %v", up)

	// 2. a second preview reports no change: no perpetual diff.
	preview, err := platform.Preview(ctx)
	require.NoError(t, err)
	assert.Empty(t, preview, "a preview right after up must report no change (a perpetual diff); CLI output in %s", platform.Log)

	// 3. one configuration change updates exactly what it should.
	updated := changeExcludedNamespaces(ctx, t, platform)

	// 4. the example app stack, on the platform stack's outputs.
	exampleApp(ctx, t, env, cluster, platform)

	// 5. destroy leaves nothing of ours.
	_, err = platform.Destroy(ctx)
	require.NoError(t, err)
	after, err := cluster.Objects(ctx)
	require.NoError(t, err)
	left := Added(before, after)
	assert.Empty(t, left, "objects left in the API server after destroy")

	fmt.Printf("engine: local stack created=%d preview-changes=%d updated=%d left=%d\n",
		created, preview.Count(), updated, len(left))
	fmt.Printf("engine: took %s\n", time.Since(start).Round(time.Second))
}

// changeExcludedNamespaces adds a namespace to platform:logExcludeNamespaces:
// the agent's generated configuration changes, so its ConfigMap and its
// release (whose pod annotation checksum/platform-config hashes that
// configuration, rolling the DaemonSet) update, and nothing else.
func changeExcludedNamespaces(ctx context.Context, t *testing.T, p *Project) int {
	t.Helper()
	require.NoError(t, p.Set(ctx, "platform:logExcludeNamespaces[1]", "engine-test-excluded", false))
	changes, err := p.Up(ctx)
	require.NoError(t, err)
	var kinds []string
	for urn, op := range changes {
		assert.Equal(t, apitype.OpUpdate, op, "%s", urn)
		kinds = append(kinds, urnType(urn))
	}
	assert.ElementsMatch(t, []string{"kubernetes:core/v1:ConfigMap", "kubernetes:helm.sh/v3:Release"}, kinds,
		"the exclusion list changes the agent's ConfigMap and its release, nothing else: %v", changes)
	for urn := range changes {
		assert.Contains(t, urn, "logging", "a change outside the log pipeline: %s", urn)
	}
	return len(changes.With(apitype.OpUpdate))
}

// urnType is the resource type of a URN
// (urn:pulumi:stack::project::parent$type::name).
func urnType(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return urn
	}
	types := strings.Split(parts[2], "$")
	return types[len(types)-1]
}
