package main

import (
	"bytes"
	"encoding/json"
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
	code, _, stderr := plan(t, "-dir", repoRoot, "-stack", "prod", "-strict", "-deploy")
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
