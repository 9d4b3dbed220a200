package routing_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/policydoc"
	"github.com/cnplatform/platform/components/routing"
)

// The upstream reference policies, at the versions the charts pin. Only what
// the comparison needs: actions, resources, conditions (operator -> key ->
// values). Any difference from what our policies grant is either listed below
// as a deliberate narrowing, with its reason, or fails the test.

// upstreamLoadBalancerControllerTag is the controller release whose
// docs/install/iam_policy.json upstreamLoadBalancerController transcribes.
// Since v3 the chart version equals the controller version (charts.go), so
// the chart pin must name this release: TestLoadBalancerControllerTranscriptionIsForThePin.
const upstreamLoadBalancerControllerTag = "v3.5.0"

// unreadableLoadBalancerControllerPins are chart pins whose release no
// snapshot here holds, with the transcription that stands in for it and the
// evidence. An entry is a known gap, not a check: replace it with a
// transcription of the pinned tag as soon as the tag can be read.
var unreadableLoadBalancerControllerPins = map[string]struct{ standIn, evidence string }{
	"3.6.0": {"v3.5.0", "issue 19 finding 15 (checked 2026-12): the newest snapshot of kubernetes-sigs/aws-load-balancer-controller " +
		"(fetch; main at 225f44568848eb25f13e304a5f1cc68c0cd9415d, 2026-08-17) has no tag v3.6.0, its newest tag is v3.5.0, and " +
		"docs/install/iam_policy.json is unchanged from v3.5.0 to that main commit; ../shared/charts holds 3.5.0 as the newest " +
		"chart (SOURCES.md: 3.6.0 asked, 3.5.0 served)"},
}

// upstreamLoadBalancerController is docs/install/iam_policy.json of
// kubernetes-sigs/aws-load-balancer-controller, tag v3.5.0 (commit
// 11eb202c97e4ae2ee45e0658c4cde9a4b59f33d4; chart 3.5.0, see
// ../shared/charts/SOURCES.md), statement by statement. Re-read on
// 2026-12 (issue 19 finding 15): the file is the same at main
// 225f44568848eb25f13e304a5f1cc68c0cd9415d (2026-08-17), the newest commit
// any snapshot holds.
var upstreamLoadBalancerController = []upstreamStatement{
	{Actions: []string{"iam:CreateServiceLinkedRole"}, Resources: []string{"*"},
		Conditions: conds{"StringEquals": {"iam:AWSServiceName": {"elasticloadbalancing.amazonaws.com"}}}},
	{Actions: []string{
		"ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
		"ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
		"ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
		"ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
		"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
		"elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
		"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
		"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
		"elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
		"elasticloadbalancing:DescribeCapacityReservation",
	}, Resources: []string{"*"}},
	{Actions: []string{
		"cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
		"iam:ListServerCertificates", "iam:GetServerCertificate",
		"waf-regional:GetWebACL", "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL",
		"wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
		"shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection", "shield:DeleteProtection",
	}, Resources: []string{"*"}},
	{Actions: []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"}, Resources: []string{"*"}},
	{Actions: []string{"ec2:CreateSecurityGroup"}, Resources: []string{"*"}},
	{Actions: []string{"ec2:CreateTags"}, Resources: []string{"arn:aws:ec2:*:*:security-group/*"},
		Conditions: conds{
			"StringEquals": {"ec2:CreateAction": {"CreateSecurityGroup"}},
			"Null":         {"aws:RequestTag/elbv2.k8s.aws/cluster": {"false"}},
		}},
	{Actions: []string{"ec2:CreateTags", "ec2:DeleteTags"}, Resources: []string{"arn:aws:ec2:*:*:security-group/*"},
		Conditions: conds{"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": {"true"}, "aws:ResourceTag/elbv2.k8s.aws/cluster": {"false"}}}},
	{Actions: []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"}, Resources: []string{"*"},
		Conditions: conds{"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": {"false"}}}},
	{Actions: []string{"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"}, Resources: []string{"*"},
		Conditions: conds{"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": {"false"}}}},
	{Actions: []string{
		"elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
		"elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
	}, Resources: []string{"*"}},
	{Actions: []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"},
		Resources: []string{
			"arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
			"arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
			"arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
		},
		Conditions: conds{"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": {"true"}, "aws:ResourceTag/elbv2.k8s.aws/cluster": {"false"}}}},
	// The listener statement: the controller tags listeners (and ALB rules)
	// by default since the ListenerRulesTagging feature gate
	// (pkg/config/feature_gates.go: default true; pkg/deploy/elbv2/
	// listener_manager.go Create: req.Tags = trackingProvider.ResourceTags,
	// which include elbv2.k8s.aws/cluster, pkg/deploy/tracking/provider.go).
	{Actions: []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"},
		Resources: []string{
			"arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
			"arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
			"arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
			"arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
		}},
	{Actions: []string{
		"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
		"elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
		"elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
		"elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
		"elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
		"elasticloadbalancing:ModifyIpPools",
	}, Resources: []string{"*"}, Conditions: conds{"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": {"false"}}}},
	{Actions: []string{"elasticloadbalancing:AddTags"},
		Resources: []string{
			"arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
			"arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
			"arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
		},
		Conditions: conds{
			"StringEquals": {"elasticloadbalancing:CreateAction": {"CreateTargetGroup", "CreateLoadBalancer"}},
			"Null":         {"aws:RequestTag/elbv2.k8s.aws/cluster": {"false"}},
		}},
	{Actions: []string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"},
		Resources: []string{"arn:aws:elasticloadbalancing:*:*:targetgroup/*/*"}},
	{Actions: []string{
		"elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
		"elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
		"elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
	}, Resources: []string{"*"}},
}

