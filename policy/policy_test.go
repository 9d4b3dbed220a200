package policy

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
)

// r builds a recorded custom resource from plain inputs.
func r(typ, name string, inputs map[string]any) harness.Resource {
	kind := typ[strings.LastIndex(typ, ":")+1:]
	return harness.Resource{
		URN: "urn:pulumi:t::platform::" + typ + "::" + name, Type: typ, Name: name, Custom: true,
		ID: strings.ToLower(kind) + "-" + name, Inputs: resource.NewPropertyMapFromMap(inputs),
	}
}

func k8s(apiKind, name string, obj map[string]any) harness.Resource {
	return r("kubernetes:"+apiKind, name, obj)
}

func result(resources ...harness.Resource) *harness.Result {
	return &harness.Result{Stack: "t", Resources: resources}
}

func findings(t *testing.T, res *harness.Result, id string, opts Options) []Finding {
	t.Helper()
	var out []Finding
	for _, f := range Evaluate(res, opts) {
		if f.ID == id {
			out = append(out, f)
		}
	}
	require.NotEmpty(t, out, "check %s reported nothing", id)
	return out
}

func hasStatus(fs []Finding, s Status, text string) bool {
	for _, f := range fs {
		if f.Status == s && strings.Contains(f.Message, text) {
			return true
		}
	}
	return false
}

var goodCluster = map[string]any{
	"version":                "1.36",
	"encryptionConfig":       map[string]any{"resources": []any{"secrets"}, "provider": map[string]any{"keyArn": "arn:aws:kms:eu-west-1:1:key/key-k"}},
	"enabledClusterLogTypes": []any{"api", "audit", "authenticator", "controllerManager", "scheduler"},
	"vpcConfig":              map[string]any{"endpointPrivateAccess": true, "endpointPublicAccess": false},
	"accessConfig":           map[string]any{"authenticationMode": "API"},
}

func with(base map[string]any, key string, v any) map[string]any {
	out := map[string]any{}
	for k, e := range base {
		out[k] = e
	}
	out[key] = v
	return out
}

