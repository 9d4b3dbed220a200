package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/policydoc"
)

// ControlPlaneLogTypes are all the EKS control-plane logs; every one is on.
var ControlPlaneLogTypes = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}

// AWS managed policies the cluster's roles use (commercial partition).
const (
	clusterPolicyARN   = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
	workerPolicyARN    = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
	ecrPullPolicyARN   = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"
	cniPolicyARN       = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
	ebsCSIPolicyARN    = "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2" // root path, not service-role/ (issue 19 finding 1)
	clusterAdminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	clusterViewPolicy  = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
)

// ServiceCIDR is the clusters' Kubernetes service range, set explicitly
// (EKS would otherwise pick 10.100.0.0/16 or 172.20.0.0/16 from the VPC's
// range) so the `kubernetes` Service address that network policies must
// allow is known when the program runs: 172.20.0.1. The VPC must not
// overlap it.
const ServiceCIDR = "172.20.0.0/16"

// NodeRoleManagedPolicies are the only policies on the node role: the VPC CNI
// gets its own workload role, so nodes do not hold network permissions.
var NodeRoleManagedPolicies = []string{workerPolicyARN, ecrPullPolicyARN}

// Defaults of Args and NodeArgs. Environments override them from the one
// table in stacks (defaultsByEnvironment).
const (
	DefaultLogRetentionDays = 90
	DefaultInstanceType     = "m5.large"
	DefaultCapacityType     = OnDemand
	DefaultMinSize          = 1
	DefaultDesiredSize      = 1
	DefaultMaxSize          = 3
	DefaultDiskSizeGiB      = 50
	DefaultMaxUnavailable   = 1
)

// Capacity types of the node groups (NodeArgs.CapacityType).
const (
	OnDemand = "ON_DEMAND"
	Spot     = "SPOT"
)

// typeToken is the component's Pulumi type; errors name it with the
// component's name.
const typeToken = "platform:cluster:Cluster"

// Args configures the cluster.
type Args struct {
	// Name of the EKS cluster. Required.
	Name string
	// KubernetesVersion: a key of KubernetesVersions. Default
	// [DefaultKubernetesVersion].
	KubernetesVersion string
	// Region the cluster runs in, written into the kubeconfig. Required.
	Region string
	// Subnets: the private subnet of each AZ. The control plane's network
	// interfaces and one managed node group per subnet go here. Required, 2+.
	Subnets []ZoneSubnet
	// EndpointPublicAccess turns on the public API endpoint. Default false
	// (private endpoint only).
	EndpointPublicAccess bool
	// PublicAccessCIDRs may reach the public endpoint. Required when it is on.
	PublicAccessCIDRs []string
	// AdminRoleARNs get cluster-admin through EKS access entries. Required,
	// and it must include the role that runs `pulumi up` (the CI deploy
	// role): the cluster creator gets no implicit entry (see NewCluster), so
	// the platform layer reaches the API through this list only.
	AdminRoleARNs []string
	// ViewerRoleARNs get read-only access (AmazonEKSViewPolicy) through EKS
	// access entries: for `pulumi preview` in pull requests. Default none.
	ViewerRoleARNs []string
	// LogRetentionDays of the control-plane log group. Default
	// [DefaultLogRetentionDays].
	LogRetentionDays int
	// Nodes shapes each per-AZ managed node group. Defaults in NodeArgs.
	Nodes NodeArgs
	// DependsOn: the nodes wait for these, e.g. the network's NAT gateways
	// and routes, without which nodes cannot pull images or join. Default
	// none.
	DependsOn []pulumi.Resource
	// Tags are added to every AWS resource. Default none.
	Tags map[string]string
	// Protect marks the cluster, its KMS key, log group and node groups
	// protected, and gives the key a 30-day deletion window. Default false.
	Protect bool
}

// ZoneSubnet is a subnet id and the AZ it lies in.
type ZoneSubnet struct {
	Zone string
	ID   pulumi.StringInput
}

