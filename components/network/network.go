package network

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/policydoc"
)

// NAT gateway strategies (Args.NatGateways).
const (
	// NatSingle puts one NAT gateway in the first AZ: cheap, but egress of
	// every AZ depends on that one zone.
	NatSingle = "single"
	// NatPerAZ puts a NAT gateway in every AZ and routes each private subnet
	// through its own zone's gateway.
	NatPerAZ = "perAz"
)

// Defaults of Args.
const (
	DefaultNatGateways          = NatPerAZ
	DefaultFlowLogRetentionDays = 90
)

// typeToken is the component's Pulumi type; errors name it with the
// component's name.
const typeToken = "platform:network:Network"

// Args configures the network.
type Args struct {
	// ClusterName is used in the EKS discovery tags
	// (kubernetes.io/cluster/<name>). Required.
	ClusterName string
	// AvailabilityZones the VPC spans, in order. Required (at least 2).
	AvailabilityZones []string
	// VpcCIDR of the VPC. Required.
	VpcCIDR string
	// PrivateSubnetCIDRs and PublicSubnetCIDRs: one per AZ, same order. Required.
	PrivateSubnetCIDRs []string
	PublicSubnetCIDRs  []string
	// NatGateways is NatSingle or NatPerAZ. Default [DefaultNatGateways].
	NatGateways string
	// FlowLogRetentionDays of the flow-log group. Default
	// [DefaultFlowLogRetentionDays].
	FlowLogRetentionDays int
	// Tags are added to every resource. Default none.
	Tags map[string]string
	// Protect marks the VPC and the flow-log group protected. Default false.
	Protect bool
}

// ZonalSubnet is a subnet and the AZ it lies in.
type ZonalSubnet struct {
	Zone string
	ID   pulumi.StringOutput
}

// Network is a VPC with a public and a private subnet per AZ.
type Network struct {
	pulumi.ResourceState

	VpcID pulumi.StringOutput
	// PublicSubnets and PrivateSubnets, one per AZ in Args order.
	PublicSubnets  []ZonalSubnet
	PrivateSubnets []ZonalSubnet
	// PublicSubnetIDs and PrivateSubnetIDs are the same ids as lists.
	PublicSubnetIDs  pulumi.StringArrayOutput
	PrivateSubnetIDs pulumi.StringArrayOutput
	// NatGatewayIDs, one per gateway.
	NatGatewayIDs pulumi.StringArrayOutput
	// EgressRoutes are the private subnets' default routes through NAT:
	// nodes must not launch before them.
	EgressRoutes []pulumi.Resource
	// PrivateRouteTableAssociations tie each private subnet to its route
	// table, in Args order: until then the subnet uses the VPC's main route
	// table, which has no route out, so nodes must not launch before them
	// either.
	PrivateRouteTableAssociations []pulumi.Resource
}

// withDefaults returns a copy of a with every default applied.
func (a Args) withDefaults() Args {
	contract.SetDefault(&a.NatGateways, DefaultNatGateways)
	contract.SetDefault(&a.FlowLogRetentionDays, DefaultFlowLogRetentionDays)
	return a
}

// validate returns every problem with defaulted Args, joined.
func (a Args) validate() error {
	var errs contract.Problems
	add := errs.Add
	n := len(a.AvailabilityZones)
	if a.ClusterName == "" {
		add("ClusterName is required")
	}
	if n < 2 {
		add("AvailabilityZones: at least 2 are required, got %d", n)
	}
	for _, z := range a.AvailabilityZones {
		if _, err := ZoneRegion(z); err != nil {
			add("AvailabilityZones %q: %v", z, err)
		}
	}
	if len(a.PrivateSubnetCIDRs) != n || len(a.PublicSubnetCIDRs) != n {
		add("PrivateSubnetCIDRs %v, PublicSubnetCIDRs %v: one of each per availability zone (%d) is required",
			a.PrivateSubnetCIDRs, a.PublicSubnetCIDRs, n)
	}
	if a.NatGateways != NatSingle && a.NatGateways != NatPerAZ {
		add("NatGateways %q: must be %q or %q", a.NatGateways, NatSingle, NatPerAZ)
	}
	return errs.Err()
}

