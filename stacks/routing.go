package stacks

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/routing"
)

// RoutingConfig configures the routing layer (`platform:routing`, an object).
// The layer is deployed when the key is set; every stack file in the
// repository sets it.
type RoutingConfig struct {
	// Enabled (`enabled`): default true when the stack file sets
	// `platform:routing`.
	Enabled bool `json:"-"`
	// Implementation of Gateway API: envoy-gateway (default).
	Implementation string `json:"implementation,omitempty"`
	// HostedZoneID of the Route53 zone records and DNS-01 challenges go to.
	// Required on AWS; the IAM roles are scoped to this one zone.
	HostedZoneID string `json:"hostedZoneId,omitempty"`
	// ZoneName of that zone; platform:domain must be it or under it.
	// Default: platform:domain.
	ZoneName string `json:"zoneName,omitempty"`
	// ProxyReplicas of the gateway's Envoy proxies: default per environment
	// (Defaults); at least 2 in prod.
	ProxyReplicas int `json:"proxyReplicas,omitempty"`
	// TLSMode: acme (Let's Encrypt, its staging endpoint in dev), acm (the
	// NLB terminates TLS with AcmCertificateARN), or self-signed (local
	// only). Default per environment (Defaults).
	TLSMode string `json:"tlsMode,omitempty"`
	// ACMCertificateARN: required with tlsMode acm; a certificate for
	// *.<domain> in the stack's region.
	ACMCertificateARN string `json:"acmCertificateArn,omitempty"`
	// ACMEEmail for the ACME account. Optional.
	ACMEEmail string `json:"acmeEmail,omitempty"`
	// CertManager: install (default) installs cert-manager's chart;
	// existing uses the cert-manager the cluster already runs (its CRDs and
	// webhook must be there; in acme mode its service account needs its own
	// Route53 rights) and creates only the issuer and the certificate. Not
	// used with tlsMode acm.
	CertManager string `json:"certManager,omitempty"`
	// ExternalDNSPolicy: upsert-only (never deletes a record) or sync
	// (records of deleted routes are removed). Default per environment
	// (Defaults).
	ExternalDNSPolicy string `json:"externalDnsPolicy,omitempty"`
	// AccessLogRetentionDays of the NLB access logs: default per environment
	// (Defaults).
	AccessLogRetentionDays int `json:"accessLogRetentionDays,omitempty"`
	// APIServerPort the controllers reach the Kubernetes API on: fixed on
	// EKS; default per environment (Defaults).
	APIServerPort int `json:"apiServerPort,omitempty"`
}

// localDomain serves the local environment: *.localhost resolves to the
// loopback address on most systems (RFC 6761).
const localDomain = "platform.localhost"

// loadRouting reads the routing keys (read every key unconditionally, so
// KnownKeys lists them).
func loadRouting(r *reader, c *Config) {
	var k struct {
		Enabled *bool `json:"enabled,omitempty"`
		RoutingConfig
	}
	_, set := r.get("routing")
	r.object("routing", &k, "must be an object with enabled, implementation, hostedZoneId, zoneName, proxyReplicas, tlsMode, acmCertificateArn, acmeEmail, certManager, externalDnsPolicy, accessLogRetentionDays, apiServerPort")
	c.Routing = k.RoutingConfig
	c.Routing.Enabled = set && valueOr(k.Enabled, true)
}

// defaultRouting fills what the stack file left out, per environment.
func defaultRouting(c *Config) {
	rc := &c.Routing
	d := Defaults[c.Environment]
	// The API server's port serves every layer's network policies
	// (Config.APIServer), with routing on or off.
	contract.SetDefault(&rc.APIServerPort, d.APIServerPort)
	if !rc.Enabled {
		return
	}
	if c.Environment == Local && c.Domain == "" {
		c.Domain = localDomain
	}
	if rc.Implementation == "" {
		rc.Implementation = routing.ImplementationEnvoyGateway
	}
	if rc.ZoneName == "" {
		rc.ZoneName = c.Domain
	}
	contract.SetDefault(&rc.ProxyReplicas, d.ProxyReplicas)
	contract.SetDefault(&rc.TLSMode, d.TLSMode)
	if rc.CertManager == "" {
		rc.CertManager = routing.CertManagerInstall
	}
	contract.SetDefault(&rc.ExternalDNSPolicy, d.ExternalDNSPolicy)
	contract.SetDefault(&rc.AccessLogRetentionDays, d.AccessLogRetentionDays)
}

