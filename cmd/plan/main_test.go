package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

const repoRoot = "../.."

func plan(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func jsonPlan(t *testing.T, stack string) Plan {
	t.Helper()
	code, out, stderr := plan(t, "-dir", repoRoot, "-stack", stack, "-json")
	require.Equal(t, 0, code, stderr)
	var p Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	return p
}

func ofType(p Plan, typ string) []planResource {
	var out []planResource
	for _, r := range p.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// The acceptance check of the foundation: prod is HA across three AZs.
func TestProdPlanJSON(t *testing.T) {
	p := jsonPlan(t, "prod")
	assert.Equal(t, "prod", p.Stack)

	zones := map[string]map[string]bool{}
	for _, s := range ofType(p, "aws:ec2/subnet:Subnet") {
		tags := s.Inputs["tags"].(map[string]any)
		tier := tags["platform/tier"].(string)
		if zones[tier] == nil {
			zones[tier] = map[string]bool{}
		}
		zones[tier][s.Inputs["availabilityZone"].(string)] = true
	}
	assert.Len(t, zones["public"], 3, "3 public subnets in 3 AZs")
	assert.Len(t, zones["private"], 3, "3 private subnets in 3 AZs")
	assert.Len(t, ofType(p, "aws:ec2/natGateway:NatGateway"), 3)

	clusters := ofType(p, "aws:eks/cluster:Cluster")
	require.Len(t, clusters, 1)
	enc := clusters[0].Inputs["encryptionConfig"].(map[string]any)
	assert.Equal(t, []any{"secrets"}, enc["resources"])
	assert.Len(t, clusters[0].Inputs["enabledClusterLogTypes"], 5)

	groups := ofType(p, "aws:eks/nodeGroup:NodeGroup")
	require.Len(t, groups, 3)
	templates := map[string]planResource{}
	for _, lt := range ofType(p, "aws:ec2/launchTemplate:LaunchTemplate") {
		templates["launchtemplate-"+lt.Name] = lt
	}
	for _, g := range groups {
		id := g.Inputs["launchTemplate"].(map[string]any)["id"].(string)
		lt, ok := templates[id]
		require.True(t, ok, "%s: launch template %s", g.Name, id)
		md := lt.Inputs["metadataOptions"].(map[string]any)
		assert.Equal(t, "required", md["httpTokens"])
	}

	assert.Equal(t, "[secret]", p.Outputs["kubeconfig"], "secrets never reach plan output")
	for _, r := range p.Resources {
		assert.NotNil(t, r.DependsOn)
		assert.NotEmpty(t, r.Type)
		assert.NotEmpty(t, r.Name)
	}
}

func TestDevPlanHasOneNATGateway(t *testing.T) {
	p := jsonPlan(t, "dev")
	assert.Len(t, ofType(p, "aws:ec2/natGateway:NatGateway"), 1)
}

func TestTextPlanShowsComponentsAndCounts(t *testing.T) {
	code, out, stderr := plan(t, "-dir", repoRoot, "-stack", "prod")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "platform:network:Network platform-prod")
	assert.Contains(t, out, "platform:cluster:Cluster platform-prod")
	assert.Regexp(t, `\n\s+3  aws:ec2/natGateway:NatGateway\n`, out)
	assert.Regexp(t, `\n\s+3  aws:eks/nodeGroup:NodeGroup\n`, out)
	assert.Contains(t, out, "kubeconfig: [secret]")
}

func writeStack(t *testing.T, stack, body string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte(body), 0o644))
	return dir
}

func TestInvalidConfigExitsTwoNamingTheKey(t *testing.T) {
	dir := writeStack(t, "broken", `config:
  aws:region: eu-west-1
  platform:environment: prod
  platform:availabilityZones: [eu-west-1a, eu-west-1b]
  platform:adminRoleArns: [arn:aws:iam::111122223333:role/admin]
`)
	code, out, stderr := plan(t, "-dir", dir, "-stack", "broken", "-json")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, "platform:availabilityZones")
	assert.Contains(t, stderr, "between 3 and 7")
}

func TestUnknownKeyIsInvalidConfig(t *testing.T) {
	dir := writeStack(t, "typo", `config:
  platform:environment: local
  platform:kubeconfigContext: kind-platform
  platform:kubeconfigContex: typo
`)
	code, _, stderr := plan(t, "-dir", dir, "-stack", "typo")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "platform:kubeconfigContex: unknown key")
}

func TestUsageErrors(t *testing.T) {
	code, _, stderr := plan(t)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-stack is required")
	code, _, _ = plan(t, "-dir", repoRoot, "-stack", "no-such-stack")
	assert.Equal(t, 2, code)
}

