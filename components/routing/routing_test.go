package routing_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/policydoc"
	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/harness"
)

const certARN = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-0000-4000-8000-0123456789ab"

var scope = routing.Scope{
	Partition: "aws", Region: "eu-west-1", AccountID: "111122223333", ClusterName: "platform-dev",
	VpcID: "vpc-0abc", HostedZoneID: "Z0EXAMPLE1", Domain: "dev.example.com",
}

// writes are the statements that do more than read.
func writes(d policydoc.Document) []policydoc.Statement {
	var out []policydoc.Statement
	for _, s := range d.Statement {
		readOnly := true
		for _, a := range s.Action {
			name := a[strings.Index(a, ":")+1:]
			if !strings.HasPrefix(name, "Describe") && !strings.HasPrefix(name, "Get") && !strings.HasPrefix(name, "List") {
				readOnly = false
			}
		}
		if !readOnly {
			out = append(out, s)
		}
	}
	return out
}

func TestPoliciesAreScoped(t *testing.T) {
	withACM := scope
	withACM.CertificateARN = certARN
	for name, doc := range map[string]policydoc.Document{
		"load balancer controller": routing.LoadBalancerControllerPolicy(withACM),
		"external-dns":             routing.ExternalDNSPolicy(scope),
		"cert-manager":             routing.CertManagerPolicy(scope),
	} {
		t.Run(name, func(t *testing.T) {
			require.NotEmpty(t, writes(doc))
			for _, s := range doc.Statement {
				for _, a := range s.Action {
					assert.NotContains(t, a, "*", "no wildcard actions")
				}
				for _, r := range s.Resource {
					assert.NotContains(t, r, "hostedzone/*", "never every hosted zone")
				}
			}
			for _, s := range writes(doc) {
				for _, r := range s.Resource {
					assert.NotEqual(t, "*", r, "%s: a write on every resource", s.Sid)
					if strings.HasPrefix(r, "arn:aws:ec2:") || strings.HasPrefix(r, "arn:aws:elasticloadbalancing:") {
						assert.True(t, strings.HasPrefix(r, "arn:aws:"+strings.SplitN(r, ":", 4)[2]+":eu-west-1:111122223333:"), "%s: %s is outside this region and account", s.Sid, r)
					}
				}
			}
		})
	}
}

func TestLoadBalancerControllerWritesOnlyItsClusterOrVPC(t *testing.T) {
	require.NotEmpty(t, writes(routing.LoadBalancerControllerPolicy(scope)))
	for _, s := range writes(routing.LoadBalancerControllerPolicy(scope)) {
		raw, _ := json.Marshal(s)
		scoped := strings.Contains(string(raw), `"platform-dev"`) || strings.Contains(string(raw), "vpc/vpc-0abc") ||
			strings.Contains(string(raw), "AWSServiceRoleForElasticLoadBalancing") || strings.Contains(string(raw), "listener/net/")
		assert.True(t, scoped, "%s is limited to neither the cluster's tag nor its VPC: %s", s.Sid, raw)
		for _, a := range s.Action {
			for _, alb := range []string{"waf", "shield", "cognito"} {
				assert.NotContains(t, a, alb, "ALB-only permission")
			}
		}
	}
	assert.NotContains(t, routing.LoadBalancerControllerPolicy(scope).JSON(), "acm:", "no certificate access without acm mode")
	withACM := scope
	withACM.CertificateARN = certARN
	assert.Contains(t, routing.LoadBalancerControllerPolicy(withACM).JSON(), certARN)
}

func TestDNSPoliciesNameTheOneZone(t *testing.T) {
	zone := "arn:aws:route53:::hostedzone/Z0EXAMPLE1"
	for name, doc := range map[string]policydoc.Document{"external-dns": routing.ExternalDNSPolicy(scope), "cert-manager": routing.CertManagerPolicy(scope)} {
		changes := 0
		for _, s := range doc.Statement {
			for _, a := range s.Action {
				if a == "route53:ChangeResourceRecordSets" {
					changes++
					assert.Equal(t, []string{zone}, s.Resource, name)
				}
			}
		}
		assert.Equal(t, 1, changes, name)
	}
	cm := routing.CertManagerPolicy(scope).JSON()
	assert.Contains(t, cm, "_acme-challenge.dev.example.com", "cert-manager writes only the challenge record")
	assert.Contains(t, cm, `"TXT"`)
}