const albOnly = "ALB-only: the platform's only load balancer is the proxies' NLB; the chart sets enableShield, enableWaf and enableWafv2 false"

// loadBalancerControllerNarrowings: what upstream grants and we do not.
// Resource "" drops the whole action; otherwise only that resource type.
var loadBalancerControllerNarrowings = []narrowing{
	{"cognito-idp:DescribeUserPoolClient", "", albOnly + " (Cognito authentication is an ALB listener action)"},
	{"acm:ListCertificates", "", "certificate discovery serves ALB Ingress hosts (and the off-by-default EnableCertificateManagement gate); the NLB gets the one ACM certificate by ARN"},
	{"iam:ListServerCertificates", "", "IAM server certificates are only discovered for ALB Ingress; the NLB uses ACM"},
	{"iam:GetServerCertificate", "", "IAM server certificates are only discovered for ALB Ingress; the NLB uses ACM"},
	{"waf-regional:GetWebACL", "", albOnly},
	{"waf-regional:GetWebACLForResource", "", albOnly},
	{"waf-regional:AssociateWebACL", "", albOnly},
	{"waf-regional:DisassociateWebACL", "", albOnly},
	{"wafv2:GetWebACL", "", albOnly},
	{"wafv2:GetWebACLForResource", "", albOnly},
	{"wafv2:AssociateWebACL", "", albOnly},
	{"wafv2:DisassociateWebACL", "", albOnly},
	{"shield:GetSubscriptionState", "", albOnly},
	{"shield:DescribeProtection", "", albOnly},
	{"shield:CreateProtection", "", albOnly},
	{"shield:DeleteProtection", "", albOnly},
	{"elasticloadbalancing:SetWebAcl", "", albOnly},
	{"elasticloadbalancing:CreateRule", "", "listener rules exist only on ALBs; an NLB listener has only its default action"},
	{"elasticloadbalancing:DeleteRule", "", "listener rules exist only on ALBs"},
	{"elasticloadbalancing:ModifyRule", "", "listener rules exist only on ALBs"},
	{"elasticloadbalancing:SetRulePriorities", "", "listener rules exist only on ALBs"},
	{"elasticloadbalancing:AddTags", "elasticloadbalancing:loadbalancer/app", albOnly},
	{"elasticloadbalancing:RemoveTags", "elasticloadbalancing:loadbalancer/app", albOnly},
	{"elasticloadbalancing:AddTags", "elasticloadbalancing:listener/app", albOnly},
	{"elasticloadbalancing:RemoveTags", "elasticloadbalancing:listener/app", albOnly},
	{"elasticloadbalancing:AddTags", "elasticloadbalancing:listener-rule/app", albOnly},
	{"elasticloadbalancing:RemoveTags", "elasticloadbalancing:listener-rule/app", albOnly},
	{"elasticloadbalancing:AddTags", "elasticloadbalancing:listener-rule/net", "NLB listeners have no rules to tag"},
	{"elasticloadbalancing:RemoveTags", "elasticloadbalancing:listener-rule/net", "NLB listeners have no rules to tag"},
}

