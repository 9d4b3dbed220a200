package cluster_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
)

// pulumi-aws auto-names an IAM role <logical name>-<7 random hex> and refuses
// a logical name that would not fit IAM's 64 characters (aws_iam_role "name":
// AutoName("name", 64, "-")), so `pulumi preview` fails. Routing names its
// roles <cluster name>-aws-load-balancer-controller: with a long cluster name
// the role name must still fit.
func TestWorkloadRoleNamesFitIAM(t *testing.T) {
	long := strings.Repeat("platform-production-eu-central-1-", 3)[:63]
	names := []string{
		"external-dns",
		long + "-aws-load-balancer-controller",
		long + "-aws-load-balancer-controllers",
		strings.Repeat("a", 100) + "-external-dns",
	}
	run := func() map[string]string {
		res, err := onCluster(func(ctx *pulumi.Context, c *cluster.Cluster) error {
			for _, n := range names {
				if _, err := c.NewWorkloadRole(ctx, n, &cluster.WorkloadRoleArgs{
					Namespace: "ns", ServiceAccount: "sa", Policy: pulumi.String(`{"Version":"2012-10-17","Statement":[]}`),
				}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		byComponent := map[string]string{}
		for _, r := range res.OfType("aws:iam/role:Role") {
			if strings.Contains(r.Parent, "platform:cluster:WorkloadRole::") {
				component := r.Parent[strings.LastIndex(r.Parent, "::")+2:]
				byComponent[component] = r.Name
			}
		}
		return byComponent
	}
	first, second := run(), run()
	seen := map[string]bool{}
	for _, n := range names {
		physical, ok := first[n]
		require.True(t, ok, "no role for %s", n)
		assert.LessOrEqual(t, len(physical)+1+7, 64, "%q plus the random suffix is longer than IAM allows", physical)
		assert.True(t, strings.HasPrefix(n, physical[:min(20, len(physical))]), "%q still says whose role it is", physical)
		assert.Equal(t, physical, second[n], "the same name on every run: another would replace the role")
		assert.False(t, seen[physical], "%q names two roles", physical)
		seen[physical] = true
	}
	assert.Equal(t, "external-dns", first["external-dns"], "a name that fits is kept")
}

// A role for no service account is refused, in the error form of every
// component, before anything of it is registered.
func TestWorkloadRoleNeedsAServiceAccount(t *testing.T) {
	res, err := onCluster(func(ctx *pulumi.Context, c *cluster.Cluster) error {
		_, err := c.NewWorkloadRole(ctx, "nobody", &cluster.WorkloadRoleArgs{Namespace: "ns"})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `platform:cluster:WorkloadRole "nobody": Namespace and ServiceAccount are required`)
	if res != nil {
		for _, r := range res.Resources {
			assert.NotContains(t, r.URN, "WorkloadRole::nobody", "registered although refused")
		}
	}
}

// onCluster runs build on a cluster of the default test Args.
func onCluster(build func(*pulumi.Context, *cluster.Cluster) error) (*harness.Result, error) {
	return harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		a := args()
		a.AdminRoleARNs = []string{"arn:aws:iam::111122223333:role/deploy"}
		c, err := cluster.NewCluster(ctx, "c", a)
		if err != nil {
			return err
		}
		return build(ctx, c)
	})
}
