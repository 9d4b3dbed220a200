package nginx_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/examples/app/nginx"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/policy"
)

// The platform stack's outputs as the app stack reads them.
var platformOutputs = map[string]any{
	"kubeconfig":       `{"apiVersion":"v1","kind":"Config"}`,
	"gatewayName":      "platform",
	"gatewayNamespace": "gateway",
	"proxyNamespace":   "envoy-gateway-system",
	"routingDomain":    "dev.example.com",
}

func run(t *testing.T, config map[string]string) *harness.Result {
	t.Helper()
	res, err := harness.RunWithOptions("dev", config, nil, nginx.Program, harness.Options{
		StackReferences: map[string]map[string]any{"organization/platform/dev": platformOutputs},
	})
	require.NoError(t, err)
	return res
}

func TestNginxIsExposedThroughTheSharedGateway(t *testing.T) {
	res := run(t, nil)
	routes := res.OfType("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
	require.Len(t, routes, 1)
	route := routes[0]
	assert.Equal(t, []string{"nginx.dev.example.com"}, route.Strings("spec", "hostnames"), "covered by the dev stack's *.dev.example.com")
	assert.Equal(t, "platform", route.String("spec", "parentRefs", "0", "name"), "attached to the platform's Gateway")
	assert.Equal(t, "gateway", route.String("spec", "parentRefs", "0", "namespace"))
	assert.Equal(t, "https", route.String("spec", "parentRefs", "0", "sectionName"), "only on the HTTPS listener")
	assert.Equal(t, "nginx", route.String("spec", "rules", "0", "backendRefs", "0", "name"))
	assert.Equal(t, float64(80), route.Number("spec", "rules", "0", "backendRefs", "0", "port"))
	assert.Equal(t, "https://nginx.dev.example.com", res.Outputs["url"].Value)

	// The proxies, not the Gateway object's namespace, reach nginx.
	policies := res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
	var admitted []string
	for _, p := range policies {
		if p.String("metadata", "name") == "allow-from-gateway" {
			admitted = append(admitted, p.String("spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
		}
	}
	assert.Equal(t, []string{"envoy-gateway-system"}, admitted)

	// Service port 80 reaches the container's 8080, as in the original design.
	svc := res.OfType("kubernetes:core/v1:Service")[0]
	assert.Equal(t, float64(80), svc.Number("spec", "ports", "0", "port"))
	deploy := res.OfType("kubernetes:apps/v1:Deployment")[0]
	assert.Equal(t, float64(8080), deploy.Number("spec", "template", "spec", "containers", "0", "ports", "0", "containerPort"))

	// Everything goes to the platform's cluster, with its kubeconfig.
	providers := res.OfType("pulumi:providers:kubernetes")
	require.Len(t, providers, 1)
	assert.Equal(t, platformOutputs["kubeconfig"], providers[0].String("kubeconfig"))
}

func TestHostIsConfigurable(t *testing.T) {
	res := run(t, map[string]string{"app:host": "shop.dev.example.com"})
	assert.Equal(t, []string{"shop.dev.example.com"}, res.OfType("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")[0].Strings("spec", "hostnames"))
}

// A host the platform's wildcard certificate does not cover fails the
// update, naming the host and the domain.
func TestHostOutsideTheWildcardFails(t *testing.T) {
	_, err := harness.RunWithOptions("dev", map[string]string{"app:host": "nginx.example.com"}, nil, nginx.Program, harness.Options{
		StackReferences: map[string]map[string]any{"organization/platform/dev": platformOutputs},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `app:host: host "nginx.example.com" must be one label under dev.example.com`)
}

func TestTheAppPassesTheSecurityBaseline(t *testing.T) {
	res := run(t, nil)
	findings := policy.Evaluate(res, policy.Options{})
	for _, f := range policy.Failures(findings) {
		t.Error(f)
	}
	for _, id := range []string{"S18", "S19", "S20", "S21", "S23", "S25"} {
		checked := false
		for _, f := range findings {
			checked = checked || f.ID == id && f.Resource != ""
		}
		assert.True(t, checked, "%s looked at the app's objects", id)
	}
}