// NodeArgs shapes each managed node group. Sizes are per AZ.
type NodeArgs struct {
	// InstanceTypes, all of one CPU architecture. Default
	// [[DefaultInstanceType]]. One
	// type goes into the launch template, so changing it rolls the nodes
	// (a new template version); several (for spot capacity) must sit on the
	// node group, where a change replaces the group (ForceNew in the
	// provider), which `protect` refuses in prod.
	InstanceTypes []string
	// CapacityType: ON_DEMAND or SPOT. Default [DefaultCapacityType].
	CapacityType string
	// MinSize, DesiredSize, MaxSize. Defaults [DefaultMinSize],
	// [DefaultDesiredSize], [DefaultMaxSize] when all three are 0 (a
	// minimum of 0 is a valid setting beside a maximum). No autoscaler
	// runs: DesiredSize is the node count, set by the program on every
	// update (CheckSizes: MinSize <= DesiredSize <= MaxSize); nothing adds
	// nodes after a zone loss.
	MinSize, DesiredSize, MaxSize int
	// DiskSizeGiB of the encrypted gp3 root volume. Default
	// [DefaultDiskSizeGiB].
	DiskSizeGiB int
	// MaxUnavailable nodes per group during an update. Default
	// [DefaultMaxUnavailable].
	MaxUnavailable int
	// Labels and Taints for every node. Default none. The node groups are
	// the only nodes, so a taint may only be PreferNoSchedule (CheckTaint).
	Labels map[string]string
	Taints []Taint
}

// Taint is a node taint; Effect uses Kubernetes spelling (NoSchedule,
// PreferNoSchedule, NoExecute).
type Taint struct {
	Key, Value, Effect string
}

// Cluster is an EKS cluster with its nodes, add-ons, identity provider and a
// Kubernetes provider for everything deployed onto it.
type Cluster struct {
	pulumi.ResourceState

	Name                 pulumi.StringOutput
	Endpoint             pulumi.StringOutput
	CertificateAuthority pulumi.StringOutput
	// Kubeconfig is a secret; it authenticates with `aws eks get-token`.
	Kubeconfig pulumi.StringOutput
	// OIDCIssuerURL and OIDCProviderARN are for IAM roles for service accounts.
	OIDCIssuerURL   pulumi.StringOutput
	OIDCProviderARN pulumi.StringOutput
	// SecretsKeyARN is the KMS key that encrypts Kubernetes Secrets.
	SecretsKeyARN pulumi.StringOutput
	NodeRoleARN   pulumi.StringOutput
	// SecurityGroupID is the cluster security group EKS creates: the
	// control plane's and every managed node's (no launch template sets
	// another). Karpenter's nodes use it too.
	SecurityGroupID pulumi.StringOutput
	// Provider deploys Kubernetes objects onto this cluster.
	Provider *kubernetes.Provider
	// Ready is what workloads need besides the provider: the add-ons that
	// run on nodes (CoreDNS, the EBS CSI driver) and the gp3 StorageClass.
	// Depend on these resources, not on the component.
	Ready []pulumi.Resource

	tags         map[string]string
	oidcProvider *iam.OpenIdConnectProvider
	issuer       pulumi.StringOutput
}

var gravitonPattern = regexp.MustCompile(`^[a-z]+\d+g[a-z]*\.`)

// Architecture returns arm64 for Graviton instance types and x86_64 otherwise.
func Architecture(instanceType string) string {
	if gravitonPattern.MatchString(instanceType) {
		return "arm64"
	}
	return "x86_64"
}

// withDefaults returns a copy of a with every default applied.
func (a Args) withDefaults() Args {
	contract.SetDefault(&a.KubernetesVersion, DefaultKubernetesVersion)
	contract.SetDefault(&a.LogRetentionDays, DefaultLogRetentionDays)
	n := &a.Nodes
	if len(n.InstanceTypes) == 0 {
		n.InstanceTypes = []string{DefaultInstanceType}
	}
	contract.SetDefault(&n.CapacityType, DefaultCapacityType)
	if n.MinSize == 0 && n.DesiredSize == 0 && n.MaxSize == 0 {
		n.MinSize, n.DesiredSize, n.MaxSize = DefaultMinSize, DefaultDesiredSize, DefaultMaxSize
	}
	contract.SetDefault(&n.DiskSizeGiB, DefaultDiskSizeGiB)
	contract.SetDefault(&n.MaxUnavailable, DefaultMaxUnavailable)
	return a
}

