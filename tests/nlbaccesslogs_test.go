package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/stacks"
)

// NLB access logs exist only for TLS listeners: "Access logs are created
// only if the load balancer has a TLS listener, and the logs contain
// information about TLS requests only" (Elastic Load Balancing, "Access
// logs for your Network Load Balancer",
// docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html).
// Every stack file, as committed (tlsMode acme: TCP listeners, TLS at
// Envoy) and switched to tlsMode acm (TLS on the NLB): the access-log
// annotation and its bucket appear exactly when the NLB has a TLS listener,
// and the EnvoyProxy carrying the annotation waits for the bucket policy.
func TestNLBAccessLogsOnlyWithATLSListenerPerStack(t *testing.T) {
	for name, e := range allStacks(t) {
		require.NoError(t, e.err, "stack %s", name)
		if !contains(cloudEnvs, e.config.Environment) {
			continue
		}
		t.Run(name+"/"+e.config.Routing.TLSMode, func(t *testing.T) { checkNLBAccessLogs(t, e.result) })

		sf, err := stackrun.LoadStackFile(repoRoot, name)
		require.NoError(t, err)
		var rc map[string]any
		require.NoError(t, json.Unmarshal([]byte(sf.Config["platform:routing"]), &rc))
		rc["tlsMode"] = "acm"
		rc["acmCertificateArn"] = "arn:aws:acm:" + sf.Config["aws:region"] + ":111122223333:certificate/0a1b2c3d-0000-4000-8000-0123456789ab"
		delete(rc, "acmeEmail")
		b, err := json.Marshal(rc)
		require.NoError(t, err)
		sf.Config["platform:routing"] = string(b)
		_, err = stacks.Load(stacks.StaticSource{Values: sf.Config, SecretKeys: sf.SecretKeys})
		require.NoError(t, err, "stack %s in acm mode", name)
		res, err := harness.Run(name, sf.Config, sf.SecretKeys, stacks.Run)
		require.NoError(t, err)
		t.Run(name+"/acm", func(t *testing.T) { checkNLBAccessLogs(t, res) })
	}
}

func checkNLBAccessLogs(t *testing.T, res *harness.Result) {
	const lb = "service.beta.kubernetes.io/aws-load-balancer-"
	proxies := res.OfType("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")
	require.Len(t, proxies, 1)
	var obj map[string]any
	for _, o := range res.KubernetesObjects() {
		if o.Kind() == "EnvoyProxy" {
			obj = o.Object
		}
	}
	ann, _ := harness.Dig(obj, "spec", "provider", "kubernetes", "envoyService", "annotations").(map[string]any)
	require.NotEmpty(t, ann, "the NLB annotations")
	_, tlsListener := ann[lb+"ssl-cert"]
	attrs, _ := ann[lb+"attributes"].(string)
	claims := strings.Contains(attrs, "access_logs.s3.enabled=true")
	assert.Equal(t, tlsListener, claims, "access logs claimed (%v) exactly when the NLB has a TLS listener (%v): %s", claims, tlsListener, attrs)
	var policy *harness.Resource
	var buckets int
	for _, b := range res.OfType("aws:s3/bucketV2:BucketV2") {
		if strings.Contains(b.Name, "nlb-access-logs") {
			buckets++
		}
	}
	for _, p := range res.OfType("aws:s3/bucketPolicy:BucketPolicy") {
		if strings.Contains(p.Name, "nlb-access-logs") {
			policy = &p
		}
	}
	if !tlsListener {
		assert.Zero(t, buckets, "no access-log bucket an NLB without a TLS listener would never write to")
		return
	}
	assert.Equal(t, 1, buckets)
	require.NotNil(t, policy, "the access-log bucket policy")
	assert.Contains(t, proxies[0].DependsOn, policy.URN, "the EnvoyProxy waits for the access-log bucket policy")
}
