package cluster_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
)

func build(t *testing.T, a *cluster.Args) (*harness.Result, error) {
	t.Helper()
	return harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := cluster.NewCluster(ctx, "c", a)
		return err
	})
}

func named(t *testing.T, res *harness.Result, typ, name string) harness.Resource {
	t.Helper()
	for _, r := range res.OfType(typ) {
		if r.Name == name {
			return r
		}
	}
	require.Failf(t, "missing resource", "no %s named %s", typ, name)
	return harness.Resource{}
}

// Issue 19 finding 4: the node groups are the only nodes, so a taint that
// keeps pods off them keeps CoreDNS and the EBS CSI controller off too (the
// add-ons' Deployments carry no toleration for our taints): the add-on
// never turns ACTIVE and the create wait fails after ~20 minutes.
func TestTaintsThatKeepTheSystemAddOnsOffTheOnlyNodesAreRefused(t *testing.T) {
	for _, effect := range []string{"NoSchedule", "NoExecute"} {
		t.Run(effect, func(t *testing.T) {
			a := args()
			a.Nodes.Taints = []cluster.Taint{{Key: "dedicated", Value: "infra", Effect: effect}}
			res, err := build(t, a)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `platform:cluster:Cluster "c": `)
			assert.Contains(t, err.Error(), `Nodes.Taints[0] "dedicated=infra:`+effect+`"`)
			assert.Contains(t, err.Error(), "CoreDNS")
			assert.Contains(t, err.Error(), "PreferNoSchedule")
			assert.Empty(t, res.Resources, "refused before anything is registered")
		})
	}
	t.Run("PreferNoSchedule only steers pods", func(t *testing.T) {
		a := args()
		a.Nodes.Taints = []cluster.Taint{{Key: "dedicated", Value: "infra", Effect: "PreferNoSchedule"}}
		res, err := build(t, a)
		require.NoError(t, err)
		for _, g := range res.OfType("aws:eks/nodeGroup:NodeGroup") {
			assert.Equal(t, "PREFER_NO_SCHEDULE", g.String("taints", "0", "effect"))
			assert.Equal(t, "dedicated", g.String("taints", "0", "key"))
		}
	})
	t.Run("an effect Kubernetes does not know", func(t *testing.T) {
		a := args()
		a.Nodes.Taints = []cluster.Taint{{Key: "dedicated", Effect: "Never"}}
		_, err := build(t, a)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "NoSchedule, PreferNoSchedule, NoExecute")
	})
}

// releaseVersion is the managed node group release version of an EKS
// optimized AMI: "<Kubernetes version>.<patch>-<build date>", as the
// "Release version" column of awslabs/amazon-eks-ami's CHANGELOG.md lists
// it (e.g. 1.36.2-20260714).
var releaseVersion = regexp.MustCompile(`^(\d+\.\d+)\.\d+-(\d{8})$`)

// Issue 19 finding 9: without a pinned release, a node group keeps the AMI
// it was created with until the next Kubernetes minor version.
func TestNodeGroupsPinTheAMIReleaseOfTheirKubernetesVersion(t *testing.T) {
	for _, v := range cluster.SupportedKubernetesVersions() {
		t.Run(v, func(t *testing.T) {
			a := args()
			a.KubernetesVersion = v
			res, err := build(t, a)
			require.NoError(t, err)
			groups := res.OfType("aws:eks/nodeGroup:NodeGroup")
			require.Len(t, groups, 2)
			for _, g := range groups {
				m := releaseVersion.FindStringSubmatch(g.String("releaseVersion"))
				require.NotNil(t, m, "%s: releaseVersion %q is not an EKS AMI release such as 1.36.2-20260714", g.Name, g.String("releaseVersion"))
				assert.Equal(t, v, m[1], "%s: the AMI release must be built for the group's Kubernetes version", g.Name)
				assert.Equal(t, v, g.String("version"))
			}
		})
	}
}

// Issue 19 finding 12: no autoscaler runs, so the program owns the node
// count. An ignored desiredSize made a raised minSize fail the update
// (UpdateNodegroupConfig refuses minSize > desiredSize).
func TestNodeGroupSizeFollowsTheArgs(t *testing.T) {
	a := args()
	a.Nodes.MinSize, a.Nodes.DesiredSize, a.Nodes.MaxSize = 2, 3, 4
	res, err := build(t, a)
	require.NoError(t, err)
	groups := res.OfType("aws:eks/nodeGroup:NodeGroup")
	require.Len(t, groups, 2)
	for _, g := range groups {
		assert.Equal(t, float64(2), g.Number("scalingConfig", "minSize"))
		assert.Equal(t, float64(3), g.Number("scalingConfig", "desiredSize"))
		assert.Equal(t, float64(4), g.Number("scalingConfig", "maxSize"))
		assert.NotContains(t, g.IgnoreChanges, "scalingConfig.desiredSize", "%s: the program owns the node count", g.Name)
	}
}