// upstreamExternalDNS is the IAM policy in docs/tutorials/aws.md of
// kubernetes-sigs/external-dns, tag v0.21.0 (commit
// 066a11e2158f87689a01f0ff39493037da958171; chart 1.21.1).
var upstreamExternalDNS = []upstreamStatement{
	{Actions: []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources"},
		Resources: []string{"arn:aws:route53:::hostedzone/*"}},
	{Actions: []string{"route53:ListHostedZones"}, Resources: []string{"*"}},
}

var externalDNSNarrowings = []narrowing{
	{"route53:ListTagsForResources", "", "external-dns v0.21.0 calls it only to filter zones by --aws-zone-tags (provider/aws/aws.go, zones -> tagsForZone); we filter by --zone-id-filter"},
}

// upstreamCertManager is the IAM policy of the Route53 DNS-01 solver docs,
// cert-manager/website commit 776e5dba56510fc9de84206b806b568447077f25,
// content/docs/configuration/acme/dns01/route53.md (content/docs is the v1.21
// documentation: content/docs/variables.json says v1.21.1).
var upstreamCertManager = []upstreamStatement{
	{Actions: []string{"route53:GetChange"}, Resources: []string{"arn:aws:route53:::change/*"}},
	{Actions: []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"},
		Resources:  []string{"arn:aws:route53:::hostedzone/*"},
		Conditions: conds{"ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": {"TXT"}}}},
	{Actions: []string{"route53:ListHostedZonesByName"}, Resources: []string{"*"}},
}

var certManagerNarrowings = []narrowing{
	{"route53:ListHostedZonesByName", "", "the ClusterIssuer names the hostedZoneID, so the solver never looks the zone up (the upstream page says this statement can then be removed; pkg/issuer/acme/dns/route53/route53.go getHostedZoneID at v1.21.1)"},
	{"route53:ListResourceRecordSets", "", "cert-manager v1.21.1's Route53 solver (pkg/issuer/acme/dns/route53/route53.go, commit 24e33194fb39488eff2bbf10c6dc640f407cad44) only calls ChangeResourceRecordSets, GetChange and ListHostedZonesByName"},
}

func TestPoliciesMatchUpstreamReference(t *testing.T) {
	withACM := scope
	withACM.CertificateARN = certARN
	for _, tc := range []struct {
		name       string
		ours       policydoc.Document
		upstream   []upstreamStatement
		narrowings []narrowing
	}{
		{"load balancer controller (acm mode)", routing.LoadBalancerControllerPolicy(withACM), upstreamLoadBalancerController, loadBalancerControllerNarrowings},
		{"external-dns", routing.ExternalDNSPolicy(scope), upstreamExternalDNS, externalDNSNarrowings},
		{"cert-manager", routing.CertManagerPolicy(scope), upstreamCertManager, certManagerNarrowings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, problem := range compareWithUpstream(parsePolicy(t, tc.ours.JSON()), tc.upstream, tc.narrowings) {
				t.Error(problem)
			}
			// IAM quota: a role's inline policies total at most 10,240
			// characters, whitespace not counted.
			assert.LessOrEqual(t, len(strings.Join(strings.Fields(tc.ours.JSON()), "")), 10240)
		})
	}
	// Without acm mode the controller reads no certificate at all.
	problems := compareWithUpstream(parsePolicy(t, routing.LoadBalancerControllerPolicy(scope).JSON()), upstreamLoadBalancerController,
		append(loadBalancerControllerNarrowings[:len(loadBalancerControllerNarrowings):len(loadBalancerControllerNarrowings)],
			narrowing{"acm:DescribeCertificate", "", "no ACM certificate outside acm mode"}))
	assert.Empty(t, problems)
}

