package routing

import (
	"fmt"
	"strings"

	"github.com/cnplatform/platform/components/policydoc"
)

// Scope names the AWS resources the controllers may touch. Every ARN the
// policies below grant is built from it, so nothing is granted on another
// account, region, VPC, cluster or hosted zone.
type Scope struct {
	// Partition, usually "aws".
	Partition string
	Region    string
	AccountID string
	// ClusterName is the value of the elbv2.k8s.aws/cluster tag the load
	// balancer controller puts on everything it creates.
	ClusterName string
	VpcID       string
	// HostedZoneID is the one Route53 zone DNS records are written to.
	HostedZoneID string
	// Domain is the environment's domain: external-dns writes it and the
	// names under it, cert-manager its DNS-01 record
	// (ChallengeRecordName). Environments share the zone, so no policy
	// grants a name outside it.
	Domain string
	// CertificateARN is the ACM certificate the NLB serves in acm mode.
	CertificateARN string
}

func (s Scope) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", s.Partition, service, s.Region, s.AccountID, resource)
}

// HostedZoneARN is the one Route53 zone's ARN (Route53 ARNs have no region or
// account).
func (s Scope) HostedZoneARN() string {
	return fmt.Sprintf("arn:%s:route53:::hostedzone/%s", s.Partition, s.HostedZoneID)
}

const clusterTag = "elbv2.k8s.aws/cluster"