// validate returns every problem with defaulted Args, joined.
func (a Args) validate() error {
	var errs contract.Problems
	add := errs.Add
	if err := CheckName(a.Name); err != nil {
		add("Name %q: %v", a.Name, err)
	}
	if a.Region == "" {
		add("Region is required")
	}
	if len(a.AdminRoleARNs) == 0 {
		add("AdminRoleARNs is empty: list at least the role that runs `pulumi up`, the only way the platform layer reaches the API")
	}
	if len(a.Subnets) < 2 {
		add("Subnets: at least 2 in distinct AZs are required, got %d", len(a.Subnets))
	}
	if _, ok := KubernetesVersions[a.KubernetesVersion]; !ok {
		add("KubernetesVersion %q: must be one of %s", a.KubernetesVersion, strings.Join(SupportedKubernetesVersions(), ", "))
	}
	if a.EndpointPublicAccess && len(a.PublicAccessCIDRs) == 0 {
		add("PublicAccessCIDRs is required when EndpointPublicAccess is on")
	}
	for _, arn := range append(append([]string{}, a.AdminRoleARNs...), a.ViewerRoleARNs...) {
		if err := CheckRoleARN(arn); err != nil {
			add("role %q: %v", arn, err)
		}
	}
	for _, t := range a.Nodes.InstanceTypes {
		if err := CheckInstanceType(t); err != nil {
			add("Nodes.InstanceTypes %q: %v", t, err)
		}
	}
	if a.Nodes.CapacityType != OnDemand && a.Nodes.CapacityType != Spot {
		add("Nodes.CapacityType %q: must be %s or %s", a.Nodes.CapacityType, OnDemand, Spot)
	}
	for _, p := range CheckSizes(a.Nodes.MinSize, a.Nodes.DesiredSize, a.Nodes.MaxSize, func(s NodeSize) string { return string(s) }) {
		add("Nodes.%s %d: %v", p.Size, p.Value, p.Err)
	}
	for i, t := range a.Nodes.Taints {
		if err := CheckTaint(t); err != nil {
			add("Nodes.Taints[%d] %q: %v", i, t, err)
		}
	}
	arch := Architecture(a.Nodes.InstanceTypes[0])
	for _, t := range a.Nodes.InstanceTypes {
		if Architecture(t) != arch {
			add("Nodes.InstanceTypes %v: mix CPU architectures", a.Nodes.InstanceTypes)
			break
		}
	}
	return errs.Err()
}

func (a *Args) awsTags(name string) pulumi.StringMap {
	return contract.Tags(name, a.Tags)
}

// NewCluster builds the EKS cluster, its nodes and add-ons, in this order:
// the secrets key, the control plane (role, log group, cluster), the
// identity provider, admin access, the add-ons nodes need to become Ready,
// the node groups, the add-ons that run on nodes, and the Kubernetes
// provider with the gp3 StorageClass.
func NewCluster(ctx *pulumi.Context, name string, in *Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	args := in.withDefaults()
	c := &Cluster{tags: args.Tags}
	if err := contract.Register(ctx, typeToken, name, args.validate(), c, opts...); err != nil {
		return nil, err
	}
	b := &clusterBuild{ctx: ctx, name: name, args: &args, c: c,
		parent: pulumi.Parent(c), protect: pulumi.Protect(args.Protect)}

	key, err := b.secretsKey()
	if err != nil {
		return nil, err
	}
	cl, err := b.controlPlane(key)
	if err != nil {
		return nil, err
	}
	if err := b.identityProvider(cl); err != nil {
		return nil, err
	}
	accessEntries, err := newAdminAccess(ctx, name, &args, cl, b.parent)
	if err != nil {
		return nil, err
	}
	preNode, err := b.networkAddons(cl)
	if err != nil {
		return nil, err
	}
	ebsRole, err := b.ebsCSIRole()
	if err != nil {
		return nil, err
	}
	// The nodes wait for the EBS CSI controller's role, so a destroy keeps
	// it until the nodes (and the controller on them) are gone.
	nodeRole, nodeGroups, err := newNodeGroups(ctx, name, &args, cl, b.parent, b.protect, append(preNode, ebsRole.resources...))
	if err != nil {
		return nil, err
	}
	c.NodeRoleARN = nodeRole.Arn
	postNode, err := b.nodeAddons(cl, ebsRole, nodeGroups)
	if err != nil {
		return nil, err
	}
	if err := b.kubernetesProvider(cl, append(accessEntries, postNode...)); err != nil {
		return nil, err
	}
	storageClass, err := newStorageClass(ctx, name, args.Name, c.Provider, b.parent, postNode)
	if err != nil {
		return nil, err
	}
	c.Ready = append(postNode, storageClass)

	return contract.Finish(ctx, c, pulumi.Map{
		"name":            c.Name,
		"endpoint":        c.Endpoint,
		"kubeconfig":      c.Kubeconfig,
		"oidcIssuerUrl":   c.OIDCIssuerURL,
		"oidcProviderArn": c.OIDCProviderARN,
		"secretsKeyArn":   c.SecretsKeyARN,
		"nodeRoleArn":     c.NodeRoleARN,
		"securityGroupId": c.SecurityGroupID,
	})
}

