package autoscaling_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/autoscaling"
	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/harness"
)

var zones = []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}

func pools() []autoscaling.Pool {
	return []autoscaling.Pool{
		{Name: "platform", CapacityTypes: []string{autoscaling.OnDemand}, Architectures: []string{autoscaling.ARM64, autoscaling.AMD64},
			InstanceCategories: []string{"m"}, CPULimit: "32", MemoryLimit: "128Gi"},
		{Name: "workload", CapacityTypes: []string{autoscaling.Spot, autoscaling.OnDemand}, Architectures: []string{autoscaling.ARM64, autoscaling.AMD64},
			InstanceCategories: []string{"c", "m", "r"}, CPULimit: "256", MemoryLimit: "1024Gi",
			Budgets: []autoscaling.Budget{{Nodes: "10%"}, {Nodes: "0", Schedule: "0 8 * * mon-fri", Duration: "10h"}}},
	}
}

// deploy runs the component on a cluster under the mocks.
func deploy(t *testing.T, edit func(*autoscaling.Args)) (*harness.Result, error) {
	t.Helper()
	return harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		c, err := cluster.NewCluster(ctx, "c", &cluster.Args{
			Name: "platform-prod", Region: "eu-west-1",
			AdminRoleARNs: []string{"arn:aws:iam::111122223333:role/deploy"},
			Subnets: []cluster.ZoneSubnet{
				{Zone: zones[0], ID: pulumi.String("subnet-a")}, {Zone: zones[1], ID: pulumi.String("subnet-b")},
				{Zone: zones[2], ID: pulumi.String("subnet-c")},
			},
		})
		if err != nil {
			return err
		}
		a := &autoscaling.Args{
			ClusterName: "platform-prod", Region: "eu-west-1", AccountID: pulumi.String(harness.MockAccount),
			Roles: c, AMIReleaseVersion: cluster.KubernetesVersions[cluster.DefaultKubernetesVersion].AMIReleaseVersion,
			Zones:           zones,
			SubnetTags:      map[string]string{"kubernetes.io/role/internal-elb": "1", "kubernetes.io/cluster/platform-prod": "shared"},
			SecurityGroupID: c.SecurityGroupID,
			Pools:           pools(),
			APIServer:       namespace.AnyAPIServer(443),
			Tags:            map[string]string{"team": "platform"},
		}
		if edit != nil {
			edit(a)
		}
		_, err = autoscaling.NewAutoscaling(ctx, "autoscaling", a, pulumi.Provider(c.Provider))
		return err
	})
}

func one(t *testing.T, res *harness.Result, typ string) harness.Resource {
	t.Helper()
	var out []harness.Resource
	for _, r := range res.OfType(typ) {
		if strings.HasSuffix(r.Parent, "platform:autoscaling:Autoscaling::autoscaling") {
			out = append(out, r)
		}
	}
	require.Len(t, out, 1, typ)
	return out[0]
}

func TestNodesJoinThroughTheirOwnRole(t *testing.T) {
	res, err := deploy(t, nil)
	require.NoError(t, err)
	role := one(t, res, "aws:iam/role:Role")
	assert.JSONEq(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole"]}]}`,
		role.String("assumeRolePolicy"))
	var attached []string
	for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if a.String("role") == "autoscaling-node" { // the role's name under the mocks: its logical name
			attached = append(attached, a.String("policyArn"))
		}
	}
	assert.ElementsMatch(t, cluster.NodeRoleManagedPolicies, attached)
	entry := one(t, res, "aws:eks/accessEntry:AccessEntry")
	assert.Equal(t, "EC2_LINUX", entry.String("type"), "a node role's entry: EKS maps it to system:nodes")
	assert.Equal(t, "arn:aws:iam::"+harness.MockAccount+":role/autoscaling-node", entry.String("principalArn"))
	assert.Equal(t, "platform-prod", entry.String("clusterName"))
}

