package routing_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/harness"
)

// AWS writes NLB access logs only for TLS listeners: "Access logs are
// created only if the load balancer has a TLS listener, and the logs
// contain information about TLS requests only" (Elastic Load Balancing
// User Guide for Network Load Balancers, "Enable access logs for your
// Network Load Balancer",
// docs.aws.amazon.com/elasticloadbalancing/latest/network/enable-access-logs.html).
// In acme mode (self-signed is refused on AWS) the NLB forwards TCP and
// Envoy terminates TLS: an access-log claim there would be a bucket that
// stays empty.
func TestNLBAccessLogsOnlyWithATLSListener(t *testing.T) {
	const lb = "service.beta.kubernetes.io/aws-load-balancer-"
	for _, mode := range []string{routing.TLSACME, routing.TLSACM} {
		t.Run(mode, func(t *testing.T) {
			res, err := harness.Run("t", nil, nil, awsProgram(func(a *routing.Args) {
				a.TLS = routing.TLSArgs{Mode: mode}
				if mode == routing.TLSACM {
					a.TLS.CertificateARN = certARN
				}
			}, nil))
			require.NoError(t, err)
			proxies := res.OfType("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")
			require.Len(t, proxies, 1)
			obj := objects(res, "EnvoyProxy")[0].Object
			ann, _ := harness.Dig(obj, "spec", "provider", "kubernetes", "envoyService", "annotations").(map[string]any)
			require.NotEmpty(t, ann, "the NLB annotations")
			_, tlsListener := ann[lb+"ssl-cert"]
			attrs, _ := ann[lb+"attributes"].(string)
			claims := strings.Contains(attrs, "access_logs.s3.enabled=true")
			assert.Equal(t, tlsListener, claims, "access logs claimed (%v) exactly when the NLB has a TLS listener (%v): %s", claims, tlsListener, attrs)

			var buckets, policies []harness.Resource
			for _, b := range res.OfType("aws:s3/bucketV2:BucketV2") {
				if strings.Contains(b.Name, "nlb-access-logs") {
					buckets = append(buckets, b)
				}
			}
			for _, p := range res.OfType("aws:s3/bucketPolicy:BucketPolicy") {
				if strings.Contains(p.Name, "nlb-access-logs") {
					policies = append(policies, p)
				}
			}
			if !tlsListener {
				assert.Empty(t, buckets, "no access-log bucket the NLB would never write to")
				return
			}
			require.Len(t, buckets, 1)
			require.Len(t, policies, 1)
			assert.Contains(t, attrs, "access_logs.s3.bucket="+buckets[0].ID)
			// The controller sets the attribute only if ELB may write to
			// the bucket, or it fails with AccessDenied: the EnvoyProxy
			// (which carries the annotation) waits for the bucket policy.
			assert.Contains(t, proxies[0].DependsOn, policies[0].URN, "the EnvoyProxy waits for the access-log bucket policy")
		})
	}
}