func TestGatewayHTTPListenerOnlyRedirects(t *testing.T) {
	spec := routing.GatewaySpec("platform", "example.com", "wildcard-tls", false)
	listeners := spec["listeners"].([]any)
	require.Len(t, listeners, 2)
	http, https := listeners[0].(map[string]any), listeners[1].(map[string]any)
	assert.Equal(t, 80, http["port"])
	assert.Equal(t, "HTTP", http["protocol"])
	assert.Equal(t, "Same", http["allowedRoutes"].(map[string]any)["namespaces"].(map[string]any)["from"], "app routes cannot attach to plain HTTP")
	assert.Equal(t, 443, https["port"])
	assert.Equal(t, "HTTPS", https["protocol"])
	assert.Equal(t, "*.example.com", https["hostname"])
	assert.Equal(t, "wildcard-tls", https["tls"].(map[string]any)["certificateRefs"].([]any)[0].(map[string]any)["name"])

	redirect := routing.RedirectRouteSpec("platform", "gateway")
	ref := redirect["parentRefs"].([]any)[0].(map[string]any)
	assert.Equal(t, routing.HTTPListener, ref["sectionName"])
	rules := redirect["rules"].([]any)
	require.Len(t, rules, 1)
	rule := rules[0].(map[string]any)
	assert.Nil(t, rule["backendRefs"], "the redirect serves nothing")
	filter := rule["filters"].([]any)[0].(map[string]any)
	assert.Equal(t, "RequestRedirect", filter["type"])
	assert.Equal(t, map[string]any{"scheme": "https", "statusCode": 301}, filter["requestRedirect"])

	acm := routing.GatewaySpec("platform", "example.com", "wildcard-tls", true)
	httpsACM := acm["listeners"].([]any)[1].(map[string]any)
	assert.Equal(t, "HTTP", httpsACM["protocol"], "in acm mode the NLB terminates TLS on 443")
	assert.Nil(t, httpsACM["tls"])
}

func TestProxyShapePerReplicas(t *testing.T) {
	cases := []struct {
		replicas int
		spread   bool
	}{{1, false}, {2, true}, {3, true}}
	for _, tc := range cases {
		spec := routing.EnvoyProxySpec(routing.ProxyConfig{
			Replicas: tc.replicas, ServiceType: "LoadBalancer", GatewayName: "platform", GatewayNamespace: "gateway",
			Resources: routing.Resources{Requests: routing.ResourceList{CPU: "100m", Memory: "256Mi"}, Limits: routing.ResourceList{CPU: "1", Memory: "512Mi"}},
		})
		k8s := spec["provider"].(map[string]any)["kubernetes"].(map[string]any)
		dep := k8s["envoyDeployment"].(map[string]any)
		assert.Equal(t, tc.replicas, dep["replicas"])
		res := dep["container"].(map[string]any)["resources"].(map[string]any)
		assert.Equal(t, "256Mi", res["requests"].(map[string]any)["memory"])
		assert.Equal(t, "512Mi", res["limits"].(map[string]any)["memory"])
		assert.Equal(t, "1", res["limits"].(map[string]any)["cpu"])
		spread, hasSpread := dep["pod"].(map[string]any)["topologySpreadConstraints"].([]any)
		pdb, hasPDB := k8s["envoyPDB"].(map[string]any)
		assert.Equal(t, tc.spread, hasSpread, "replicas %d", tc.replicas)
		assert.Equal(t, tc.spread, hasPDB, "replicas %d", tc.replicas)
		if tc.spread {
			c := spread[0].(map[string]any)
			assert.Equal(t, 1, c["maxSkew"])
			assert.Equal(t, routing.ZoneKey, c["topologyKey"])
			assert.Equal(t, "DoNotSchedule", c["whenUnsatisfiable"])
			assert.Equal(t, tc.replicas-1, pdb["minAvailable"], "a drain never takes more than one proxy")
		}
	}
}

