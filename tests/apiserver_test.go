package tests

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/stacks"
)

// apiClients are the namespaces whose pods watch or call the Kubernetes
// API: the Prometheus Operator, kube-state-metrics, Grafana's sidecar and
// the chart's admission-webhook Jobs (monitoring), the controllers
// (routing), the log agent's kubernetes filter (logging).
var apiClients = []string{
	"monitoring", "aws-load-balancer-controller", "external-dns", "cert-manager", "envoy-gateway-system", "logging",
}

// On EKS, in-cluster clients dial the `kubernetes` Service address and the
// VPC CNI's network policy agent matches egress before that address is
// translated to an endpoint (amazon-network-policy-controller-k8s
// pkg/resolvers/endpoints.go; aws-network-policy-agent#549). So each API
// client namespace must allow egress to the Service address itself on 443:
// an allow of the VPC CIDR alone (what monitoring had) cuts the operator,
// kube-state-metrics, Grafana's sidecar and the webhook Jobs off, and the
// atomic release rolls back.
func TestAPIClientsMayReachTheKubernetesServiceAddress(t *testing.T) {
	svc, err := namespace.KubernetesServiceIP(cluster.ServiceCIDR)
	require.NoError(t, err)
	// kube-apiserver gives the `kubernetes` Service the first address of
	// the service range (pkg/controlplane/services.go).
	assert.Equal(t, "172.20.0.1", svc.String())

	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		clusters := res.OfType("aws:eks/cluster:Cluster")
		require.Len(t, clusters, 1)
		assert.Equal(t, cluster.ServiceCIDR, clusters[0].String("kubernetesNetworkConfig", "serviceIpv4Cidr"),
			"the service range is set, so the Service address the policies allow is the cluster's")
		vpcEndpoint := netip.MustParsePrefix(cfg.Network.VpcCIDR).Addr().Next().Next()
		for _, ns := range apiClients {
			assert.True(t, egressAllows(res, ns, svc, 443), "%s: no policy lets pods reach the kubernetes Service %s:443", ns, svc)
			assert.True(t, egressAllows(res, ns, vpcEndpoint, 443), "%s: no policy lets pods reach the API endpoints in the VPC", ns)
		}
	}, stacks.Dev, stacks.Staging, stacks.Prod)
}

// egressAllows reports whether some NetworkPolicy in ns that selects all
// pods, or pods other than the proxies, allows TCP egress to ip:port.
func egressAllows(res *harness.Result, ns string, ip netip.Addr, port int) bool {
	for _, p := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		if p.String("metadata", "namespace") != ns {
			continue
		}
		for i := range p.Array("spec", "egress") {
			rule := []string{"spec", "egress", strconv.Itoa(i)}
			if !portAllowed(p, rule, port) {
				continue
			}
			peers := p.Array(append(rule, "to")...)
			if len(peers) == 0 {
				return true // any destination
			}
			for j := range peers {
				cidr := p.String(append(rule, "to", strconv.Itoa(j), "ipBlock", "cidr")...)
				if pre, err := netip.ParsePrefix(cidr); err == nil && pre.Contains(ip) {
					return true
				}
			}
		}
	}
	return false
}

func portAllowed(p harness.Resource, rule []string, port int) bool {
	ports := p.Array(append(rule, "ports")...)
	if len(ports) == 0 {
		return true
	}
	for k := range ports {
		if int(p.Number(append(rule, "ports", strconv.Itoa(k), "port")...)) == port {
			return true
		}
	}
	return false
}
