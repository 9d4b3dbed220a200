package autoscaling_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/autoscaling"
	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/harness"
)

// Karpenter on an EKS cluster: one on-demand pool for the platform and
// one spot-first pool for applications, Graviton first in both.
func ExampleNewAutoscaling() {
	program := func(ctx *pulumi.Context) error {
		zones := []string{"eu-west-1a", "eu-west-1b"}
		c, err := cluster.NewCluster(ctx, "apps", &cluster.Args{
			Name: "apps", Region: "eu-west-1",
			Subnets: []cluster.ZoneSubnet{
				{Zone: zones[0], ID: pulumi.String("subnet-0a")}, {Zone: zones[1], ID: pulumi.String("subnet-0b")},
			},
			AdminRoleARNs: []string{"arn:aws:iam::111122223333:role/platform-admin"},
		})
		if err != nil {
			return err
		}
		both := []string{autoscaling.ARM64, autoscaling.AMD64}
		_, err = autoscaling.NewAutoscaling(ctx, "autoscaling", &autoscaling.Args{
			ClusterName: "apps", Region: "eu-west-1", AccountID: pulumi.String("111122223333"), Roles: c,
			AMIReleaseVersion: cluster.KubernetesVersions[cluster.DefaultKubernetesVersion].AMIReleaseVersion,
			Zones:             zones,
			SubnetTags:        map[string]string{"kubernetes.io/role/internal-elb": "1"},
			SecurityGroupID:   c.SecurityGroupID,
			APIServer:         namespace.AnyAPIServer(443),
			Pools: []autoscaling.Pool{
				{Name: "platform", CapacityTypes: []string{autoscaling.OnDemand}, Architectures: both,
					InstanceCategories: []string{"m"}, CPULimit: "16", MemoryLimit: "64Gi"},
				{Name: "apps", CapacityTypes: []string{autoscaling.Spot, autoscaling.OnDemand}, Architectures: both,
					InstanceCategories: []string{"c", "m", "r"}, CPULimit: "64", MemoryLimit: "256Gi"},
			},
		}, pulumi.Provider(c.Provider))
		return err
	}
	res, err := harness.Run("example", nil, nil, program) // or: pulumi.Run(program)
	if err != nil {
		panic(err)
	}
	fmt.Println("node pools:", len(res.OfType("kubernetes:karpenter.sh/v1:NodePool")))
	fmt.Println("interruption rules:", len(res.OfType("aws:cloudwatch/eventRule:EventRule")))
	// Output:
	// node pools: 2
	// interruption rules: 5
}