func TestNLBAnnotations(t *testing.T) {
	a := routing.NLBAnnotations(routing.NLBOptions{SubnetIDs: []string{"subnet-a", "subnet-b", "subnet-c"}, AccessLogBucket: "logs", AccessLogPrefix: "platform-prod", DeletionProtection: true, CertificateARN: certARN})
	p := "service.beta.kubernetes.io/aws-load-balancer-"
	assert.Equal(t, "internet-facing", a[p+"scheme"])
	assert.Equal(t, "ip", a[p+"nlb-target-type"])
	assert.Equal(t, "subnet-a,subnet-b,subnet-c", a[p+"subnets"])
	for _, attr := range []string{"load_balancing.cross_zone.enabled=true", "deletion_protection.enabled=true", "access_logs.s3.enabled=true", "access_logs.s3.bucket=logs"} {
		assert.Contains(t, a[p+"attributes"], attr)
	}

	tcp := routing.NLBAnnotations(routing.NLBOptions{SubnetIDs: []string{"subnet-a"}, AccessLogBucket: "logs", AccessLogPrefix: "platform-prod"})
	assert.NotContains(t, tcp, p+"ssl-cert", "TLS terminates at Envoy in acme mode")
	assert.NotContains(t, tcp[p+"attributes"], "access_logs", "AWS writes NLB access logs for TLS listeners only")

	acm := routing.NLBAnnotations(routing.NLBOptions{SubnetIDs: []string{"subnet-a"}, CertificateARN: certARN})
	assert.Equal(t, certARN, acm[p+"ssl-cert"])
	assert.Equal(t, "443", acm[p+"ssl-ports"])
	assert.Equal(t, "ELBSecurityPolicy-TLS13-1-2-2021-06", acm[p+"ssl-negotiation-policy"])
	assert.Contains(t, acm[p+"attributes"], "deletion_protection.enabled=false")
}

func TestValuesPerSizing(t *testing.T) {
	ha := routing.Sizing{ControllerReplicas: 2, HighAvailability: true}
	single := routing.Sizing{ControllerReplicas: 1}
	lbc := routing.LoadBalancerControllerValuesFor("platform-prod", "eu-west-1", nil, ha)
	assert.Equal(t, "platform-prod", lbc.ClusterName)
	assert.Equal(t, "eu-west-1", lbc.Region)
	assert.Equal(t, 2, lbc.ReplicaCount)
	assert.NotNil(t, lbc.PodDisruptionBudget)
	assert.False(t, lbc.EnableShield || lbc.EnableWaf || lbc.EnableWafv2, "ALB integrations off: the policy does not grant them")
	assert.False(t, lbc.ServiceAccount.Create, "we create the account, with its role")
	assert.Nil(t, routing.LoadBalancerControllerValuesFor("c", "r", nil, single).PodDisruptionBudget)

	eg := routing.EnvoyGatewayValuesFor(ha)
	assert.Equal(t, 2, eg.Deployment.Replicas)
	require.NotNil(t, eg.PodDisruptionBudget)
	assert.Equal(t, 1, eg.PodDisruptionBudget.MinAvailable)
	assert.Nil(t, routing.EnvoyGatewayValuesFor(single).PodDisruptionBudget)

	cm := routing.CertManagerValuesFor(ha)
	assert.True(t, cm.CRDs.Enabled && cm.CRDs.Keep, "CRDs stay when the chart goes: deleting them deletes every Certificate")
	assert.Equal(t, 2, cm.Webhook.ReplicaCount)
	assert.True(t, cm.Webhook.PodDisruptionBudget.Enabled)

	dns := routing.ExternalDNSValuesFor("dev.example.com", "Z0EXAMPLE1", "platform-dev", routing.DNSPolicySync, "eu-west-1")
	assert.Equal(t, []string{"gateway-httproute"}, dns.Sources)
	assert.Equal(t, []string{"dev.example.com"}, dns.DomainFilters)
	assert.Equal(t, "platform-dev", dns.TxtOwnerID)
	assert.Contains(t, dns.ExtraArgs, "--zone-id-filter=Z0EXAMPLE1")
	assert.Contains(t, dns.ExtraArgs, "--aws-zone-match-parent", "dev.example.com lives in the example.com zone: without it no zone matches the domain filter")

	for _, c := range routing.Charts() {
		assert.Regexp(t, `^v?\d+\.\d+\.\d+$`, c.Version, c.Name)
	}
}

