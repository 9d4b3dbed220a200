package validation

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const allowListFile = "kube-score-allow.yaml"

func kubeScoreBinary(t *testing.T) string {
	t.Helper()
	require.NoError(t, RequireTools(repoRoot, "kube-score"))
	return filepath.Join(ToolsBin(repoRoot), "kube-score")
}

// TestKubeScoreEveryStack runs kube-score over every object each stack
// declares. Every finding graded warning or critical must be fixed or
// accepted in kube-score-allow.yaml with a reason.
func TestKubeScoreEveryStack(t *testing.T) {
	allow, err := LoadAllowList(allowListFile)
	require.NoError(t, err)
	bin := kubeScoreBinary(t)
	used := make([]bool, len(allow))

	all := stacks(t)
	for _, stack := range sortedStacks(all) {
		t.Run(stack, func(t *testing.T) {
			objs := all[stack]
			files := make([]string, 0, len(objs))
			want := map[string]bool{}
			for _, o := range objs {
				files = append(files, o.Path)
				if ScoredKinds[o.GetKind()] {
					want[o.Key()] = true
				}
			}
			if len(files) == 0 {
				// kube-score needs an input; an empty document scores nothing.
				empty := filepath.Join(t.TempDir(), "empty.yaml")
				require.NoError(t, os.WriteFile(empty, nil, 0o644))
				files = append(files, empty)
			}
			scored, err := KubeScore(bin, files)
			require.NoError(t, err)

			// kube-score understood every object of a kind it scores, and
			// scored nothing we did not give it.
			got := map[string]bool{}
			for _, s := range scored {
				got[s.Key()] = true
			}
			assert.Equal(t, want, got, "stack %s: objects kube-score scored", stack)

			for _, s := range scored {
				for _, f := range s.Findings() {
					accepted := false
					for i, e := range allow {
						if e.Matches(f.Check, f.Key) {
							accepted, used[i] = true, true
						}
					}
					if !accepted {
						t.Errorf("stack %s: kube-score: %s (fix it, or add check %q with the object and a reason to validation/%s)",
							stack, f, f.Check, allowListFile)
					}
				}
			}
			t.Logf("stack %s: kube-score scored %d of %d objects", stack, len(scored), len(objs))
		})
	}
	for i, e := range allow {
		if !used[i] {
			// Not an error: objects are still being added; but say so, so
			// stale entries get removed.
			t.Logf("allow-list entry %s %s matched no finding in any stack", e.Check, e.Object)
		}
	}
}

// TestKubeScoreFlagsABadWorkload proves the kube-score run has teeth: a
// Deployment with no resources, no probes and a :latest image is graded
// critical on those checks, and the allow-list does not accept them.
func TestKubeScoreFlagsABadWorkload(t *testing.T) {
	bin := kubeScoreBinary(t)
	allow, err := LoadAllowList(allowListFile)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "deployment_probe_web.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: probe}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:latest"}]
`), 0o644))
	scored, err := KubeScore(bin, []string{file})
	require.NoError(t, err)
	require.Len(t, scored, 1)
	assert.Equal(t, "Deployment/probe/web", scored[0].Key())

	critical := map[string]bool{}
	for _, f := range scored[0].Findings() {
		if f.Grade <= GradeCritical {
			critical[f.Check] = true
			for _, e := range allow {
				assert.False(t, e.Matches(f.Check, f.Key), "allow-list entry %s %s hides %s", e.Check, e.Object, f)
			}
		}
	}
	for _, check := range []string{"container-resources", "container-image-tag"} {
		assert.True(t, critical[check], "kube-score did not grade %s critical; got %v", check, critical)
	}
}

// TestKubeScoreAllowListEntriesHaveReasons: every accepted finding says why.
func TestKubeScoreAllowListEntriesHaveReasons(t *testing.T) {
	allow, err := LoadAllowList(allowListFile)
	require.NoError(t, err)
	for i, e := range allow {
		assert.Empty(t, e.Problems(), "%s entry %d (%s %s)", allowListFile, i+1, e.Check, e.Object)
	}
}

func TestAllowEntryProblems(t *testing.T) {
	reason := "pods come from Helm charts that are not rendered offline"
	cases := []struct {
		name    string
		entry   AllowEntry
		problem string // empty: no problem
	}{
		{"complete", AllowEntry{Check: "networkpolicy-targets-pod", Object: "NetworkPolicy/*/*", Reason: reason}, ""},
		{"no reason", AllowEntry{Check: "networkpolicy-targets-pod", Object: "NetworkPolicy/*/*"}, "reason"},
		{"blank reason", AllowEntry{Check: "networkpolicy-targets-pod", Object: "NetworkPolicy/*/*", Reason: "  "}, "reason"},
		{"one-word reason", AllowEntry{Check: "networkpolicy-targets-pod", Object: "NetworkPolicy/*/*", Reason: "TODO"}, "reason"},
		{"no check", AllowEntry{Object: "NetworkPolicy/*/*", Reason: reason}, "check"},
		{"no object", AllowEntry{Check: "networkpolicy-targets-pod", Reason: reason}, "object"},
		{"object not Kind/namespace/name", AllowEntry{Check: "networkpolicy-targets-pod", Object: "NetworkPolicy", Reason: reason}, "Kind/namespace/name"},
		{"bad pattern", AllowEntry{Check: "networkpolicy-targets-pod", Object: "NetworkPolicy/[/*", Reason: reason}, "pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.entry.Problems()
			if tc.problem == "" {
				assert.Empty(t, p)
				return
			}
			require.NotEmpty(t, p)
			assert.Contains(t, p[0], tc.problem)
		})
	}
}

func TestAllowEntryMatches(t *testing.T) {
	e := AllowEntry{Check: "networkpolicy-targets-pod", Object: "NetworkPolicy/*/default-deny"}
	assert.True(t, e.Matches("networkpolicy-targets-pod", "NetworkPolicy/monitoring/default-deny"))
	assert.False(t, e.Matches("networkpolicy-targets-pod", "NetworkPolicy/monitoring/allow-dns"))
	assert.False(t, e.Matches("pod-networkpolicy", "NetworkPolicy/monitoring/default-deny"))
	assert.False(t, e.Matches("networkpolicy-targets-pod", "Deployment/monitoring/default-deny"))
}
