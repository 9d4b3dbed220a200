package network_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/harness"
)

// A VPC over three zones with a NAT gateway in each, as in prod.
func ExampleNewNetwork() {
	program := func(ctx *pulumi.Context) error {
		net, err := network.NewNetwork(ctx, "prod", &network.Args{
			ClusterName:        "platform-prod",
			AvailabilityZones:  []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"},
			VpcCIDR:            "10.30.0.0/16",
			PrivateSubnetCIDRs: []string{"10.30.0.0/19", "10.30.32.0/19", "10.30.64.0/19"},
			PublicSubnetCIDRs:  []string{"10.30.224.0/22", "10.30.228.0/22", "10.30.232.0/22"},
			NatGateways:        network.NatPerAZ,
		})
		if err != nil {
			return err
		}
		ctx.Export("vpcId", net.VpcID)
		return nil
	}
	res, err := harness.Run("example", nil, nil, program) // or: pulumi.Run(program)
	if err != nil {
		panic(err)
	}
	fmt.Println("subnets:", len(res.OfType("aws:ec2/subnet:Subnet")))
	fmt.Println("NAT gateways:", len(res.OfType("aws:ec2/natGateway:NatGateway")))
	// Output:
	// subnets: 6
	// NAT gateways: 3
}