// awsProgram builds a cluster (for its workload roles) and routing on it.
func awsProgram(mutate func(*routing.Args), out **routing.Routing) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		c, err := cluster.NewCluster(ctx, "c", &cluster.Args{
			Name: "platform-test", Region: "eu-west-1",
			AdminRoleARNs: []string{"arn:aws:iam::111122223333:role/deploy"},
			Subnets:       []cluster.ZoneSubnet{{Zone: "eu-west-1a", ID: pulumi.String("subnet-a")}, {Zone: "eu-west-1b", ID: pulumi.String("subnet-b")}},
		})
		if err != nil {
			return err
		}
		a := &routing.Args{
			Domain: "test.example.com", ProxyReplicas: 2, HighAvailability: true,
			AWS: &routing.AWSArgs{
				Region: "eu-west-1", AccountID: pulumi.String("111122223333").ToStringOutput(), ClusterName: "platform-test",
				VpcID: pulumi.String("vpc-0abc"), PublicSubnetIDs: pulumi.ToStringArray([]string{"subnet-pa", "subnet-pb"}),
				HostedZoneID: "Z0EXAMPLE1", ZoneName: "example.com", Roles: c,
			},
		}
		if mutate != nil {
			mutate(a)
		}
		r, err := routing.NewRouting(ctx, "routing", a)
		if out != nil {
			*out = r
		}
		return err
	}
}

func objects(res *harness.Result, kind string) []harness.KubernetesObject {
	var out []harness.KubernetesObject
	for _, o := range res.KubernetesObjects() {
		if o.Kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func TestACMModeTerminatesTLSAtTheNLB(t *testing.T) {
	res, err := harness.Run("t", nil, nil, awsProgram(func(a *routing.Args) {
		a.TLS = routing.TLSArgs{Mode: routing.TLSACM, CertificateARN: certARN}
	}, nil))
	require.NoError(t, err)
	assert.Empty(t, objects(res, "Certificate"), "no cert-manager certificate in acm mode")
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		assert.NotEqual(t, "cert-manager", r.String("chart"), "cert-manager is not installed in acm mode")
	}
	proxies := objects(res, "EnvoyProxy")
	require.Len(t, proxies, 1)
	ann := harness.Dig(proxies[0].Object, "spec", "provider", "kubernetes", "envoyService", "annotations").(map[string]any)
	assert.Equal(t, certARN, ann["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"])
	assert.Equal(t, routing.TLSPolicy, ann["service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"])
	assert.Equal(t, "subnet-pa,subnet-pb", ann["service.beta.kubernetes.io/aws-load-balancer-subnets"])
}

func TestACMEModeUsesDNS01InTheOneZone(t *testing.T) {
	res, err := harness.Run("t", nil, nil, awsProgram(func(a *routing.Args) { a.TLS.ACMEServer = routing.LetsEncryptStaging }, nil))
	require.NoError(t, err)
	issuers := objects(res, "ClusterIssuer")
	require.Len(t, issuers, 1)
	assert.Equal(t, routing.LetsEncryptStaging, harness.Dig(issuers[0].Object, "spec", "acme", "server"))
	solver := harness.Dig(issuers[0].Object, "spec", "acme", "solvers").([]any)[0]
	assert.Equal(t, "Z0EXAMPLE1", harness.Dig(solver, "dns01", "route53", "hostedZoneID"))
	certs := objects(res, "Certificate")
	require.Len(t, certs, 1)
	assert.Equal(t, "gateway", certs[0].Namespace(), "the secret must sit beside the Gateway")
	assert.Equal(t, []any{"*.test.example.com", "test.example.com"}, harness.Dig(certs[0].Object, "spec", "dnsNames"))
	assert.Equal(t, issuers[0].Name(), harness.Dig(certs[0].Object, "spec", "issuerRef", "name"))
	// Three roles: load balancer controller, external-dns, cert-manager.
	var policies []string
	for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
		if strings.Contains(p.URN, "routing") {
			policies = append(policies, p.String("policy"))
		}
	}
	assert.Len(t, policies, 3)
	for _, p := range policies {
		assert.NotContains(t, p, "hostedzone/*")
	}
}

