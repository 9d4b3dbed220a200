package cluster_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
)

// An EKS cluster over two existing private subnets, and an IAM role that only
// one service account can assume.
func ExampleNewCluster() {
	program := func(ctx *pulumi.Context) error {
		c, err := cluster.NewCluster(ctx, "apps", &cluster.Args{
			Name:   "apps",
			Region: "eu-west-1",
			Subnets: []cluster.ZoneSubnet{
				{Zone: "eu-west-1a", ID: pulumi.String("subnet-0a")},
				{Zone: "eu-west-1b", ID: pulumi.String("subnet-0b")},
			},
			AdminRoleARNs: []string{"arn:aws:iam::111122223333:role/platform-admin"},
		})
		if err != nil {
			return err
		}
		if _, err := c.NewWorkloadRole(ctx, "reports-reader", &cluster.WorkloadRoleArgs{
			Namespace: "reports", ServiceAccount: "reader",
			ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},
		}); err != nil {
			return err
		}
		ctx.Export("kubeconfig", c.Kubeconfig)
		return nil
	}
	res, err := harness.Run("example", nil, nil, program) // or: pulumi.Run(program)
	if err != nil {
		panic(err)
	}
	fmt.Println("node groups:", len(res.OfType("aws:eks/nodeGroup:NodeGroup")))
	fmt.Println("kubeconfig secret:", res.Outputs["kubeconfig"].Secret)
	// Output:
	// node groups: 2
	// kubeconfig secret: true
}
