package tests

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/stacks"
)

const (
	eksType       = "aws:eks/cluster:Cluster"
	nodeGroupType = "aws:eks/nodeGroup:NodeGroup"
	addonType     = "aws:eks/addon:Addon"
	roleType      = "aws:iam/role:Role"
)

func theCluster(t *testing.T, res *harness.Result) harness.Resource {
	t.Helper()
	clusters := res.OfType(eksType)
	require.Len(t, clusters, 1)
	return clusters[0]
}

func TestClusterEncryptionAndLogging(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		cl := theCluster(t, res)
		assert.Equal(t, cfg.Cluster.Name, cl.String("name"))
		assert.Equal(t, cfg.Cluster.KubernetesVersion, cl.String("version"))

		// Secrets are encrypted with our own rotating KMS key.
		assert.Equal(t, []string{"secrets"}, cl.Strings("encryptionConfig", "resources"))
		keyARN := cl.String("encryptionConfig", "provider", "keyArn")
		var key harness.Resource
		for _, k := range res.OfType("aws:kms/key:Key") {
			if strings.HasSuffix(keyARN, "/"+k.ID) {
				key = k
			}
		}
		require.NotEmpty(t, key.URN, "encryption key %s is not a key this stack creates", keyARN)
		assert.True(t, key.Bool("enableKeyRotation"))
		assert.True(t, key.Get("policy").IsNull(), "the default key policy (account root) applies, never a * principal")

		// All five control-plane log types, into a group that expires and
		// exists before the cluster.
		types := cl.Strings("enabledClusterLogTypes")
		sort.Strings(types)
		assert.Equal(t, []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}, types)
		var group harness.Resource
		for _, g := range res.OfType("aws:cloudwatch/logGroup:LogGroup") {
			if g.String("name") == "/aws/eks/"+cfg.Cluster.Name+"/cluster" {
				group = g
			}
		}
		require.NotEmpty(t, group.URN, "the control-plane log group must be created with retention")
		assert.Equal(t, float64(cfg.Cluster.LogRetentionDays), group.Number("retentionInDays"))
		assert.True(t, cl.DependsOnURN(group.URN), "the log group must exist before EKS creates its own")

		assert.Equal(t, "STANDARD", cl.String("upgradePolicy", "supportType"), "no extended-support fees")
	}, cloudEnvs...)
}

func TestClusterEndpointAccess(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		cl := theCluster(t, res)
		assert.True(t, cl.Bool("vpcConfig", "endpointPrivateAccess"), "the private endpoint is always on")
		assert.Equal(t, cfg.Cluster.EndpointPublicAccess, cl.Bool("vpcConfig", "endpointPublicAccess"))
		cidrs := cl.Strings("vpcConfig", "publicAccessCidrs")
		if cl.Bool("vpcConfig", "endpointPublicAccess") {
			require.NotEmpty(t, cidrs, "a public endpoint needs an allow-list")
			assert.Equal(t, cfg.Cluster.PublicAccessCIDRs, cidrs)
		}
		if cfg.Environment == stacks.Prod {
			assert.NotContains(t, cidrs, "0.0.0.0/0")
		}
		// The control plane's interfaces live in the private subnets.
		private := subnetsByTier(t, res, "private")
		var want []string
		for _, s := range private {
			want = append(want, s.ID)
		}
		assert.ElementsMatch(t, want, cl.Strings("vpcConfig", "subnetIds"))
	}, cloudEnvs...)
}

func TestClusterAccessEntriesForAdmins(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		cl := theCluster(t, res)
		assert.Equal(t, "API", cl.String("accessConfig", "authenticationMode"), "access entries, not the aws-auth ConfigMap")

		entries := res.OfType("aws:eks/accessEntry:AccessEntry")
		var principals []string
		for _, e := range entries {
			assert.Equal(t, cfg.Cluster.Name, e.String("clusterName"))
			principals = append(principals, e.String("principalArn"))
		}
		assert.ElementsMatch(t, append(append([]string{}, cfg.Cluster.AdminRoleARNs...), cfg.Cluster.ViewerRoleARNs...), principals)

		policies := map[string][]string{}
		for _, a := range res.OfType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation") {
			assert.Equal(t, "cluster", a.String("accessScope", "type"))
			policies[a.String("principalArn")] = append(policies[a.String("principalArn")], a.String("policyArn"))
		}
		for _, arn := range cfg.Cluster.AdminRoleARNs {
			assert.Equal(t, []string{"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"}, policies[arn], "%s is cluster admin", arn)
		}
		for _, arn := range cfg.Cluster.ViewerRoleARNs {
			assert.Equal(t, []string{"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"}, policies[arn], "%s only reads", arn)
		}
		assert.NotEmpty(t, cfg.Cluster.AdminRoleARNs, "the deploying role is listed: it gets no implicit entry")
		// With bootstrapClusterCreatorAdminPermissions EKS makes an entry
		// for the creator itself, and our entry for the same role (the
		// documented setup: the deploy role in adminRoleArns) then fails
		// with 409 ResourceInUseException after the cluster exists
		// (aws/eks-distro#2805, terraform-aws-eks#2968).
		assert.False(t, cl.Bool("accessConfig", "bootstrapClusterCreatorAdminPermissions"), "no implicit creator entry to collide with")
		prov := res.OfType("pulumi:providers:kubernetes")
		require.Len(t, prov, 1)
		for _, e := range entries {
			assert.True(t, prov[0].DependsOnURN(e.URN), "the platform layer's provider waits for %s", e.Name)
		}
	}, cloudEnvs...)
}

