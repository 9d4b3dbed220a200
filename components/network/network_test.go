package network_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/harness"
)

func args() *network.Args {
	return &network.Args{
		ClusterName:        "c",
		AvailabilityZones:  []string{"eu-west-1a", "eu-west-1b"},
		VpcCIDR:            "10.0.0.0/16",
		PrivateSubnetCIDRs: []string{"10.0.0.0/19", "10.0.32.0/19"},
		PublicSubnetCIDRs:  []string{"10.0.224.0/22", "10.0.228.0/22"},
	}
}

func TestDefaultsToANATGatewayPerAZ(t *testing.T) {
	var n *network.Network
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		var err error
		n, err = network.NewNetwork(ctx, "net", args())
		return err
	})
	require.NoError(t, err)
	assert.Len(t, res.OfType("aws:ec2/natGateway:NatGateway"), 2)
	assert.Len(t, n.PrivateSubnets, 2)
	assert.Equal(t, "eu-west-1b", n.PrivateSubnets[1].Zone)
	groups := res.OfType("aws:cloudwatch/logGroup:LogGroup")
	require.Len(t, groups, 1)
	assert.Equal(t, float64(90), groups[0].Number("retentionInDays"), "documented default")
}

func TestRejectsBadArgsBeforeRegistering(t *testing.T) {
	cases := map[string]func(a *network.Args){
		"one AZ":          func(a *network.Args) { a.AvailabilityZones = a.AvailabilityZones[:1] },
		"missing CIDRs":   func(a *network.Args) { a.PublicSubnetCIDRs = nil },
		"unknown NAT":     func(a *network.Args) { a.NatGateways = "none" },
		"no cluster name": func(a *network.Args) { a.ClusterName = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			a := args()
			mutate(a)
			res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
				_, err := network.NewNetwork(ctx, "net", a)
				return err
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), `platform:network:Network "net": `)
			assert.Empty(t, res.Resources)
		})
	}
}

func TestReportsEveryProblemAtOnce(t *testing.T) {
	a := args()
	a.AvailabilityZones = a.AvailabilityZones[:1]
	a.NatGateways = "none"
	a.ClusterName = ""
	_, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := network.NewNetwork(ctx, "net", a)
		return err
	})
	require.Error(t, err)
	for _, want := range []string{"ClusterName is required", "at least 2 are required, got 1", `NatGateways "none"`} {
		assert.Contains(t, err.Error(), want)
	}
}
