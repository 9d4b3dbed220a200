package cluster_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
)

func args() *cluster.Args {
	return &cluster.Args{
		Name:          "c",
		Region:        "eu-west-1",
		AdminRoleARNs: []string{"arn:aws:iam::111122223333:role/deploy"},
		Subnets: []cluster.ZoneSubnet{
			{Zone: "eu-west-1a", ID: pulumi.String("subnet-a")},
			{Zone: "eu-west-1b", ID: pulumi.String("subnet-b")},
		},
	}
}

func TestWorkloadRoleForAnotherComponent(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		c, err := cluster.NewCluster(ctx, "c", args())
		if err != nil {
			return err
		}
		_, err = c.NewWorkloadRole(ctx, "external-dns", &cluster.WorkloadRoleArgs{
			Namespace: "routing", ServiceAccount: "external-dns",
			Policy: pulumi.String(`{"Version":"2012-10-17","Statement":[]}`),
		})
		return err
	})
	require.NoError(t, err)
	var role harness.Resource
	for _, r := range res.OfType("aws:iam/role:Role") {
		if r.Name == "external-dns" {
			role = r
		}
	}
	require.NotEmpty(t, role.URN)
	assert.Contains(t, role.String("assumeRolePolicy"), `"system:serviceaccount:routing:external-dns"`)
	assert.Contains(t, role.Parent, "platform:cluster:WorkloadRole", "grouped under its own component")
	assert.Len(t, res.OfType("aws:iam/rolePolicy:RolePolicy"), 2, "the inline policy, beside the cluster's encryption policy")
}

func TestArmInstancesGetTheArmImage(t *testing.T) {
	a := args()
	a.Nodes.InstanceTypes = []string{"m7g.large"}
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := cluster.NewCluster(ctx, "c", a)
		return err
	})
	require.NoError(t, err)
	require.Len(t, res.OfType("aws:eks/nodeGroup:NodeGroup"), 2)
	for _, g := range res.OfType("aws:eks/nodeGroup:NodeGroup") {
		assert.Equal(t, "AL2023_ARM_64_STANDARD", g.String("amiType"))
	}
	assert.Equal(t, "arm64", cluster.Architecture("c7g.xlarge"))
	assert.Equal(t, "x86_64", cluster.Architecture("m5.large"))
}

func TestRejectsBadArgs(t *testing.T) {
	cases := map[string]func(a *cluster.Args){
		"one subnet":          func(a *cluster.Args) { a.Subnets = a.Subnets[:1] },
		"unsupported version": func(a *cluster.Args) { a.KubernetesVersion = "1.20" },
		"public without CIDR": func(a *cluster.Args) { a.EndpointPublicAccess = true },
		"mixed architectures": func(a *cluster.Args) { a.Nodes.InstanceTypes = []string{"m5.large", "m7g.large"} },
		"unknown capacity":    func(a *cluster.Args) { a.Nodes.CapacityType = "RESERVED" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			a := args()
			mutate(a)
			res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
				_, err := cluster.NewCluster(ctx, "c", a)
				return err
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), `platform:cluster:Cluster "c": `)
			assert.Empty(t, res.Resources)
		})
	}
}

func TestKubeconfigUsesGetToken(t *testing.T) {
	kc, err := cluster.Kubeconfig("c", "https://x", "Y2E=", "eu-central-1")
	require.NoError(t, err)
	assert.Contains(t, kc, `"get-token","--cluster-name","c","--region","eu-central-1"`)
}