// validateRouting adds a problem for every bad value.
func validateRouting(p *problems, c *Config) {
	rc := c.Routing
	key := func(field string) string { return Key("routing") + "." + field }
	cloud := c.Environment != Local
	switch {
	case rc.APIServerPort < 1 || rc.APIServerPort > 65535:
		p.add(key("apiServerPort"), rc.APIServerPort, "must be a TCP port (1-65535)")
	case cloud && rc.APIServerPort != namespace.APIServerPort:
		p.add(key("apiServerPort"), rc.APIServerPort, "EKS serves the API on 443; only local may set another port")
	}
	if !rc.Enabled {
		return
	}
	if c.Domain == "" {
		p.add(Key("domain"), c.Domain, "is required when platform:routing is set: the routing layer serves *.<domain>")
	}
	if err := routing.CheckImplementation(rc.Implementation); err != nil {
		p.add(key("implementation"), rc.Implementation, "%v", err)
	}
	switch {
	case cloud && routing.CheckHostedZoneID(rc.HostedZoneID) != nil:
		p.add(key("hostedZoneId"), rc.HostedZoneID, "%v (the zone the environment's records go to)", routing.CheckHostedZoneID(rc.HostedZoneID))
	case !cloud && rc.HostedZoneID != "":
		p.add(key("hostedZoneId"), rc.HostedZoneID, "local has no Route53: remove it")
	}
	if c.Domain != "" && rc.ZoneName != c.Domain && !strings.HasSuffix(c.Domain, "."+rc.ZoneName) {
		p.add(key("zoneName"), rc.ZoneName, "platform:domain %q must be the zone's name or a name under it", c.Domain)
	}
	switch {
	case rc.ProxyReplicas < 1:
		p.add(key("proxyReplicas"), rc.ProxyReplicas, "must be at least 1")
	case c.Environment == Prod && rc.ProxyReplicas < 2:
		p.add(key("proxyReplicas"), rc.ProxyReplicas, "prod needs at least 2 proxies, spread across zones, so the edge survives a node or zone loss")
	}
	allowedTLS := []string{routing.TLSACME, routing.TLSACM}
	if !cloud {
		allowedTLS = []string{routing.TLSSelfSigned}
	}
	if !slices.Contains(allowedTLS, rc.TLSMode) {
		p.add(key("tlsMode"), rc.TLSMode, "must be %s in %s", strings.Join(allowedTLS, " or "), c.Environment)
	}
	if rc.TLSMode == routing.TLSACM {
		region, err := routing.CertificateRegion(rc.ACMCertificateARN)
		switch {
		case rc.ACMCertificateARN == "":
			p.add(key("acmCertificateArn"), rc.ACMCertificateARN, "is required with tlsMode acm: the ARN of an ACM certificate for *.%s", c.Domain)
		case err != nil:
			p.add(key("acmCertificateArn"), rc.ACMCertificateARN, "%v", err)
		case region != c.Region:
			p.add(key("acmCertificateArn"), rc.ACMCertificateARN, "must be in the stack's region %s (the NLB's)", c.Region)
		}
	} else if rc.ACMCertificateARN != "" {
		p.add(key("acmCertificateArn"), rc.ACMCertificateARN, "only applies with tlsMode acm (tlsMode is %q)", rc.TLSMode)
	}
	if rc.ACMEEmail != "" {
		if _, err := mail.ParseAddress(rc.ACMEEmail); err != nil || strings.Contains(rc.ACMEEmail, "<") {
			p.add(key("acmeEmail"), rc.ACMEEmail, "must be an e-mail address such as platform@example.com")
		}
	}
	if err := routing.CheckCertManager(rc.CertManager); err != nil {
		p.add(key("certManager"), rc.CertManager, "%v", err)
	}
	if err := routing.CheckDNSPolicy(rc.ExternalDNSPolicy); err != nil {
		p.add(key("externalDnsPolicy"), rc.ExternalDNSPolicy, "%v", err)
	}
	if cloud && (rc.AccessLogRetentionDays < 1 || rc.AccessLogRetentionDays > 3650) {
		p.add(key("accessLogRetentionDays"), rc.AccessLogRetentionDays, "must be between 1 and 3650 days")
	}
}

