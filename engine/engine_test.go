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
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cnplatform/platform/stacks"
	"github.com/cnplatform/platform/validation"
)

// repoRoot holds Pulumi.yaml, the stack files and .tools.
const repoRoot = ".."

// kubeContext is the only context of the test cluster's kubeconfig: the
// value the test sets as platform:kubeconfigContext.
const kubeContext = "engine-test"

// testDir is a fresh directory for a test's state and logs: under
// $ENGINE_TEST_DIR when set (kept, to read the CLI logs), else removed
// with the test.
func testDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ENGINE_TEST_DIR")
	if base == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(base, 0o755))
	dir, err := os.MkdirTemp(base, t.Name()+"-")
	require.NoError(t, err)
	return dir
}

func newEnv(t *testing.T, kubeconfig string) Env {
	t.Helper()
	tools, err := filepath.Abs(filepath.Join(repoRoot, ".tools"))
	require.NoError(t, err)
	return Env{ToolsRoot: tools, Dir: testDir(t), Kubeconfig: kubeconfig}
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

// The configuration the test sets on the committed local stack, with
// prod's sizing (prodSizing). Nothing else differs from Pulumi.local.yaml.
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

// switchedOff is what this environment cannot run, switched off in the
// test's stack configuration only; each switch is an option users have
// (docs/routing.md).
var switchedOff = []struct{ key, value, reason string }{
	{"platform:routing.certManager", "existing",
		"cert-manager's admission webhooks (failurePolicy Fail) are served by a pod, and no pod runs here (kwok fakes them), " +
			"so every cert-manager object would be refused; the test installs cert-manager's CRDs itself, as a cluster that " +
			"already runs cert-manager has them (.tools/crds/cert-manager.io, from cert-manager v1.21.1's API types)"},
}

// TestLocalStackThroughTheEngine runs the committed local stack through the
// real Pulumi engine and Kubernetes provider against a real API server, at
// prod's sizing: up with every chart at its previous release, the upgrade of every chart
// with its CRDs (upgradeCharts), a preview that must be empty, a roll of
// every node (rollNodes), one configuration change that must
// update only what it should, the example app stack on top, and a destroy
// that must leave nothing of ours behind.
func TestLocalStackThroughTheEngine(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	bin, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin"))
	require.NoError(t, err)
	dir := testDir(t)
	cluster, err := StartCluster(ctx, bin, dir, kubeContext)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, cluster.Stop()) })

	charts, err := ServeCharts(validation.ChartsDir(repoRoot))
	require.NoError(t, err)
	t.Cleanup(func() { _ = charts.Close() })

	env := newEnv(t, cluster.Kubeconfig)
	platform, err := env.NewProject(ctx, repoRoot, "local", localProgram(charts))
	require.NoError(t, err)
	for _, c := range localConfig(charts) {
		require.NoError(t, platform.Set(ctx, c.key, c.value, c.secret), c.key)
	}
	for _, c := range prodSizing() {
		fmt.Printf("engine: prod's sizing: %s=%s\n", c.key, c.value)
		require.NoError(t, platform.Set(ctx, c.key, c.value, false), c.key)
	}
	for _, s := range switchedOff {
		fmt.Printf("engine: %s=%s: %s\n", s.key, s.value, s.reason)
		require.NoError(t, platform.Set(ctx, s.key, s.value, false), s.key)
	}
	_, err = envtest.InstallCRDs(cluster.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(repoRoot, ".tools", "crds", "cert-manager.io")}, ErrorIfPathMissing: true})
	require.NoError(t, err, "cert-manager's CRDs (./scripts/kube-tools.sh generates them)")
	before, err := cluster.Objects(ctx)
	require.NoError(t, err)
	volumesBefore, err := cluster.Volumes(ctx)
	require.NoError(t, err)

	// 1. up, with every chart at its previous release.
	charts.UsePrevious(true)
	up, err := platform.Up(ctx)
	require.NoError(t, err)
	created := len(up.With(apitype.OpCreate))
	require.Equal(t, created, up.Count(), "the first up only creates: %v", up)

	// 1b. the chart upgrade: every pin moves to the current release.
	upgradeCharts(ctx, t, cluster, charts, platform)
	for _, n := range charts.Notes() {
		fmt.Println(n)
	}

	// 2. a second preview reports no change: no perpetual diff.
	preview, err := platform.Preview(ctx)
	require.NoError(t, err)
	assert.Empty(t, preview, "a preview right after up must report no change (a perpetual diff); the CLI's diff:\n%s", platform.Tail(80))

	// 2b. every node replaced, zone by zone, as a managed node group
	// update does, at prod's sizing.
	rollNodes(ctx, t, cluster)

	// 3. one configuration change updates exactly what it should.
	updated := changeExcludedNamespaces(ctx, t, platform)

	// 3b. each layer switched off and on again, then a refresh.
	switchFeatures(ctx, t, cluster, platform)

	// 4. the example app stack, on the platform stack's outputs.
	exampleApp(ctx, t, env, cluster, platform)

	// 4b. a Pulumi YAML program through the platform's component package.
	yamlComponents(ctx, t, env, cluster, platform)

	// 5. destroy leaves nothing of ours: no claim and no volume either (on
	// EKS each would be an EBS volume left billed). Listed through the core
	// API on their own, so a leftover is named even if the object listing
	// above changed.
	volumesDuring, err := cluster.Volumes(ctx)
	require.NoError(t, err)
	_, err = platform.Destroy(ctx)
	require.NoError(t, err)
	after, err := cluster.Objects(ctx)
	require.NoError(t, err)
	left, kept := KeptCRDs(Added(before, after), chartCRDGroups)
	assert.Empty(t, left, "objects left in the API server after destroy")
	assert.NotEmpty(t, kept, "the charts' CRDs stay (retained on delete, helmrelease.RetainCRDs): the split found them")
	volumesAfter, err := cluster.Volumes(ctx)
	require.NoError(t, err)
	volumesLeft := Added(volumesBefore, volumesAfter)
	assert.Empty(t, volumesLeft, "PersistentVolumeClaims and PersistentVolumes of ours left after destroy")
	// The claims of the Prometheus and Alertmanager StatefulSets come from
	// the Prometheus Operator, whose pod kwok only pretends to run: the line
	// says how many claims and volumes the run had to clean up.
	fmt.Printf("engine: volumes: claims and volumes before destroy=%d, left after destroy=%d\n",
		len(Added(volumesBefore, volumesDuring)), len(volumesLeft))

	fmt.Printf("engine: local stack created=%d preview-changes=%d updated=%d left=%d\n",
		created, preview.Count(), updated, len(left))
	fmt.Printf("engine: CRDs retained on destroy: %d CustomResourceDefinitions of %s (docs/operations.md)\n",
		countCRDs(kept), strings.Join(chartCRDGroups, ", "))
	fmt.Printf("engine: took %s\n", time.Since(start).Round(time.Second))
}

