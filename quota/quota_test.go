package quota

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
)

// The defaults AWS documents for an account that never asked for more:
// "EC2-VPC Elastic IPs" 5 per region (docs.aws.amazon.com/general/latest/gr/ec2-service.html),
// "VPCs per Region" 5 (docs.aws.amazon.com/general/latest/gr/vpc-service.html).
const awsDefault = 5

func declaring(eips, vpcs int) *harness.Result {
	res := &harness.Result{}
	for range eips {
		res.Resources = append(res.Resources, harness.Resource{Type: "aws:ec2/eip:Eip", Custom: true})
	}
	for range vpcs {
		res.Resources = append(res.Resources, harness.Resource{Type: "aws:ec2/vpc:Vpc", Custom: true})
	}
	res.Resources = append(res.Resources, harness.Resource{Type: "aws:ec2/natGateway:NatGateway", Custom: true})
	return res
}

func TestNeedCountsTheDeclaredResources(t *testing.T) {
	eips, vpcs := Need(declaring(3, 1))
	assert.Equal(t, 3, eips)
	assert.Equal(t, 1, vpcs)
	eips, vpcs = Need(&harness.Result{})
	assert.Zero(t, eips+vpcs)
}

func TestDefaultsAreAWSs(t *testing.T) {
	assert.Equal(t, awsDefault, ElasticIPs.Default)
	assert.Equal(t, awsDefault, VPCs.Default)
	assert.Equal(t, "L-0263D0A3", ElasticIPs.Code)
	assert.Equal(t, "L-F678F1CE", VPCs.Code)
}

func TestAccount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed []string
		admins  []string
		want    string
		wantErr string
	}{
		{"the admin roles' one account", nil,
			[]string{"arn:aws:iam::210987654321:role/platform-admin", "arn:aws:iam::210987654321:role/ops/break-glass"}, "210987654321", ""},
		{"aws:allowedAccountIds wins", []string{"345678901234"},
			[]string{"arn:aws:iam::210987654321:role/platform-admin"}, "345678901234", ""},
		{"roles in two accounts cannot tell", nil,
			[]string{"arn:aws:iam::210987654321:role/a", "arn:aws:iam::345678901234:role/b"}, "",
			"platform:adminRoleArns names accounts 210987654321, 345678901234: the stack's account cannot be told offline; set aws:allowedAccountIds"},
		{"no role cannot tell", nil, nil, "", "platform:adminRoleArns names no account"},
		{"several allowed accounts cannot tell", []string{"210987654321", "345678901234"}, nil, "", "aws:allowedAccountIds [210987654321 345678901234] lists several accounts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Account(tc.allowed, tc.admins)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAllowedAccountIDsReadsTheStackFileValue(t *testing.T) {
	for raw, want := range map[string][]string{
		`["012345678901"]`: {"012345678901"},
		`[210987654321]`:   {"210987654321"}, // unquoted in YAML: a number
		``:                 nil,
	} {
		got, err := AllowedAccountIDs(map[string]string{"aws:allowedAccountIds": raw})
		require.NoError(t, err, raw)
		assert.Equal(t, want, got, raw)
	}
	_, err := AllowedAccountIDs(map[string]string{"aws:allowedAccountIds": `{"a":1}`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "aws:allowedAccountIds")
}

func stack(name, account, region string, eips, vpcs int) Stack {
	var admins []string
	if account != "" {
		admins = []string{"arn:aws:iam::" + account + ":role/admin"}
	}
	return NewStack(name, region, nil, admins, declaring(eips, vpcs))
}

func TestGroupsAddUpOnlyStacksThatShareAnAccountAndARegion(t *testing.T) {
	stacks := []Stack{
		stack("dev", "210987654321", "eu-west-1", 1, 1),
		stack("staging", "210987654321", "eu-west-1", 3, 1),
		stack("prod", "345678901234", "eu-west-1", 3, 1),
		stack("dr", "345678901234", "eu-central-1", 3, 1),
		stack("adhoc", "", "eu-west-1", 3, 1),
		NewStack("local", "", nil, nil, &harness.Result{}),
	}
	groups := GroupByAccountRegion(stacks)
	require.Len(t, groups, 4, "local declares nothing and has no group")
	need := map[string]int{}
	for _, g := range groups {
		need[g.Where()] = g.Need(ElasticIPs)
	}
	assert.Equal(t, 4, need["account 210987654321, region eu-west-1"])
	assert.Equal(t, 3, need["account 345678901234, region eu-west-1"], "prod's account is its own")
	assert.Equal(t, 3, need["account 345678901234, region eu-central-1"], "another region is another quota")
	assert.Contains(t, groups[3].Where(), "stack adhoc (account unknown: platform:adminRoleArns names no account")
	assert.Empty(t, Check(groups, Limits{}), "no group is over AWS's defaults")
}

func TestCheckNamesTheStacksTheQuotaAndTheWayOut(t *testing.T) {
	var stacks []Stack
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		stacks = append(stacks, stack(name, "210987654321", "eu-west-1", 0, 1))
	}
	groups := GroupByAccountRegion(stacks)
	excess := Check(groups, Limits{})
	require.Len(t, excess, 1)
	assert.Equal(t, VPCs, excess[0].Quota)
	assert.Equal(t, 6, excess[0].Need)
	assert.Equal(t, awsDefault, excess[0].Limit)
	msg := excess[0].Error()
	for _, want := range []string{
		"account 210987654321, region eu-west-1: stacks a, b, c, d, e, f need 6 VPCs per Region (a 1, b 1, c 1, d 1, e 1, f 1), over the quota of 5",
		"L-F678F1CE", "separate accounts",
		"--service-code vpc --quota-code L-F678F1CE --desired-value 6 --region eu-west-1",
	} {
		assert.Contains(t, msg, want)
	}
	assert.Empty(t, Check(groups, Limits{VPCs.Code: 6}), "a raised quota passes")
	assert.True(t, strings.HasPrefix(msg, "account "), msg)
}
