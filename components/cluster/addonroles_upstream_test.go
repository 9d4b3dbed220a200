package cluster_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/policy/iamref"
)

// The add-on roles use the AWS managed policy each driver's project
// recommends at the version pinned in versions.go, and nothing else:
//
//   - aws-ebs-csi-driver v1.62.0 (kubernetes-sigs/aws-ebs-csi-driver tag
//     v1.62.0, commit 23f6c859dc0822cb17fb110bb60df16ce438fa20,
//     docs/install.md "Set up driver permissions"): the managed version of
//     docs/AmazonEBSCSIDriverPolicyV2.json. That page names it
//     arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2, an
//     ARN that does not exist (issue 19 finding 1; AttachRolePolicy answers
//     NoSuchEntity): AWS publishes V2 at the root path,
//     arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2
//     (../shared/reference/aws/managed-policies.tsv, checked below). It
//     scopes writes to volumes and snapshots tagged
//     ebs.csi.aws.com/cluster=true, which the driver puts on every volume
//     and snapshot it creates (pkg/cloud/cloud.go AwsEbsDriverTagKey =
//     <driver name>/cluster; pkg/driver/controller.go sets it to "true" in
//     CreateVolume and CreateSnapshot). Volumes made outside the driver
//     (static provisioning) need that tag by hand; the platform provisions
//     only dynamically. The cluster-scoped variant needs EKS Pod Identity
//     session tags; the roles here use IRSA.
//   - amazon-vpc-cni-k8s v1.22.3 (aws/amazon-vpc-cni-k8s tag v1.22.3, commit
//     f77c395213cb0385373603d2464cf3830be0cd2d, docs/iam-policy.md "IPv4
//     mode"): arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy.
var upstreamAddonPolicies = map[string]struct {
	addon, version, namespace, serviceAccount, policyARN string
}{
	"c-ebs-csi": {"aws-ebs-csi-driver", "v1.62.0", "kube-system", "ebs-csi-controller-sa", "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2"},
	"c-vpc-cni": {"vpc-cni", "v1.22.3", "kube-system", "aws-node", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"},
}

func TestAddonRolesUseTheUpstreamManagedPolicies(t *testing.T) {
	// The citations above are for these pins: a new pin needs a new look.
	for _, v := range cluster.SupportedKubernetesVersions() {
		for _, up := range upstreamAddonPolicies {
			assert.True(t, strings.HasPrefix(cluster.KubernetesVersions[v].Addons[up.addon], up.version+"-"),
				"Kubernetes %s pins %s %s; the upstream policy was checked for %s", v, up.addon, cluster.KubernetesVersions[v].Addons[up.addon], up.version)
		}
	}

	// The ARNs above exist where AWS publishes them: the truth is the
	// upstream list of managed policies, not this file.
	ref, err := iamref.Load(iamref.Dir("../.."))
	require.NoError(t, err)
	for _, up := range upstreamAddonPolicies {
		assert.NoError(t, ref.CheckManagedPolicy(up.policyARN), up.addon)
	}

	a := args()
	a.AdminRoleARNs = []string{"arn:aws:iam::111122223333:role/deploy"}
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := cluster.NewCluster(ctx, "c", a)
		return err
	})
	require.NoError(t, err)

	for roleName, up := range upstreamAddonPolicies {
		t.Run(up.addon, func(t *testing.T) {
			var role harness.Resource
			for _, r := range res.OfType("aws:iam/role:Role") {
				if r.Name == roleName {
					role = r
				}
			}
			require.NotEmpty(t, role.URN, "no role %s", roleName)
			assert.Contains(t, role.String("assumeRolePolicy"), `"system:serviceaccount:`+up.namespace+`:`+up.serviceAccount+`"`)

			var attached []string
			for _, att := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
				if att.Parent == role.Parent {
					attached = append(attached, att.String("policyArn"))
				}
			}
			assert.Equal(t, []string{up.policyARN}, attached, "exactly the upstream-recommended managed policy")
			for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
				assert.NotEqual(t, role.Parent, p.Parent, "no inline policy beyond the managed one on %s", roleName)
			}

			var addon harness.Resource
			for _, r := range res.OfType("aws:eks/addon:Addon") {
				if r.String("addonName") == up.addon {
					addon = r
				}
			}
			require.NotEmpty(t, addon.URN, "no add-on %s", up.addon)
			assert.True(t, strings.HasSuffix(addon.String("serviceAccountRoleArn"), ":role/"+roleName), "the add-on runs with its role, not %q", addon.String("serviceAccountRoleArn"))
		})
	}
}