// LoadBalancerControllerPolicy is the AWS Load Balancer Controller's
// published IAM policy (docs/install/iam_policy.json of
// kubernetes-sigs/aws-load-balancer-controller v3.5.0, unchanged up to main
// of 2026-08-17; the chart pins 3.6.0, whose tag no snapshot here holds:
// policies_upstream_test.go names that gap and fails when the pin moves
// again), narrowed:
//   - only Network Load Balancers: the ALB-only actions (WAF, WAFv2, Shield,
//     Cognito, IAM server certificates, listener rules) are dropped and the
//     chart turns those features off;
//   - writes are limited to this region and account, to load balancers,
//     target groups, listeners and security groups tagged for this cluster
//     (the upstream policy only requires the tag to exist), and to security
//     groups of this VPC;
//   - ACM reads only the configured certificate.
//
// policies_upstream_test.go compares it with the upstream policy action by
// action and lists each narrowing with its reason.
//
// Exemption (S11): the Describe*/Get* actions of the first statement cannot
// be scoped by resource (EC2 and ELBv2 support no resource-level permissions
// for them), so they have Resource "*". They only read.
func LoadBalancerControllerPolicy(s Scope) policydoc.Document {
	sg := s.arn("ec2", "security-group/*")
	vpc := s.arn("ec2", "vpc/"+s.VpcID)
	nlb := s.arn("elasticloadbalancing", "loadbalancer/net/*/*")
	tg := s.arn("elasticloadbalancing", "targetgroup/*/*")
	listener := s.arn("elasticloadbalancing", "listener/net/*/*/*")
	ownCluster := map[string]map[string]string{"StringEquals": {"aws:ResourceTag/" + clusterTag: s.ClusterName}}
	// Retagging its own resources may not move them to another cluster: the
	// request may not carry the cluster tag (as upstream).
	retagOwn := map[string]map[string]string{
		"StringEquals": {"aws:ResourceTag/" + clusterTag: s.ClusterName},
		"Null":         {"aws:RequestTag/" + clusterTag: "true"},
	}
	// tagOnCreate allows the tags of a create call (tag-on-create is
	// authorized as AddTags/CreateTags with the create action in the
	// context) when they name this cluster.
	tagOnCreate := func(actionKey, action string) map[string]map[string]string {
		return map[string]map[string]string{"StringEquals": {"aws:RequestTag/" + clusterTag: s.ClusterName, actionKey: action}}
	}
	statements := []policydoc.Statement{
		{
			Sid:    "ReadOnlyDescribeNotScopableByResource",
			Effect: "Allow",
			Action: []string{
				"ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
				"ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
				"ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
				"ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:DescribeRouteTables",
				"ec2:DescribeIpamPools", "ec2:DescribeCoipPools", "ec2:GetCoipPoolUsage",
				"ec2:GetSecurityGroupsForVpc",
				"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
				"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
				"elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeSSLPolicies",
				"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
				"elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
				"elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTrustStores",
				"elasticloadbalancing:DescribeCapacityReservation",
			},
			Resource: []string{"*"},
		},
		{
			Sid:       "ServiceLinkedRoleForELB",
			Effect:    "Allow",
			Action:    []string{"iam:CreateServiceLinkedRole"},
			Resource:  []string{fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing", s.Partition, s.AccountID)},
			Condition: map[string]map[string]string{"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
		},
		{
			Sid:      "CreateSecurityGroupsInThisVPC",
			Effect:   "Allow",
			Action:   []string{"ec2:CreateSecurityGroup"},
			Resource: []string{vpc},
		},
		{
			Sid:       "CreateClusterTaggedSecurityGroups",
			Effect:    "Allow",
			Action:    []string{"ec2:CreateSecurityGroup"},
			Resource:  []string{sg},
			Condition: map[string]map[string]string{"StringEquals": {"aws:RequestTag/" + clusterTag: s.ClusterName}},
		},
		{
			Sid:       "TagSecurityGroupsOnCreate",
			Effect:    "Allow",
			Action:    []string{"ec2:CreateTags"},
			Resource:  []string{sg},
			Condition: tagOnCreate("ec2:CreateAction", "CreateSecurityGroup"),
		},
		{
			Sid:       "RetagOwnSecurityGroups",
			Effect:    "Allow",
			Action:    []string{"ec2:CreateTags", "ec2:DeleteTags"},
			Resource:  []string{sg},
			Condition: retagOwn,
		},
		{
			// The controller opens the node and pod security groups (not
			// tagged by it) to the NLB: only in this VPC.
			Sid:       "SecurityGroupRulesInThisVPC",
			Effect:    "Allow",
			Action:    []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"},
			Resource:  []string{sg},
			Condition: map[string]map[string]string{"ArnEquals": {"ec2:Vpc": vpc}},
		},
		{
			Sid:       "DeleteOwnSecurityGroups",
			Effect:    "Allow",
			Action:    []string{"ec2:DeleteSecurityGroup"},
			Resource:  []string{sg},
			Condition: ownCluster,
		},
		{
			Sid:       "CreateClusterTaggedLoadBalancers",
			Effect:    "Allow",
			Action:    []string{"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"},
			Resource:  []string{nlb, tg},
			Condition: map[string]map[string]string{"StringEquals": {"aws:RequestTag/" + clusterTag: s.ClusterName}},
		},
		{
			Sid:       "TagLoadBalancersOnCreate",
			Effect:    "Allow",
			Action:    []string{"elasticloadbalancing:AddTags"},
			Resource:  []string{nlb},
			Condition: tagOnCreate("elasticloadbalancing:CreateAction", "CreateLoadBalancer"),
		},
		{
			Sid:       "TagTargetGroupsOnCreate",
			Effect:    "Allow",
			Action:    []string{"elasticloadbalancing:AddTags"},
			Resource:  []string{tg},
			Condition: tagOnCreate("elasticloadbalancing:CreateAction", "CreateTargetGroup"),
		},
		{
			// The controller creates listeners with its tracking tags,
			// cluster tag included (feature gate ListenerRulesTagging, on
			// by default in v3.5.0: pkg/config/feature_gates.go,
			// pkg/deploy/elbv2/listener_manager.go), so CreateListener
			// also needs AddTags on the new listener.
			Sid:       "TagListenersOnCreate",
			Effect:    "Allow",
			Action:    []string{"elasticloadbalancing:AddTags"},
			Resource:  []string{listener},
			Condition: tagOnCreate("elasticloadbalancing:CreateAction", "CreateListener"),
		},
		{
			Sid:       "RetagOwnLoadBalancers",
			Effect:    "Allow",
			Action:    []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"},
			Resource:  []string{nlb, tg, listener},
			Condition: retagOwn,
		},
		{
			Sid:    "ManageOwnLoadBalancers",
			Effect: "Allow",
			Action: []string{
				"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
				"elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
				"elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
				"elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
				"elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools",
			},
			Resource:  []string{nlb, tg},
			Condition: ownCluster,
		},
		{
			Sid:       "RegisterPodsInOwnTargetGroups",
			Effect:    "Allow",
			Action:    []string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"},
			Resource:  []string{tg},
			Condition: ownCluster,
		},
		{
			// As upstream, listener calls need no tag (a listener of a
			// load balancer created by an older controller may have none);
			// they are limited to network load balancers of this region
			// and account.
			Sid:    "ManageNLBListeners",
			Effect: "Allow",
			Action: []string{
				"elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
				"elasticloadbalancing:ModifyListener",
				"elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
			},
			Resource: []string{nlb, listener},
		},
		{
			Sid:       "ModifyOwnListenerAttributes",
			Effect:    "Allow",
			Action:    []string{"elasticloadbalancing:ModifyListenerAttributes"},
			Resource:  []string{listener},
			Condition: ownCluster,
		},
	}
	if s.CertificateARN != "" {
		statements = append(statements, policydoc.Statement{
			Sid:      "ReadTheListenerCertificate",
			Effect:   "Allow",
			Action:   []string{"acm:DescribeCertificate"},
			Resource: []string{s.CertificateARN},
		})
	}
	return policydoc.New(statements...)
}

// ExternalDNSRecordTypes are the record types external-dns manages: its
// default --managed-record-types (A, AAAA, CNAME; v0.21.0
// pkg/apis/externaldns/types.go) and the TXT records of its registry.
var ExternalDNSRecordTypes = []string{"A", "AAAA", "CNAME", "TXT"}

// ExternalDNSRecordNames are the names external-dns of the environment with
// this domain writes, as IAM StringLike patterns: the domain, every name
// under it, and the TXT registry records beside the domain itself. Without
// --txt-prefix or --txt-suffix (values.go sets neither) external-dns
// v0.21.0 names the registry record of <first label>.<rest> as
// <type>-<first label>.<rest> (registry/mapper/mapper.go ToTXTName), so a
// name under the domain keeps its TXT record under it, and the domain's
// own record gets a-<domain>, aaaa-<domain> and cname-<domain>, listed
// one by one so no other name beside the domain matches.
func ExternalDNSRecordNames(domain string) []string {
	names := []string{domain, "*." + domain}
	first, rest, _ := strings.Cut(domain, ".")
	for _, t := range ExternalDNSRecordTypes[:3] {
		names = append(names, strings.ToLower(t)+"-"+first+"."+rest)
	}
	return names
}

// onlyRecords limits route53:ChangeResourceRecordSets to records whose
// names match names (StringLike patterns) and whose types are types. Route53
// evaluates both keys over every change of the batch (ForAllValues), on
// names in lower case without the trailing dot and with * as \052
// (Route 53 Developer Guide, "Using IAM policy conditions for fine-grained
// access control"), so one change outside them denies the whole batch.
func onlyRecords(names, types []string) map[string]map[string][]string {
	return map[string]map[string][]string{
		"ForAllValues:StringLike":   {"route53:ChangeResourceRecordSetsNormalizedRecordNames": names},
		"ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": types},
	}
}

// ExternalDNSPolicy lets external-dns manage its environment's records in
// the one hosted zone: the policy of external-dns v0.21.0's
// docs/tutorials/aws.md on one zone, without route53:ListTagsForResources
// (only used to filter zones by tag; we filter by zone id), and changes
// limited to the environment's names (ExternalDNSRecordNames): the
// environments share the zone, and external-dns of dev must not change
// prod's records.
//
// Exemption (S11): route53:ListHostedZones has no resource-level permission,
// so it has Resource "*"; it only lists (external-dns then filters to the
// zone id it is given). Changes are allowed on the one zone ARN only, never
// hostedzone/*.
func ExternalDNSPolicy(s Scope) policydoc.Document {
	return policydoc.New(
		policydoc.Statement{
			Sid:            "ChangeTheEnvironmentsRecordsInTheOneZone",
			Effect:         "Allow",
			Action:         []string{"route53:ChangeResourceRecordSets"},
			Resource:       []string{s.HostedZoneARN()},
			ConditionLists: onlyRecords(ExternalDNSRecordNames(s.Domain), ExternalDNSRecordTypes),
		},
		policydoc.Statement{
			Sid:      "ReadRecordsInTheOneZone",
			Effect:   "Allow",
			Action:   []string{"route53:ListResourceRecordSets"},
			Resource: []string{s.HostedZoneARN()},
		},
		policydoc.Statement{
			Sid:      "ListZonesNotScopableByResource",
			Effect:   "Allow",
			Action:   []string{"route53:ListHostedZones"},
			Resource: []string{"*"},
		},
	)
}

// CertManagerPolicy lets cert-manager answer DNS-01 challenges: TXT records
// named _acme-challenge.<domain> in the one hosted zone, and reading the
// status of its own changes. No * resource: the zone id is given to the
// issuer, so it never lists zones. The Route53 solver of v1.21.1 calls
// nothing else (no ListResourceRecordSets, which the upstream docs grant).
func CertManagerPolicy(s Scope) policydoc.Document {
	return policydoc.New(
		policydoc.Statement{
			Sid:      "ReadChangeStatus",
			Effect:   "Allow",
			Action:   []string{"route53:GetChange"},
			Resource: []string{fmt.Sprintf("arn:%s:route53:::change/*", s.Partition)},
		},
		policydoc.Statement{
			Sid:            "WriteOnlyTheChallengeRecord",
			Effect:         "Allow",
			Action:         []string{"route53:ChangeResourceRecordSets"},
			Resource:       []string{s.HostedZoneARN()},
			ConditionLists: onlyRecords([]string{ChallengeRecordName(s.Domain)}, []string{"TXT"}),
		},
	)
}
