package stacks

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/monitoring"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/network"
)

// A shape rule is written once, beside the component that owns the field;
// the stack configuration says the component's words under its own key, and
// one bad value gets one message.
func TestOneBadValueOneMessageInTheComponentsWords(t *testing.T) {
	cases := []struct {
		name, key, value string
		src              Source
		rule             error
	}{
		{"namespace", "platform:logging.excludeNamespaces[0]", "Kube_System",
			withLogging(map[string]string{"platform:logging.excludeNamespaces": `["Kube_System"]`}), namespace.CheckName("Kube_System")},
		{"repository", "platform:logging.repository", "platform prod",
			withLogging(map[string]string{"platform:logging.repository": "platform prod"}), logging.CheckRepository("platform prod")},
		{"duration", "platform:monitoring.prometheus.retention", "two weeks",
			monitoringOn(map[string]string{"platform:monitoring.prometheus": `{"retention":"two weeks"}`}), monitoring.CheckDuration("two weeks")},
		{"cluster name", "platform:clusterName", "a.b",
			with(validProd(), map[string]string{"platform:clusterName": "a.b"}), cluster.CheckName("a.b")},
		{"instance type", "platform:nodes.instanceTypes[0]", "large",
			with(validProd(), map[string]string{"platform:nodes": `{"instanceTypes":["large"]}`}), cluster.CheckInstanceType("large")},
		{"region", "aws:region", "ireland",
			with(validProd(), map[string]string{"aws:region": "ireland"}), network.CheckRegion("ireland")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.rule, "the component refuses the value")
			_, err := Load(tc.src)
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "want a *ValidationError, got %v", err)
			var about []string
			for _, p := range verr.Problems {
				if strings.Contains(p, `"`+tc.value+`"`) {
					about = append(about, p)
				}
			}
			require.Len(t, about, 1, "one message for the one bad value; got:\n%s", err)
			assert.True(t, strings.HasPrefix(about[0], tc.key+": "), about[0])
			assert.Contains(t, about[0], tc.rule.Error(), "the component's words")
		})
	}
}