func TestOutWritesKubernetesObjects(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := plan(t, "-dir", repoRoot, "-stack", "staging", "-out", dir)
	require.Equal(t, 0, code, stderr)
	files, err := filepath.Glob(filepath.Join(dir, "kubernetes", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	found := false
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &obj), f)
		assert.NotEmpty(t, obj["apiVersion"], f)
		assert.NotEmpty(t, obj["kind"], f)
		if obj["kind"] == "StorageClass" {
			found = true
			assert.Equal(t, "storage.k8s.io/v1", obj["apiVersion"])
			assert.Equal(t, "gp3", obj["metadata"].(map[string]any)["name"])
		}
		assert.False(t, strings.Contains(string(raw), "offline-placeholder"), "no secret placeholder leaks into %s", f)
	}
	assert.True(t, found, "the gp3 StorageClass is written")

	// Generated configuration, parsed back.
	rules, err := os.ReadFile(filepath.Join(dir, "monitoring", "rules", "platform-rules.yaml"))
	require.NoError(t, err)
	var groups struct {
		Groups []struct {
			Name  string
			Rules []map[string]any
		}
	}
	require.NoError(t, yaml.Unmarshal(rules, &groups))
	assert.NotEmpty(t, groups.Groups, "Prometheus rule groups")
	am, err := os.ReadFile(filepath.Join(dir, "monitoring", "alertmanager", "alertmanager.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(am), "route:")
	fb, err := os.ReadFile(filepath.Join(dir, "logging", "fluent-bit", "fluent-bit.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(fb), "retry_limit: no_limits")
	fd, err := os.ReadFile(filepath.Join(dir, "logging", "fluentd", "logscale.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(fd), "retry_forever")
	for _, b := range [][]byte{am, fb, fd} {
		assert.NotContains(t, string(b), "offline-placeholder", "no secret (or its placeholder) in generated files")
	}
}

func TestPlanJSONCarriesTheGuardrails(t *testing.T) {
	p := jsonPlan(t, "prod")
	require.NotEmpty(t, p.Checks)
	ids := map[string]bool{}
	for _, c := range p.Checks {
		ids[c.ID] = true
		assert.Contains(t, []string{"pass", "fail", "exempt"}, string(c.Status))
		assert.NotEmpty(t, c.Message)
	}
	assert.Len(t, ids, 26, "every baseline control reports")
	judged := map[string]bool{}
	for _, c := range p.Checks {
		if c.Resource != "" {
			judged[c.ID] = true
		}
	}
	// The controls that apply to what prod declares looked at its resources.
	for _, id := range []string{"S1", "S2", "S3", "S4", "S5", "S6", "S8", "S9", "S10", "S11", "S12", "S13", "S14", "S15",
		"S16", "S17", "S20", "S21", "S22", "S23", "S24", "S25"} {
		assert.True(t, judged[id], "%s judged a prod resource", id)
	}
	assert.Positive(t, p.CostMonthlyUSD.Total)
	assert.NotEmpty(t, p.CostMonthlyUSD.Items)
	assert.Positive(t, p.CriticalPath.Minutes)
	assert.NotEmpty(t, p.CriticalPath.Chain)
	require.Len(t, p.ZoneFailure, 3, "one report per AZ")
	for _, z := range p.ZoneFailure {
		assert.True(t, z.Survives, "prod survives losing %s", z.Zone)
	}
	assert.Less(t, jsonPlan(t, "dev").CostMonthlyUSD.Total, p.CostMonthlyUSD.Total)
}

func TestStrictFailsOnAFailedCheck(t *testing.T) {
	// Valid configuration (dev may open its endpoint), but S3 fails on it.
	dir := writeStack(t, "open", `config:
  aws:region: eu-west-1
  platform:environment: dev
  platform:availabilityZones: [eu-west-1a, eu-west-1b]
  platform:adminRoleArns: [arn:aws:iam::210987654321:role/platform-deploy-dev]
  platform:endpointPublicAccess: true
  platform:publicAccessCidrs: [0.0.0.0/0]
`)
	code, _, stderr := plan(t, "-dir", dir, "-stack", "open")
	assert.Equal(t, 0, code, "without -strict a failed check is reported, not fatal: %s", stderr)
	code, _, stderr = plan(t, "-dir", dir, "-stack", "open", "-strict")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "S3 fail")

	for _, stack := range []string{"dev", "staging", "prod", "local"} {
		code, _, stderr := plan(t, "-dir", repoRoot, "-stack", stack, "-strict")
		assert.Equal(t, 0, code, "%s passes the baseline: %s", stack, stderr)
	}
}

// The committed stack files are examples: -deploy (the deploy workflow)
// refuses their documentation account ids, CIDR blocks, domains and zone
// ids, naming each key; a stack with real values passes.
func TestDeployRefusesExampleValues(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		code, _, stderr := plan(t, "-dir", repoRoot, "-stack", stack, "-strict", "-deploy")
		assert.Equal(t, 1, code, stack)
		for _, key := range []string{"platform:adminRoleArns[0]", "platform:publicAccessCidrs[0]", "platform:domain", "platform:routing.hostedZoneId"} {
			assert.Contains(t, stderr, "not ready to deploy: "+key+":", "%s: %s", stack, key)
		}
	}
	// The preview role is a viewer of the stacks pull requests preview.
	code, _, stderr := plan(t, "-dir", repoRoot, "-stack", "staging", "-strict", "-deploy")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `platform:viewerRoleArns[0]: "arn:aws:iam::111122223333:role/platform-preview" is an example value`)

	dir := writeStack(t, "real", `config:
  aws:region: eu-west-1
  platform:environment: dev
  platform:availabilityZones: [eu-west-1a, eu-west-1b]
  platform:adminRoleArns: [arn:aws:iam::210987654321:role/platform-deploy-dev]
  platform:endpointPublicAccess: true
  platform:publicAccessCidrs: [52.12.0.0/24]
  platform:domain: dev.acme-payments.io
`)
	code, _, stderr = plan(t, "-dir", dir, "-stack", "real", "-strict", "-deploy")
	assert.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "not ready to deploy")
}

// The default per-region quotas of an AWS account, from AWS's documentation:
// "EC2-VPC Elastic IPs" (L-0263D0A3) is 5 per region
// (docs.aws.amazon.com/general/latest/gr/ec2-service.html) and "VPCs per
// Region" (L-F678F1CE) is 5 (docs.aws.amazon.com/general/latest/gr/vpc-service.html).
const (
	awsDefaultEIPQuota = 5
	awsDefaultVPCQuota = 5
)

// realLayout copies the committed dev, staging and prod stack files into a
// directory with each example value replaced by a real-looking one, each
// stack in the account given, so -deploy judges only the quotas.
func realLayout(t *testing.T, accounts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for stack, account := range accounts {
		raw, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi."+stack+".yaml"))
		require.NoError(t, err)
		body := strings.NewReplacer(
			"111122223333", account,
			"203.0.113.0/24", "52.12.0.0/24", "198.51.100.0/24", "52.13.0.0/24",
			"example.com", "acme-payments.io", "Z0EXAMPLEZONE00000001", "Z08123456ABCDEFGHIJK",
		).Replace(string(raw))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte(body), 0o644))
	}
	return dir
}