// The transcription is of the release the chart pin installs, so the two
// cannot drift apart again (issue 19 finding 15: the policy was compared
// with v3.5.0 while the pin was 3.6.0, and nothing said so).
func TestLoadBalancerControllerTranscriptionIsForThePin(t *testing.T) {
	pin := routing.LoadBalancerControllerChart.Version
	if gap, ok := unreadableLoadBalancerControllerPins[pin]; ok {
		require.NotEmpty(t, gap.evidence)
		assert.Equal(t, gap.standIn, upstreamLoadBalancerControllerTag, "chart %s: the stand-in transcription changed; update the gap entry", pin)
		assert.NotEqual(t, "v"+pin, upstreamLoadBalancerControllerTag, "chart %s is transcribed now: remove its gap entry", pin)
		t.Logf("KNOWN GAP: chart %s compared with %s: %s", pin, gap.standIn, gap.evidence)
		return
	}
	assert.Equal(t, "v"+pin, upstreamLoadBalancerControllerTag,
		"the chart pin (routing.LoadBalancerControllerChart) is %s but the upstream policy was transcribed from %s: read docs/install/iam_policy.json at tag v%s and update upstreamLoadBalancerController", pin, upstreamLoadBalancerControllerTag, pin)
	for stale := range unreadableLoadBalancerControllerPins {
		assert.Equal(t, pin, stale, "gap entry for chart %s is stale: the pin is %s", stale, pin)
	}
}

// The comparison has to catch what it is for: a policy missing one upstream
// grant, or granting one more, fails.
func TestUpstreamComparisonCatchesDifferences(t *testing.T) {
	ours := parsePolicy(t, routing.ExternalDNSPolicy(scope).JSON())
	require.Empty(t, compareWithUpstream(ours, upstreamExternalDNS, externalDNSNarrowings))

	missing := compareWithUpstream(ours, upstreamExternalDNS, nil)
	require.Len(t, missing, 1)
	assert.Contains(t, missing[0], "route53:ListTagsForResources")

	extra := append(append([]ourStatement{}, ours...), ourStatement{Actions: []string{"route53:DeleteHostedZone"}, Resources: []string{"arn:aws:route53:::hostedzone/Z0EXAMPLE1"}})
	assert.Equal(t, []string{"ours grants route53:DeleteHostedZone, which upstream does not"}, compareWithUpstream(extra, upstreamExternalDNS, externalDNSNarrowings))

	stale := append([]narrowing{{"route53:ListHostedZones", "", "stale"}}, externalDNSNarrowings...)
	problems := compareWithUpstream(ours, upstreamExternalDNS, stale)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "narrowing of route53:ListHostedZones  is stale")

	looser := parsePolicy(t, routing.CertManagerPolicy(scope).JSON())
	for i := range looser {
		looser[i].Conditions = nil
	}
	problems = compareWithUpstream(looser, upstreamCertManager, certManagerNarrowings)
	require.Len(t, problems, 1, "dropping upstream's TXT-only condition is looser than upstream")
	assert.Contains(t, problems[0], "route53:ChangeResourceRecordSets")
	assert.Contains(t, problems[0], "looser")

	onAnotherType := append(append([]ourStatement{}, ours...), ourStatement{Actions: []string{"route53:ListResourceRecordSets"}, Resources: []string{"*"}})
	problems = compareWithUpstream(onAnotherType, upstreamExternalDNS, externalDNSNarrowings)
	require.Len(t, problems, 1, "a grant on * where upstream names zones is broader")
	assert.Contains(t, problems[0], "which upstream does not")
}