func TestVpcIDReachesTheControllerValues(t *testing.T) {
	res, err := harness.Run("t", nil, nil, awsProgram(nil, nil))
	require.NoError(t, err)
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		if r.String("chart") == "aws-load-balancer-controller" {
			assert.Equal(t, "vpc-0abc", r.String("values", "vpcId"))
			assert.Equal(t, "platform-test", r.String("values", "clusterName"))
			return
		}
	}
	t.Fatal("no load balancer controller release")
}

func TestWithoutAWS(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := routing.NewRouting(ctx, "routing", &routing.Args{Domain: "platform.localhost"})
		return err
	})
	require.NoError(t, err)
	for _, r := range res.Resources {
		assert.False(t, strings.HasPrefix(r.Type, "aws:"), "no AWS resource: %s", r.URN)
	}
	var charts []string
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		charts = append(charts, r.String("chart"))
	}
	assert.ElementsMatch(t, []string{routing.EnvoyGatewayChart.Repo + "/gateway-helm", "cert-manager"}, charts)
	issuers := objects(res, "ClusterIssuer")
	require.Len(t, issuers, 1)
	assert.NotNil(t, harness.Dig(issuers[0].Object, "spec", "selfSigned"))
	svc := harness.Dig(objects(res, "EnvoyProxy")[0].Object, "spec", "provider", "kubernetes", "envoyService").(map[string]any)
	assert.Equal(t, "NodePort", svc["type"])
	assert.Nil(t, svc["annotations"])
}

// A cluster that already runs cert-manager (certManager: existing) gets
// the issuer and the certificate, and neither the chart nor its namespace,
// service account or network policies.
func TestExistingCertManager(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := routing.NewRouting(ctx, "routing", &routing.Args{Domain: "platform.localhost",
			TLS: routing.TLSArgs{CertManager: routing.CertManagerExisting}})
		return err
	})
	require.NoError(t, err)
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		assert.NotEqual(t, "cert-manager", r.String("chart"), "no cert-manager release: %s", r.URN)
	}
	for _, r := range res.Resources {
		assert.NotContains(t, r.URN, "::cert-manager", "nothing of the cert-manager install: %s", r.URN)
	}
	require.Len(t, objects(res, "ClusterIssuer"), 1)
	certs := objects(res, "Certificate")
	require.Len(t, certs, 1)
	assert.Equal(t, "gateway", certs[0].Namespace())

	_, err = harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := routing.NewRouting(ctx, "routing", &routing.Args{Domain: "platform.localhost",
			TLS: routing.TLSArgs{CertManager: "bring-your-own"}})
		return err
	})
	require.ErrorContains(t, err, `TLS CertManager "bring-your-own": must be install (install cert-manager's chart) or existing`)
}

func TestExposeTheNginxExample(t *testing.T) {
	var route *routing.Route
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		r, err := routing.NewRouting(ctx, "routing", &routing.Args{Domain: "example.com"})
		if err != nil {
			return err
		}
		route, err = r.Expose(ctx, "nginx", &routing.ExposeArgs{Host: "nginx.example.com", Namespace: "nginx", Service: "nginx", Port: 80})
		if err != nil {
			return err
		}
		ctx.Export("url", route.URL)
		return nil
	})
	require.NoError(t, err)
	var found *harness.KubernetesObject
	for _, o := range objects(res, "HTTPRoute") {
		if o.Name() == "nginx" {
			found = &o
		}
	}
	require.NotNil(t, found, "no HTTPRoute nginx")
	assert.Equal(t, "gateway.networking.k8s.io/v1", found.Object["apiVersion"])
	assert.Equal(t, "nginx", found.Namespace())
	assert.Equal(t, []any{"nginx.example.com"}, harness.Dig(found.Object, "spec", "hostnames"))
	ref := harness.Dig(found.Object, "spec", "parentRefs").([]any)[0]
	assert.Equal(t, map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "platform", "namespace": "gateway", "sectionName": "https"}, ref)
	backend := harness.Dig(harness.Dig(found.Object, "spec", "rules").([]any)[0], "backendRefs").([]any)[0]
	assert.Equal(t, "nginx", harness.Dig(backend, "name"))
	assert.Equal(t, float64(80), harness.Dig(backend, "port"))
	assert.Equal(t, "https://nginx.example.com", res.Outputs["url"].Value)
}

