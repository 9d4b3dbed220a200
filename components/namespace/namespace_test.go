package namespace_test

import (
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/harness"
)

func TestNamespaceWithPodSecurityAndDefaultDeny(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		prov, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		_, err = namespace.New(ctx, "logging", &namespace.Args{
			Name: "logging", PodSecurity: namespace.Privileged, PodSecurityReason: "the log agent reads host paths",
		}, pulumi.Provider(prov))
		return err
	})
	require.NoError(t, err)
	nss := res.OfType("kubernetes:core/v1:Namespace")
	require.Len(t, nss, 1)
	ns := nss[0]
	assert.Equal(t, "privileged", ns.String("metadata", "labels", "pod-security.kubernetes.io/enforce"))
	assert.Equal(t, "restricted", ns.String("metadata", "labels", "pod-security.kubernetes.io/warn"))
	assert.Equal(t, "the log agent reads host paths", ns.String("metadata", "annotations", "platform/pod-security-reason"))
	assert.NotEmpty(t, ns.Provider, "children use the provider given to the component")

	policies := map[string]harness.Resource{}
	for _, p := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		policies[p.String("metadata", "name")] = p
		assert.Equal(t, "logging", p.String("metadata", "namespace"))
		assert.Equal(t, ns.Provider, p.Provider)
	}
	deny := policies["default-deny"]
	require.NotEmpty(t, deny.URN)
	assert.ElementsMatch(t, []string{"Ingress", "Egress"}, deny.Strings("spec", "policyTypes"))
	assert.True(t, deny.Get("spec", "ingress").IsNull() && deny.Get("spec", "egress").IsNull(), "deny has no allow rules")
	dns := policies["allow-dns"]
	assert.Equal(t, "kube-dns", dns.String("spec", "egress", "0", "to", "0", "podSelector", "matchLabels", "k8s-app"))
	assert.Equal(t, float64(53), dns.Number("spec", "egress", "0", "ports", "0", "port"))
}

func TestLevelBelowRestrictedNeedsAReason(t *testing.T) {
	_, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := namespace.New(ctx, "x", &namespace.Args{Name: "x", PodSecurity: namespace.Baseline})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PodSecurityReason")
}
