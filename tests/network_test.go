package tests

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/policy"
	"github.com/cnplatform/platform/stacks"
)

const (
	subnetType = "aws:ec2/subnet:Subnet"
	natType    = "aws:ec2/natGateway:NatGateway"
)

// subnetsByTier returns AZ -> subnet for one tier ("public" or "private").
func subnetsByTier(t *testing.T, res *harness.Result, tier string) map[string]harness.Resource {
	t.Helper()
	out := map[string]harness.Resource{}
	for _, s := range res.OfType(subnetType) {
		if s.String("tags", "platform/tier") == tier {
			az := s.String("availabilityZone")
			require.NotContains(t, out, az, "two %s subnets in %s", tier, az)
			out[az] = s
		}
	}
	return out
}

func TestOneVPCWithAPublicAndAPrivateSubnetPerAZ(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		vpcs := res.OfType("aws:ec2/vpc:Vpc")
		require.Len(t, vpcs, 1)
		vpc := vpcs[0]
		assert.Equal(t, cfg.Network.VpcCIDR, vpc.String("cidrBlock"))
		assert.True(t, vpc.Bool("enableDnsHostnames"))
		vpcBlock := netip.MustParsePrefix(vpc.String("cidrBlock"))

		zones := cfg.Network.AvailabilityZones
		require.Len(t, res.OfType(subnetType), 2*len(zones))
		var blocks []netip.Prefix
		for _, tier := range []string{"public", "private"} {
			byAZ := subnetsByTier(t, res, tier)
			require.Len(t, byAZ, len(zones), tier)
			for _, az := range zones {
				s, ok := byAZ[az]
				require.True(t, ok, "no %s subnet in %s", tier, az)
				assert.Equal(t, vpc.ID, s.String("vpcId"))
				assert.False(t, s.Bool("mapPublicIpOnLaunch"), "%s: nothing gets a public IP at launch", s.Name)
				block := netip.MustParsePrefix(s.String("cidrBlock"))
				assert.True(t, vpcBlock.Contains(block.Addr()), "%s outside the VPC", block)
				for _, b := range blocks {
					assert.False(t, b.Overlaps(block), "%s overlaps %s", block, b)
				}
				blocks = append(blocks, block)
				assert.Equal(t, "shared", s.String("tags", "kubernetes.io/cluster/"+cfg.Cluster.Name))
				if tier == "public" {
					assert.Equal(t, "1", s.String("tags", "kubernetes.io/role/elb"), "NLB discovery")
				} else {
					assert.Equal(t, "1", s.String("tags", "kubernetes.io/role/internal-elb"))
				}
			}
		}
	}, cloudEnvs...)
}

func TestNATGatewaysPerEnvironment(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		nats := res.OfType(natType)
		zones := cfg.Network.AvailabilityZones
		switch cfg.Environment {
		case stacks.Dev:
			assert.Len(t, nats, 1, "dev pays for a single NAT gateway")
		default:
			assert.Len(t, nats, len(zones), "%s has a NAT gateway per AZ", cfg.Environment)
		}
		public := subnetsByTier(t, res, "public")
		natZone := map[string]string{} // NAT id -> its AZ
		for _, n := range nats {
			subnet, ok := res.ByID(n.String("subnetId"))
			require.True(t, ok, "%s is not in one of our subnets", n.Name)
			az := subnet.String("availabilityZone")
			assert.Equal(t, public[az].URN, subnet.URN, "%s must sit in the public subnet", n.Name)
			eip, ok := res.ByID(n.String("allocationId"))
			require.True(t, ok)
			assert.Equal(t, "aws:ec2/eip:Eip", eip.Type)
			natZone[n.ID] = az
		}
		// Every private subnet's default route leaves through a NAT gateway,
		// its own zone's when there is one per AZ.
		private := subnetsByTier(t, res, "private")
		for az, subnet := range private {
			var table string
			for _, a := range res.OfType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
				if a.String("subnetId") == subnet.ID {
					table = a.String("routeTableId")
				}
			}
			require.NotEmpty(t, table, "private subnet in %s has no route table", az)
			var via string
			for _, r := range res.OfType("aws:ec2/route:Route") {
				if r.String("routeTableId") == table && r.String("destinationCidrBlock") == "0.0.0.0/0" {
					via = r.String("natGatewayId")
					assert.Empty(t, r.String("gatewayId"), "private subnets never route straight to the internet gateway")
				}
			}
			require.Contains(t, natZone, via, "private subnet in %s has no default route through a NAT gateway", az)
			if cfg.Network.NatGateways == stacks.NatPerAZ {
				assert.Equal(t, az, natZone[via], "egress of %s must not depend on another zone", az)
			}
		}
		// Public subnets route to the internet gateway.
		for az, subnet := range public {
			var table string
			for _, a := range res.OfType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
				if a.String("subnetId") == subnet.ID {
					table = a.String("routeTableId")
				}
			}
			found := false
			for _, r := range res.OfType("aws:ec2/route:Route") {
				if r.String("routeTableId") == table && r.String("destinationCidrBlock") == "0.0.0.0/0" {
					igw, ok := res.ByID(r.String("gatewayId"))
					found = ok && igw.Type == "aws:ec2/internetGateway:InternetGateway"
				}
			}
			assert.True(t, found, "public subnet in %s has no route to the internet gateway", az)
		}
	}, cloudEnvs...)
}