// tags returns the common tags plus Name and any extra tags.
func (a *Args) tags(name string, extra map[string]string) pulumi.StringMap {
	return contract.Tags(name, a.Tags, extra)
}

// NewNetwork builds, in order: the VPC with its rule-less default security
// group, the internet gateway and public route table, a public subnet per
// zone with the NAT gateways, a private subnet per zone with its egress
// route, and the flow logs.
func NewNetwork(ctx *pulumi.Context, name string, in *Args, opts ...pulumi.ResourceOption) (*Network, error) {
	args := in.withDefaults()
	n := &Network{}
	if err := contract.Register(ctx, typeToken, name, args.validate(), n, opts...); err != nil {
		return nil, err
	}
	b := &networkBuild{ctx: ctx, name: name, args: &args, n: n,
		parent: pulumi.Parent(n), protect: pulumi.Protect(args.Protect)}

	vpc, err := b.vpc()
	if err != nil {
		return nil, err
	}
	igw, publicRT, err := b.internetGateway(vpc)
	if err != nil {
		return nil, err
	}
	nats, err := b.publicSubnets(vpc, igw, publicRT)
	if err != nil {
		return nil, err
	}
	if err := b.privateSubnets(vpc, nats); err != nil {
		return nil, err
	}
	if err := newFlowLogs(ctx, name, &args, vpc, b.parent, b.protect); err != nil {
		return nil, err
	}

	n.VpcID = vpc.ID().ToStringOutput()
	n.PublicSubnetIDs = subnetIDs(n.PublicSubnets)
	n.PrivateSubnetIDs = subnetIDs(n.PrivateSubnets)
	var natIDs pulumi.StringArray
	for _, nat := range nats {
		natIDs = append(natIDs, nat.ID())
	}
	n.NatGatewayIDs = natIDs.ToStringArrayOutput()
	return contract.Finish(ctx, n, pulumi.Map{
		"vpcId":            n.VpcID,
		"publicSubnetIds":  n.PublicSubnetIDs,
		"privateSubnetIds": n.PrivateSubnetIDs,
		"natGatewayIds":    n.NatGatewayIDs,
	})
}

func subnetIDs(subnets []ZonalSubnet) pulumi.StringArrayOutput {
	var ids pulumi.StringArray
	for _, s := range subnets {
		ids = append(ids, s.ID)
	}
	return ids.ToStringArrayOutput()
}

// networkBuild carries what every step of NewNetwork needs.
type networkBuild struct {
	ctx             *pulumi.Context
	name            string
	args            *Args
	n               *Network
	vpcID           pulumi.IDOutput
	parent, protect pulumi.ResourceOption
}

// subnet builds one subnet of a tier, tagged for EKS and for the load
// balancer controller's discovery (elbRoleTag). No subnet maps public
// addresses on launch.
func (b *networkBuild) subnet(name, zone, cidr, tier, elbRoleTag string) (*ec2.Subnet, error) {
	return ec2.NewSubnet(b.ctx, name, &ec2.SubnetArgs{
		VpcId:               b.vpcID,
		AvailabilityZone:    pulumi.String(zone),
		CidrBlock:           pulumi.String(cidr),
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags: b.args.tags(name, map[string]string{
			elbRoleTag: "1",
			"kubernetes.io/cluster/" + b.args.ClusterName: "shared",
			"platform/tier": tier,
		}),
	}, b.parent)
}

// vpc builds the VPC and takes over its default security group, which keeps
// no rules: nothing may fall back to it.
func (b *networkBuild) vpc() (*ec2.Vpc, error) {
	vpc, err := ec2.NewVpc(b.ctx, b.name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(b.args.VpcCIDR),
		EnableDnsHostnames: pulumi.Bool(true), // required by EKS private endpoint resolution
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               b.args.tags(b.name, nil),
	}, b.parent, b.protect)
	if err != nil {
		return nil, err
	}
	b.vpcID = vpc.ID()
	if _, err := ec2.NewDefaultSecurityGroup(b.ctx, b.name+"-default", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  b.args.tags(b.name+"-default", nil),
	}, b.parent); err != nil {
		return nil, err
	}
	return vpc, nil
}