// clusterBuild carries what every step of NewCluster needs.
type clusterBuild struct {
	ctx             *pulumi.Context
	name            string
	args            *Args
	c               *Cluster
	parent, protect pulumi.ResourceOption
}

// secretsKey is the customer managed key that encrypts Secrets. The key
// policy is the AWS default (the account root, so IAM policies govern use):
// never `*`.
func (b *clusterBuild) secretsKey() (*kms.Key, error) {
	deletionWindow := 7
	if b.args.Protect {
		deletionWindow = 30
	}
	key, err := kms.NewKey(b.ctx, b.name+"-secrets", &kms.KeyArgs{
		Description:          pulumi.Sprintf("EKS secrets encryption for %s", b.args.Name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(deletionWindow),
		Tags:                 b.args.awsTags(b.name + "-secrets"),
	}, b.parent, b.protect)
	if err != nil {
		return nil, err
	}
	if _, err := kms.NewAlias(b.ctx, b.name+"-secrets", &kms.AliasArgs{
		Name:        pulumi.Sprintf("alias/%s-eks-secrets", b.args.Name),
		TargetKeyId: key.KeyId,
	}, b.parent); err != nil {
		return nil, err
	}
	b.c.SecretsKeyARN = key.Arn
	return key, nil
}

// controlPlane builds the cluster role, the control-plane log group and the
// EKS cluster itself.
func (b *clusterBuild) controlPlane(key *kms.Key) (*eks.Cluster, error) {
	ctx, name, args, parent := b.ctx, b.name, b.args, b.parent
	clusterRole, err := iam.NewRole(ctx, name+"-cluster", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(policydoc.ServiceTrust("eks.amazonaws.com")),
		Tags:             args.awsTags(name + "-cluster"),
	}, parent)
	if err != nil {
		return nil, err
	}
	clusterPolicy, err := iam.NewRolePolicyAttachment(ctx, name+"-cluster", &iam.RolePolicyAttachmentArgs{
		Role:      clusterRole.Name,
		PolicyArn: pulumi.String(clusterPolicyARN),
	}, parent)
	if err != nil {
		return nil, err
	}
	// The control plane may use the secrets key and nothing else.
	keyPolicy, err := iam.NewRolePolicy(ctx, name+"-cluster-encryption", &iam.RolePolicyArgs{
		Role: clusterRole.ID(),
		Policy: policydoc.OnResource(key.Arn, func(arn string) policydoc.Document {
			return policydoc.New(policydoc.Allow(
				[]string{"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}, arn))
		}),
	}, parent)
	if err != nil {
		return nil, err
	}

	// EKS would create this group itself, without retention; creating it first
	// with the cluster's exact name makes EKS use it.
	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-control-plane", &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/aws/eks/%s/cluster", args.Name),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            args.awsTags(name + "-control-plane"),
	}, parent, b.protect)
	if err != nil {
		return nil, err
	}

	var subnetIDs pulumi.StringArray
	for _, s := range args.Subnets {
		subnetIDs = append(subnetIDs, s.ID)
	}
	vpcConfig := &eks.ClusterVpcConfigArgs{
		SubnetIds:             subnetIDs,
		EndpointPrivateAccess: pulumi.Bool(true),
		EndpointPublicAccess:  pulumi.Bool(args.EndpointPublicAccess),
	}
	if args.EndpointPublicAccess {
		vpcConfig.PublicAccessCidrs = pulumi.ToStringArray(args.PublicAccessCIDRs)
	}
	cl, err := eks.NewCluster(ctx, name, &eks.ClusterArgs{
		Name:      pulumi.String(args.Name),
		Version:   pulumi.String(args.KubernetesVersion),
		RoleArn:   clusterRole.Arn,
		VpcConfig: vpcConfig,
		EncryptionConfig: &eks.ClusterEncryptionConfigArgs{
			Provider:  &eks.ClusterEncryptionConfigProviderArgs{KeyArn: key.Arn},
			Resources: pulumi.ToStringArray([]string{"secrets"}),
		},
		EnabledClusterLogTypes: pulumi.ToStringArray(ControlPlaneLogTypes),
		KubernetesNetworkConfig: &eks.ClusterKubernetesNetworkConfigArgs{
			ServiceIpv4Cidr: pulumi.String(ServiceCIDR),
			IpFamily:        pulumi.String("ipv4"),
		},
		AccessConfig: &eks.ClusterAccessConfigArgs{
			// Access entries only: the aws-auth ConfigMap is not read.
			AuthenticationMode: pulumi.String("API"),
			// No implicit entry for the identity running Pulumi: EKS would
			// create one, and the same role listed in AdminRoleARNs (the
			// documented setup) then fails with 409 ResourceInUseException
			// after the cluster exists (aws/eks-distro#2805,
			// terraform-aws-eks#2968, which made the same choice in v20).
			// Every admin, the deployer included, is an explicit entry below.
			BootstrapClusterCreatorAdminPermissions: pulumi.Bool(false),
		},
		// Stay in standard support: extended support costs 6x per hour.
		UpgradePolicy: &eks.ClusterUpgradePolicyArgs{SupportType: pulumi.String("STANDARD")},
		// The add-ons below are EKS-managed and pinned; nothing self-managed.
		BootstrapSelfManagedAddons: pulumi.Bool(false),
		Tags:                       args.awsTags(args.Name),
	}, parent, b.protect, pulumi.DependsOn([]pulumi.Resource{logGroup, clusterPolicy, keyPolicy}))
	if err != nil {
		return nil, err
	}
	b.c.Name = cl.Name
	b.c.Endpoint = cl.Endpoint
	b.c.CertificateAuthority = cl.CertificateAuthority.Data().Elem()
	b.c.SecurityGroupID = cl.VpcConfig.ClusterSecurityGroupId().Elem()
	return cl, nil
}

