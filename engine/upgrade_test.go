package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/cnplatform/platform/components/helmrelease/render"
	"github.com/cnplatform/platform/harness/stackrun"
)

const crdType = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"

// statefulTypes are the resources whose replacement or deletion loses data
// or credentials: a chart bump must update them in place or leave them.
var statefulTypes = map[string]bool{
	"kubernetes:core/v1:PersistentVolumeClaim": true,
	"kubernetes:apps/v1:StatefulSet":           true,
	"kubernetes:core/v1:Secret":                true,
}

// upgradeCharts is the chart upgrade of issue 21 item 2. The stack is up
// with every chart at its previous release (ChartServer.UsePrevious); every
// pin moves back to the current release and the stack goes up again. It
// asserts: a preview of the bump shows CRD changes (the CRD charts are
// resources, so a pin change is a diff); the upgrade succeeds; no
// PersistentVolumeClaim, StatefulSet or Secret is replaced or deleted,
// neither as a Pulumi resource nor in the cluster (the same UID before and
// after, so a chart that recreates one inside its release is caught too,
// named); every CRD of the charts' groups in the cluster equals the current
// CRD chart's (the same set of CRDs; per version: served, storage and
// schema); and a preview right after is empty.
func upgradeCharts(ctx context.Context, t *testing.T, cluster *Cluster, charts *ChartServer, p *Project) {
	t.Helper()
	moved := charts.Moved()
	require.NotEmpty(t, moved, "the first up installed the previous releases")
	fmt.Printf("upgrade: from the previous releases: %v\n", moved)
	before, err := statefulObjects(ctx, cluster)
	require.NoError(t, err)

	charts.UsePrevious(false)
	// The comparison below tells the previous CRDs from the current ones.
	_, staleBefore := compareCRDs(ctx, t, cluster, charts)
	assert.NotEmpty(t, staleBefore, "the previous releases' CRDs differ from the current ones (or the CRD comparison sees nothing)")
	bump, err := p.Preview(ctx)
	require.NoError(t, err)
	crdChanges := 0
	for urn := range bump {
		if urnType(urn) == crdType {
			crdChanges++
		}
	}
	assert.Positive(t, crdChanges, "a preview of the chart bump shows the CRD changes; it showed:\n%v", bump)
	fmt.Printf("upgrade: before it, crds-stale=%d; the preview of the bump: changes=%d, of CRDs %d\n", len(staleBefore), bump.Count(), crdChanges)

	changes, err := p.Up(ctx)
	require.NoError(t, err, "the chart upgrade; the CLI's output:\n%s", p.Tail(60))
	replaced := 0
	for urn, op := range changes {
		if statefulTypes[urnType(urn)] && (replaceOp(op) == apitype.OpReplace || op == apitype.OpDelete) {
			replaced++
			t.Errorf("%s %s: %s by the chart upgrade", urnType(urn), urnName(urn), op)
		}
	}
	after, err := statefulObjects(ctx, cluster)
	require.NoError(t, err)
	for _, id := range sortedKeys(before) {
		if after[id] != before[id] {
			replaced++
			t.Errorf("%s was deleted or recreated by the chart upgrade (uid %s, now %q)", id, before[id], after[id])
		}
	}

	current, stale := compareCRDs(ctx, t, cluster, charts)
	for _, line := range stale {
		t.Error(line)
	}
	preview, err := p.Preview(ctx)
	require.NoError(t, err)
	assert.Empty(t, preview, "a preview right after the upgrade reports no change; the CLI's diff:\n%s", p.Tail(80))
	fmt.Printf("upgrade: charts=%d crds-current=%d crds-stale=%d replaced=%d preview-changes=%d\n",
		len(moved), current, len(stale), replaced, preview.Count())
}