// The calls the controller v3.5.0 makes for the proxies' NLB, with the
// request context AWS authorizes them with, must be allowed; the same calls on
// another cluster's resources must not.
func TestLoadBalancerControllerCallsAreAllowed(t *testing.T) {
	ours := parsePolicy(t, routing.LoadBalancerControllerPolicy(scope).JSON())
	arn := func(service, resource string) string {
		return "arn:aws:" + service + ":eu-west-1:111122223333:" + resource
	}
	lb := arn("elasticloadbalancing", "loadbalancer/net/k8s-envoygat-envoy-0123456789/50dc6c495c0c9188")
	tg := arn("elasticloadbalancing", "targetgroup/k8s-envoygat-envoy-0123456789/73e2d6bc24d8a067")
	listener := arn("elasticloadbalancing", "listener/net/k8s-envoygat-envoy-0123456789/50dc6c495c0c9188/f2f7dc8efc522ab2")
	sg := arn("ec2", "security-group/sg-0123456789abcdef0")
	vpc := arn("ec2", "vpc/vpc-0abc")
	// trackingProvider.ResourceTags (pkg/deploy/tracking/provider.go) plus
	// the chart's defaultTags.
	created := requestTags(map[string]string{
		"elbv2.k8s.aws/cluster":    "platform-dev",
		"service.k8s.aws/stack":    "envoy-gateway-system/envoy-gateway-platform",
		"service.k8s.aws/resource": "LoadBalancer",
		"environment":              "dev",
	})
	own := map[string][]string{"aws:ResourceTag/elbv2.k8s.aws/cluster": {"platform-dev"}}
	other := map[string][]string{"aws:ResourceTag/elbv2.k8s.aws/cluster": {"someone-else"}}
	with := func(base map[string][]string, kv ...string) map[string][]string {
		out := map[string][]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = []string{kv[i+1]}
		}
		return out
	}
	merge := func(a, b map[string][]string) map[string][]string {
		out := with(a)
		for k, v := range b {
			out[k] = v
		}
		return out
	}
	allowed := []request{
		{"ec2:CreateSecurityGroup", vpc, created},
		{"ec2:CreateSecurityGroup", sg, created},
		{"ec2:CreateTags", sg, with(created, "ec2:CreateAction", "CreateSecurityGroup")},
		{"ec2:AuthorizeSecurityGroupIngress", arn("ec2", "security-group/sg-0node"), map[string][]string{"ec2:Vpc": {vpc}}},
		{"elasticloadbalancing:CreateLoadBalancer", lb, created},
		{"elasticloadbalancing:AddTags", lb, with(created, "elasticloadbalancing:CreateAction", "CreateLoadBalancer")},
		{"elasticloadbalancing:CreateTargetGroup", tg, created},
		{"elasticloadbalancing:AddTags", tg, with(created, "elasticloadbalancing:CreateAction", "CreateTargetGroup")},
		{"elasticloadbalancing:CreateListener", lb, merge(created, own)},
		// Issue 10 item 4: the listener is created with the cluster's tags.
		{"elasticloadbalancing:AddTags", listener, with(created, "elasticloadbalancing:CreateAction", "CreateListener")},
		{"elasticloadbalancing:ModifyListenerAttributes", listener, own},
		{"elasticloadbalancing:AddTags", listener, merge(own, requestTags(map[string]string{"environment": "dev2"}))},
		{"elasticloadbalancing:RemoveTags", listener, with(own, "aws:TagKeys", "environment")},
		{"elasticloadbalancing:ModifyLoadBalancerAttributes", lb, own},
		{"elasticloadbalancing:RegisterTargets", tg, own},
		{"elasticloadbalancing:DeleteListener", listener, own},
		{"elasticloadbalancing:DeleteLoadBalancer", lb, own},
	}
	for _, r := range allowed {
		assert.True(t, allows(t, ours, r), "must be allowed: %s on %s with %v", r.action, r.resource, r.context)
	}
	denied := []request{
		{"elasticloadbalancing:AddTags", listener, merge(other, requestTags(map[string]string{"environment": "dev2"}))},
		{"elasticloadbalancing:AddTags", listener, with(requestTags(map[string]string{"elbv2.k8s.aws/cluster": "someone-else"}), "elasticloadbalancing:CreateAction", "CreateListener")},
		{"elasticloadbalancing:AddTags", lb, merge(own, requestTags(map[string]string{"elbv2.k8s.aws/cluster": "someone-else"}))},
		{"elasticloadbalancing:DeleteLoadBalancer", lb, other},
		{"elasticloadbalancing:ModifyListenerAttributes", listener, other},
		{"ec2:CreateTags", sg, merge(own, requestTags(map[string]string{"elbv2.k8s.aws/cluster": "someone-else"}))},
		{"ec2:AuthorizeSecurityGroupIngress", arn("ec2", "security-group/sg-0node"), map[string][]string{"ec2:Vpc": {arn("ec2", "vpc/vpc-other")}}},
		{"elasticloadbalancing:CreateLoadBalancer", lb, requestTags(map[string]string{"elbv2.k8s.aws/cluster": "someone-else"})},
	}
	for _, r := range denied {
		assert.False(t, allows(t, ours, r), "must be denied: %s on %s with %v", r.action, r.resource, r.context)
	}
}