func TestNodesWaitForEgress(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		for _, g := range res.OfType("aws:eks/nodeGroup:NodeGroup") {
			for _, r := range res.OfType("aws:ec2/route:Route") {
				if r.String("natGatewayId") != "" {
					assert.True(t, g.DependsOnURN(r.URN), "%s must launch after the egress route %s", g.Name, r.Name)
				}
			}
		}
	}, cloudEnvs...)
}

func TestFlowLogsAndDefaultSecurityGroup(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		vpc := res.OfType("aws:ec2/vpc:Vpc")[0]
		logs := res.OfType("aws:ec2/flowLog:FlowLog")
		require.Len(t, logs, 1)
		fl := logs[0]
		assert.Equal(t, vpc.ID, fl.String("vpcId"))
		assert.Equal(t, "ALL", fl.String("trafficType"))
		assert.Equal(t, "cloud-watch-logs", fl.String("logDestinationType"))
		var group harness.Resource
		for _, g := range res.OfType("aws:cloudwatch/logGroup:LogGroup") {
			if fl.String("logDestination") != "" && g.Name == vpc.Name+"-flow-logs" {
				group = g
			}
		}
		require.NotEmpty(t, group.URN, "flow logs need their own log group")
		assert.Equal(t, float64(cfg.Network.FlowLogRetentionDays), group.Number("retentionInDays"))
		assert.Contains(t, fl.String("logDestination"), group.String("name"))

		// The flow-log role may write to that one group only; it may list
		// groups (logs:DescribeLogGroups, which only "*" grants).
		found := false
		for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
			if p.Name == vpc.Name+"-flow-logs" {
				found = true
				assert.Contains(t, p.String("policy"), "log-group:"+group.String("name"))
				assert.Equal(t, 1, strings.Count(p.String("policy"), `"*"`), "only DescribeLogGroups on *")
				assert.Contains(t, p.String("policy"), `{"Effect":"Allow","Action":["logs:DescribeLogGroups"],"Resource":["*"]}`)
			}
		}
		assert.True(t, found, "the flow-log role has its own scoped policy")

		sgs := res.OfType("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
		require.Len(t, sgs, 1, "the default security group is adopted to strip its rules")
		assert.Equal(t, vpc.ID, sgs[0].String("vpcId"))
		assert.True(t, sgs[0].Get("ingress").IsNull() || len(sgs[0].Get("ingress").ArrayValue()) == 0)
		assert.True(t, sgs[0].Get("egress").IsNull() || len(sgs[0].Get("egress").ArrayValue()) == 0)
	}, cloudEnvs...)
}

func TestNetworkIsProtectedInProdOnly(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		vpc := res.OfType("aws:ec2/vpc:Vpc")[0]
		assert.Equal(t, cfg.Environment == stacks.Prod, vpc.Protect, "VPC protect in %s", cfg.Environment)
		for _, r := range res.Resources {
			if r.Protect {
				assert.Contains(t, policy.StatefulTypes, r.Type, "only stateful or costly resources are protected: %s", r.URN)
			}
		}
	}, cloudEnvs...)
}

func TestTagsOnEveryTaggableResource(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		for _, r := range res.Resources {
			tags := r.Get("tags")
			if !r.Custom || tags.IsNull() {
				continue
			}
			assert.Equal(t, string(cfg.Environment), r.String("tags", "Environment"), r.URN)
			assert.Equal(t, "pulumi", r.String("tags", "ManagedBy"), r.URN)
		}
	}, cloudEnvs...)
}
