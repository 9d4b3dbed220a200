package autoscaling

import (
	"fmt"
	"maps"

	"github.com/cnplatform/platform/components/policydoc"
)

// Scope is what the controller's policy is scoped to.
type Scope struct {
	// Partition, usually "aws".
	Partition string
	Region    string
	AccountID string
	// ClusterName: the tags Karpenter writes (kubernetes.io/cluster/<name>,
	// eks:eks-cluster-name) carry it, and every write is conditioned on them.
	ClusterName string
	// NodeRoleARN is the one role Karpenter may pass to its instances.
	NodeRoleARN string
	// QueueARN is the interruption queue.
	QueueARN string
}

func (s Scope) ec2(resource string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:*:%s", s.Partition, s.Region, resource)
}

func (s Scope) instanceProfiles() string {
	return fmt.Sprintf("arn:%s:iam::%s:instance-profile/*", s.Partition, s.AccountID)
}

func (s Scope) clusterARN() string {
	return fmt.Sprintf("arn:%s:eks:%s:%s:cluster/%s", s.Partition, s.Region, s.AccountID, s.ClusterName)
}

func (s Scope) clusterTag(prefix string) string {
	return prefix + "/kubernetes.io/cluster/" + s.ClusterName
}

// ControllerPolicy is the controller's policy: the statements of
// Karpenter's reference policy for the pinned release, substituted for
// this cluster (aws/karpenter-provider-aws v1.14.1,
// website/content/en/preview/getting-started/getting-started-with-karpenter/cloudformation.yaml,
// the six KarpenterController*Policy documents). Upstream splits them into
// six managed policies; they fit one inline policy (about 6 KB of the
// role's 10,240 characters). Every write is conditioned on the tags
// Karpenter puts on what it creates; a test compares this document with
// upstream's, statement by statement.
func ControllerPolicy(s Scope) policydoc.Document {
	ec2Created := []string{
		s.ec2("fleet/*"), s.ec2("instance/*"), s.ec2("volume/*"),
		s.ec2("network-interface/*"), s.ec2("launch-template/*"), s.ec2("spot-instances-request/*"),
	}
	ownedResource := map[string]string{s.clusterTag("aws:ResourceTag"): "owned"}
	ownedRequest := map[string]string{
		s.clusterTag("aws:RequestTag"):        "owned",
		"aws:RequestTag/eks:eks-cluster-name": s.ClusterName,
	}
	nodePoolResource := map[string]string{"aws:ResourceTag/karpenter.sh/nodepool": "*"}
	nodePoolRequest := map[string]string{"aws:RequestTag/karpenter.sh/nodepool": "*"}
	regionResource := map[string]string{"aws:ResourceTag/topology.kubernetes.io/region": s.Region}
	nodeClassResource := map[string]string{"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}
	nodeClassRequest := map[string]string{"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}
	profileRequest := merge(ownedRequest, map[string]string{"aws:RequestTag/topology.kubernetes.io/region": s.Region})

	return policydoc.New(
		sid("AllowScopedEC2InstanceAccessActions", policydoc.Allow(
			[]string{"ec2:RunInstances", "ec2:CreateFleet"},
			fmt.Sprintf("arn:%s:ec2:%s::image/*", s.Partition, s.Region),
			fmt.Sprintf("arn:%s:ec2:%s::snapshot/*", s.Partition, s.Region),
			s.ec2("security-group/*"), s.ec2("subnet/*"),
			s.ec2("capacity-reservation/*"), s.ec2("placement-group/*"))),
		conditioned(sid("AllowScopedEC2LaunchTemplateAccessActions", policydoc.Allow(
			[]string{"ec2:RunInstances", "ec2:CreateFleet"}, s.ec2("launch-template/*"))),
			map[string]map[string]string{"StringEquals": ownedResource, "StringLike": nodePoolResource}),
		conditioned(sid("AllowScopedEC2InstanceActionsWithTags", policydoc.Allow(
			[]string{"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"}, ec2Created...)),
			map[string]map[string]string{"StringEquals": ownedRequest, "StringLike": nodePoolRequest}),
		withLists(conditioned(sid("AllowScopedResourceCreationTagging", policydoc.Allow(
			[]string{"ec2:CreateTags"}, ec2Created...)),
			map[string]map[string]string{"StringEquals": ownedRequest, "StringLike": nodePoolRequest}),
			map[string]map[string][]string{"StringEquals": {"ec2:CreateAction": {"RunInstances", "CreateFleet", "CreateLaunchTemplate"}}}),
		withLists(conditioned(sid("AllowScopedResourceTagging", policydoc.Allow(
			[]string{"ec2:CreateTags"}, s.ec2("instance/*"))),
			map[string]map[string]string{
				"StringEquals":         ownedResource,
				"StringLike":           nodePoolResource,
				"StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": s.ClusterName},
			}),
			map[string]map[string][]string{"ForAllValues:StringEquals": {"aws:TagKeys": {"eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"}}}),
		conditioned(sid("AllowScopedDeletion", policydoc.Allow(
			[]string{"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}, s.ec2("instance/*"), s.ec2("launch-template/*"))),
			map[string]map[string]string{"StringEquals": ownedResource, "StringLike": nodePoolResource}),
		withLists(sid("AllowPassingInstanceRole", policydoc.Allow([]string{"iam:PassRole"}, s.NodeRoleARN)),
			map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"ec2.amazonaws.com", "ec2.amazonaws.com.cn"}}}),
		conditioned(sid("AllowScopedInstanceProfileCreationActions", policydoc.Allow(
			[]string{"iam:CreateInstanceProfile"}, s.instanceProfiles())),
			map[string]map[string]string{"StringEquals": profileRequest, "StringLike": nodeClassRequest}),
		conditioned(sid("AllowScopedInstanceProfileTagActions", policydoc.Allow(
			[]string{"iam:TagInstanceProfile"}, s.instanceProfiles())),
			map[string]map[string]string{
				"StringEquals": merge(ownedResource, regionResource, profileRequest),
				"StringLike":   merge(nodeClassResource, nodeClassRequest),
			}),
		conditioned(sid("AllowScopedInstanceProfileActions", policydoc.Allow(
			[]string{"iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"}, s.instanceProfiles())),
			map[string]map[string]string{"StringEquals": merge(ownedResource, regionResource), "StringLike": nodeClassResource}),
		sid("AllowAPIServerEndpointDiscovery", policydoc.Allow([]string{"eks:DescribeCluster"}, s.clusterARN())),
		sid("AllowInterruptionQueueActions", policydoc.Allow(
			[]string{"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}, s.QueueARN)),
		conditioned(sid("AllowZonalShiftStatusReadOnly", policydoc.Allow([]string{"arc-zonal-shift:GetManagedResource"}, "*")),
			map[string]map[string]string{"StringEquals": {"arc-zonal-shift:ResourceIdentifier": s.clusterARN()}}),
		conditioned(sid("AllowRegionalReadActions", policydoc.Allow([]string{
			"ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
			"ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
			"ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
			"ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
		}, "*")), map[string]map[string]string{"StringEquals": {"aws:RequestedRegion": s.Region}}),
		sid("AllowSSMReadActions", policydoc.Allow([]string{"ssm:GetParameter"},
			fmt.Sprintf("arn:%s:ssm:%s::parameter/aws/service/*", s.Partition, s.Region))),
		sid("AllowPricingReadActions", policydoc.Allow([]string{"pricing:GetProducts"}, "*")),
		sid("AllowUnscopedInstanceProfileListAction", policydoc.Allow([]string{"iam:ListInstanceProfiles"}, "*")),
		sid("AllowInstanceProfileReadActions", policydoc.Allow([]string{"iam:GetInstanceProfile"}, s.instanceProfiles())),
	)
}

// QueuePolicy lets EventBridge (and SQS) send to the interruption queue
// and refuses any request to it without TLS, as upstream's
// KarpenterInterruptionQueuePolicy does.
func QueuePolicy(queueARN string) policydoc.Document {
	d := policydoc.New(
		policydoc.Statement{
			Effect:    "Allow",
			Principal: map[string]any{"Service": []string{"events.amazonaws.com", "sqs.amazonaws.com"}},
			Action:    []string{"sqs:SendMessage"},
			Resource:  []string{queueARN},
		},
		policydoc.Statement{
			Sid:       "DenyHTTP",
			Effect:    "Deny",
			Principal: map[string]any{"AWS": "*"},
			Action:    []string{"sqs:*"},
			Resource:  []string{queueARN},
			Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
		},
	)
	d.ID = "EC2InterruptionPolicy"
	return d
}

// InterruptionRule is one EventBridge rule that sends an event Karpenter
// acts on to the interruption queue.
type InterruptionRule struct {
	// Name is the rule's logical name (upstream's, without "Rule").
	Name string
	// Source and DetailType are the event pattern's only fields.
	Source, DetailType string
}

// InterruptionRules are upstream's five rules: a scheduled change (AWS
// Health), a spot interruption warning, a rebalance recommendation, an
// instance state change and a capacity reservation interruption. Karpenter
// cordons and drains the node before EC2 takes it.
var InterruptionRules = []InterruptionRule{
	{"ScheduledChange", "aws.health", "AWS Health Event"},
	{"SpotInterruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"},
	{"Rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"},
	{"InstanceStateChange", "aws.ec2", "EC2 Instance State-change Notification"},
	{"CapacityReservationInterruption", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"},
}

// EventPattern is the rule's pattern as EventBridge reads it.
func (r InterruptionRule) EventPattern() string {
	return fmt.Sprintf(`{"detail-type":[%q],"source":[%q]}`, r.DetailType, r.Source)
}

func sid(id string, s policydoc.Statement) policydoc.Statement {
	s.Sid = id
	return s
}

func conditioned(s policydoc.Statement, c map[string]map[string]string) policydoc.Statement {
	s.Condition = c
	return s
}

func withLists(s policydoc.Statement, c map[string]map[string][]string) policydoc.Statement {
	s.ConditionLists = c
	return s
}

// merge returns one map of every key of ms (later maps win).
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}
