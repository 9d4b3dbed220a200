package autoscaling

import (
	"fmt"
	"maps"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/podvalues"
	"github.com/cnplatform/platform/components/policydoc"
)

// typeToken is the component's Pulumi type; errors name it with the
// component's name.
const typeToken = "platform:autoscaling:Autoscaling"

// Defaults of Args.
const (
	DefaultPartition = "aws"
	DefaultNamespace = "karpenter"
	// ServiceAccount is the controller's, which its IAM role trusts.
	ServiceAccount = "karpenter"
	// DefaultReplicas: two controllers in two zones (the chart spreads
	// them over zones and keeps a PodDisruptionBudget of one unavailable);
	// one leads, the other takes over within the lease.
	DefaultReplicas    = 2
	DefaultNodeClass   = "default"
	DefaultDiskSizeGiB = cluster.DefaultDiskSizeGiB
	// MetricsPort is the controller's metrics port (chart value
	// controller.metrics.port).
	MetricsPort = 8080
)

// DefaultControllerResources: upstream's getting-started values (1 CPU,
// 1Gi, requests equal to limits for memory), which it sizes for clusters
// of a few hundred nodes.
var DefaultControllerResources = podvalues.Resources{
	Requests: podvalues.ResourceList{CPU: "1", Memory: "1Gi"},
	Limits:   podvalues.ResourceList{Memory: "1Gi"},
}

// Args configures the node autoscaler.
type Args struct {
	// ClusterName of the EKS cluster. Required.
	ClusterName string
	// Partition of the ARNs. Default [DefaultPartition].
	Partition string
	// Region and AccountID of the cluster. Required.
	Region    string
	AccountID pulumi.StringInput
	// Roles creates the controller's IAM role for its service account.
	// Required.
	Roles cluster.WorkloadRoles
	// AMIReleaseVersion: the managed node groups' pinned AL2023 release
	// (cluster.KubernetesVersions), so Karpenter's nodes run the same AMI
	// release, pinned as an alias (al2023@v<date>), never latest.
	// Required.
	AMIReleaseVersion string
	// Zones: the availability zones nodes may launch in. Required, 2+.
	Zones []string
	// SubnetTags select the subnets nodes launch into: the private
	// subnets' discovery tags, which the network writes. Required.
	SubnetTags map[string]string
	// SecurityGroupID of every node: the cluster's security group, the one
	// the managed node groups use. Required.
	SecurityGroupID pulumi.StringInput
	// DiskSizeGiB of each node's encrypted gp3 root volume. Default
	// [DefaultDiskSizeGiB].
	DiskSizeGiB int
	// Pools are the NodePools. Required, 1+.
	Pools []Pool
	// Namespace of the controller. Default [DefaultNamespace].
	Namespace string
	// Replicas of the controller. Default [DefaultReplicas].
	Replicas int
	// Resources of each controller. Default [DefaultControllerResources].
	Resources *podvalues.Resources
	// APIServer is how the controller reaches the API server (its network
	// policy). Required.
	APIServer namespace.APIServer
	// MonitoringNamespace, when set, is where Prometheus runs: the chart's
	// ServiceMonitor is created and the metrics port is open to it.
	// Default none.
	MonitoringNamespace string
	// Chart and CRDChart: the karpenter and karpenter-crd charts. Default
	// [Chart], [CRDChart].
	Chart, CRDChart helmrelease.Chart
	// DependsOn: the controller waits for these (the cluster's node
	// add-ons). Default none.
	DependsOn []pulumi.Resource
	// Tags on every AWS resource and every node. Default none.
	Tags map[string]string
}

// Autoscaling is Karpenter with its IAM, interruption queue, node class
// and pools.
type Autoscaling struct {
	pulumi.ResourceState

	// NodeRoleARN is the role of Karpenter's nodes.
	NodeRoleARN pulumi.StringOutput
	// QueueName is the interruption queue.
	QueueName pulumi.StringOutput
	// Release is the controller's Helm release: depend on it for anything
	// that needs nodes from the pools.
	Release pulumi.Resource
	// Pools are the NodePool objects, for DependsOn.
	Pools []pulumi.Resource
}

