package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/stacks"
)

// features are the layers a stack switches with platform:<feature>.enabled,
// each with a Helm release that exists exactly when the layer is on.
var features = []struct{ key, release string }{
	{"monitoring", "kube-prometheus-stack"},
	{"logging", "fluent-bit"},
	{"routing", "envoy-gateway"},
}

// withEnabled sets platform:<feature>.enabled in a stack file's config (an
// object key: its JSON text).
func withEnabled(t *testing.T, config map[string]string, feature string, on bool) {
	t.Helper()
	key := "platform:" + feature
	obj := map[string]any{}
	if raw := config[key]; raw != "" {
		require.NoError(t, json.Unmarshal([]byte(raw), &obj), key)
	}
	obj["enabled"] = on
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	config[key] = string(b)
}

// TestEveryFeatureCombinationDeploysOrIsRefused (issue 21 item 6): every
// combination of monitoring, logging and routing on or off, on every stack
// file, either deploys (under the mocks: the program registers exactly the
// layers that are on, each with its release) or is refused by validation
// before any resource is registered, with a message naming the key that
// refuses it and why. Only prod refuses: monitoring or logging off.
func TestEveryFeatureCombinationDeploysOrIsRefused(t *testing.T) {
	names, err := harness.StackNames(repoRoot)
	require.NoError(t, err)
	deployed, refused := 0, 0
	for _, stack := range names {
		for mask := 0; mask < 1<<len(features); mask++ {
			on := map[string]bool{}
			label := stack
			for i, f := range features {
				on[f.key] = mask&(1<<i) != 0
				label += fmt.Sprintf(" %s=%v", f.key, on[f.key])
			}
			t.Run(label, func(t *testing.T) {
				sf, err := stackrun.LoadStackFile(repoRoot, stack)
				require.NoError(t, err)
				for _, f := range features {
					withEnabled(t, sf.Config, f.key, on[f.key])
				}
				res, err := harness.Run(stack, sf.Config, sf.SecretKeys, stacks.Run)
				if err != nil {
					refused++
					var verr *stacks.ValidationError
					require.True(t, errors.As(err, &verr), "refused by validation, not by the program: %v", err)
					assert.Contains(t, err.Error(), "platform:", "the message names the key")
					assert.Empty(t, res.Resources, "refused before any resource is registered")
					// Only prod refuses a layer off (monitoring and logging); a
					// layer switched off elsewhere keeps its configuration and
					// secrets for when it comes back.
					assert.Equal(t, "prod", stack, "only prod refuses a combination: %v", err)
					assert.True(t, !on["monitoring"] || !on["logging"], "prod refuses only monitoring or logging off: %v", err)
					t.Logf("refused: %v", err)
					return
				}
				deployed++
				releases := map[string]bool{}
				for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
					releases[r.Name] = true
				}
				for _, f := range features {
					assert.Equal(t, on[f.key], releases[f.release], "%s.enabled=%v: release %s", f.key, on[f.key], f.release)
				}
				// Every layer's network policies hold real ports whatever
				// else is off (the engine test found the API server's port
				// unset with routing off: an object the API server refuses).
				for _, np := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
					spec, _ := np.PlainInputs()["spec"].(map[string]any)
					for _, dir := range []string{"ingress", "egress"} {
						rules, _ := spec[dir].([]any)
						for _, r := range rules {
							ports, _ := r.(map[string]any)["ports"].([]any)
							for _, p := range ports {
								port, ok := p.(map[string]any)["port"].(float64)
								assert.True(t, !ok || (port >= 1 && port <= 65535), "NetworkPolicy %s: %s port %v", np.Name, dir, p)
							}
						}
					}
				}
			})
		}
	}
	t.Logf("feature combinations: deployed=%d refused=%d (every refusal by validation, naming its key)", deployed, refused)
	assert.Positive(t, deployed)
}