// identityProvider is the OIDC provider for IAM roles for service accounts.
// IAM validates EKS issuers against its own trusted CAs, so no thumbprint is
// pinned.
func (b *clusterBuild) identityProvider(cl *eks.Cluster) error {
	c := b.c
	c.issuer = cl.Identities.Index(pulumi.Int(0)).Oidcs().Index(pulumi.Int(0)).Issuer().Elem()
	var err error
	c.oidcProvider, err = iam.NewOpenIdConnectProvider(b.ctx, b.name, &iam.OpenIdConnectProviderArgs{
		Url:           c.issuer,
		ClientIdLists: pulumi.ToStringArray([]string{"sts.amazonaws.com"}),
		Tags:          b.args.awsTags(b.name + "-oidc"),
	}, b.parent)
	if err != nil {
		return err
	}
	c.OIDCIssuerURL = c.issuer
	c.OIDCProviderARN = c.oidcProvider.Arn
	return nil
}

// addonSpec is one EKS add-on: its configuration values and the IAM role of
// its service account, both optional, and whether removing the add-on
// leaves its Kubernetes objects running (preserve).
type addonSpec struct {
	name, config string
	role         pulumi.StringInput
	preserve     bool
}

// networkAddons go on before any node, so nodes become Ready.
func (b *clusterBuild) networkAddons(cl *eks.Cluster) ([]pulumi.Resource, error) {
	cniRole, err := b.c.NewWorkloadRole(b.ctx, b.name+"-vpc-cni", &WorkloadRoleArgs{
		Namespace: "kube-system", ServiceAccount: "aws-node",
		ManagedPolicyARNs: []string{cniPolicyARN},
	})
	if err != nil {
		return nil, err
	}
	return b.addons(cl, []addonSpec{
		// The CNI's network policy agent enforces the platform's NetworkPolicies;
		// without it they would be accepted and ignored.
		{name: "vpc-cni", config: `{"enableNetworkPolicy":"true"}`, role: cniRole.RoleARN},
		{name: "kube-proxy"},
		{name: "eks-pod-identity-agent"},
	})
}

