package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/stacks"
)

// Issue 19 finding 17: a node that starts before its subnet is associated
// with the private route table finds the VPC's main route table, which has
// no route out: it cannot pull images or reach the API, and does not join.
// Every node group must wait for its zone's association (and its NAT route).
func TestNodeGroupsWaitForTheirZonesPrivateRoutes(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		groups := res.OfType(nodeGroupType)
		require.Len(t, groups, len(cfg.Network.AvailabilityZones))
		for _, g := range groups {
			subnets := g.Strings("subnetIds")
			require.Len(t, subnets, 1)
			var assoc harness.Resource
			for _, a := range res.OfType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
				if a.String("subnetId") == subnets[0] {
					assoc = a
				}
			}
			require.NotEmpty(t, assoc.URN, "%s: its subnet has no route table association", g.Name)
			assert.True(t, g.DependsOnURN(assoc.URN), "%s does not wait for %s", g.Name, assoc.Name)
			var egress harness.Resource
			for _, r := range res.OfType("aws:ec2/route:Route") {
				if r.String("routeTableId") == assoc.String("routeTableId") && r.String("destinationCidrBlock") == "0.0.0.0/0" {
					egress = r
				}
			}
			require.NotEmpty(t, egress.URN, "%s: no default route in its subnet's route table", g.Name)
			assert.True(t, g.DependsOnURN(egress.URN), "%s does not wait for %s", g.Name, egress.Name)
		}
	}, cloudEnvs...)
}