func TestNodeGroupPerAZWithHardenedLaunchTemplate(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		groups := res.OfType(nodeGroupType)
		zones := cfg.Network.AvailabilityZones
		require.Len(t, groups, len(zones), "one managed node group per AZ")
		private := subnetsByTier(t, res, "private")
		n := cfg.Cluster.Nodes
		covered := map[string]bool{}
		for _, g := range groups {
			subnets := g.Strings("subnetIds")
			require.Len(t, subnets, 1, "%s spans one AZ", g.Name)
			subnet, ok := res.ByID(subnets[0])
			require.True(t, ok)
			az := subnet.String("availabilityZone")
			assert.Equal(t, private[az].URN, subnet.URN, "%s: nodes live in private subnets", g.Name)
			covered[az] = true

			assert.Equal(t, float64(n.MinSize), g.Number("scalingConfig", "minSize"))
			assert.Equal(t, float64(n.DesiredSize), g.Number("scalingConfig", "desiredSize"))
			assert.Equal(t, float64(n.MaxSize), g.Number("scalingConfig", "maxSize"))
			assert.Equal(t, float64(n.MaxUnavailable), g.Number("updateConfig", "maxUnavailable"))
			assert.Equal(t, n.CapacityType, g.String("capacityType"))
			assert.Equal(t, cfg.Cluster.KubernetesVersion, g.String("version"))
			assert.True(t, g.Get("remoteAccess").IsNull(), "no SSH access to nodes")
			for k, v := range n.Labels {
				assert.Equal(t, v, g.String("labels", k))
			}
			assert.NotContains(t, g.IgnoreChanges, "scalingConfig.desiredSize", "no autoscaler runs: the stack sets the node count")
			assert.True(t, strings.HasPrefix(g.String("releaseVersion"), cfg.Cluster.KubernetesVersion+"."),
				"%s: releaseVersion %q pins an AMI release of its Kubernetes version", g.Name, g.String("releaseVersion"))

			lt, ok := res.ByID(g.String("launchTemplate", "id"))
			require.True(t, ok, "%s has no launch template of ours", g.Name)
			assert.Equal(t, "required", lt.String("metadataOptions", "httpTokens"), "IMDSv2 required")
			assert.Equal(t, float64(1), lt.Number("metadataOptions", "httpPutResponseHopLimit"), "pods cannot reach IMDS")
			disk := lt.Get("blockDeviceMappings", "0", "ebs")
			require.True(t, disk.IsObject(), "root volume is configured")
			assert.Equal(t, "true", lt.String("blockDeviceMappings", "0", "ebs", "encrypted"))
			assert.Equal(t, "gp3", lt.String("blockDeviceMappings", "0", "ebs", "volumeType"))
			assert.Equal(t, float64(n.DiskSizeGiB), lt.Number("blockDeviceMappings", "0", "ebs", "volumeSize"))
			assert.True(t, lt.Get("keyName").IsNull(), "no SSH key pair")

			// instanceTypes is ForceNew on a node group (terraform-provider-aws
			// aws_eks_node_group, the schema pulumi-aws v6 wraps): one type
			// goes into the launch template, where a change is a new version
			// and the group rolls; only a list (spot) sits on the group.
			if len(n.InstanceTypes) == 1 {
				assert.Equal(t, n.InstanceTypes[0], lt.String("instanceType"), "%s: the type rolls with the template", g.Name)
				assert.Empty(t, g.Strings("instanceTypes"), "%s: a type on the group would force a replace", g.Name)
			} else {
				assert.Equal(t, n.InstanceTypes, g.Strings("instanceTypes"))
				assert.Empty(t, lt.String("instanceType"))
			}
			if g.Protect {
				assert.Len(t, n.InstanceTypes, 1, "%s is protected: an instance type change must roll, not replace", g.Name)
			}
		}
		for _, az := range zones {
			assert.True(t, covered[az], "no node group in %s", az)
		}
		if cfg.Environment == stacks.Dev {
			for _, g := range groups {
				assert.Equal(t, stacks.Spot, g.String("capacityType"), "dev runs on spot")
			}
		}
	}, cloudEnvs...)
}