func TestNewRouteFromAnotherStack(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		// In an app stack these come from a StackReference to the platform.
		gw := routing.GatewayRef{Name: pulumi.String("platform").ToStringOutput(), Namespace: pulumi.String("gateway").ToStringOutput()}
		_, err := routing.NewRoute(ctx, "nginx", &routing.RouteArgs{Gateway: gw, Host: "nginx.example.com", Namespace: pulumi.String("web"), Service: "nginx", Port: 80})
		return err
	})
	require.NoError(t, err)
	routes := objects(res, "HTTPRoute")
	require.Len(t, routes, 1)
	assert.Equal(t, "gateway", harness.Dig(harness.Dig(routes[0].Object, "spec", "parentRefs").([]any)[0], "namespace"))
}

// Namespace and Domain may be outputs (a Namespace component's name, the
// platform stack's routingDomain): a plain value is checked before anything
// is registered, an output when it resolves, with the same message.
func TestRouteChecksOutputsWhenTheyResolve(t *testing.T) {
	gw := routing.GatewayRef{Name: pulumi.String("platform"), Namespace: pulumi.String("gateway")}
	for name, tc := range map[string]struct {
		args routing.RouteArgs
		want string
	}{
		"host outside the domain": {routing.RouteArgs{Gateway: gw, Host: "nginx.example.org", Namespace: pulumi.String("web"), Service: "nginx", Port: 80, Domain: pulumi.String("example.com")},
			`platform:routing:Route "nginx": host "nginx.example.org" must be one label under example.com (the wildcard certificate *.example.com)`},
		"bad namespace": {routing.RouteArgs{Gateway: gw, Host: "nginx.example.com", Namespace: pulumi.String("Web"), Service: "nginx", Port: 80},
			`platform:routing:Route "nginx": Namespace "Web": `},
	} {
		t.Run(name, func(t *testing.T) {
			plain := tc.args
			_, plainErr := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
				_, err := routing.NewRoute(ctx, "nginx", &plain)
				return err
			})
			require.Error(t, plainErr)
			assert.Contains(t, plainErr.Error(), tc.want)

			out := tc.args
			out.Namespace = out.Namespace.ToStringOutput()
			if out.Domain != nil {
				out.Domain = out.Domain.ToStringOutput()
			}
			res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
				_, err := routing.NewRoute(ctx, "nginx", &out)
				return err
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, objects(res, "HTTPRoute"), "no HTTPRoute for a refused namespace or host")
		})
	}
}

func TestRejectsBadArgs(t *testing.T) {
	cases := map[string]struct {
		mutate func(*routing.Args)
		want   string
	}{
		"domain outside the zone": {func(a *routing.Args) { a.Domain = "test.example.org" }, `must be the hosted zone's name "example.com" or under it`},
		"unknown TLS mode":        {func(a *routing.Args) { a.TLS.Mode = "letsencrypt" }, `TLS mode "letsencrypt" must be acme, acm or self-signed`},
		"acm without certificate": {func(a *routing.Args) { a.TLS.Mode = routing.TLSACM }, "must be an ACM certificate ARN"},
		"malformed zone id":       {func(a *routing.Args) { a.AWS.HostedZoneID = "example.com" }, `HostedZoneID "example.com"`},
		"unknown implementation":  {func(a *routing.Args) { a.Implementation = "nginx" }, `Implementation "nginx" must be one of envoy-gateway`},
		"self-signed on AWS":      {func(a *routing.Args) { a.TLS.Mode = routing.TLSSelfSigned }, "for environments without AWS"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := harness.Run("t", nil, nil, awsProgram(tc.mutate, nil))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			for _, r := range res.Resources {
				assert.NotContains(t, r.Type, "routing", "nothing registered for invalid args")
			}
		})
	}
	_, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		r, err := routing.NewRouting(ctx, "routing", &routing.Args{Domain: "example.com"})
		if err != nil {
			return err
		}
		_, err = r.Expose(ctx, "deep", &routing.ExposeArgs{Host: "a.b.example.com", Namespace: "web", Service: "web", Port: 80})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "one label under example.com", "the wildcard certificate covers one level only")
}