func TestCertManagerWritesOnlyTheChallengeRecord(t *testing.T) {
	ours := parsePolicy(t, routing.CertManagerPolicy(scope).JSON())
	zone := "arn:aws:route53:::hostedzone/Z0EXAMPLE1"
	change := func(name, typ string) request {
		return request{"route53:ChangeResourceRecordSets", zone, map[string][]string{
			"route53:ChangeResourceRecordSetsNormalizedRecordNames": {name},
			"route53:ChangeResourceRecordSetsRecordTypes":           {typ},
			"route53:ChangeResourceRecordSetsActions":               {"UPSERT"},
		}}
	}
	assert.True(t, allows(t, ours, change("_acme-challenge.dev.example.com", "TXT")))
	assert.True(t, allows(t, ours, request{"route53:GetChange", "arn:aws:route53:::change/C2682N5HXP0BZ4", nil}))
	assert.False(t, allows(t, ours, change("_acme-challenge.dev.example.com", "A")))
	assert.False(t, allows(t, ours, change("www.dev.example.com", "TXT")))
	assert.False(t, allows(t, ours, request{"route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHER", map[string][]string{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": {"_acme-challenge.dev.example.com"},
		"route53:ChangeResourceRecordSetsRecordTypes":           {"TXT"},
	}}))
}

// Issue 19 finding 8: the environments share one hosted zone, so
// external-dns of one environment may change only its own names: the
// domain, the names under it, and the TXT registry records external-dns
// v0.21.0 writes beside each (registry/mapper/mapper.go ToTXTName: without
// --txt-prefix/--txt-suffix the record type and "-" go before the first
// label, for the default --managed-record-types A, AAAA and CNAME:
// a-dev.example.com for dev.example.com, a-app.dev.example.com for
// app.dev.example.com). The names are the stack files' domains.
func TestExternalDNSChangesOnlyItsEnvironmentsNames(t *testing.T) {
	ours := parsePolicy(t, routing.ExternalDNSPolicy(scope).JSON())
	zone := "arn:aws:route53:::hostedzone/Z0EXAMPLE1"
	change := func(typ string, names ...string) request {
		return request{"route53:ChangeResourceRecordSets", zone, map[string][]string{
			"route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
			"route53:ChangeResourceRecordSetsRecordTypes":           {typ},
			"route53:ChangeResourceRecordSetsActions":               {"UPSERT"},
		}}
	}
	for _, r := range []request{
		change("A", "dev.example.com"),
		change("TXT", "a-dev.example.com"),
		change("TXT", "cname-dev.example.com"),
		change("A", "app.dev.example.com"),
		change("AAAA", "app.dev.example.com"),
		change("TXT", "a-app.dev.example.com", "aaaa-app.dev.example.com"),
		change("CNAME", "grafana.dev.example.com"),
		// Route53 normalizes * to \052 (Route 53 Developer Guide, "Using
		// IAM policy conditions for fine-grained access control").
		change("A", `\052.dev.example.com`),
	} {
		assert.True(t, allows(t, ours, r), "dev must manage %v (%v)", r.context["route53:ChangeResourceRecordSetsNormalizedRecordNames"], r.context["route53:ChangeResourceRecordSetsRecordTypes"])
	}
	// prod's domain (Pulumi.prod.yaml platform:domain), staging's, the
	// zone apex, and names that only look like dev's.
	for _, r := range []request{
		change("A", "platform.example.com"),
		change("A", "app.platform.example.com"),
		change("TXT", "a-platform.example.com"),
		change("TXT", "a-app.platform.example.com"),
		change("A", "staging.example.com"),
		change("A", "example.com"),
		change("A", "evil-dev.example.com"),
		change("A", "dev.example.com.attacker.net"),
		change("A", "app.dev.example.com", "platform.example.com"),
		change("MX", "dev.example.com"),
		change("NS", "app.dev.example.com"),
	} {
		assert.False(t, allows(t, ours, r), "dev must not change %v (%v)", r.context["route53:ChangeResourceRecordSetsNormalizedRecordNames"], r.context["route53:ChangeResourceRecordSetsRecordTypes"])
	}
	assert.True(t, allows(t, ours, request{"route53:ListResourceRecordSets", zone, nil}), "listing the zone stays allowed: external-dns reads its registry")
}

// docs/routing.md lists every deliberate narrowing.
func TestNarrowingsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/routing.md")
	require.NoError(t, err)
	all := append(append(append([]narrowing{}, loadBalancerControllerNarrowings...), externalDNSNarrowings...), certManagerNarrowings...)
	require.NotEmpty(t, all)
	for _, n := range all {
		name := n.Action[strings.Index(n.Action, ":")+1:]
		assert.Contains(t, string(doc), name, "docs/routing.md does not name the narrowing of %s", n.Action)
	}
}

