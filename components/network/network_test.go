package network_test

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/harness"
)

func args() *network.Args {
	return &network.Args{
		ClusterName:        "c",
		AvailabilityZones:  []string{"eu-west-1a", "eu-west-1b"},
		VpcCIDR:            "10.0.0.0/16",
		PrivateSubnetCIDRs: []string{"10.0.0.0/19", "10.0.32.0/19"},
		PublicSubnetCIDRs:  []string{"10.0.224.0/22", "10.0.228.0/22"},
	}
}

func TestDefaultsToANATGatewayPerAZ(t *testing.T) {
	var n *network.Network
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		var err error
		n, err = network.NewNetwork(ctx, "net", args())
		return err
	})
	require.NoError(t, err)
	assert.Len(t, res.OfType("aws:ec2/natGateway:NatGateway"), 2)
	assert.Len(t, n.PrivateSubnets, 2)
	assert.Equal(t, "eu-west-1b", n.PrivateSubnets[1].Zone)
	groups := res.OfType("aws:cloudwatch/logGroup:LogGroup")
	require.Len(t, groups, 1)
	assert.Equal(t, float64(90), groups[0].Number("retentionInDays"), "documented default")
}

func TestRejectsBadArgsBeforeRegistering(t *testing.T) {
	cases := map[string]func(a *network.Args){
		"one AZ":          func(a *network.Args) { a.AvailabilityZones = a.AvailabilityZones[:1] },
		"missing CIDRs":   func(a *network.Args) { a.PublicSubnetCIDRs = nil },
		"unknown NAT":     func(a *network.Args) { a.NatGateways = "none" },
		"no cluster name": func(a *network.Args) { a.ClusterName = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			a := args()
			mutate(a)
			res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
				_, err := network.NewNetwork(ctx, "net", a)
				return err
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), `platform:network:Network "net": `)
			assert.Empty(t, res.Resources)
		})
	}
}

func TestReportsEveryProblemAtOnce(t *testing.T) {
	a := args()
	a.AvailabilityZones = a.AvailabilityZones[:1]
	a.NatGateways = "none"
	a.ClusterName = ""
	_, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := network.NewNetwork(ctx, "net", a)
		return err
	})
	require.Error(t, err)
	for _, want := range []string{"ClusterName is required", "at least 2 are required, got 1", `NatGateways "none"`} {
		assert.Contains(t, err.Error(), want)
	}
}

// Issue 19 finding 10. The flow-log role has what AWS lists as the minimum
// for publishing to CloudWatch Logs (Amazon VPC User Guide, "IAM role for
// publishing flow logs to CloudWatch Logs": logs:CreateLogGroup,
// CreateLogStream, PutLogEvents, DescribeLogGroups, DescribeLogStreams;
// CreateLogGroup is left out because the program creates the group), and
// its trust policy names the account and the flow logs of that account and
// region (the same guide's confused-deputy example: aws:SourceAccount and
// aws:SourceArn arn:aws:ec2:<region>:<account>:vpc-flow-log/*).
func TestFlowLogRoleHasTheMinimumAndNoConfusedDeputy(t *testing.T) {
	res, err := harness.Run("t", map[string]string{"aws:region": "eu-central-1"}, nil, func(ctx *pulumi.Context) error {
		_, err := network.NewNetwork(ctx, "net", args())
		return err
	})
	require.NoError(t, err)

	type statement struct {
		Effect    string
		Principal map[string]any
		Action    []string
		Resource  []string
		Condition map[string]map[string]string
	}
	parse := func(doc string) []statement {
		var d struct{ Statement []statement }
		require.NoError(t, json.Unmarshal([]byte(doc), &d), doc)
		return d.Statement
	}
	var role, policy harness.Resource
	for _, r := range res.OfType("aws:iam/role:Role") {
		if r.Name == "net-flow-logs" {
			role = r
		}
	}
	for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
		if p.Name == "net-flow-logs" {
			policy = p
		}
	}
	require.NotEmpty(t, role.URN)
	require.NotEmpty(t, policy.URN)

	t.Run("permissions", func(t *testing.T) {
		granted := map[string][]string{}
		for _, st := range parse(policy.String("policy")) {
			require.Equal(t, "Allow", st.Effect)
			for _, a := range st.Action {
				granted[a] = append(granted[a], st.Resource...)
			}
		}
		group := "arn:aws:logs:eu-central-1:" + harness.MockAccount + ":log-group:/aws/vpc/c/flow-logs"
		for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"} {
			assert.ElementsMatch(t, []string{group, group + ":*"}, granted[a], "%s on the flow-log group only", a)
		}
		// DescribeLogGroups has no resource-level permissions (the SAR
		// lists no resource type for it): only "*" grants it.
		assert.Equal(t, []string{"*"}, granted["logs:DescribeLogGroups"])
		assert.Len(t, granted, 4, "nothing beyond the minimum: %v", granted)
	})
	t.Run("trust names the account and its flow logs", func(t *testing.T) {
		trust := parse(role.String("assumeRolePolicy"))
		require.Len(t, trust, 1)
		assert.Equal(t, map[string]any{"Service": "vpc-flow-logs.amazonaws.com"}, trust[0].Principal)
		assert.Equal(t, []string{"sts:AssumeRole"}, trust[0].Action)
		assert.Equal(t, map[string]map[string]string{
			"StringEquals": {"aws:SourceAccount": harness.MockAccount},
			"ArnLike":      {"aws:SourceArn": "arn:aws:ec2:eu-central-1:" + harness.MockAccount + ":vpc-flow-log/*"},
		}, trust[0].Condition)
	})
}

func TestFlowLogTrustPolicyNeedsAVPCARN(t *testing.T) {
	doc, err := network.FlowLogTrustPolicy("arn:aws-us-gov:ec2:us-gov-west-1:111122223333:vpc/vpc-0abc")
	require.NoError(t, err)
	assert.Contains(t, doc, `"aws:SourceArn":"arn:aws-us-gov:ec2:us-gov-west-1:111122223333:vpc-flow-log/*"`, "partition, region and account from the VPC")
	for _, bad := range []string{"", "vpc-0abc", "arn:aws:ec2:eu-west-1::vpc/vpc-0abc", "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-1"} {
		_, err := network.FlowLogTrustPolicy(bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "want arn:<partition>:ec2:<region>:<account>:vpc/<id>")
	}
}