func TestBadNodeSizesAreRefused(t *testing.T) {
	cases := []struct {
		name               string
		min, desired, max  int
		field, value, want string
	}{
		{"min above desired", 3, 2, 4, "Nodes.MinSize", "3", "must not exceed DesiredSize (2)"},
		{"desired above max", 1, 5, 4, "Nodes.DesiredSize", "5", "must not exceed MaxSize (4)"},
		{"max of zero", 0, 0, 0, "", "", ""}, // all zero: the defaults apply
		{"negative min", -1, 1, 3, "Nodes.MinSize", "-1", "must be at least 0"},
		{"max below one", 0, 0, -1, "Nodes.MaxSize", "-1", "must be at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := args()
			a.Nodes.MinSize, a.Nodes.DesiredSize, a.Nodes.MaxSize = tc.min, tc.desired, tc.max
			res, err := build(t, a)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.field+" "+tc.value+": "+tc.want)
			assert.Empty(t, res.Resources)
		})
	}
}

// Issue 19 finding 16: entries were named after the role name alone, so
// role/deploy and role/ci/deploy (or the same name in two accounts) got
// one logical name.
func TestAccessEntriesAreOnePerRoleARN(t *testing.T) {
	t.Run("same role name on other paths and accounts", func(t *testing.T) {
		a := args()
		a.AdminRoleARNs = []string{
			"arn:aws:iam::111122223333:role/deploy",
			"arn:aws:iam::111122223333:role/ci/deploy",
			"arn:aws:iam::444455556666:role/deploy",
		}
		res, err := build(t, a)
		require.NoError(t, err)
		for _, typ := range []string{"aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"} {
			byURN := map[string]string{}
			for _, e := range res.OfType(typ) {
				byURN[e.URN] = e.String("principalArn")
				assert.Empty(t, e.Aliases, "%s: the old name %q was shared by several roles; no alias can say which one it was", e.Name, "c-admin-deploy")
			}
			assert.Len(t, byURN, 3, "%s: one per role ARN, got %v", typ, byURN)
		}
	})
	t.Run("a role alone under its name keeps its state", func(t *testing.T) {
		a := args()
		a.AdminRoleARNs = []string{"arn:aws:iam::111122223333:role/deploy", "arn:aws:iam::111122223333:role/platform-admin"}
		a.ViewerRoleARNs = []string{"arn:aws:iam::111122223333:role/ci/deploy"}
		res, err := build(t, a)
		require.NoError(t, err)
		old := map[string]string{ // principal -> the name before issue 19
			"arn:aws:iam::111122223333:role/deploy":         "c-admin-deploy",
			"arn:aws:iam::111122223333:role/platform-admin": "c-admin-platform-admin",
			"arn:aws:iam::111122223333:role/ci/deploy":      "c-viewer-deploy",
		}
		for _, typ := range []string{"aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"} {
			entries := res.OfType(typ)
			require.Len(t, entries, 3)
			for _, e := range entries {
				want := old[e.String("principalArn")]
				require.NotEmpty(t, want, e.String("principalArn"))
				assert.Equal(t, []string{want}, e.Aliases,
					"%s %s: replacing the deploy role's entry mid-update would cut the deployer off", typ, e.Name)
			}
		}
	})
}

// Issue 19 findings 5 and 6: what a destroy must delete first. Pulumi
// deletes a resource before what it depends on.
func TestDestroyOrder(t *testing.T) {
	res, err := build(t, args())
	require.NoError(t, err)
	cl := named(t, res, "aws:eks/cluster:Cluster", "c")
	logGroup := named(t, res, "aws:cloudwatch/logGroup:LogGroup", "c-control-plane")
	assert.True(t, cl.DependsOnURN(logGroup.URN), "the cluster goes before its log group (EKS may still recreate the group after: docs/operations.md)")
	assert.False(t, logGroup.DependsOnURN(cl.URN))

	ebs := named(t, res, "aws:eks/addon:Addon", "c-aws-ebs-csi-driver")
	assert.True(t, ebs.Bool("preserve"), "removing the add-on leaves the EBS CSI controller running, so it finishes deleting released volumes while the nodes drain")
	ebsRole := named(t, res, "aws:iam/role:Role", "c-ebs-csi")
	ebsPolicy := named(t, res, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "c-ebs-csi-0")
	for _, g := range res.OfType("aws:eks/nodeGroup:NodeGroup") {
		assert.True(t, g.DependsOnURN(ebsRole.URN) && g.DependsOnURN(ebsPolicy.URN),
			"%s: the EBS CSI controller's role and policy stay until the nodes it runs on are gone", g.Name)
		assert.True(t, ebs.DependsOnURN(g.URN), "the add-on goes before the nodes")
	}
	sc := named(t, res, "kubernetes:storage.k8s.io/v1:StorageClass", "c-gp3")
	assert.True(t, sc.DependsOnURN(ebs.URN), "the gp3 StorageClass goes before the driver that provisions it")
	assert.Equal(t, "kubernetes.io/cluster/c=owned", sc.String("parameters", "tagSpecification_1"),
		"volumes a destroy leaves behind are found by this tag (docs/operations.md)")
	provider := named(t, res, "pulumi:providers:kubernetes", "c")
	assert.True(t, provider.DependsOnURN(ebs.URN),
		"every Kubernetes object of the platform layer (and the claims of its StatefulSets) goes before the EBS CSI add-on")
}

func TestAccessEntryNamesStayReadable(t *testing.T) {
	a := args()
	a.AdminRoleARNs = []string{"arn:aws:iam::111122223333:role/ci/deploy"}
	res, err := build(t, a)
	require.NoError(t, err)
	entries := res.OfType("aws:eks/accessEntry:AccessEntry")
	require.Len(t, entries, 1)
	assert.True(t, strings.HasPrefix(entries[0].Name, "c-admin-deploy-"), entries[0].Name)
}