// statefulObjects maps "kind namespace/name" of every PersistentVolumeClaim,
// StatefulSet and Secret in the cluster to its UID.
func statefulObjects(ctx context.Context, c *Cluster) (map[string]string, error) {
	out := map[string]string{}
	claims, err := c.Client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range claims.Items {
		out["PersistentVolumeClaim "+o.Namespace+"/"+o.Name] = string(o.UID)
	}
	sets, err := c.Client.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range sets.Items {
		out["StatefulSet "+o.Namespace+"/"+o.Name] = string(o.UID)
	}
	secrets, err := c.Client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range secrets.Items {
		out["Secret "+o.Namespace+"/"+o.Name] = string(o.UID)
	}
	return out, nil
}

// localCRDCharts are the CRD charts the local stack declares, with the
// values it sends: the program evaluated under the mocks harness.
func localCRDCharts(t *testing.T) []render.Release {
	t.Helper()
	st, err := stackrun.Run(repoRoot, "local")
	require.NoError(t, err)
	var out []render.Release
	for _, r := range st.Result.OfType(render.ChartType) {
		rel, err := render.ReleaseFromResource(r.Type, r.PlainInputs())
		require.NoError(t, err)
		out = append(out, rel)
	}
	require.NotEmpty(t, out, "the local stack applies CRD charts")
	return out
}

// compareCRDs compares the CRDs of chartCRDGroups in the cluster with those
// the current CRD charts render (pins resolved in the repository as the
// server resolves them): it returns how many are equal, and one line for
// each that is stale, missing or extra, naming it.
func compareCRDs(ctx context.Context, t *testing.T, cluster *Cluster, charts *ChartServer) (current int, stale []string) {
	t.Helper()
	want := map[string]map[string]any{}
	for _, rel := range localCRDCharts(t) {
		res, err := render.RenderFrom(charts.Repo, rel, render.Options{})
		require.NoError(t, err)
		for _, o := range res.Objects {
			if o.Kind() == "CustomResourceDefinition" {
				want[o.Name()] = normalized(t, o.Object)
			}
		}
	}
	dyn, err := dynamic.NewForConfig(cluster.Config)
	require.NoError(t, err)
	list, err := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	got := map[string]map[string]any{}
	for _, it := range list.Items {
		if inGroups(it.GetName(), chartCRDGroups) {
			got[it.GetName()] = normalized(t, it.Object)
		}
	}
	for _, name := range sortedKeys(want) {
		g, ok := got[name]
		switch {
		case !ok:
			stale = append(stale, fmt.Sprintf("CRD %s of the current CRD charts is not in the cluster", name))
		case versionDiff(want[name], g) != "":
			stale = append(stale, fmt.Sprintf("CRD %s in the cluster is not the current chart's: %s", name, versionDiff(want[name], g)))
		default:
			current++
		}
	}
	for _, name := range sortedKeys(got) {
		if _, ok := want[name]; !ok {
			stale = append(stale, fmt.Sprintf("CRD %s is in the cluster but in no current CRD chart", name))
		}
	}
	return current, stale
}

// versionDiff compares the versions of two CRDs: the same names, each with
// the same served and storage flags and the same schema ("" when equal).
func versionDiff(want, got map[string]any) string {
	versions := func(crd map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		spec, _ := crd["spec"].(map[string]any)
		list, _ := spec["versions"].([]any)
		for _, v := range list {
			m, _ := v.(map[string]any)
			name, _ := m["name"].(string)
			out[name] = m
		}
		return out
	}
	w, g := versions(want), versions(got)
	if !reflect.DeepEqual(sortedKeys(w), sortedKeys(g)) {
		return fmt.Sprintf("versions %v, want %v", sortedKeys(g), sortedKeys(w))
	}
	for _, name := range sortedKeys(w) {
		for _, field := range []string{"served", "storage", "schema"} {
			if !reflect.DeepEqual(w[name][field], g[name][field]) {
				return fmt.Sprintf("version %s: %s differs", name, field)
			}
		}
	}
	return ""
}

// normalized is obj through JSON, so YAML-parsed and API-read objects
// compare (numbers as float64).
func normalized(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// sortedKeys are m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