// ebsCSIRole is the EBS CSI controller's workload role.
func (b *clusterBuild) ebsCSIRole() (*WorkloadRole, error) {
	return b.c.NewWorkloadRole(b.ctx, b.name+"-ebs-csi", &WorkloadRoleArgs{
		Namespace: "kube-system", ServiceAccount: "ebs-csi-controller-sa",
		ManagedPolicyARNs: []string{ebsCSIPolicyARN},
	})
}

// nodeAddons are Deployments (CoreDNS, the EBS CSI controller): they need
// nodes.
//
// Destroy order (issue 19 finding 6): every Kubernetes object goes through
// the provider, which waits for these add-ons, so the platform layer (its
// StatefulSets, their claims with whenDeleted: Delete, their namespaces)
// is deleted before the EBS CSI add-on. But EBS DeleteVolume for a released
// volume is asynchronous: the controller may still be deleting when the
// add-on goes. preserve keeps the controller running after the add-on is
// removed, and the nodes wait for its role (NewCluster), so it keeps its
// credentials and finishes while the node groups are deleted. A volume it
// could not delete in that time is left `available`: docs/operations.md
// says how to find it.
func (b *clusterBuild) nodeAddons(cl *eks.Cluster, ebsRole *WorkloadRole, nodeGroups []pulumi.Resource) ([]pulumi.Resource, error) {
	return b.addons(cl, []addonSpec{
		{name: "coredns"},
		{name: "aws-ebs-csi-driver", role: ebsRole.RoleARN, preserve: true},
	}, pulumi.DependsOn(nodeGroups))
}

// addons installs each add-on at the version pinned for the cluster's
// Kubernetes version.
func (b *clusterBuild) addons(cl *eks.Cluster, specs []addonSpec, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	versions := KubernetesVersions[b.args.KubernetesVersion].Addons
	var out []pulumi.Resource
	for _, a := range specs {
		addon, err := newAddon(b.ctx, b.name, a, versions[a.name], cl, b.args,
			append([]pulumi.ResourceOption{b.parent}, opts...)...)
		if err != nil {
			return nil, err
		}
		out = append(out, addon)
	}
	return out, nil
}

// kubernetesProvider writes the kubeconfig (a secret) and the provider the
// platform layer deploys with, once access and the node add-ons exist.
func (b *clusterBuild) kubernetesProvider(cl *eks.Cluster, after []pulumi.Resource) error {
	c, region := b.c, b.args.Region
	c.Kubeconfig = pulumi.ToSecret(pulumi.All(cl.Name, cl.Endpoint, c.CertificateAuthority).ApplyT(
		func(v []any) (string, error) {
			return Kubeconfig(v[0].(string), v[1].(string), v[2].(string), region)
		})).(pulumi.StringOutput)
	var err error
	c.Provider, err = kubernetes.NewProvider(b.ctx, b.name, &kubernetes.ProviderArgs{
		Kubeconfig: c.Kubeconfig,
	}, b.parent, pulumi.DependsOn(after))
	return err
}

// newAdminAccess gives each admin role cluster-admin, and each viewer role
// read-only access, through access entries. Entries are named after the
// role's whole ARN (accessEntryName), so reordering a list changes nothing
// and two roles of one name on other paths or accounts get one entry each.
func newAdminAccess(ctx *pulumi.Context, name string, args *Args, cl *eks.Cluster, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	grants := []struct {
		kind, policy string
		arns         []string
	}{{"admin", clusterAdminPolicy, args.AdminRoleARNs}, {"viewer", clusterViewPolicy, args.ViewerRoleARNs}}
	for _, g := range grants {
		oldNames := map[string]int{}
		for _, arn := range g.arns {
			oldNames[oldAccessEntryName(name, g.kind, arn)]++
		}
		for _, arn := range g.arns {
			entryName := accessEntryName(name, g.kind, arn)
			// Entries were named <name>-<kind>-<role name> before issue 19.
			// Where that name was one role's, the alias moves its state
			// instead of replacing the entry: a replace deletes the deploy
			// role's access in the middle of its own update.
			opts := []pulumi.ResourceOption{parent}
			if old := oldAccessEntryName(name, g.kind, arn); oldNames[old] == 1 {
				opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(old)}}))
			}
			entry, err := eks.NewAccessEntry(ctx, entryName, &eks.AccessEntryArgs{
				ClusterName:  cl.Name,
				PrincipalArn: pulumi.String(arn),
				Type:         pulumi.String("STANDARD"),
				Tags:         args.awsTags(entryName),
			}, opts...)
			if err != nil {
				return nil, err
			}
			assoc, err := eks.NewAccessPolicyAssociation(ctx, entryName, &eks.AccessPolicyAssociationArgs{
				ClusterName:  cl.Name,
				PrincipalArn: entry.PrincipalArn,
				PolicyArn:    pulumi.String(g.policy),
				AccessScope:  &eks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
			}, opts...)
			if err != nil {
				return nil, err
			}
			out = append(out, entry, assoc)
		}
	}
	return out, nil
}