// Finding 2 of issue 19: dev, staging and prod share one account and region
// in the committed stack files; their NAT gateways' Elastic IPs add up to
// more than the account's default quota, so the third stack's deploy would
// fail half-way. -deploy stops it, naming the account, region, stacks,
// counts, quota and the way out, beside the example-value messages.
func TestDeployStopsWhenTheSharedAccountLacksElasticIPs(t *testing.T) {
	// What the stacks declare: each NAT gateway holds one Elastic IP.
	eips := map[string]int{}
	total := 0
	for _, stack := range []string{"dev", "staging", "prod"} {
		p := jsonPlan(t, stack)
		eips[stack] = len(ofType(p, "aws:ec2/eip:Eip"))
		assert.Equal(t, len(ofType(p, "aws:ec2/natGateway:NatGateway")), eips[stack], stack)
		total += eips[stack]
	}
	require.Greater(t, total, awsDefaultEIPQuota, "the committed layout needs more Elastic IPs than one account's default")

	for _, stack := range []string{"dev", "staging", "prod"} {
		code, _, stderr := plan(t, "-dir", repoRoot, "-stack", stack, "-strict", "-deploy")
		assert.Equal(t, 1, code, stack)
		assert.Contains(t, stderr, "not ready to deploy: platform:adminRoleArns[0]:", "the example-value message stays")
		// The stacks in the order of their files' names.
		assert.Contains(t, stderr, fmt.Sprintf("account 111122223333, region eu-west-1: stacks dev, prod, staging need %d EC2-VPC Elastic IPs (dev %d, prod %d, staging %d), over the quota of %d",
			total, eips["dev"], eips["prod"], eips["staging"], awsDefaultEIPQuota), stack)
		assert.Contains(t, stderr, "L-0263D0A3", stack)
		assert.Contains(t, stderr, "separate accounts", stack)
		assert.Contains(t, stderr, fmt.Sprintf("-quota-eips %d", total), stack)
	}
}

func jsonPlanIn(t *testing.T, dir, stack string, args ...string) Plan {
	t.Helper()
	code, out, stderr := plan(t, append([]string{"-dir", dir, "-stack", stack, "-json"}, args...)...)
	require.Equal(t, 0, code, stderr)
	var p Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	return p
}