func TestNodeRoleHoldsOnlyTheManagedNodePolicies(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		groups := res.OfType(nodeGroupType)
		roleARN := groups[0].String("nodeRoleArn")
		var role harness.Resource
		for _, r := range res.OfType(roleType) {
			if strings.HasSuffix(roleARN, "/"+r.String("name")) || strings.HasSuffix(roleARN, "/"+r.Name) {
				role = r
			}
		}
		require.NotEmpty(t, role.URN)
		var attached []string
		for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
			if a.String("role") == role.Name || a.String("role") == role.String("name") {
				attached = append(attached, a.String("policyArn"))
			}
		}
		assert.ElementsMatch(t, []string{
			"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
			"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
		}, attached, "network permissions belong to the VPC CNI's own role")
		for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
			assert.NotContains(t, []string{role.ID, role.Name, role.String("name")}, p.String("role"), "no inline policy on the node role")
		}
	}, cloudEnvs...)
}

var addonVersionPattern = regexp.MustCompile(`^v\d+\.\d+\.\d+-eksbuild\.\d+$`)

func TestAddonsArePinnedAndOrdered(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		addons := map[string]harness.Resource{}
		for _, a := range res.OfType(addonType) {
			addons[a.String("addonName")] = a
			assert.Regexp(t, addonVersionPattern, a.String("addonVersion"), "%s is pinned", a.String("addonName"))
			assert.Equal(t, cfg.Cluster.Name, a.String("clusterName"))
		}
		for _, name := range []string{"vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "eks-pod-identity-agent"} {
			require.Contains(t, addons, name)
		}
		assert.True(t, strings.HasPrefix(addons["kube-proxy"].String("addonVersion"), "v"+cfg.Cluster.KubernetesVersion+"."),
			"kube-proxy matches the control plane's minor version")
		assert.False(t, theCluster(t, res).Bool("bootstrapSelfManagedAddons"), "no unmanaged add-ons")
		assert.JSONEq(t, `{"enableNetworkPolicy":"true"}`, addons["vpc-cni"].String("configurationValues"),
			"NetworkPolicies are enforced, not just accepted")

		groups := res.OfType(nodeGroupType)
		for _, g := range groups {
			assert.True(t, g.DependsOnURN(addons["vpc-cni"].URN), "nodes need the CNI to become Ready")
		}
		for _, name := range []string{"coredns", "aws-ebs-csi-driver"} {
			for _, g := range groups {
				assert.True(t, addons[name].DependsOnURN(g.URN), "%s runs on nodes: it must wait for them", name)
			}
		}

		// vpc-cni and the EBS CSI driver get roles scoped to their service accounts.
		for name, sa := range map[string]string{"vpc-cni": "kube-system:aws-node", "aws-ebs-csi-driver": "kube-system:ebs-csi-controller-sa"} {
			roleARN := addons[name].String("serviceAccountRoleArn")
			require.NotEmpty(t, roleARN, name)
			role := roleByARN(t, res, roleARN)
			assertTrustedOnlyBy(t, role, "system:serviceaccount:"+sa)
		}
	}, cloudEnvs...)
}

func roleByARN(t *testing.T, res *harness.Result, arn string) harness.Resource {
	t.Helper()
	for _, r := range res.OfType(roleType) {
		if strings.HasSuffix(arn, ":role/"+r.Name) {
			return r
		}
	}
	require.Failf(t, "no such role", "%s", arn)
	return harness.Resource{}
}

