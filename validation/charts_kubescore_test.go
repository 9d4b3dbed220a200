package validation

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// chartsAllowListFile carries the kube-score findings accepted on the
// upstream charts' objects, each with its reason (same format as
// kube-score-allow.yaml).
const chartsAllowListFile = "charts-kube-score-allow.yaml"

// TestKubeScoreEveryRenderedChart runs kube-score over the workloads,
// Services, NetworkPolicies and PodDisruptionBudgets the charts render with
// each stack's values, beside the objects the program declares. Every finding graded warning or critical must be
// fixed in our values or accepted in charts-kube-score-allow.yaml with a
// reason; a new finding fails.
func TestKubeScoreEveryRenderedChart(t *testing.T) {
	allow, err := LoadAllowList(chartsAllowListFile)
	require.NoError(t, err)
	for _, e := range allow {
		assert.Empty(t, e.Problems(), "%s entry %s %s", chartsAllowListFile, e.Check, e.Object)
	}
	bin := kubeScoreBinary(t)
	used := make([]bool, len(allow))

	all := stacks(t)
	for _, stack := range sortedStacks(all) {
		t.Run(stack, func(t *testing.T) {
			rels := renderedReleases(t, all, stack)
			dir := t.TempDir()
			var files []string
			want := map[string]string{} // key -> release
			for _, rel := range rels {
				for i, o := range rel.Objects {
					if !ScoredKinds[o.GetKind()] {
						continue
					}
					obj := o.Unstructured.DeepCopy()
					if obj.GetNamespace() == "" {
						obj.SetNamespace(rel.Namespace) // every scored kind is namespaced
					}
					b, err := yaml.Marshal(obj.Object)
					require.NoError(t, err)
					f := filepath.Join(dir, fmt.Sprintf("%s-%03d.yaml", rel.Release, i))
					require.NoError(t, os.WriteFile(f, b, 0o644))
					files = append(files, f)
					want[obj.GetKind()+"/"+obj.GetNamespace()+"/"+obj.GetName()] = rel.ID()
				}
			}
			require.NotEmpty(t, files, "stack %s: chart objects kube-score scores", stack)
			// The program's own objects go in too, so that the NetworkPolicies
			// it declares for the charts' pods count; their findings are
			// TestKubeScoreEveryStack's.
			for _, o := range all[stack] {
				files = append(files, o.Path)
			}
			scored, err := KubeScore(bin, files)
			require.NoError(t, err)
			got := map[string]bool{}
			for _, s := range scored {
				got[s.Key()] = true
			}
			for k := range want {
				assert.True(t, got[k], "stack %s: kube-score scored %s", stack, k)
			}
			for _, s := range scored {
				if want[s.Key()] == "" {
					continue
				}
				for _, f := range s.Findings() {
					accepted := false
					for i, e := range allow {
						if e.Matches(f.Check, f.Key) {
							accepted, used[i] = true, true
						}
					}
					if !accepted {
						t.Errorf("stack %s %s: kube-score: %s (fix it in our values, or add check %q with the object and a reason to validation/%s)",
							stack, want[f.Key], f, f.Check, chartsAllowListFile)
					}
				}
			}
			t.Logf("stack %s: kube-score scored %d chart objects", stack, len(scored))
		})
	}
	for i, e := range allow {
		if !used[i] {
			t.Errorf("%s: entry %s %s matched no finding in any stack: remove it", chartsAllowListFile, e.Check, e.Object)
		}
	}
}
