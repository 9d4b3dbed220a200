package routing

import (
	"fmt"
	"sort"
	"strings"
)

// Gateway API and cert-manager objects, built as plain maps by functions that
// need no Pulumi, so tests (and a later real API server check) read exactly
// what the component declares.

// Listener names of the shared Gateway. Routes attach to HTTPSListener.
const (
	HTTPListener  = "http"
	HTTPSListener = "https"
)

const (
	gatewayGroup      = "gateway.networking.k8s.io"
	gatewayVersion    = gatewayGroup + "/v1"
	certManagerAPI    = "cert-manager.io/v1"
	monitoringAPI     = "monitoring.coreos.com/v1"
	certificateName   = "wildcard"
	redirectName      = "https-redirect"
	acmeAccountKey    = "acme-account-key"
	waitForAnnotation = "pulumi.com/waitFor"
)

// GatewaySpec is the shared Gateway: port 80 accepts only routes from the
// Gateway's own namespace (the redirect), port 443 serves *.domain to routes
// from any namespace. With tlsAtLoadBalancer (acm mode) the NLB terminates
// TLS on 443 and Envoy receives plain HTTP there.
func GatewaySpec(className, domain, certificateSecret string, tlsAtLoadBalancer bool) map[string]any {
	https := map[string]any{
		"name":     HTTPSListener,
		"port":     443,
		"protocol": "HTTPS",
		"hostname": "*." + domain,
		"tls": map[string]any{
			"mode":            "Terminate",
			"certificateRefs": []any{map[string]any{"group": "", "kind": "Secret", "name": certificateSecret}},
		},
		"allowedRoutes": map[string]any{
			"namespaces": map[string]any{"from": "All"},
			"kinds":      []any{map[string]any{"group": gatewayGroup, "kind": "HTTPRoute"}},
		},
	}
	if tlsAtLoadBalancer {
		https["protocol"] = "HTTP"
		delete(https, "tls")
	}
	return map[string]any{
		"gatewayClassName": className,
		"listeners": []any{
			map[string]any{
				"name":     HTTPListener,
				"port":     80,
				"protocol": "HTTP",
				"allowedRoutes": map[string]any{
					"namespaces": map[string]any{"from": "Same"},
					"kinds":      []any{map[string]any{"group": gatewayGroup, "kind": "HTTPRoute"}},
				},
			},
			https,
		},
	}
}

// RedirectRouteSpec answers every request on the HTTP listener with a 301 to
// the same URL over https, and nothing else.
func RedirectRouteSpec(gatewayName, gatewayNamespace string) map[string]any {
	return map[string]any{
		"parentRefs": []any{parentRef(gatewayName, gatewayNamespace, HTTPListener)},
		"rules": []any{map[string]any{
			"filters": []any{map[string]any{
				"type":            "RequestRedirect",
				"requestRedirect": map[string]any{"scheme": "https", "statusCode": 301},
			}},
		}},
	}
}

func parentRef(name, namespace, section string) map[string]any {
	return map[string]any{"group": gatewayGroup, "kind": "Gateway", "name": name, "namespace": namespace, "sectionName": section}
}

// HTTPRouteSpec sends requests for host under pathPrefix to service:port,
// attached to the Gateway's HTTPS listener. external-dns publishes host
// (from spec.hostnames) and the wildcard certificate covers it.
func HTTPRouteSpec(gatewayName, gatewayNamespace, host, service string, port int, pathPrefix string) map[string]any {
	return map[string]any{
		"parentRefs": []any{parentRef(gatewayName, gatewayNamespace, HTTPSListener)},
		"hostnames":  []any{host},
		"rules": []any{map[string]any{
			"matches":     []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": pathPrefix}}},
			"backendRefs": []any{map[string]any{"group": "", "kind": "Service", "name": service, "port": port}},
		}},
	}
}