// --- comparison ---

type conds map[string]map[string][]string

type upstreamStatement struct {
	Actions    []string
	Resources  []string
	Conditions conds
}

type ourStatement = upstreamStatement

type narrowing struct {
	Action string
	// Resource is a resource type (see resourceType); "" means the action.
	Resource string
	Reason   string
}

// parsePolicy reads a generated policy document as AWS would: Action,
// Resource and condition values may be a string or a list.
func parsePolicy(t *testing.T, doc string) []ourStatement {
	t.Helper()
	var raw struct {
		Statement []struct {
			Effect    string
			Action    any
			NotAction any
			Resource  any
			Condition map[string]map[string]any
		}
	}
	require.NoError(t, json.Unmarshal([]byte(doc), &raw))
	var out []ourStatement
	for _, s := range raw.Statement {
		require.Equal(t, "Allow", s.Effect, "the comparison knows only Allow statements")
		require.Nil(t, s.NotAction, "the comparison knows no NotAction")
		st := ourStatement{Actions: stringList(s.Action), Resources: stringList(s.Resource), Conditions: conds{}}
		for op, m := range s.Condition {
			st.Conditions[op] = map[string][]string{}
			for k, v := range m {
				st.Conditions[op][k] = stringList(v)
			}
		}
		out = append(out, st)
	}
	return out
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// resourceType names what an ARN grants on: "service:type", with the load
// balancer kind for ELB (loadbalancer/net, listener/app, ...); "*" for "*".
func resourceType(arn string) string {
	if arn == "*" {
		return "*"
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "unparsable:" + arn
	}
	segments := strings.Split(parts[5], "/")
	typ := segments[0]
	if parts[2] == "elasticloadbalancing" && len(segments) > 1 && (segments[1] == "net" || segments[1] == "app" || segments[1] == "gwy") {
		typ += "/" + segments[1]
	}
	return parts[2] + ":" + typ
}

type grant struct {
	resourceType string
	conditions   conds
}

func grants(statements []upstreamStatement) map[string][]grant {
	out := map[string][]grant{}
	for _, s := range statements {
		for _, a := range s.Actions {
			for _, r := range s.Resources {
				out[a] = append(out[a], grant{resourceType(r), s.Conditions})
			}
		}
	}
	return out
}

// compareWithUpstream returns every difference that is not a listed
// narrowing: upstream grants we lack, grants beyond upstream (an action, or a
// resource type upstream does not name), conditions looser than every
// upstream statement granting the same, and stale narrowings.
func compareWithUpstream(ours []ourStatement, upstream []upstreamStatement, narrowings []narrowing) []string {
	var problems []string
	up, our := grants(upstream), grants(ours)
	narrowed := map[narrowing]bool{}
	for _, n := range narrowings {
		if n.Reason == "" {
			problems = append(problems, fmt.Sprintf("narrowing of %s %s has no reason", n.Action, n.Resource))
		}
		narrowed[narrowing{Action: n.Action, Resource: n.Resource}] = false
	}
	use := func(action, typ string) bool {
		k := narrowing{Action: action, Resource: typ}
		if _, ok := narrowed[k]; ok {
			narrowed[k] = true
			return true
		}
		return false
	}
	for _, action := range sortedKeys(up) {
		if _, ok := our[action]; !ok {
			if !use(action, "") {
				problems = append(problems, fmt.Sprintf("upstream grants %s; ours does not: grant it or list it as a deliberate narrowing with its reason", action))
			}
			continue
		}
		for _, u := range up[action] {
			if u.resourceType == "*" {
				continue // any resource we name is narrower
			}
			covered := false
			for _, o := range our[action] {
				covered = covered || o.resourceType == u.resourceType
			}
			if !covered && !use(action, u.resourceType) {
				problems = append(problems, fmt.Sprintf("upstream grants %s on %s; ours does not: grant it or list it as a deliberate narrowing with its reason", action, u.resourceType))
			}
		}
	}
	for _, s := range ours {
		for _, action := range s.Actions {
			ups, ok := up[action]
			if !ok {
				problems = append(problems, fmt.Sprintf("ours grants %s, which upstream does not", action))
				continue
			}
			for _, r := range s.Resources {
				typ := resourceType(r)
				var covering []grant
				for _, u := range ups {
					if u.resourceType == "*" || u.resourceType == typ {
						covering = append(covering, u)
					}
				}
				if len(covering) == 0 {
					problems = append(problems, fmt.Sprintf("ours grants %s on %s (%s), which upstream does not", action, r, typ))
					continue
				}
				if !asStrictAsOne(s.Conditions, covering) {
					problems = append(problems, fmt.Sprintf("ours grants %s on %s with conditions %v, looser than every upstream statement granting it (%v)", action, r, s.Conditions, covering))
				}
			}
		}
	}
	for _, n := range narrowings {
		if !narrowed[narrowing{Action: n.Action, Resource: n.Resource}] {
			problems = append(problems, fmt.Sprintf("narrowing of %s %s is stale: ours grants it or upstream does not", n.Action, n.Resource))
		}
	}
	return problems
}

// asStrictAsOne: our conditions imply those of at least one upstream
// statement granting the same action on the same resource type.
func asStrictAsOne(ours conds, covering []grant) bool {
	for _, u := range covering {
		if implies(ours, u.conditions) {
			return true
		}
	}
	return false
}

// implies reports whether every upstream condition is met by ours, key by
// key: a value test on a key implies it is not null; equality to a subset of
// the allowed values implies equality to the set.
func implies(ours, upstream conds) bool {
	for op, keys := range upstream {
		for key, values := range keys {
			if !impliesOne(ours, op, key, values) {
				return false
			}
		}
	}
	return true
}

func impliesOne(ours conds, op, key string, values []string) bool {
	subset := func(ourOp string) bool {
		v, ok := ours[ourOp][key]
		if !ok {
			return false
		}
		for _, x := range v {
			if !contains(values, x) {
				return false
			}
		}
		return true
	}
	switch {
	case op == "Null" && len(values) == 1 && values[0] == "false":
		for _, present := range []string{"StringEquals", "StringLike", "ArnEquals", "ArnLike"} {
			if _, ok := ours[present][key]; ok {
				return true
			}
		}
		return subset("Null")
	case op == "Null":
		return subset("Null")
	case op == "StringEquals", op == "ForAllValues:StringEquals":
		return subset(op)
	}
	return false // an operator this comparison does not know: fail loudly
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// --- evaluation of one request against Allow statements ---

type request struct {
	action, resource string
	context          map[string][]string
}

func requestTags(tags map[string]string) map[string][]string {
	out := map[string][]string{}
	var keys []string
	for k, v := range tags {
		out["aws:RequestTag/"+k] = []string{v}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out["aws:TagKeys"] = keys
	return out
}

func allows(t *testing.T, statements []ourStatement, r request) bool {
	t.Helper()
	for _, s := range statements {
		if !matchesAny(s.Actions, r.action) || !matchesAny(s.Resources, r.resource) {
			continue
		}
		if conditionsHold(t, s.Conditions, r.context) {
			return true
		}
	}
	return false
}

func matchesAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p).MatchString(s) {
			return true
		}
	}
	return false
}