// internetGateway builds the gateway and the public route table whose
// default route goes through it.
func (b *networkBuild) internetGateway(vpc *ec2.Vpc) (*ec2.InternetGateway, *ec2.RouteTable, error) {
	igw, err := ec2.NewInternetGateway(b.ctx, b.name, &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  b.args.tags(b.name, nil),
	}, b.parent)
	if err != nil {
		return nil, nil, err
	}
	publicRT, err := ec2.NewRouteTable(b.ctx, b.name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  b.args.tags(b.name+"-public", nil),
	}, b.parent)
	if err != nil {
		return nil, nil, err
	}
	if _, err := ec2.NewRoute(b.ctx, b.name+"-public-internet", &ec2.RouteArgs{
		RouteTableId:         publicRT.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, b.parent); err != nil {
		return nil, nil, err
	}
	return igw, publicRT, nil
}

// publicSubnets builds a public subnet per zone and the NAT gateways: in
// the first zone only (NatSingle) or in every zone (NatPerAZ).
func (b *networkBuild) publicSubnets(vpc *ec2.Vpc, igw *ec2.InternetGateway, publicRT *ec2.RouteTable) ([]*ec2.NatGateway, error) {
	ctx, name, args, parent := b.ctx, b.name, b.args, b.parent
	var nats []*ec2.NatGateway
	for i, zone := range args.AvailabilityZones {
		pubName := fmt.Sprintf("%s-public-%s", name, zone)
		// Only load balancers and NAT gateways live here; they bring their own addresses.
		pub, err := b.subnet(pubName, zone, args.PublicSubnetCIDRs[i], "public", "kubernetes.io/role/elb")
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, pubName, &ec2.RouteTableAssociationArgs{
			SubnetId:     pub.ID(),
			RouteTableId: publicRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
		b.n.PublicSubnets = append(b.n.PublicSubnets, ZonalSubnet{Zone: zone, ID: pub.ID().ToStringOutput()})

		if i == 0 || args.NatGateways == NatPerAZ {
			natName := fmt.Sprintf("%s-nat-%s", name, zone)
			eip, err := ec2.NewEip(ctx, natName, &ec2.EipArgs{
				Domain: pulumi.String("vpc"),
				Tags:   args.tags(natName, nil),
			}, parent)
			if err != nil {
				return nil, err
			}
			nat, err := ec2.NewNatGateway(ctx, natName, &ec2.NatGatewayArgs{
				AllocationId: eip.ID(),
				SubnetId:     pub.ID(),
				Tags:         args.tags(natName, nil),
			}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return nil, err
			}
			nats = append(nats, nat)
		}
	}
	return nats, nil
}

// privateSubnets builds a private subnet per zone with its own route table,
// whose default route goes through the zone's NAT gateway (or the one).
func (b *networkBuild) privateSubnets(vpc *ec2.Vpc, nats []*ec2.NatGateway) error {
	ctx, name, args, parent := b.ctx, b.name, b.args, b.parent
	for i, zone := range args.AvailabilityZones {
		privName := fmt.Sprintf("%s-private-%s", name, zone)
		priv, err := b.subnet(privName, zone, args.PrivateSubnetCIDRs[i], "private", "kubernetes.io/role/internal-elb")
		if err != nil {
			return err
		}
		rt, err := ec2.NewRouteTable(ctx, privName, &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  args.tags(privName, nil),
		}, parent)
		if err != nil {
			return err
		}
		nat := nats[0]
		if args.NatGateways == NatPerAZ {
			nat = nats[i]
		}
		egress, err := ec2.NewRoute(ctx, privName+"-egress", &ec2.RouteArgs{
			RouteTableId:         rt.ID(),
			DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
			NatGatewayId:         nat.ID(),
		}, parent)
		if err != nil {
			return err
		}
		b.n.EgressRoutes = append(b.n.EgressRoutes, egress)
		assoc, err := ec2.NewRouteTableAssociation(ctx, privName, &ec2.RouteTableAssociationArgs{
			SubnetId:     priv.ID(),
			RouteTableId: rt.ID(),
		}, parent)
		if err != nil {
			return err
		}
		b.n.PrivateRouteTableAssociations = append(b.n.PrivateRouteTableAssociations, assoc)
		b.n.PrivateSubnets = append(b.n.PrivateSubnets, ZonalSubnet{Zone: zone, ID: priv.ID().ToStringOutput()})
	}
	return nil
}