func TestInterruptionQueueAndItsRules(t *testing.T) {
	res, err := deploy(t, nil)
	require.NoError(t, err)
	queue := one(t, res, "aws:sqs/queue:Queue")
	queueARN := "arn:aws:sqs:eu-west-1:" + harness.MockAccount + ":platform-prod"
	assert.Equal(t, "platform-prod", queue.String("name"))
	assert.True(t, queue.Bool("sqsManagedSseEnabled"), "encrypted")
	assert.Equal(t, 300.0, queue.Number("messageRetentionSeconds"))
	policy := one(t, res, "aws:sqs/queuePolicy:QueuePolicy")
	assert.Equal(t, "https://sqs.eu-west-1.amazonaws.com/"+harness.MockAccount+"/platform-prod", policy.String("queueUrl"))
	assert.JSONEq(t, autoscaling.QueuePolicy(queueARN).JSON(), policy.String("policy"))

	rules := map[string]string{}
	for _, r := range res.OfType("aws:cloudwatch/eventRule:EventRule") {
		rules[r.Name] = r.String("eventPattern")
	}
	require.Len(t, rules, len(autoscaling.InterruptionRules))
	targets := res.OfType("aws:cloudwatch/eventTarget:EventTarget")
	require.Len(t, targets, len(rules))
	for _, target := range targets {
		assert.Equal(t, queueARN, target.String("arn"), "every rule sends to the queue")
		assert.Contains(t, rules, target.String("rule"))
	}
}

func TestControllerRoleAndRelease(t *testing.T) {
	res, err := deploy(t, nil)
	require.NoError(t, err)
	var role harness.Resource
	for _, r := range res.OfType("aws:iam/role:Role") {
		if strings.Contains(r.String("assumeRolePolicy"), "system:serviceaccount:karpenter:karpenter") {
			role = r
		}
	}
	require.NotEmpty(t, role.URN, "a role only the karpenter service account can assume")
	var inline string
	for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
		if strings.HasSuffix(p.Parent, "platform:cluster:WorkloadRole::platform-prod-karpenter") {
			inline = p.String("policy")
		}
	}
	require.NotEmpty(t, inline)
	queue := one(t, res, "aws:sqs/queue:Queue")
	assert.JSONEq(t, autoscaling.ControllerPolicy(autoscaling.Scope{
		Partition: "aws", Region: "eu-west-1", AccountID: harness.MockAccount, ClusterName: "platform-prod",
		NodeRoleARN: "arn:aws:iam::" + harness.MockAccount + ":role/autoscaling-node",
		QueueARN:    "arn:aws:sqs:eu-west-1:" + harness.MockAccount + ":platform-prod",
	}).JSON(), inline, "the policy is scoped to this cluster, its node role and its queue")

	release := one(t, res, "kubernetes:helm.sh/v3:Release")
	assert.True(t, release.Bool("skipCrds"), "CRDs come from karpenter-crd, upgraded with the pin")
	assert.Equal(t, "platform-prod", release.String("values", "settings", "clusterName"))
	assert.Equal(t, queue.String("name"), release.String("values", "settings", "interruptionQueue"))
	assert.True(t, release.DependsOnURN(queue.URN), "the controller starts once its queue exists")
	assert.False(t, release.Bool("values", "serviceAccount", "create"))
	crds := one(t, res, "kubernetes:helm.sh/v4:Chart")
	assert.Equal(t, "oci://public.ecr.aws/karpenter/karpenter-crd", crds.String("chart"))
	assert.Equal(t, autoscaling.Chart.Version, crds.String("version"), "the CRDs of the controller's release")
	assert.True(t, release.DependsOnURN(crds.URN))
	sa := one(t, res, "kubernetes:core/v1:ServiceAccount")
	assert.Equal(t, "arn:aws:iam::"+harness.MockAccount+":role/platform-prod-karpenter", sa.String("metadata", "annotations", "eks.amazonaws.com/role-arn"))
}