// Each case declares one violation and names the check and the words of its
// failure message.
func TestChecksCatchViolations(t *testing.T) {
	key := r("aws:kms/key:Key", "k", map[string]any{"enableKeyRotation": true})
	secretValue := resource.MakeSecret(resource.NewProperty("s3cr3t"))
	placeholder := harness.SecretPlaceholder("platform:token")
	cases := []struct {
		name string
		id   string
		res  *harness.Result
		opts Options
		want string
	}{
		{"secrets not encrypted", "S1", result(key, r(eksType(), "c", with(goodCluster, "encryptionConfig", map[string]any{}))), Options{}, "does not cover secrets"},
		{"AWS-managed key", "S1", result(r(eksType(), "c", goodCluster)), Options{}, "not a customer managed key"},
		{"audit log off", "S2", result(key, r(eksType(), "c", with(goodCluster, "enabledClusterLogTypes", []any{"api"}))), Options{}, "audit"},
		{"public endpoint open", "S3", result(key, r(eksType(), "c", with(goodCluster, "vpcConfig", map[string]any{"endpointPrivateAccess": true, "endpointPublicAccess": true}))), Options{}, "without an allow-list"},
		{"public endpoint /0", "S3", result(key, r(eksType(), "c", with(goodCluster, "vpcConfig", map[string]any{"endpointPrivateAccess": true, "endpointPublicAccess": true, "publicAccessCidrs": []any{"0.0.0.0/0"}}))), Options{}, "/0"},
		{"private endpoint off", "S3", result(key, r(eksType(), "c", with(goodCluster, "vpcConfig", map[string]any{"endpointPublicAccess": false}))), Options{}, "private endpoint off"},
		{"nodes in a public subnet", "S4", result(
			r("aws:ec2/subnet:Subnet", "pub", map[string]any{"mapPublicIpOnLaunch": true}),
			r("aws:eks/nodeGroup:NodeGroup", "ng", map[string]any{"subnetIds": []any{"subnet-pub"}})), Options{}, "gives public IPs"},
		{"IMDSv1 allowed", "S5", result(r(launchTmpl, "lt", map[string]any{"metadataOptions": map[string]any{"httpTokens": "optional", "httpPutResponseHopLimit": 1.0}})), Options{}, "IMDSv2 not required"},
		{"hop limit 2", "S5", result(r(launchTmpl, "lt", map[string]any{"metadataOptions": map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 2.0}})), Options{}, "hop limit 2"},
		{"SSH to nodes", "S6", result(r("aws:eks/nodeGroup:NodeGroup", "ng", map[string]any{"remoteAccess": map[string]any{"ec2SshKey": "k"}})), Options{}, "SSH"},
		{"SSH from the internet", "S6", result(r(sgType, "sg", map[string]any{"ingress": []any{map[string]any{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": []any{"0.0.0.0/0"}, "description": "ssh"}}})), Options{}, "port 22"},
		{"RDP via all ports", "S6", result(r(sgRuleType, "rule", map[string]any{"type": "ingress", "protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": []any{"0.0.0.0/0"}, "description": "all"})), Options{}, "port 3389"},
		{"rule without description", "S7", result(r(sgType, "sg", map[string]any{"egress": []any{map[string]any{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": []any{"10.0.0.0/8"}}}})), Options{}, "no description"},
		{"default SG unmanaged", "S8", result(r(vpcType, "v", map[string]any{})), Options{}, "allow-all rules"},
		{"default SG with rules", "S8", result(r(vpcType, "v", map[string]any{}), r(defaultSG, "d", map[string]any{"vpcId": "vpc-v", "ingress": []any{map[string]any{"protocol": "-1"}}})), Options{}, "has rules"},
		{"no flow logs", "S9", result(r(vpcType, "v", map[string]any{})), Options{}, "no flow log"},
		{"key without rotation", "S10", result(r("aws:kms/key:Key", "k", map[string]any{})), Options{}, "rotation off"},
		{"key policy * principal", "S10", result(r("aws:kms/key:Key", "k", map[string]any{"enableKeyRotation": true,
			"policy": `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}`})), Options{}, "* principal"},
		{"wildcard action", "S11", result(r(rolePolicy, "p", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}`})), Options{}, `wildcard action "s3:*"`},
		{"write on every resource", "S11", result(r(rolePolicy, "p", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":["ec2:TerminateInstances"],"Resource":"*"}]}`})), Options{}, "on every resource"},
		{"every hosted zone", "S11", result(r(rolePolicy, "p", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":["route53:ChangeResourceRecordSets"],"Resource":"arn:aws:route53:::hostedzone/*"}]}`})), Options{}, "hostedzone/*"},
		{"node role with admin", "S11", result(
			r(roleType, "node", map[string]any{}),
			r(attachType, "a", map[string]any{"role": "node", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
			r("aws:eks/nodeGroup:NodeGroup", "ng", map[string]any{"nodeRoleArn": "arn:aws:iam::1:role/node"})), Options{}, "extra policy"},
		{"workload role for any service account", "S11", result(r(roleType, "w", map[string]any{"assumeRolePolicy": `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Principal":{"Federated":"arn"},"Condition":{"StringLike":{"oidc:sub":"system:serviceaccount:*"}}}]}`})), Options{}, "not one exact service account"},
		{"HTTP listener serving", "S12", result(r(lbListener, "l", map[string]any{"protocol": "HTTP", "defaultActions": []any{map[string]any{"type": "forward"}}})), Options{}, "instead of redirecting"},
		{"TLS 1.0 policy", "S12", result(r(lbListener, "l", map[string]any{"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08"})), Options{}, "below 1.2"},
		{"route serving on the HTTP listener", "S12", result(
			k8s("gateway.networking.k8s.io/v1:Gateway", "gw", map[string]any{"metadata": map[string]any{"name": "edge", "namespace": "gw"}, "spec": map[string]any{"listeners": []any{map[string]any{"name": "http", "protocol": "HTTP", "port": 80.0}}}}),
			k8s("gateway.networking.k8s.io/v1:HTTPRoute", "app", map[string]any{"metadata": map[string]any{"name": "app", "namespace": "app"}, "spec": map[string]any{
				"parentRefs": []any{map[string]any{"name": "edge", "namespace": "gw"}},
				"rules":      []any{map[string]any{"backendRefs": []any{map[string]any{"name": "app", "port": 80.0}}}}}})), Options{}, "serves traffic"},
		{"NLB without access logs", "S13", result(k8s("core/v1:Service", "s", map[string]any{"metadata": map[string]any{"annotations": map[string]any{"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing", "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:eu-west-1:111122223333:certificate/x"}}})), Options{}, "without access logs"},
		{"NLB deletable in prod", "S13", result(k8s("core/v1:Service", "s", map[string]any{"metadata": map[string]any{"annotations": map[string]any{"service.beta.kubernetes.io/aws-load-balancer-attributes": "access_logs.s3.enabled=true"}}})), Options{Production: true}, "deletion protection off"},
		{"unencrypted root volume", "S14", result(r(launchTmpl, "lt", map[string]any{"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{"encrypted": "false"}}}})), Options{}, "not encrypted"},
		{"log group forever", "S15", result(r(logGroup, "g", map[string]any{})), Options{}, "never expires"},
		{"version out of support", "S16", result(key, r(eksType(), "c", goodCluster)), Options{Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, "left standard support"},
		{"unknown version", "S16", result(key, r(eksType(), "c", with(goodCluster, "version", "1.29"))), Options{}, "not a version we know"},
		{"plain Secret value", "S17", result(k8s("core/v1:Secret", "s", map[string]any{"stringData": map[string]any{"token": "abc"}})), Options{}, "plain text in the state"},
		{"secret config in a ConfigMap", "S17", result(k8s("core/v1:ConfigMap", "cm", map[string]any{"data": map[string]any{"fluent-bit.yaml": "passwd " + placeholder}})), Options{}, "secret configuration in plain input data.fluent-bit.yaml"},
		{"secret as env literal", "S17", result(k8s("apps/v1:Deployment", "d", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "env": []any{map[string]any{"name": "API_TOKEN", "value": "abc"}}}}}}}})), Options{}, "env API_TOKEN is a literal"},
		{"root pod", "S18", result(k8s("apps/v1:Deployment", "d", deployment(map[string]any{}))), Options{}, "runAsNonRoot not set"},
		{"no memory limit", "S19", result(k8s("apps/v1:Deployment", "d", deployment(map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "10Mi"}}}))), Options{}, "no limits memory"},
		{"namespace without default deny", "S20", result(k8s("core/v1:Namespace", "ns", map[string]any{"metadata": map[string]any{"name": "logging", "labels": map[string]any{partOfLabel: "platform", enforceLabel: "restricted"}}})), Options{}, "no default-deny"},
		{"workload in default", "S21", result(k8s("apps/v1:Deployment", "d", deployment(map[string]any{}))), Options{}, "default namespace"},
		{"chart in default", "S21", result(r(helmRelease, "h", map[string]any{"chart": "x", "version": "1.0.0", "namespace": "default"})), Options{}, "default namespace"},
		{"aws-auth mode", "S22", result(key, r(eksType(), "c", with(goodCluster, "accessConfig", map[string]any{"authenticationMode": "CONFIG_MAP"}))), Options{}, "aws-auth"},
		{"namespace without PSA label", "S23", result(k8s("core/v1:Namespace", "ns", map[string]any{"metadata": map[string]any{"name": "x", "labels": map[string]any{partOfLabel: "platform"}}})), Options{}, "no Pod Security enforce label"},
		{"privileged without reason", "S23", result(k8s("core/v1:Namespace", "ns", map[string]any{"metadata": map[string]any{"name": "x", "labels": map[string]any{partOfLabel: "platform", enforceLabel: "privileged"}}})), Options{}, "without a documented reason"},
		{"prod cluster unprotected", "S24", result(key, r(eksType(), "c", goodCluster)), Options{Production: true}, "without protect"},
		{"chart version range", "S25", result(r(helmRelease, "h", map[string]any{"chart": "x", "version": "^1.2", "namespace": "x"})), Options{}, "not exact"},
		{"latest image tag in values", "S25", result(r(helmRelease, "h", map[string]any{"chart": "x", "version": "1.2.3", "namespace": "x", "values": map[string]any{"image": map[string]any{"tag": "latest"}}})), Options{}, `image tag "latest"`},
		{"unpinned hand-written image", "S25", result(k8s("apps/v1:Deployment", "d", deployment(map[string]any{"image": "nginx"}))), Options{}, "not pinned"},
		{"open state bucket", "S26", result(r(bucketV2Type, "state", stateTags)), Options{}, "public access not blocked"},
		{"suspended versioning", "S26", result(r(bucketV2Type, "state", stateTags),
			r("aws:s3/bucketVersioningV2:BucketVersioningV2", "v", map[string]any{"bucket": "bucketv2-state", "versioningConfiguration": map[string]any{"status": "Suspended"}})), Options{}, "versioning not Enabled"},
		{"SSE-S3 instead of KMS", "S26", result(r(bucketV2Type, "state", stateTags),
			r("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "e", map[string]any{"bucket": "bucketv2-state",
				"rules": []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "AES256"}}}})), Options{}, "not encrypted with KMS"},
		{"state over plain HTTP", "S26", result(r(bucketV2Type, "state", stateTags)), Options{}, "without TLS"},
	}
	for _, tc := range cases {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			fs := findings(t, tc.res, tc.id, tc.opts)
			assert.True(t, hasStatus(fs, Fail, tc.want), "want a %s failure saying %q, got %v", tc.id, tc.want, fs)
		})
	}

	// And a secret-marked value passes S17.
	sec := harness.Resource{URN: "urn:s", Type: secretType, Custom: true, Inputs: resource.PropertyMap{
		"stringData": resource.NewProperty(resource.PropertyMap{"token": secretValue})}}
	fs := findings(t, result(sec), "S17", Options{})
	assert.Empty(t, Failures(fs))
	assert.True(t, hasStatus(fs, Pass, "Pulumi secrets"), "S17 judged the Secret: %v", fs)
}

var stateTags = map[string]any{"tags": map[string]any{StateBucketTag: StateBucketPurpose}}

func deployment(container map[string]any) map[string]any {
	c := map[string]any{"name": "app", "image": "nginx:1.27.3"}
	for k, v := range container {
		c[k] = v
	}
	return map[string]any{
		"metadata": map[string]any{"name": "d", "namespace": "default"},
		"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{c}}}},
	}
}

func eksType() string { return eksCluster }

func TestExemptionsAreExplained(t *testing.T) {
	// Read-only Describe calls cannot be scoped by resource: exempt, not pass.
	res := result(r(rolePolicy, "p", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances"],"Resource":"*"}]}`}))
	fs := findings(t, res, "S11", Options{})
	assert.True(t, hasStatus(fs, Exempt, "read-only"))

	ns := k8s("core/v1:Namespace", "ns", map[string]any{"metadata": map[string]any{"name": "logging",
		"labels":      map[string]any{partOfLabel: "platform", enforceLabel: "privileged"},
		"annotations": map[string]any{psaReason: "the log agent reads host logs"}}})
	fs = findings(t, result(ns), "S23", Options{})
	assert.True(t, hasStatus(fs, Exempt, "the log agent reads host logs"))
}

func TestCompliantWorkloadPasses(t *testing.T) {
	d := deployment(map[string]any{
		"securityContext": map[string]any{"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
			"capabilities": map[string]any{"drop": []any{"ALL"}}, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
		"resources": map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "16Mi"}, "limits": map[string]any{"memory": "32Mi"}},
	})
	d["metadata"] = map[string]any{"name": "d", "namespace": "apps"}
	d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["automountServiceAccountToken"] = false
	res := result(k8s("apps/v1:Deployment", "d", d))
	for _, id := range []string{"S18", "S19", "S21", "S25"} {
		fs := findings(t, res, id, Options{})
		assert.Empty(t, Failures(fs), id)
		judged := false
		for _, f := range fs {
			judged = judged || f.Status == Pass && f.Resource != ""
		}
		assert.True(t, judged, "%s judged the Deployment: %v", id, fs)
	}
}

func TestEveryBaselineControlIsImplemented(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks {
		assert.False(t, seen[c.ID], "duplicate %s", c.ID)
		seen[c.ID] = true
		assert.NotEmpty(t, c.Title)
	}
	for i := 1; i <= 26; i++ {
		assert.True(t, seen["S"+strconv.Itoa(i)], "S%d has no check", i)
	}
}