// assertTrustedOnlyBy checks a workload role's trust policy: web identity
// from the cluster's OIDC provider, for exactly one service account and STS.
func assertTrustedOnlyBy(t *testing.T, role harness.Resource, subject string) {
	t.Helper()
	var doc struct {
		Statement []struct {
			Effect    string
			Action    []string
			Principal map[string]string
			Condition map[string]map[string]string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(role.String("assumeRolePolicy")), &doc))
	require.Len(t, doc.Statement, 1)
	st := doc.Statement[0]
	assert.Equal(t, []string{"sts:AssumeRoleWithWebIdentity"}, st.Action)
	assert.Contains(t, st.Principal["Federated"], ":oidc-provider/oidc.eks.")
	eq := st.Condition["StringEquals"]
	var sub, aud string
	for k, v := range eq {
		switch {
		case strings.HasSuffix(k, ":sub"):
			sub = v
		case strings.HasSuffix(k, ":aud"):
			aud = v
		}
	}
	assert.Equal(t, subject, sub, "the role is for one service account only (StringEquals, no wildcard)")
	assert.Equal(t, "sts.amazonaws.com", aud)
}

func TestClusterIsProtectedInProd(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		prod := cfg.Environment == stacks.Prod
		assert.Equal(t, prod, theCluster(t, res).Protect, "cluster")
		for _, k := range res.OfType("aws:kms/key:Key") {
			assert.Equal(t, prod, k.Protect, k.Name)
			if prod {
				assert.Equal(t, float64(30), k.Number("deletionWindowInDays"), "the longest window to undo a key deletion")
			}
		}
		for _, g := range res.OfType("aws:cloudwatch/logGroup:LogGroup") {
			assert.Equal(t, prod, g.Protect, g.Name)
		}
		for _, g := range res.OfType(nodeGroupType) {
			assert.Equal(t, prod, g.Protect, g.Name)
		}
	}, cloudEnvs...)
}

func TestKubeconfigAndKubernetesProvider(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		out := res.Outputs["kubeconfig"]
		require.True(t, out.Secret, "the kubeconfig output is a secret")
		var kc struct {
			Clusters []struct {
				Cluster map[string]string
			}
			Users []struct {
				User struct {
					Exec struct {
						Command string
						Args    []string
					}
				}
			}
		}
		require.NoError(t, json.Unmarshal([]byte(out.Value.(string)), &kc))
		require.Len(t, kc.Clusters, 1)
		assert.Equal(t, res.Outputs["clusterEndpoint"].Value, kc.Clusters[0].Cluster["server"])
		assert.NotEmpty(t, kc.Clusters[0].Cluster["certificate-authority-data"])
		require.Len(t, kc.Users, 1)
		exec := kc.Users[0].User.Exec
		assert.Equal(t, "aws", exec.Command)
		assert.Equal(t, []string{"eks", "get-token", "--cluster-name", cfg.Cluster.Name, "--region", cfg.Region, "--output", "json"}, exec.Args)
		assert.NotContains(t, out.Value, "--profile", "no hard-coded AWS profile")

		providers := res.OfType("pulumi:providers:kubernetes")
		require.Len(t, providers, 1)
		assert.True(t, providers[0].IsSecret("kubeconfig"), "the provider receives the kubeconfig as a secret")

		classes := res.OfType("kubernetes:storage.k8s.io/v1:StorageClass")
		require.Len(t, classes, 1)
		sc := classes[0]
		assert.Equal(t, "ebs.csi.aws.com", sc.String("provisioner"))
		assert.Equal(t, "true", sc.String("parameters", "encrypted"))
		assert.Equal(t, "gp3", sc.String("parameters", "type"))
		assert.Equal(t, "WaitForFirstConsumer", sc.String("volumeBindingMode"), "volumes follow the pod's zone")
		assert.True(t, strings.HasPrefix(sc.Provider, providers[0].URN+"::"), "objects go through the cluster's provider")
	}, cloudEnvs...)
}

func TestOIDCProviderForWorkloadRoles(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		providers := res.OfType("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
		require.Len(t, providers, 1)
		p := providers[0]
		assert.Equal(t, res.Outputs["oidcIssuerUrl"].Value, p.String("url"))
		assert.Equal(t, []string{"sts.amazonaws.com"}, p.Strings("clientIdLists"))
		assert.Contains(t, res.Outputs["oidcProviderArn"].Value, ":oidc-provider/")
	}, cloudEnvs...)
}

func TestSupportedVersionsAreInStandardSupport(t *testing.T) {
	require.Contains(t, cluster.KubernetesVersions, cluster.DefaultKubernetesVersion)
	for v, info := range cluster.KubernetesVersions {
		for _, name := range []string{"vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "eks-pod-identity-agent"} {
			assert.Regexp(t, addonVersionPattern, info.Addons[name], "%s %s", v, name)
		}
		assert.True(t, strings.HasPrefix(info.Addons["kube-proxy"], "v"+v+"."), "kube-proxy for %s", v)
		assert.False(t, info.StandardSupportEnds.IsZero(), v)
	}
}
