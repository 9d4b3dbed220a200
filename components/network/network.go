package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
	// NatGateways is NatSingle or NatPerAZ. Default NatPerAZ.
	NatGateways string
	// FlowLogRetentionDays of the flow-log group. Default 90.
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
}

func (a *Args) validate() error {
	n := len(a.AvailabilityZones)
	switch {
	case a.ClusterName == "":
		return fmt.Errorf("network: ClusterName is required")
	case n < 2:
		return fmt.Errorf("network: at least 2 availability zones are required, got %d", n)
	case len(a.PrivateSubnetCIDRs) != n || len(a.PublicSubnetCIDRs) != n:
		return fmt.Errorf("network: one private and one public subnet CIDR per availability zone are required")
	case a.NatGateways != NatSingle && a.NatGateways != NatPerAZ:
		return fmt.Errorf("network: NatGateways %q must be %q or %q", a.NatGateways, NatSingle, NatPerAZ)
	}
	return nil
}

func (a *Args) withDefaults() Args {
	out := *a
	if out.NatGateways == "" {
		out.NatGateways = NatPerAZ
	}
	if out.FlowLogRetentionDays == 0 {
		out.FlowLogRetentionDays = 90
	}
	return out
}

// tags returns the common tags plus Name and any extra tags.
func (a *Args) tags(name string, extra map[string]string) pulumi.StringMap {
	m := pulumi.StringMap{"Name": pulumi.String(name)}
	for k, v := range a.Tags {
		m[k] = pulumi.String(v)
	}
	for k, v := range extra {
		m[k] = pulumi.String(v)
	}
	return m
}

// NewNetwork builds the VPC, its subnets, gateways, routes and flow logs.
func NewNetwork(ctx *pulumi.Context, name string, in *Args, opts ...pulumi.ResourceOption) (*Network, error) {
	args := in.withDefaults()
	if err := args.validate(); err != nil {
		return nil, err
	}
	n := &Network{}
	if err := ctx.RegisterComponentResource("platform:network:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)
	protect := pulumi.Protect(args.Protect)

	vpc, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.VpcCIDR),
		EnableDnsHostnames: pulumi.Bool(true), // required by EKS private endpoint resolution
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               args.tags(name, nil),
	}, parent, protect)
	if err != nil {
		return nil, err
	}

	// The default security group keeps no rules: nothing may fall back to it.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  args.tags(name+"-default", nil),
	}, parent); err != nil {
		return nil, err
	}

	igw, err := ec2.NewInternetGateway(ctx, name, &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  args.tags(name, nil),
	}, parent)
	if err != nil {
		return nil, err
	}

	clusterTag := "kubernetes.io/cluster/" + args.ClusterName
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  args.tags(name+"-public", nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewRoute(ctx, name+"-public-internet", &ec2.RouteArgs{
		RouteTableId:         publicRT.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, parent); err != nil {
		return nil, err
	}

	var publicIDs, privateIDs, natIDs pulumi.StringArray
	var nats []*ec2.NatGateway
	for i, zone := range args.AvailabilityZones {
		pubName := fmt.Sprintf("%s-public-%s", name, zone)
		pub, err := ec2.NewSubnet(ctx, pubName, &ec2.SubnetArgs{
			VpcId:            vpc.ID(),
			AvailabilityZone: pulumi.String(zone),
			CidrBlock:        pulumi.String(args.PublicSubnetCIDRs[i]),
			// Only load balancers and NAT gateways live here; they bring their own addresses.
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags: args.tags(pubName, map[string]string{
				"kubernetes.io/role/elb": "1",
				clusterTag:               "shared",
				"platform/tier":          "public",
			}),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, pubName, &ec2.RouteTableAssociationArgs{
			SubnetId:     pub.ID(),
			RouteTableId: publicRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
		n.PublicSubnets = append(n.PublicSubnets, ZonalSubnet{Zone: zone, ID: pub.ID().ToStringOutput()})
		publicIDs = append(publicIDs, pub.ID())

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
			natIDs = append(natIDs, nat.ID())
		}
	}

	for i, zone := range args.AvailabilityZones {
		privName := fmt.Sprintf("%s-private-%s", name, zone)
		priv, err := ec2.NewSubnet(ctx, privName, &ec2.SubnetArgs{
			VpcId:               vpc.ID(),
			AvailabilityZone:    pulumi.String(zone),
			CidrBlock:           pulumi.String(args.PrivateSubnetCIDRs[i]),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags: args.tags(privName, map[string]string{
				"kubernetes.io/role/internal-elb": "1",
				clusterTag:                        "shared",
				"platform/tier":                   "private",
			}),
		}, parent)
		if err != nil {
			return nil, err
		}
		rt, err := ec2.NewRouteTable(ctx, privName, &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  args.tags(privName, nil),
		}, parent)
		if err != nil {
			return nil, err
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
			return nil, err
		}
		n.EgressRoutes = append(n.EgressRoutes, egress)
		if _, err := ec2.NewRouteTableAssociation(ctx, privName, &ec2.RouteTableAssociationArgs{
			SubnetId:     priv.ID(),
			RouteTableId: rt.ID(),
		}, parent); err != nil {
			return nil, err
		}
		n.PrivateSubnets = append(n.PrivateSubnets, ZonalSubnet{Zone: zone, ID: priv.ID().ToStringOutput()})
		privateIDs = append(privateIDs, priv.ID())
	}

	if err := newFlowLogs(ctx, name, &args, vpc, parent, protect); err != nil {
		return nil, err
	}

	n.VpcID = vpc.ID().ToStringOutput()
	n.PublicSubnetIDs = publicIDs.ToStringArrayOutput()
	n.PrivateSubnetIDs = privateIDs.ToStringArrayOutput()
	n.NatGatewayIDs = natIDs.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":            n.VpcID,
		"publicSubnetIds":  n.PublicSubnetIDs,
		"privateSubnetIds": n.PrivateSubnetIDs,
		"natGatewayIds":    n.NatGatewayIDs,
	}); err != nil {
		return nil, err
	}
	return n, nil
}

// newFlowLogs records all VPC traffic metadata to a CloudWatch log group that
// expires, written by a role that may write to that group only.
func newFlowLogs(ctx *pulumi.Context, name string, args *Args, vpc *ec2.Vpc, parent, protect pulumi.ResourceOption) error {
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/aws/vpc/%s/flow-logs", args.ClusterName),
		RetentionInDays: pulumi.Int(args.FlowLogRetentionDays),
		Tags:            args.tags(name+"-flow-logs", nil),
	}, parent, protect)
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(policydoc.ServiceTrust("vpc-flow-logs.amazonaws.com")),
		Tags:             args.tags(name+"-flow-logs", nil),
	}, parent)
	if err != nil {
		return err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policydoc.OnResource(group.Arn, func(arn string) policydoc.Document {
			return policydoc.New(policydoc.Allow(
				[]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
				arn, arn+":*"))
		}),
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
