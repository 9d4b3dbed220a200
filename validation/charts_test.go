package validation

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cnplatform/platform/cmd/plan/planout"
)

// renderedReleases returns the Helm releases `cmd/plan -out` rendered for
// stack (every release the stack installs, with the values it sends). A
// missing chart repository fails the test: it is how the charts get into
// the loop.
func renderedReleases(t *testing.T, all map[string][]Object, stack string) []RenderedRelease {
	t.Helper()
	chartsDir := ChartsDir(repoRoot)
	_, err := os.Stat(filepath.Join(chartsDir, "index.yaml"))
	require.NoError(t, err, "chart repository %s (set %s to a static Helm repository holding the pinned charts)", chartsDir, planout.ChartsDirEnv)
	rels, err := ReadReleases(stack, filepath.Join(workDir, "plan-"+stack, planout.ChartsSubdir))
	require.NoError(t, err)
	require.NotEmpty(t, rels, "stack %s renders Helm releases", stack)
	return rels
}

// TestEveryRenderedChartObjectIsAcceptedByTheAPIServer applies every object
// of every chart each stack installs, rendered with the stack's values, to
// a real kube-apiserver: the stack's Namespaces and the charts' CRDs for
// real (as Helm installs crds/ before the templates), then every other
// object, hooks included, with a server-side dry-run. A rejection names
// stack, chart, kind/name and the server's message.
func TestEveryRenderedChartObjectIsAcceptedByTheAPIServer(t *testing.T) {
	all := stacks(t)
	for _, stack := range sortedStacks(all) {
		t.Run(stack, func(t *testing.T) {
			rels := renderedReleases(t, all, stack)
			c := apiServer(t)
			ctx := context.Background()
			for _, o := range all[stack] {
				if isNamespace(o) {
					require.NoError(t, Apply(ctx, c, o.Unstructured), "stack %s: %s", stack, o.ID())
				}
			}
			for _, rel := range rels {
				for _, o := range rel.Objects {
					if IsCRD(o) {
						require.NoError(t, Apply(ctx, c, o.Unstructured), "stack %s %s: %s", stack, rel.ID(), o.ID())
					}
				}
			}
			for _, rel := range rels {
				for _, o := range rel.Objects {
					if IsCRD(o) {
						require.NoError(t, waitEstablished(ctx, c, o.GetName()), "stack %s %s: %s", stack, rel.ID(), o.ID())
					}
				}
			}
			checked := 0
			for _, rel := range rels {
				for _, o := range rel.Objects {
					if IsCRD(o) {
						continue
					}
					obj := o.Unstructured.DeepCopy()
					if err := defaultNamespace(c, obj, rel.Namespace); err != nil {
						t.Errorf("stack %s %s: %s: %v", stack, rel.ID(), o.ID(), err)
						continue
					}
					if err := DryRunApply(ctx, c, obj); err != nil {
						t.Errorf("stack %s %s: %s rejected: %v", stack, rel.ID(), o.ID(), err)
					}
					checked++
				}
			}
			require.Positive(t, checked, "stack %s: chart objects checked", stack)
			t.Logf("stack %s: %d rendered chart objects of %d releases checked", stack, checked, len(rels))
		})
	}
}

// defaultNamespace puts a namespaced object without a namespace into the
// release namespace, as Helm does when it applies a release.
func defaultNamespace(c client.Client, obj *unstructured.Unstructured, ns string) error {
	if obj.GetNamespace() != "" {
		return nil
	}
	namespaced, err := c.IsObjectNamespaced(obj)
	if err != nil {
		return fmt.Errorf("kind unknown to the API server: %w", err)
	}
	if namespaced {
		obj.SetNamespace(ns)
	}
	return nil
}

// waitEstablished waits until the API server serves the CRD's types.
func waitEstablished(ctx context.Context, c client.Client, name string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		err := c.Get(ctx, client.ObjectKey{Name: name}, crd)
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CRD %s not established after a minute (last error: %v)", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