// deployRouting builds the routing component onto p.Provider and exports the
// gateway for app stacks.
func deployRouting(ctx *pulumi.Context, cfg *Config, p *Platform) error {
	rc := cfg.Routing
	if !rc.Enabled {
		return nil
	}
	args := &routing.Args{
		Domain:         cfg.Domain,
		Implementation: rc.Implementation,
		TLS: routing.TLSArgs{
			Mode:           rc.TLSMode,
			ACMEServer:     routing.LetsEncryptProduction,
			ACMEEmail:      rc.ACMEEmail,
			CertificateARN: rc.ACMCertificateARN,
			CertManager:    rc.CertManager,
		},
		ProxyReplicas:    rc.ProxyReplicas,
		HighAvailability: cfg.HighAvailability,
		APIServer:        cfg.APIServer(),
	}
	if cfg.Environment == Dev {
		// Let's Encrypt's production rate limits are per registered domain:
		// dev's frequent rebuilds use the staging CA (untrusted certificate).
		args.TLS.ACMEServer = routing.LetsEncryptStaging
	}
	if p.Monitoring != nil {
		// The release itself, not the component: a dependency on a component
		// covers only the children registered by then.
		args.Monitoring = &routing.MonitoringArgs{DependsOn: []pulumi.Resource{p.Monitoring.Release}}
	}
	if p.Cluster != nil {
		args.AWS = &routing.AWSArgs{
			Region:                 cfg.Region,
			AccountID:              accountOf(p.Cluster.OIDCProviderARN),
			ClusterName:            cfg.Cluster.Name,
			VpcID:                  p.Network.VpcID,
			PublicSubnetIDs:        p.Network.PublicSubnetIDs,
			HostedZoneID:           rc.HostedZoneID,
			ZoneName:               rc.ZoneName,
			Roles:                  p.Cluster,
			DNSPolicy:              rc.ExternalDNSPolicy,
			AccessLogRetentionDays: rc.AccessLogRetentionDays,
			DeletionProtection:     cfg.Environment == Prod,
			Protect:                cfg.Protect,
			Tags:                   cfg.Tags,
		}
	}
	r, err := routing.NewRouting(ctx, "routing", args, pulumi.Provider(p.Provider), cfg.Charts.Source.Option())
	if err != nil {
		return err
	}
	p.Routing = r
	ctx.Export("gatewayName", r.GatewayName)
	ctx.Export("gatewayNamespace", r.GatewayNamespace)
	ctx.Export("gatewayListener", pulumi.String(routing.HTTPSListener))
	ctx.Export("proxyNamespace", r.ProxyNamespace)
	ctx.Export("routingDomain", r.Domain)
	ctx.Export("loadBalancerHostname", r.LoadBalancerHostname)
	if p.Cluster != nil {
		ctx.Export("accessLogBucket", r.AccessLogBucket)
	}
	return nil
}

// accountOf reads the account id out of an IAM ARN (arn:aws:iam::<id>:...),
// so nothing is looked up.
func accountOf(arn pulumi.StringOutput) pulumi.StringOutput {
	return arn.ApplyT(func(s string) (string, error) {
		parts := strings.Split(s, ":")
		if len(parts) < 6 || len(parts[4]) != 12 {
			return "", fmt.Errorf("cannot read an account id from ARN %q", s)
		}
		return parts[4], nil
	}).(pulumi.StringOutput)
}