// changeExcludedNamespaces adds a namespace to platform:logging.excludeNamespaces:
// the agent's generated configuration changes, so its ConfigMap is
// replaced (the provider replaces a ConfigMap whose data changes unless
// enableConfigMapMutable is set: pulumi-kubernetes provider/v4
// pkg/provider/diff.go) and its release updates (its pod annotation
// checksum/platform-config hashes that configuration, so the DaemonSet
// rolls onto the new one), and nothing else changes. It returns how many
// resources were updated or replaced.
func changeExcludedNamespaces(ctx context.Context, t *testing.T, p *Project) int {
	t.Helper()
	require.NoError(t, p.Set(ctx, "platform:logging.excludeNamespaces[1]", "engine-test-excluded", false))
	changes, err := p.Up(ctx)
	require.NoError(t, err)
	got := map[string]string{}
	for urn, op := range changes {
		got[urnType(urn)+" "+urnName(urn)] = string(replaceOp(op))
	}
	assert.Equal(t, map[string]string{
		"kubernetes:core/v1:ConfigMap logging-config": string(apitype.OpReplace),
		"kubernetes:helm.sh/v3:Release fluent-bit":    string(apitype.OpUpdate),
	}, got, "the exclusion list changes the agent's ConfigMap and its release, nothing else; the CLI's output:\n%s", p.Tail(60))
	return len(got)
}

// replaceOp folds the steps of a replacement into OpReplace.
func replaceOp(op apitype.OpType) apitype.OpType {
	switch op {
	case apitype.OpCreateReplacement, apitype.OpDeleteReplaced, apitype.OpReplace:
		return apitype.OpReplace
	}
	return op
}

// urnName is the resource name of a URN.
func urnName(urn string) string {
	parts := strings.Split(urn, "::")
	return parts[len(parts)-1]
}

// chartCRDGroups are the API groups of the CRDs the local stack applies
// from its CRD charts (helmrelease.NewCRDs): prometheus-operator-crds for
// kube-prometheus-stack, gateway-crds-helm for gateway-helm (Gateway API and
// Envoy Gateway). They are retained on delete, so a destroy keeps them, with
// the APIServices the API server registers for their groups, as Helm keeps
// a chart's crds/. Nothing else may stay.
var chartCRDGroups = []string{"monitoring.coreos.com", "gateway.networking.k8s.io", "gateway.networking.x-k8s.io", "gateway.envoyproxy.io"}

func countCRDs(objs []string) int {
	n := 0
	for _, o := range objs {
		if strings.HasPrefix(o, "customresourcedefinitions.apiextensions.k8s.io ") {
			n++
		}
	}
	return n
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
