package stacks

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/routing"
)

const goodRouting = `{"hostedZoneId":"Z0EXAMPLEZONE00000001","zoneName":"example.com"}`

func withRouting(env, routingJSON string) MapSource {
	return with(validProd(), map[string]string{"platform:environment": env, "platform:routing": routingJSON})
}

func TestRoutingRejectsBadConfig(t *testing.T) {
	local := MapSource{"platform:environment": "local", "platform:kubeconfigContext": "kind-platform"}
	cases := []struct {
		name    string
		src     MapSource
		key     string
		value   string
		allowed string
	}{
		{"domain not under the zone", with(withRouting("prod", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","zoneName":"example.org"}`), nil),
			"platform:routing.zoneName", `"example.org"`, `platform:domain "platform.example.com" must be the zone's name or a name under it`},
		{"unknown cert-manager source", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","certManager":"helm"}`),
			"platform:routing.certManager", `"helm"`, "must be install (install cert-manager's chart) or existing (use the cert-manager the cluster runs)"},
		{"unknown TLS mode", withRouting("prod", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","tlsMode":"letsencrypt"}`),
			"platform:routing.tlsMode", `"letsencrypt"`, "must be acme or acm in prod"},
		{"acm without certificate ARN", withRouting("staging", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","tlsMode":"acm"}`),
			"platform:routing.acmCertificateArn", `""`, "is required with tlsMode acm"},
		{"malformed ACM ARN", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","tlsMode":"acm","acmCertificateArn":"arn:aws:acm:eu-west-1:1:cert/x"}`),
			"platform:routing.acmCertificateArn", `"arn:aws:acm:eu-west-1:1:cert/x"`, "must be an ACM certificate ARN"},
		{"ACM certificate in another region", withRouting("prod", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","tlsMode":"acm","acmCertificateArn":"arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-0000-4000-8000-0123456789ab"}`),
			"platform:routing.acmCertificateArn", "us-east-1", "must be in the stack's region eu-west-1"},
		{"certificate ARN without acm", withRouting("prod", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","acmCertificateArn":"arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-0000-4000-8000-0123456789ab"}`),
			"platform:routing.acmCertificateArn", "arn:aws:acm", `only applies with tlsMode acm (tlsMode is "acme")`},
		{"prod with one proxy", withRouting("prod", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","proxyReplicas":1}`),
			"platform:routing.proxyReplicas", "1", "prod needs at least 2 proxies"},
		{"negative proxies", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","proxyReplicas":-1}`),
			"platform:routing.proxyReplicas", "-1", "must be at least 1"},
		{"malformed zone id", withRouting("prod", `{"hostedZoneId":"example.com"}`),
			"platform:routing.hostedZoneId", `"example.com"`, "Route53 hosted zone id"},
		{"missing zone id", withRouting("dev", `{}`),
			"platform:routing.hostedZoneId", `""`, "Route53 hosted zone id"},
		{"zone id in local", with(local, map[string]string{"platform:routing": `{"hostedZoneId":"Z0EXAMPLEZONE00000001"}`}),
			"platform:routing.hostedZoneId", `"Z0EXAMPLEZONE00000001"`, "local has no Route53"},
		{"ACME in local", with(local, map[string]string{"platform:routing": `{"tlsMode":"acme"}`}),
			"platform:routing.tlsMode", `"acme"`, "must be self-signed in local"},
		{"self-signed on AWS", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","tlsMode":"self-signed"}`),
			"platform:routing.tlsMode", `"self-signed"`, "must be acme or acm in dev"},
		{"unknown implementation", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","implementation":"ingress-nginx"}`),
			"platform:routing.implementation", `"ingress-nginx"`, "must be one of envoy-gateway"},
		{"unknown DNS policy", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","externalDnsPolicy":"create-only"}`),
			"platform:routing.externalDnsPolicy", `"create-only"`, "must be sync or upsert-only"},
		{"bad ACME e-mail", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","acmeEmail":"platform team"}`),
			"platform:routing.acmeEmail", `"platform team"`, "e-mail address"},
		{"log retention out of range", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","accessLogRetentionDays":5000}`),
			"platform:routing.accessLogRetentionDays", "5000", "between 1 and 3650"},
		{"API port on EKS", withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","apiServerPort":6443}`),
			"platform:routing.apiServerPort", "6443", "EKS serves the API on 443"},
		{"routing without a domain", with(withRouting("dev", goodRouting), map[string]string{"platform:domain": "<unset>"}),
			"platform:domain", `""`, "is required when platform:routing is set"},
		{"unknown routing field", withRouting("dev", `{"hostedZone":"Z0EXAMPLEZONE00000001"}`),
			"platform:routing", `hostedZone`, "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.src)
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "want a *ValidationError, got %v", err)
			found := false
			for _, p := range verr.Problems {
				if strings.HasPrefix(p, tc.key+": ") && strings.Contains(p, tc.value) && strings.Contains(p, tc.allowed) {
					found = true
				}
			}
			assert.True(t, found, "want a problem naming %s, quoting %s and saying %q; got:\n%s", tc.key, tc.value, tc.allowed, err)
		})
	}
}

func TestRoutingDefaultsPerEnvironment(t *testing.T) {
	load := func(env string) RoutingConfig {
		t.Helper()
		cfg, err := Load(withRouting(env, goodRouting))
		require.NoError(t, err)
		require.True(t, cfg.Routing.Enabled)
		return cfg.Routing
	}
	dev, staging, prod := load("dev"), load("staging"), load("prod")
	assert.Equal(t, 1, dev.ProxyReplicas)
	assert.Equal(t, 2, staging.ProxyReplicas)
	assert.Equal(t, 3, prod.ProxyReplicas, "one proxy per AZ in prod")
	for _, rc := range []RoutingConfig{dev, staging, prod} {
		assert.Equal(t, routing.TLSACME, rc.TLSMode)
		assert.Equal(t, routing.ImplementationEnvoyGateway, rc.Implementation)
		assert.Equal(t, 443, rc.APIServerPort)
	}
	assert.Equal(t, routing.DNSPolicyUpsertOnly, prod.ExternalDNSPolicy, "prod never deletes records")
	assert.Equal(t, routing.DNSPolicySync, dev.ExternalDNSPolicy)
	assert.Less(t, dev.AccessLogRetentionDays, prod.AccessLogRetentionDays)

	cfg, err := Load(MapSource{"platform:environment": "local", "platform:kubeconfigContext": "kind", "platform:routing": `{}`})
	require.NoError(t, err)
	assert.Equal(t, "platform.localhost", cfg.Domain)
	assert.Equal(t, routing.TLSSelfSigned, cfg.Routing.TLSMode)
	assert.Equal(t, 6443, cfg.Routing.APIServerPort)

	// Zone name defaults to the domain; a user value wins.
	cfg, err = Load(withRouting("dev", `{"hostedZoneId":"Z0EXAMPLEZONE00000001","proxyReplicas":4,"externalDnsPolicy":"upsert-only"}`))
	require.NoError(t, err)
	assert.Equal(t, "platform.example.com", cfg.Routing.ZoneName)
	assert.Equal(t, 4, cfg.Routing.ProxyReplicas)
	assert.Equal(t, routing.DNSPolicyUpsertOnly, cfg.Routing.ExternalDNSPolicy)

	cfg, err = Load(validProd())
	require.NoError(t, err)
	assert.False(t, cfg.Routing.Enabled, "without platform:routing no routing layer is deployed")
}