func TestNodeClassAndPools(t *testing.T) {
	res, err := deploy(t, nil)
	require.NoError(t, err)
	var nodeClass harness.Resource
	pools := map[string]harness.Resource{}
	for _, r := range res.OfType("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass") {
		nodeClass = r
	}
	for _, r := range res.OfType("kubernetes:karpenter.sh/v1:NodePool") {
		pools[r.String("metadata", "name")] = r
	}
	require.NotEmpty(t, nodeClass.URN)
	assert.Equal(t, "autoscaling-node", nodeClass.String("spec", "role"), "the nodes' role, by name")
	assert.Equal(t, "al2023@v20260714", nodeClass.String("spec", "amiSelectorTerms", "0", "alias"),
		"the managed node groups' AMI release, pinned")
	assert.Equal(t, "required", nodeClass.String("spec", "metadataOptions", "httpTokens"))
	assert.Equal(t, 1.0, nodeClass.Number("spec", "metadataOptions", "httpPutResponseHopLimit"))
	assert.True(t, nodeClass.Bool("spec", "blockDeviceMappings", "0", "ebs", "encrypted"))
	assert.Equal(t, "gp3", nodeClass.String("spec", "blockDeviceMappings", "0", "ebs", "volumeType"))
	assert.Equal(t, "sg-0mockplatform-prod", nodeClass.String("spec", "securityGroupSelectorTerms", "0", "id"),
		"the cluster security group, as on the managed nodes")
	assert.Equal(t, "1", nodeClass.String("spec", "subnetSelectorTerms", "0", "tags", "kubernetes.io/role/internal-elb"))
	assert.False(t, nodeClass.Bool("spec", "associatePublicIPAddress"))

	require.Len(t, pools, 2)
	for name, p := range pools {
		assert.Equal(t, "default", p.String("spec", "template", "spec", "nodeClassRef", "name"), name)
		assert.True(t, p.DependsOnURN(nodeClass.URN), name)
		var zonesOf []string
		for _, r := range p.Array("spec", "template", "spec", "requirements") {
			m := harness.Plain(r).(map[string]any)
			if m["key"] == "topology.kubernetes.io/zone" {
				for _, z := range m["values"].([]any) {
					zonesOf = append(zonesOf, z.(string))
				}
			}
		}
		assert.Equal(t, zones, zonesOf, "%s: all three zones", name)
		assert.NotEmpty(t, p.String("spec", "limits", "cpu"), name)
		assert.Equal(t, autoscaling.DefaultExpireAfter, p.String("spec", "template", "spec", "expireAfter"), name)
	}
	budgets, err := json.Marshal(harness.Plain(pools["workload"].Get("spec", "disruption", "budgets")))
	require.NoError(t, err)
	assert.JSONEq(t, `[{"nodes":"10%"},{"nodes":"0","schedule":"0 8 * * mon-fri","duration":"10h"}]`, string(budgets))
}

func TestBadArgsAreRefusedByName(t *testing.T) {
	for _, tc := range []struct {
		edit func(*autoscaling.Args)
		want string
	}{
		{func(a *autoscaling.Args) { a.AMIReleaseVersion = "latest" },
			`AMIReleaseVersion "latest": must be an EKS AMI release version such as 1.36.2-20260714`},
		{func(a *autoscaling.Args) { a.Pools[0].CapacityTypes = []string{"reserved"} },
			`Pools[0].CapacityTypes "reserved": must be one of on-demand, spot`},
		{func(a *autoscaling.Args) { a.Pools[1].CPULimit = "" },
			`Pools[1].CPULimit "": must be a Kubernetes quantity`},
		{func(a *autoscaling.Args) {
			a.Pools[1].Budgets = []autoscaling.Budget{{Nodes: "0", Schedule: "0 8 * * mon-fri"}}
		},
			`Pools[1].Budgets[0]: Schedule "0 8 * * mon-fri" and Duration "" must be set together`},
		{func(a *autoscaling.Args) { a.Pools[1].ExpireAfter = "30d" },
			`Pools[1].ExpireAfter "30d": must be a duration such as "30s", "1m" or "336h", or "Never"`},
		{func(a *autoscaling.Args) { a.Pools[1].Name = a.Pools[0].Name },
			`Pools[1].Name "platform": two pools of one name`},
		{func(a *autoscaling.Args) { a.Zones = zones[:1] },
			`Zones [eu-west-1a]: at least 2 availability zones are required`},
	} {
		res, err := deploy(t, tc.edit)
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), `platform:autoscaling:Autoscaling "autoscaling": `)
		assert.Contains(t, err.Error(), tc.want)
		if res != nil {
			assert.Empty(t, res.OfType("kubernetes:karpenter.sh/v1:NodePool"), "nothing of the component is registered")
		}
	}
}

// The alias format is Karpenter's ("al2023@v20240807" in the EC2NodeClass
// docs, family@version with the AMI release's v<date>); the date is the
// release of amazon-eks-ami that the node group release version names.
func TestAMIAlias(t *testing.T) {
	for in, want := range map[string]string{"1.36.2-20260714": "al2023@v20260714", "1.35.6-20260714": "al2023@v20260714"} {
		got, err := autoscaling.AMIAlias(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"", "latest", "1.36.2", "1.36.2-2026071", "1.36.2-2026071x"} {
		_, err := autoscaling.AMIAlias(bad)
		assert.Error(t, err, bad)
	}
}