// withDefaults returns a copy of a with every default applied.
func (a Args) withDefaults() Args {
	contract.SetDefault(&a.Partition, DefaultPartition)
	contract.SetDefault(&a.Namespace, DefaultNamespace)
	contract.SetDefault(&a.Replicas, DefaultReplicas)
	contract.SetDefault(&a.DiskSizeGiB, DefaultDiskSizeGiB)
	if a.Resources == nil {
		r := DefaultControllerResources
		a.Resources = &r
	}
	if a.Chart == (helmrelease.Chart{}) {
		a.Chart = Chart
	}
	if a.CRDChart == (helmrelease.Chart{}) {
		a.CRDChart = CRDChart
	}
	pools := make([]Pool, len(a.Pools))
	for i, p := range a.Pools {
		pools[i] = p.withDefaults()
	}
	a.Pools = pools
	return a
}

// validate returns every problem with defaulted Args, joined.
func (a Args) validate() error {
	var errs contract.Problems
	add := errs.Add
	if err := cluster.CheckName(a.ClusterName); err != nil {
		add("ClusterName %q: %v", a.ClusterName, err)
	}
	if a.Region == "" || a.AccountID == nil || a.Roles == nil || a.SecurityGroupID == nil {
		add("Region, AccountID, Roles and SecurityGroupID are required")
	}
	if _, err := AMIAlias(a.AMIReleaseVersion); err != nil {
		add("AMIReleaseVersion %q: %v", a.AMIReleaseVersion, err)
	}
	if len(a.Zones) < 2 {
		add("Zones %v: at least 2 availability zones are required", a.Zones)
	}
	if len(a.SubnetTags) == 0 {
		add("SubnetTags is required: the private subnets' discovery tags")
	}
	if len(a.Pools) == 0 {
		add("Pools is required: at least one NodePool")
	}
	seen := map[string]bool{}
	for i, p := range a.Pools {
		for _, problem := range p.Problems(fmt.Sprintf("Pools[%d].", i)) {
			add("%s", problem)
		}
		if seen[p.Name] {
			add("Pools[%d].Name %q: two pools of one name", i, p.Name)
		}
		seen[p.Name] = true
	}
	if err := namespace.CheckName(a.Namespace); err != nil {
		add("Namespace %q: %v", a.Namespace, err)
	}
	if a.Replicas < 1 {
		add("Replicas %d: must be 1 or more", a.Replicas)
	}
	if err := a.APIServer.Validate(); err != nil {
		add("APIServer: %v", err)
	}
	return errs.Err()
}

// AMIAlias is the EC2NodeClass alias of the AL2023 release that a managed
// node group release version (<Kubernetes version>.<patch>-<date>) names:
// al2023@v<date>.
func AMIAlias(releaseVersion string) (string, error) {
	i := strings.LastIndex(releaseVersion, "-")
	if i < 0 || len(releaseVersion[i+1:]) != 8 || strings.Trim(releaseVersion[i+1:], "0123456789") != "" {
		return "", fmt.Errorf("must be an EKS AMI release version such as 1.36.2-20260714")
	}
	return "al2023@v" + releaseVersion[i+1:], nil
}

// NewAutoscaling installs Karpenter, in order: the nodes' role and its
// access entry, the interruption queue and its rules, the controller's
// namespace, network policy, IAM role and service account, the CRDs, the
// controller, then the node class and the pools.
func NewAutoscaling(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Autoscaling, error) {
	a := args.withDefaults()
	c := &Autoscaling{}
	if err := contract.Register(ctx, typeToken, name, a.validate(), c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	b := &build{ctx: ctx, name: name, a: &a, c: c, parent: parent}

	nodeRole, err := b.nodeRole()
	if err != nil {
		return nil, err
	}
	queue, err := b.interruptionQueue()
	if err != nil {
		return nil, err
	}
	controller, err := b.controller(nodeRole, queue)
	if err != nil {
		return nil, err
	}
	if err := b.pools(nodeRole, controller); err != nil {
		return nil, err
	}
	return contract.Finish(ctx, c, pulumi.Map{
		"nodeRoleArn": c.NodeRoleARN,
		"queueName":   c.QueueName,
	})
}

// build carries what every step of NewAutoscaling needs.
type build struct {
	ctx    *pulumi.Context
	name   string
	a      *Args
	c      *Autoscaling
	parent pulumi.ResourceOption
}

func (b *build) tags(name string) pulumi.StringMap { return contract.Tags(name, b.a.Tags) }

// nodeRole is the role of Karpenter's nodes, with the node groups'
// managed policies (cluster.NodeRoleManagedPolicies: the VPC CNI has its
// own role, and no node gets SSM) and an access entry of type EC2_LINUX,
// which lets nodes of this role join. The managed node groups' role gets
// its entry from EKS; a role of its own keeps the two apart.
func (b *build) nodeRole() (*iam.Role, error) {
	ctx, parent := b.ctx, b.parent
	role, err := iam.NewRole(ctx, b.name+"-node", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(policydoc.ServiceTrust("ec2.amazonaws.com")),
		Tags:             b.tags(b.name + "-node"),
	}, parent)
	if err != nil {
		return nil, err
	}
	for i, arn := range cluster.NodeRoleManagedPolicies {
		if _, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-node-%d", b.name, i), &iam.RolePolicyAttachmentArgs{
			Role: role.Name, PolicyArn: pulumi.String(arn),
		}, parent); err != nil {
			return nil, err
		}
	}
	if _, err := eks.NewAccessEntry(ctx, b.name+"-node", &eks.AccessEntryArgs{
		ClusterName:  pulumi.String(b.a.ClusterName),
		PrincipalArn: role.Arn,
		Type:         pulumi.String("EC2_LINUX"),
		Tags:         b.tags(b.name + "-node"),
	}, parent); err != nil {
		return nil, err
	}
	b.c.NodeRoleARN = role.Arn
	return role, nil
}