// Every plan shows the cross-stack check, in text and in -json; without
// -deploy an excess is reported, not fatal (pull requests run -strict).
func TestPlanShowsTheQuotasOfEveryStackFile(t *testing.T) {
	p := jsonPlan(t, "prod")
	require.Len(t, p.Quotas.Groups, 1, "the committed stacks share one account and region")
	g := p.Quotas.Groups[0]
	assert.Equal(t, "111122223333", g.Account)
	assert.Equal(t, "eu-west-1", g.Region)
	var names []string
	for _, s := range g.Stacks {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"dev", "prod", "staging"}, names, "local declares no AWS resources")
	assert.Equal(t, 7, g.Need["L-0263D0A3"])
	assert.Equal(t, 3, g.Need["L-F678F1CE"])
	require.Len(t, p.Quotas.Exceeded, 1)
	assert.Contains(t, p.Quotas.Exceeded[0], "over the quota of 5 (Service Quotas ec2 L-0263D0A3")
	require.Len(t, p.Quotas.Limits, 2)
	assert.Equal(t, awsDefaultEIPQuota, p.Quotas.Limits[0].Limit)
	assert.Equal(t, awsDefaultVPCQuota, p.Quotas.Limits[1].Limit)

	code, out, stderr := plan(t, "-dir", repoRoot, "-stack", "dev", "-strict")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "account 111122223333, region eu-west-1:\n    OVER 7 of 5 EC2-VPC Elastic IPs (L-0263D0A3; dev 1, prod 3, staging 3)\n    ok   3 of 5 VPCs per Region")
}

// Once AWS raised the quota and the plan is told, the one-account layout
// deploys; until then only the quota stops a stack with real values.
func TestDeployPassesTheOneAccountLayoutWithARaisedQuota(t *testing.T) {
	dir := realLayout(t, map[string]string{"dev": "210987654321", "staging": "210987654321", "prod": "210987654321"})
	code, _, stderr := plan(t, "-dir", dir, "-stack", "prod", "-strict", "-deploy")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "account 210987654321, region eu-west-1: stacks dev, prod, staging need 7 EC2-VPC Elastic IPs")
	assert.NotContains(t, stderr, "is an example value", "only the quota stops it")

	code, out, stderr := plan(t, "-dir", dir, "-stack", "prod", "-strict", "-deploy", "-quota-eips", "7")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "ok   7 of 7 EC2-VPC Elastic IPs")
}

// Stacks in different accounts take from different quotas: dev and staging
// (4 Elastic IPs) in one, prod (3) in another, each within AWS's default.
func TestStacksInDifferentAccountsDoNotAddUp(t *testing.T) {
	dir := realLayout(t, map[string]string{"dev": "210987654321", "staging": "210987654321", "prod": "345678901234"})
	for _, stack := range []string{"dev", "staging", "prod"} {
		code, _, stderr := plan(t, "-dir", dir, "-stack", stack, "-strict", "-deploy")
		assert.Equal(t, 0, code, "%s: %s", stack, stderr)
	}
	p := jsonPlanIn(t, dir, "prod")
	need := map[string]int{}
	for _, g := range p.Quotas.Groups {
		need[g.Account] = g.Need["L-0263D0A3"]
	}
	assert.Equal(t, map[string]int{"210987654321": 4, "345678901234": 3}, need)
	assert.Empty(t, p.Quotas.Exceeded)
}

// Six environments of one account and region need six VPCs, over AWS's
// default of 5 (L-F678F1CE); their Elastic IPs fit a raised quota.
func TestDeployStopsWhenTheSharedAccountLacksVPCs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(realLayout(t, map[string]string{"dev": "210987654321"}), "Pulumi.dev.yaml"))
	require.NoError(t, err)
	dir := t.TempDir()
	names := []string{"dev-a", "dev-b", "dev-c", "dev-d", "dev-e", "dev-f"}
	for _, name := range names {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+name+".yaml"), raw, 0o644))
	}
	code, _, stderr := plan(t, "-dir", dir, "-stack", "dev-c", "-strict", "-deploy", "-quota-eips", "6")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "account 210987654321, region eu-west-1: stacks dev-a, dev-b, dev-c, dev-d, dev-e, dev-f need 6 VPCs per Region (dev-a 1, dev-b 1, dev-c 1, dev-d 1, dev-e 1, dev-f 1), over the quota of 5 (Service Quotas vpc L-F678F1CE")
	assert.Contains(t, stderr, "-quota-vpcs 6")
	assert.NotContains(t, stderr, "Elastic IPs")

	code, _, stderr = plan(t, "-dir", dir, "-stack", "dev-c", "-strict", "-deploy", "-quota-eips", "6", "-quota-vpcs", "6")
	assert.Equal(t, 0, code, stderr)
}