// accessEntryName is <name>-<kind>-<role name>-<8 hex characters of the
// SHA-256 of the role's ARN>: readable, and one per ARN whatever its path
// or account.
func accessEntryName(name, kind, arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return oldAccessEntryName(name, kind, arn) + "-" + hex.EncodeToString(sum[:])[:8]
}

// oldAccessEntryName is the name entries had before issue 19: the role name
// after the ARN's last slash only.
func oldAccessEntryName(name, kind, arn string) string {
	return fmt.Sprintf("%s-%s-%s", name, kind, arn[strings.LastIndex(arn, "/")+1:])
}

func newAddon(ctx *pulumi.Context, name string, spec addonSpec, version string, cl *eks.Cluster, args *Args, opts ...pulumi.ResourceOption) (*eks.Addon, error) {
	a := &eks.AddonArgs{
		ClusterName:              cl.Name,
		AddonName:                pulumi.String(spec.name),
		AddonVersion:             pulumi.String(version),
		ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
		ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
		Tags:                     args.awsTags(name + "-" + spec.name),
	}
	if spec.role != nil {
		a.ServiceAccountRoleArn = spec.role
	}
	if spec.config != "" {
		a.ConfigurationValues = pulumi.String(spec.config)
	}
	if spec.preserve {
		a.Preserve = pulumi.Bool(true)
	}
	return eks.NewAddon(ctx, name+"-"+spec.name, a, opts...)
}

// newNodeGroups builds the node role, one launch template and one managed
// node group per AZ, so each zone keeps its own nodes for the pods bound to
// its zonal EBS volumes. The size is fixed (no autoscaler): desiredSize is
// set from NodeArgs on every update.
func newNodeGroups(ctx *pulumi.Context, name string, args *Args, cl *eks.Cluster, parent, protect pulumi.ResourceOption, after []pulumi.Resource) (*iam.Role, []pulumi.Resource, error) {
	nodeRole, deps, err := newNodeRole(ctx, name, args, parent)
	if err != nil {
		return nil, nil, err
	}
	deps = append(append(deps, after...), args.DependsOn...)
	lt, groupTypes, err := newLaunchTemplate(ctx, name, args, parent)
	if err != nil {
		return nil, nil, err
	}
	n := args.Nodes
	amiType := "AL2023_x86_64_STANDARD"
	if Architecture(n.InstanceTypes[0]) == "arm64" {
		amiType = "AL2023_ARM_64_STANDARD"
	}
	var taints eks.NodeGroupTaintArray
	for _, t := range n.Taints {
		taints = append(taints, &eks.NodeGroupTaintArgs{
			Key: pulumi.String(t.Key), Value: pulumi.String(t.Value), Effect: pulumi.String(taintEffects[t.Effect]),
		})
	}
	labelKeys := make([]string, 0, len(n.Labels))
	for k := range n.Labels {
		labelKeys = append(labelKeys, k)
	}
	sort.Strings(labelKeys)

	var groups []pulumi.Resource
	for _, s := range args.Subnets {
		labels := pulumi.StringMap{"platform/node-group": pulumi.String(s.Zone)}
		for _, k := range labelKeys {
			labels[k] = pulumi.String(n.Labels[k])
		}
		groupName := fmt.Sprintf("%s-%s", name, s.Zone)
		ng, err := eks.NewNodeGroup(ctx, groupName, &eks.NodeGroupArgs{
			ClusterName: cl.Name,
			Version:     pulumi.String(args.KubernetesVersion),
			// The pinned AMI release: a new pin rolls the nodes onto the
			// patched image; without it they keep their creation-time AMI
			// until the next Kubernetes version.
			ReleaseVersion: pulumi.String(KubernetesVersions[args.KubernetesVersion].AMIReleaseVersion),
			NodeRoleArn:    nodeRole.Arn,
			SubnetIds:      pulumi.StringArray{s.ID},
			AmiType:        pulumi.String(amiType),
			InstanceTypes:  groupTypes,
			CapacityType:   pulumi.String(n.CapacityType),
			ScalingConfig: &eks.NodeGroupScalingConfigArgs{
				MinSize: pulumi.Int(n.MinSize), DesiredSize: pulumi.Int(n.DesiredSize), MaxSize: pulumi.Int(n.MaxSize),
			},
			UpdateConfig: &eks.NodeGroupUpdateConfigArgs{MaxUnavailable: pulumi.Int(n.MaxUnavailable)},
			LaunchTemplate: &eks.NodeGroupLaunchTemplateArgs{
				Id:      lt.ID(),
				Version: lt.LatestVersion.ApplyT(func(v int) string { return strconv.Itoa(v) }).(pulumi.StringOutput),
			},
			Labels: labels,
			Taints: taints,
			Tags:   args.awsTags(groupName),
		}, parent, protect, pulumi.DependsOn(deps))
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, ng)
	}
	return nodeRole, groups, nil
}