// interruptionQueue is the queue EventBridge sends EC2's interruption
// notices to (InterruptionRules), encrypted with SQS's own keys and
// holding a message 5 minutes, as upstream's template does: a notice
// older than that is past acting on.
func (b *build) interruptionQueue() (*sqs.Queue, error) {
	ctx, parent := b.ctx, b.parent
	queue, err := sqs.NewQueue(ctx, b.name+"-interruption", &sqs.QueueArgs{
		Name:                    pulumi.String(b.a.ClusterName),
		MessageRetentionSeconds: pulumi.Int(300),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    b.tags(b.name + "-interruption"),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := sqs.NewQueuePolicy(ctx, b.name+"-interruption", &sqs.QueuePolicyArgs{
		QueueUrl: queue.Url,
		Policy:   policydoc.OnResource(queue.Arn, func(arn string) policydoc.Document { return QueuePolicy(arn) }),
	}, parent); err != nil {
		return nil, err
	}
	for _, r := range InterruptionRules {
		rule, err := cloudwatch.NewEventRule(ctx, b.name+"-"+strings.ToLower(r.Name), &cloudwatch.EventRuleArgs{
			Description:  pulumi.Sprintf("%s to Karpenter's interruption queue of %s", r.DetailType, b.a.ClusterName),
			EventPattern: pulumi.String(r.EventPattern()),
			Tags:         b.tags(b.name + "-" + strings.ToLower(r.Name)),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := cloudwatch.NewEventTarget(ctx, b.name+"-"+strings.ToLower(r.Name), &cloudwatch.EventTargetArgs{
			Rule:     rule.Name,
			TargetId: pulumi.String("KarpenterInterruptionQueueTarget"),
			Arn:      queue.Arn,
		}, parent); err != nil {
			return nil, err
		}
	}
	b.c.QueueName = queue.Name
	return queue, nil
}

// controller installs the CRDs and the controller in its namespace, with
// its network policy, IAM role and service account.
func (b *build) controller(nodeRole *iam.Role, queue *sqs.Queue) (pulumi.Resource, error) {
	ctx, a, parent := b.ctx, b.a, b.parent
	ns, err := namespace.New(ctx, b.name, &namespace.Args{Name: a.Namespace}, parent)
	if err != nil {
		return nil, err
	}
	policy, err := b.networkPolicy(ns)
	if err != nil {
		return nil, err
	}
	rolePolicy := pulumi.All(a.AccountID, nodeRole.Arn, queue.Arn).ApplyT(func(v []any) string {
		return ControllerPolicy(Scope{
			Partition: a.Partition, Region: a.Region, AccountID: v[0].(string), ClusterName: a.ClusterName,
			NodeRoleARN: v[1].(string), QueueARN: v[2].(string),
		}).JSON()
	}).(pulumi.StringOutput)
	role, err := a.Roles.NewWorkloadRole(ctx, a.ClusterName+"-karpenter", &cluster.WorkloadRoleArgs{
		Namespace: a.Namespace, ServiceAccount: ServiceAccount, Policy: rolePolicy,
	}, parent)
	if err != nil {
		return nil, err
	}
	sa, err := corev1.NewServiceAccount(ctx, b.name, &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ServiceAccount), Namespace: ns.Name, Annotations: pulumi.StringMap{
			"eks.amazonaws.com/role-arn":               role.RoleARN,
			"eks.amazonaws.com/sts-regional-endpoints": pulumi.String("true"),
		}},
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	crds, err := helmrelease.NewCRDs(ctx, b.name+"-crds", &helmrelease.CRDArgs{Chart: a.CRDChart}, parent)
	if err != nil {
		return nil, err
	}
	// The queue is named after the cluster: the values know it before
	// it exists, and the release waits for it.
	values := Values(a.ClusterName, a.ClusterName, a.Replicas, *a.Resources, a.MonitoringNamespace != "")
	deps := append([]pulumi.Resource{sa, policy, crds, queue, role}, a.DependsOn...)
	release, err := helmrelease.New(ctx, b.name, &helmrelease.Args{
		Chart:     a.Chart,
		Namespace: ns.Name,
		Values:    values,
		SkipCRDs:  true,
	}, parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, err
	}
	b.c.Release = release
	return release, nil
}

// networkPolicy lets the controller reach the API server and AWS's APIs
// (EC2, SQS, SSM, pricing, IAM, EKS, STS: HTTPS), and Prometheus reach its
// metrics; the namespace denies everything else.
func (b *build) networkPolicy(ns *namespace.Namespace) (pulumi.Resource, error) {
	a := b.a
	egress := networkingv1.NetworkPolicyEgressRuleArray{
		a.APIServer.EgressRule(),
		&networkingv1.NetworkPolicyEgressRuleArgs{
			To:    networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String("0.0.0.0/0")}}},
			Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(443)}},
		},
	}
	var ingress networkingv1.NetworkPolicyIngressRuleArray
	if a.MonitoringNamespace != "" {
		ingress = append(ingress, &networkingv1.NetworkPolicyIngressRuleArgs{
			From: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
				MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(a.MonitoringNamespace)},
			}}},
			Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(MetricsPort)}},
		})
	}
	return networkingv1.NewNetworkPolicy(b.ctx, b.name+"-controller", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("karpenter"), Namespace: ns.Name},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String("karpenter")}},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Ingress:     ingress,
			Egress:      egress,
		},
	}, b.parent)
}

