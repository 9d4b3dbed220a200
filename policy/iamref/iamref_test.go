package iamref_test

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/policy/iamref"
)

var (
	refOnce sync.Once
	ref     *iamref.Reference
	refErr  error
)

// reference loads ../shared/reference/aws (or $PLATFORM_AWS_REFERENCE_DIR)
// once. Without it the test fails: it has no other source of truth.
func reference(t *testing.T) *iamref.Reference {
	t.Helper()
	refOnce.Do(func() { ref, refErr = iamref.Load(iamref.Dir("../..")) })
	require.NoError(t, refErr)
	return ref
}

func TestLoadFailsWithoutTheData(t *testing.T) {
	_, err := iamref.Load(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "iam-actions.tsv")
	assert.Contains(t, err.Error(), iamref.DirEnv)
}

func TestDirHonoursTheEnvironment(t *testing.T) {
	t.Setenv(iamref.DirEnv, "/elsewhere")
	assert.Equal(t, "/elsewhere", iamref.Dir(".."))
	require.NoError(t, os.Unsetenv(iamref.DirEnv))
	assert.Equal(t, "../shared/reference/aws", iamref.Dir("."), "beside the repository")
}

// Each rule, shown to fail on a known-bad document and to pass on the
// corrected one. The facts are the SAR's as recorded in the reference.
func TestCheckDocument(t *testing.T) {
	r := reference(t)
	const zone = "arn:aws:route53:::hostedzone/Z0EXAMPLE1"
	for _, tc := range []struct {
		name string
		kind iamref.Kind
		doc  string
		rule iamref.Rule
		want string // in the problem's message; "" means no problem
	}{
		{"good identity policy", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["route53:ChangeResourceRecordSets"],"Resource":["` + zone + `"],"Condition":{"ForAllValues:StringLike":{"route53:ChangeResourceRecordSetsNormalizedRecordNames":["dev.example.com","*.dev.example.com"]}}}]}`,
			"", ""},
		{"misspelt action", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"route53:ChangeResourceRecordSet","Resource":"` + zone + `"}]}`,
			iamref.RuleAction, "route53:ChangeResourceRecordSet: no such action in the Service Authorization Reference (did you mean route53:ChangeResourceRecordSets?)"},
		{"unknown service prefix", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"route54:ListHostedZones","Resource":"*"}]}`,
			iamref.RuleAction, `no service prefix "route54"`},
		{"wildcard that matches nothing", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Descibe*","Resource":"*"}]}`,
			iamref.RuleAction, "ec2:Descibe* matches no action of ec2"},
		{"wildcard that matches", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`,
			"", ""},
		{"star action is reported", iamref.Resource,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"}]}`,
			iamref.RuleStarAction, `Action "*" grants every action`},
		{"condition key the action does not support", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"route53:ListResourceRecordSets","Resource":"` + zone + `","Condition":{"ForAllValues:StringEquals":{"route53:ChangeResourceRecordSetsRecordTypes":"TXT"}}}]}`,
			iamref.RuleConditionKey, "route53:ListResourceRecordSets does not support it"},
		{"misspelt condition key", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"route53:ChangeResourceRecordSets","Resource":"` + zone + `","Condition":{"ForAllValues:StringEquals":{"route53:ChangeResourceRecordSetsNormalisedRecordNames":"x.example.com"}}}]}`,
			iamref.RuleConditionKey, "route53:ChangeResourceRecordSetsNormalisedRecordNames"},
		{"tag key placeholder matches a real tag key", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"elasticloadbalancing:AddTags","Resource":"arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/net/*/*","Condition":{"StringEquals":{"aws:RequestTag/elbv2.k8s.aws/cluster":"dev","elasticloadbalancing:CreateAction":"CreateLoadBalancer"}}}]}`,
			"", ""},
		{"global key on any action", iamref.Resource,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
			"", ""},
		{"ARN of another service", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:s3:::flow-logs/*"}]}`,
			iamref.RuleResource, `ARN service "s3", but logs:PutLogEvents acts on ARNs of logs`},
		{"action without resource-level permissions on an ARN", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:DescribeLogGroups","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vpc/x/flow-logs"}]}`,
			iamref.RuleResource, "only Resource \"*\" grants it"},
		{"not an ARN", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"bucket/*"}]}`,
			iamref.RuleResource, "is not an ARN"},
		{"identity policy with a principal", iamref.Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			iamref.RulePrincipal, "names no Principal"},
		{"trust policy without a principal", iamref.Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`,
			iamref.RulePrincipal, "needs a Principal"},
		{"trust policy granting something else", iamref.Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole","s3:GetObject"]}]}`,
			iamref.RuleAction, "s3:GetObject in a trust policy"},
		{"trust policy: EKS OIDC provider keys", iamref.Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub":"system:serviceaccount:kube-system:x","oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud":"sts.amazonaws.com"}}}]}`,
			"", ""},
		{"trust policy: another provider's keys", iamref.Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.eu-west-1.amazonaws.com/id/OTHER:sub":"system:serviceaccount:kube-system:x"}}}]}`,
			iamref.RuleConditionKey, "id/OTHER:sub"},
		{"trust policy: a provider key other than sub and aud", iamref.Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.eu-west-1.amazonaws.com/id/ABC:email":"x"}}}]}`,
			iamref.RuleConditionKey, "id/ABC:email"},
		{"trust policy: confused-deputy keys are global", iamref.Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"},"ArnLike":{"aws:SourceArn":"arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/*"}}}]}`,
			"", ""},
		{"missing version", iamref.Identity,
			`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			iamref.RuleDocument, `Version ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := r.CheckDocument(tc.kind, tc.doc)
			if tc.want == "" {
				assert.Empty(t, problems)
				return
			}
			require.Len(t, problems, 1, "%v", problems)
			assert.Equal(t, tc.rule, problems[0].Rule)
			assert.Contains(t, problems[0].Message, tc.want)
			assert.Equal(t, 0, problems[0].Statement+boolInt(tc.rule == iamref.RuleDocument), "%v", problems[0])
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestProblemNamesTheStatement(t *testing.T) {
	problems := reference(t).CheckDocument(iamref.Identity,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Sid":"Second","Effect":"Allow","Action":"s3:GetObjekt","Resource":"arn:aws:s3:::b/*"}]}`)
	require.Len(t, problems, 1)
	assert.True(t, strings.HasPrefix(problems[0].String(), "statement 1 (Sid Second): action: s3:GetObjekt"), problems[0].String())
}

// The managed policies of finding 1 (issue 19), as the reference README
// answers them: V2 lives at the root path, V1 under service-role/.
func TestCheckManagedPolicy(t *testing.T) {
	r := reference(t)
	for _, tc := range []struct {
		arn, want string
	}{
		{"arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2", ""},
		{"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy", ""},
		{"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", ""},
		{"arn:aws-us-gov:iam::aws:policy/AmazonEKSWorkerNodePolicy", ""},
		{"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2",
			"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2 does not exist (AttachRolePolicy answers NoSuchEntity): AWS publishes AmazonEBSCSIDriverPolicyV2 at arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2 (path /)"},
		{"arn:aws:iam::aws:policy/AmazonGuardDutyFullAccess", "is deprecated"},
		{"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicyV9", "no AWS managed policy is named AmazonEKSWorkerNodePolicyV9"},
		{"arn:aws:iam::111122223333:policy/mine", "is not an AWS managed policy ARN"},
	} {
		t.Run(tc.arn, func(t *testing.T) {
			err := r.CheckManagedPolicy(tc.arn)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