// newNodeRole is the nodes' role with NodeRoleManagedPolicies attached; the
// attachments are returned so node groups wait for them.
func newNodeRole(ctx *pulumi.Context, name string, args *Args, parent pulumi.ResourceOption) (*iam.Role, []pulumi.Resource, error) {
	nodeRole, err := iam.NewRole(ctx, name+"-node", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(policydoc.ServiceTrust("ec2.amazonaws.com")),
		Tags:             args.awsTags(name + "-node"),
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	var deps []pulumi.Resource
	for i, arn := range NodeRoleManagedPolicies {
		att, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-node-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role:      nodeRole.Name,
			PolicyArn: pulumi.String(arn),
		}, parent)
		if err != nil {
			return nil, nil, err
		}
		deps = append(deps, att)
	}
	return nodeRole, deps, nil
}

// newLaunchTemplate requires IMDSv2 and encrypts the root volume. It holds
// the instance type when there is one; several types go on the node groups,
// returned here.
func newLaunchTemplate(ctx *pulumi.Context, name string, args *Args, parent pulumi.ResourceOption) (*ec2.LaunchTemplate, pulumi.StringArray, error) {
	tagSpec := func(kind string) ec2.LaunchTemplateTagSpecificationInput {
		return &ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String(kind), Tags: args.awsTags(args.Name + "-node")}
	}
	n := args.Nodes
	var ltType pulumi.StringPtrInput
	groupTypes := pulumi.ToStringArray(n.InstanceTypes)
	if len(n.InstanceTypes) == 1 {
		ltType, groupTypes = pulumi.String(n.InstanceTypes[0]), nil
	}
	lt, err := ec2.NewLaunchTemplate(ctx, name+"-node", &ec2.LaunchTemplateArgs{
		Description:  pulumi.Sprintf("EKS managed nodes of %s", args.Name),
		InstanceType: ltType,
		// Pods must not reach the node's credentials: tokens required, and
		// one hop means a container's packets never get an answer.
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
			InstanceMetadataTags:    pulumi.String("disabled"),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{
			&ec2.LaunchTemplateBlockDeviceMappingArgs{
				DeviceName: pulumi.String("/dev/xvda"),
				Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
					VolumeSize:          pulumi.Int(n.DiskSizeGiB),
					VolumeType:          pulumi.String("gp3"),
					Encrypted:           pulumi.String("true"),
					DeleteOnTermination: pulumi.String("true"),
				},
			},
		},
		TagSpecifications:    ec2.LaunchTemplateTagSpecificationArray{tagSpec("instance"), tagSpec("volume")},
		UpdateDefaultVersion: pulumi.Bool(true),
		Tags:                 args.awsTags(name + "-node"),
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	return lt, groupTypes, nil
}