// pools creates the node class and the pools once the controller runs.
func (b *build) pools(nodeRole *iam.Role, controller pulumi.Resource) error {
	ctx, a, parent := b.ctx, b.a, b.parent
	alias, _ := AMIAlias(a.AMIReleaseVersion) // checked in validate
	tags := maps.Clone(a.Tags)
	spec := pulumi.All(nodeRole.Name, a.SecurityGroupID).ApplyT(func(v []any) map[string]any {
		return NodeClassSpec(NodeClass{
			RoleName: v[0].(string), AMIAlias: alias, SubnetTags: a.SubnetTags,
			SecurityGroupID: v[1].(string), DiskSizeGiB: a.DiskSizeGiB, Tags: tags,
		})
	}).(pulumi.MapOutput)
	nodeClass, err := apiextensions.NewCustomResource(ctx, b.name+"-nodeclass", &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(NodeClassAPIVersion),
		Kind:        pulumi.String(NodeClassKind),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(DefaultNodeClass)},
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, parent, pulumi.DependsOn([]pulumi.Resource{controller}))
	if err != nil {
		return err
	}
	ref := NodeClassRef{Group: NodeClassGroup, Kind: NodeClassKind, Name: DefaultNodeClass}
	for _, p := range a.Pools {
		pool, err := apiextensions.NewCustomResource(ctx, b.name+"-pool-"+p.Name, &apiextensions.CustomResourceArgs{
			ApiVersion:  pulumi.String(NodePoolAPIVersion),
			Kind:        pulumi.String("NodePool"),
			Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(p.Name)},
			OtherFields: kubernetes.UntypedArgs{"spec": NodePoolSpec(p, ref, a.Zones)},
		}, parent, pulumi.DependsOn([]pulumi.Resource{nodeClass}))
		if err != nil {
			return err
		}
		b.c.Pools = append(b.c.Pools, pool)
	}
	return nil
}
