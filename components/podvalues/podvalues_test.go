package podvalues_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/podvalues"
)

func render(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestRenderedValues(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{
			// An explicit false must reach the chart: its default may be true.
			name: "restricted container keeps explicit false",
			in:   podvalues.RestrictedContainer(),
			want: `{"runAsNonRoot":true,"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}`,
		},
		{
			name: "no CPU limit leaves cpu out",
			in:   podvalues.Resources{Requests: podvalues.ResourceList{CPU: "50m", Memory: "64Mi"}, Limits: podvalues.ResourceList{Memory: "128Mi"}},
			want: `{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"memory":"128Mi"}}`,
		},
		{
			name: "zone spread",
			in:   podvalues.Spread(podvalues.ZoneKey, podvalues.DoNotSchedule, map[string]string{"app": "x"}),
			want: `{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"x"}}}`,
		},
		{
			name: "unset pod fields are left to the chart",
			in:   podvalues.PodSecurityContext{SeccompProfile: podvalues.RuntimeDefaultSeccomp()},
			want: `{"seccompProfile":{"type":"RuntimeDefault"}}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.JSONEq(t, c.want, render(t, c.in))
		})
	}
}