func glob(p string) *regexp.Regexp {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	return regexp.MustCompile("^" + q + "$")
}

func conditionsHold(t *testing.T, c conds, ctx map[string][]string) bool {
	t.Helper()
	for op, keys := range c {
		for key, want := range keys {
			got, present := ctx[key]
			var ok bool
			switch op {
			case "Null":
				ok = (want[0] == "true") == !present
			case "StringEquals":
				ok = present && anyMatch(got, want, func(w, g string) bool { return w == g })
			case "StringLike", "ArnEquals", "ArnLike":
				ok = present && anyMatch(got, want, func(w, g string) bool { return glob(w).MatchString(g) })
			case "ForAnyValue:StringEquals":
				ok = present && anyMatch(got, want, func(w, g string) bool { return w == g })
			case "ForAllValues:StringEquals":
				ok = true
				for _, g := range got {
					ok = ok && contains(want, g)
				}
			case "ForAllValues:StringLike":
				ok = true
				for _, g := range got {
					ok = ok && anyMatch([]string{g}, want, func(w, g string) bool { return glob(w).MatchString(g) })
				}
			default:
				t.Fatalf("condition operator %s is not modelled here", op)
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

func anyMatch(got, want []string, eq func(w, g string) bool) bool {
	for _, g := range got {
		for _, w := range want {
			if eq(w, g) {
				return true
			}
		}
	}
	return false
}