// Let's Encrypt ACME directories.
const (
	LetsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// ACMEIssuerSpec is a ClusterIssuer answering DNS-01 challenges in the one
// Route53 zone with cert-manager's own IAM role (ambient credentials).
func ACMEIssuerSpec(server, email, region, hostedZoneID, zoneName string) map[string]any {
	acme := map[string]any{
		"server":              server,
		"privateKeySecretRef": map[string]any{"name": acmeAccountKey},
		"solvers": []any{map[string]any{
			"selector": map[string]any{"dnsZones": []any{zoneName}},
			"dns01": map[string]any{"route53": map[string]any{
				"region":       region,
				"hostedZoneID": hostedZoneID,
			}},
		}},
	}
	if email != "" {
		acme["email"] = email
	}
	return map[string]any{"acme": acme}
}

// SelfSignedIssuerSpec is the local environment's issuer: no ACME, no DNS.
func SelfSignedIssuerSpec() map[string]any {
	return map[string]any{"selfSigned": map[string]any{}}
}

// CertificateSpec is the wildcard certificate of the HTTPS listener, for
// *.domain and the domain itself.
func CertificateSpec(domain, secretName, issuer string) map[string]any {
	return map[string]any{
		"secretName": secretName,
		"dnsNames":   []any{"*." + domain, domain},
		"issuerRef":  map[string]any{"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
	}
}

// ChallengeRecordName is the record cert-manager writes for a DNS-01
// challenge for *.domain and domain (both use the same name).
func ChallengeRecordName(domain string) string { return "_acme-challenge." + domain }

// NLB settings for the proxy Service, as AWS Load Balancer Controller
// annotations.
type NLBOptions struct {
	// SubnetIDs: the public subnet of every AZ.
	SubnetIDs []string
	// AccessLogBucket and AccessLogPrefix receive the NLB's access logs;
	// ignored without CertificateARN: AWS writes NLB access logs for TLS
	// listeners only (docs.aws.amazon.com/elasticloadbalancing/latest/network/enable-access-logs.html).
	AccessLogBucket, AccessLogPrefix string
	// DeletionProtection (prod).
	DeletionProtection bool
	// CertificateARN: when set (acm mode) the NLB terminates TLS on 443.
	CertificateARN string
	// DeregistrationDelaySeconds of the target group, always set: AWS's
	// default is 300 s (see ProxyShutdownFor).
	DeregistrationDelaySeconds int
}

// TLSPolicy is the NLB's TLS policy in acm mode: TLS 1.3 and 1.2 only.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

const lbAnnotation = "service.beta.kubernetes.io/aws-load-balancer-"

// NLBAnnotations: internet-facing, ip targets (pods registered directly,
// client IPs preserved), cross-zone on, in the given subnets.
func NLBAnnotations(o NLBOptions) map[string]string {
	attrs := []string{
		"load_balancing.cross_zone.enabled=true",
		fmt.Sprintf("deletion_protection.enabled=%t", o.DeletionProtection),
	}
	if o.AccessLogBucket != "" && o.CertificateARN != "" {
		attrs = append(attrs, "access_logs.s3.enabled=true", "access_logs.s3.bucket="+o.AccessLogBucket, "access_logs.s3.prefix="+o.AccessLogPrefix)
	}
	a := map[string]string{
		lbAnnotation + "type":            "external",
		lbAnnotation + "scheme":          "internet-facing",
		lbAnnotation + "nlb-target-type": "ip",
		lbAnnotation + "subnets":         strings.Join(o.SubnetIDs, ","),
		lbAnnotation + "attributes":      strings.Join(attrs, ","),
		lbAnnotation + "target-group-attributes": strings.Join([]string{
			"preserve_client_ip.enabled=true",
			fmt.Sprintf("deregistration_delay.timeout_seconds=%d", o.DeregistrationDelaySeconds),
			// Flows still open when the delay ends are reset rather than
			// left on a proxy that is about to exit.
			"deregistration_delay.connection_termination.enabled=true",
		}, ","),
		lbAnnotation + "ip-address-type": "ipv4",
	}
	if o.CertificateARN != "" {
		a[lbAnnotation+"ssl-cert"] = o.CertificateARN
		a[lbAnnotation+"ssl-ports"] = "443"
		a[lbAnnotation+"ssl-negotiation-policy"] = TLSPolicy
		a[lbAnnotation+"backend-protocol"] = "tcp"
	}
	return a
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
