package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// AWS writes NLB access logs only for TLS listeners ("Access logs are
// created only if the load balancer has a TLS listener, and the logs
// contain information about TLS requests only": Elastic Load Balancing,
// "Access logs for your Network Load Balancer",
// docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html),
// so an access-log annotation on an NLB with TCP listeners only claims logs
// that never come.
func TestS13NLBAccessLogsNeedATLSListener(t *testing.T) {
	const lb = "service.beta.kubernetes.io/aws-load-balancer-"
	svc := func(ann map[string]any) map[string]any {
		return map[string]any{"metadata": map[string]any{"annotations": ann}}
	}
	tcpClaiming := result(k8s("core/v1:Service", "tcp", svc(map[string]any{
		lb + "scheme": "internet-facing", lb + "attributes": "access_logs.s3.enabled=true,access_logs.s3.bucket=logs,deletion_protection.enabled=true",
	})))
	fs := findings(t, tcpClaiming, "S13", Options{})
	assert.True(t, hasStatus(fs, Fail, "TLS listener"), "a TCP-listener NLB claiming access logs fails: %v", fs)

	tls := result(k8s("core/v1:Service", "tls", svc(map[string]any{
		lb + "scheme": "internet-facing", lb + "ssl-cert": "arn:aws:acm:eu-west-1:111122223333:certificate/x", lb + "ssl-ports": "443",
		lb + "attributes": "access_logs.s3.enabled=true,access_logs.s3.bucket=logs,deletion_protection.enabled=true",
	})))
	fs = findings(t, tls, "S13", Options{Production: true})
	assert.False(t, hasStatus(fs, Fail, ""), "a TLS-listener NLB with access logs passes: %v", fs)

	tlsNoLogs := result(k8s("core/v1:Service", "tls", svc(map[string]any{
		lb + "scheme": "internet-facing", lb + "ssl-cert": "arn:aws:acm:eu-west-1:111122223333:certificate/x",
		lb + "attributes": "deletion_protection.enabled=true",
	})))
	assert.True(t, hasStatus(findings(t, tlsNoLogs, "S13", Options{}), Fail, "access logs off"), "a TLS listener without access logs still fails")

	tcpHonest := result(k8s("core/v1:Service", "tcp", svc(map[string]any{
		lb + "scheme": "internet-facing", lb + "attributes": "deletion_protection.enabled=true",
	})))
	fs = findings(t, tcpHonest, "S13", Options{Production: true})
	assert.False(t, hasStatus(fs, Fail, ""), "a TCP-listener NLB that claims nothing does not fail: %v", fs)
	assert.True(t, hasStatus(fs, Exempt, "flow logs"), "its exemption says what records connections instead: %v", fs)
}
