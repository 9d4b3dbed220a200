package deploytime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
)

func res(urn, typ string, custom bool, parent string, deps ...string) harness.Resource {
	return harness.Resource{URN: urn, Type: typ, Custom: custom, Parent: parent, DependsOn: deps}
}

func TestLongestChainThroughTheGraph(t *testing.T) {
	result := &harness.Result{Resources: []harness.Resource{
		res("vpc", "aws:ec2/vpc:Vpc", true, ""),
		res("subnet", "aws:ec2/subnet:Subnet", true, "", "vpc"),
		res("nat", "aws:ec2/natGateway:NatGateway", true, "", "subnet"),
		res("role", "aws:iam/role:Role", true, ""),
		res("cluster", "aws:eks/cluster:Cluster", true, "", "subnet", "role"),
		res("ng", "aws:eks/nodeGroup:NodeGroup", true, "", "cluster"),
		res("coredns", "aws:eks/addon:Addon", true, "", "ng"),
		res("sc", "kubernetes:storage.k8s.io/v1:StorageClass", true, "", "cluster"),
	}}
	p := CriticalPath(result)
	// vpc 0.2 + subnet 0.2 + cluster 12 + node group 4 + add-on 1.5
	assert.InDelta(t, 17.9, p.Minutes, 0.001)
	var chain []string
	for _, s := range p.Chain {
		chain = append(chain, s.Resource)
	}
	assert.Equal(t, []string{"vpc", "subnet", "cluster", "ng", "coredns"}, chain)
}

func TestDependingOnAComponentWaitsForItsChildren(t *testing.T) {
	result := &harness.Result{Resources: []harness.Resource{
		res("net", "platform:network:Network", false, ""),
		res("nat", "aws:ec2/natGateway:NatGateway", true, "net"),
		res("cluster", "aws:eks/cluster:Cluster", true, "", "net"),
	}}
	p := CriticalPath(result)
	assert.InDelta(t, 14, p.Minutes, 0.001, "NAT (2) then cluster (12)")
	require.Len(t, p.Chain, 2)
	assert.Equal(t, "nat", p.Chain[0].Resource)
}

func TestResourcesWaitForTheirProvider(t *testing.T) {
	provider := res("urn:pulumi:t::p::pulumi:providers:kubernetes::k8s", "pulumi:providers:kubernetes", true, "", "cluster")
	release := res("release", "kubernetes:helm.sh/v3:Release", true, "")
	release.Provider = provider.URN + "::provider-id"
	result := &harness.Result{Resources: []harness.Resource{
		res("cluster", "aws:eks/cluster:Cluster", true, ""), provider, release,
	}}
	p := CriticalPath(result)
	assert.InDelta(t, 14, p.Minutes, 0.001, "cluster (12) then the chart (2)")
	assert.Equal(t, "release", p.Chain[len(p.Chain)-1].Resource)
}

func TestEveryDurationHasASource(t *testing.T) {
	for typ, d := range Durations {
		assert.NotEmpty(t, d.Source, typ)
		assert.Positive(t, d.Minutes, typ)
	}
}