// flowLogPolicy is what AWS lists as the minimum for publishing flow logs
// to CloudWatch Logs (Amazon VPC User Guide, "IAM role for publishing flow
// logs to CloudWatch Logs"), on the one group: logs:CreateLogGroup is left
// out because the program creates the group. logs:DescribeLogGroups has no
// resource-level permissions (the Service Authorization Reference lists no
// resource type for it), so only "*" grants it; it only lists.
func flowLogPolicy(groupARN string) policydoc.Document {
	return policydoc.New(
		policydoc.Allow([]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, groupARN, groupARN+":*"),
		policydoc.Allow([]string{"logs:DescribeLogGroups"}, "*"),
	)
}

// FlowLogTrustPolicy lets the VPC Flow Logs service assume the role only for
// flow logs of the VPC's account and region (the confused-deputy guard of
// the same guide: aws:SourceAccount and aws:SourceArn
// arn:<partition>:ec2:<region>:<account>:vpc-flow-log/*). vpcARN is
// arn:<partition>:ec2:<region>:<account>:vpc/<id>.
func FlowLogTrustPolicy(vpcARN string) (string, error) {
	parts := strings.SplitN(vpcARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ec2" || parts[3] == "" || parts[4] == "" || !strings.HasPrefix(parts[5], "vpc/") {
		return "", fmt.Errorf("VPC ARN %q: want arn:<partition>:ec2:<region>:<account>:vpc/<id>", vpcARN)
	}
	partition, region, account := parts[1], parts[3], parts[4]
	return policydoc.New(policydoc.Statement{
		Effect:    "Allow",
		Principal: map[string]any{"Service": "vpc-flow-logs.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]string{
			"StringEquals": {"aws:SourceAccount": account},
			"ArnLike":      {"aws:SourceArn": fmt.Sprintf("arn:%s:ec2:%s:%s:vpc-flow-log/*", partition, region, account)},
		},
	}).JSON(), nil
}

// newFlowLogs records all VPC traffic metadata to a CloudWatch log group that
// expires, written by a role that may write to that group only, and that
// only this account's flow logs may assume.
func newFlowLogs(ctx *pulumi.Context, name string, args *Args, vpc *ec2.Vpc, parent, protect pulumi.ResourceOption) error {
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/aws/vpc/%s/flow-logs", args.ClusterName),
		RetentionInDays: pulumi.Int(args.FlowLogRetentionDays),
		Tags:            args.tags(name+"-flow-logs", nil),
	}, parent, protect)
	if err != nil {
		return err
	}
	// The account and region come from the VPC's ARN: the program looks
	// nothing up (previews must not depend on the account they run in).
	trust := vpc.Arn.ApplyT(FlowLogTrustPolicy).(pulumi.StringOutput)
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		AssumeRolePolicy: trust,
		Tags:             args.tags(name+"-flow-logs", nil),
	}, parent)
	if err != nil {
		return err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policydoc.OnResource(group.Arn, flowLogPolicy),
	}, parent); err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId:              vpc.ID(),
		TrafficType:        pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     group.Arn,
		IamRoleArn:         role.Arn,
		Tags:               args.tags(name, nil),
	}, parent)
	return err
}
