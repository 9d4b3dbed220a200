package routing

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/podvalues"
)

// TLS modes.
const (
	// TLSACME: cert-manager gets a wildcard certificate from an ACME CA
	// (Let's Encrypt) with DNS-01 on Route53; Envoy terminates TLS.
	TLSACME = "acme"
	// TLSACM: the NLB terminates TLS with an ACM certificate.
	TLSACM = "acm"
	// TLSSelfSigned: cert-manager signs the wildcard certificate itself
	// (no AWS: the local environment).
	TLSSelfSigned = "self-signed"
)

// Names of the service accounts given IAM roles.
const (
	LoadBalancerControllerServiceAccount = "aws-load-balancer-controller"
	CertManagerServiceAccount            = "cert-manager"
	ExternalDNSServiceAccount            = "external-dns"
	CertManagerRelease                   = "cert-manager"
)

// Namespaces of the AWS-side controllers.
const (
	LoadBalancerControllerNamespace = "aws-load-balancer-controller"
	CertManagerNamespace            = "cert-manager"
	ExternalDNSNamespace            = "external-dns"
)

// Defaults of Args. Environments override several from the one table in
// stacks (Defaults).
const (
	DefaultImplementation         = ImplementationEnvoyGateway
	DefaultGatewayClassName       = "platform"
	DefaultGatewayName            = "platform"
	DefaultGatewayNamespace       = "gateway"
	DefaultProxyReplicas          = 1
	DefaultMonitoringNamespace    = namespace.DefaultMonitoring
	DefaultACMEServer             = LetsEncryptProduction
	DefaultCertManager            = CertManagerInstall
	DefaultPartition              = "aws"
	DefaultDNSPolicy              = DNSPolicySync
	DefaultAccessLogRetentionDays = 30
	DefaultAPIServerPort          = namespace.APIServerPort
	// DefaultDeregistrationDelaySeconds of the NLB's target group: how long
	// the NLB lets a deregistering proxy's open flows finish. AWS's default
	// is 300 s; the proxies close their own connections within their drain
	// (ProxyShutdownFor), so 30 s is enough and keeps node rolls short.
	DefaultDeregistrationDelaySeconds = 30
)

// DefaultProxyResources of each gateway proxy.
var DefaultProxyResources = podvalues.Resources{
	Requests: podvalues.ResourceList{CPU: "100m", Memory: "256Mi"},
	Limits:   podvalues.ResourceList{CPU: "1", Memory: "512Mi"},
}

// typeToken is the component's Pulumi type; errors name it with the
// component's name.
const typeToken = "platform:routing:Routing"

// MonitoringArgs says the Prometheus Operator is installed, so the charts'
// ServiceMonitors and our PodMonitors are created.
type MonitoringArgs struct {
	// DependsOn: the monitors, and the charts that render them, wait for
	// these: at least what installs the Prometheus Operator CRDs. Default
	// none.
	DependsOn []pulumi.Resource
}

// WorkloadRoles creates an IAM role for one service account
// (cluster.WorkloadRoles).
type WorkloadRoles = cluster.WorkloadRoles

// Args configures the routing layer.
type Args struct {
	// Domain: the environment's DNS domain; the HTTPS listener serves
	// *.Domain. Required.
	Domain string
	// Implementation of Gateway API: one of Implementations(). Default
	// [DefaultImplementation].
	Implementation string
	// GatewayClassName, GatewayName and GatewayNamespace of the shared
	// Gateway. Default [DefaultGatewayClassName], [DefaultGatewayName],
	// [DefaultGatewayNamespace].
	GatewayClassName string
	GatewayName      string
	GatewayNamespace string
	// TLS of the HTTPS listener. Default mode acme with AWS, self-signed
	// without.
	TLS TLSArgs
	// ProxyReplicas of the gateway's proxies. Default
	// [DefaultProxyReplicas]. Above 1 they spread
	// across zones and get a PodDisruptionBudget.
	ProxyReplicas int
	// ProxyResources of each proxy. Default [DefaultProxyResources].
	ProxyResources *podvalues.Resources
	// HighAvailability runs two replicas of the controllers that allow it,
	// with PodDisruptionBudgets and zone spread. Default false.
	HighAvailability bool
	// AWS: the AWS side (NLB, DNS, IAM). Default nil: no AWS (the local
	// environment): no load balancer controller, external-dns, Route53 or
	// ACME; the proxies get a NodePort Service.
	AWS *AWSArgs
	// MonitoringNamespace may scrape metrics. Default
	// [DefaultMonitoringNamespace].
	MonitoringNamespace string
	// Monitoring: the Prometheus Operator is installed; the charts'
	// ServiceMonitors and our PodMonitors are created. Default nil: none
	// (their CRDs do not exist).
	Monitoring *MonitoringArgs
	// APIServer is where the controllers reach the Kubernetes API and
	// where it calls their webhooks from. Default: any address on
	// [DefaultAPIServerPort] (namespace.AnyAPIServer); on EKS pass
	// namespace.EKSAPIServer.
	APIServer *namespace.APIServer
}

// TLSArgs selects where the HTTPS listener's certificate comes from.
type TLSArgs struct {
	// Mode: TLSACME, TLSACM or TLSSelfSigned. Default TLSACME with AWS,
	// TLSSelfSigned without.
	Mode string
	// ACMEServer is the ACME directory. Default [DefaultACMEServer].
	ACMEServer string
	// ACMEEmail for the ACME account. Default none.
	ACMEEmail string
	// CertificateARN of the ACM certificate (for *.Domain). Required in acm
	// mode.
	CertificateARN string
	// CertManager: CertManagerInstall ([DefaultCertManager]) installs cert-manager's
	// chart; CertManagerExisting uses the cert-manager the cluster already
	// runs (its CRDs and webhook must be there) and creates only the
	// ClusterIssuer and the wildcard Certificate. Not used in acm mode.
	CertManager string
}

// Where cert-manager comes from (TLSArgs.CertManager).
const (
	CertManagerInstall  = "install"
	CertManagerExisting = "existing"
)

// AWSArgs is what the AWS side needs.
type AWSArgs struct {
	// Partition of the ARNs. Default [DefaultPartition].
	Partition string
	// Region, AccountID and ClusterName: required (no lookups: previews stay
	// deterministic).
	Region      string
	AccountID   pulumi.StringInput
	ClusterName string
	// VpcID: the cluster's VPC. Required.
	VpcID pulumi.StringInput
	// PublicSubnetIDs: the public subnet of every AZ, for the NLB. Required.
	PublicSubnetIDs pulumi.StringArrayInput
	// HostedZoneID and ZoneName: the Route53 zone records go to. Required.
	HostedZoneID string
	ZoneName     string
	// Roles creates the controllers' IAM roles. Required.
	Roles WorkloadRoles
	// DNSPolicy of external-dns: DNSPolicySync or DNSPolicyUpsertOnly.
	// Default [DefaultDNSPolicy].
	DNSPolicy string
	// AccessLogRetentionDays of the NLB access-log bucket, which exists in
	// TLSACM mode only: AWS writes NLB access logs only for TLS listeners,
	// and in the other modes the NLB forwards TCP to Envoy (whose access
	// log and the VPC flow logs record connections). Default
	// [DefaultAccessLogRetentionDays].
	AccessLogRetentionDays int
	// DeletionProtection of the NLB. Default false.
	DeletionProtection bool
	// DeregistrationDelaySeconds of the NLB's target group (0-3600, as AWS
	// takes it). Default [DefaultDeregistrationDelaySeconds]. The proxies'
	// drain follows from it (ProxyShutdownFor).
	DeregistrationDelaySeconds *int
	// Protect the access-log bucket from deletion. Default false.
	Protect bool
	// Tags added to every AWS resource (and the NLB). Default none.
	Tags map[string]string
}

// gatewayImplementation installs a Gateway API implementation. Adding one
// means adding a type here and a name to implementations; callers only
// change Args.Implementation.
type gatewayImplementation interface {
	controllerName() string
	install(ctx *pulumi.Context, r *Routing, a *Args, parent pulumi.ResourceOption) (*installed, error)
}

// installed is what an implementation hands back.
type installed struct {
	// parametersRef of the GatewayClass, nil when none.
	parametersRef map[string]any
	// dependsOn: the Gateway API objects wait for these (CRDs, parameters).
	dependsOn []pulumi.Resource
	// namespace the proxies run in.
	namespace string
	monitors  []pulumi.Resource
}

var implementations = map[string]gatewayImplementation{
	ImplementationEnvoyGateway: envoyGateway{},
}

// CheckImplementation says whether s is a supported Gateway API
// implementation.
func CheckImplementation(s string) error {
	if _, ok := implementations[s]; !ok {
		return fmt.Errorf("must be one of %s", strings.Join(Implementations(), ", "))
	}
	return nil
}

// Implementations lists the supported Gateway API implementations.
func Implementations() []string {
	return slices.Sorted(maps.Keys(implementations))
}

// Routing is the environment's internet edge.
type Routing struct {
	pulumi.ResourceState

	// GatewayName, GatewayNamespace and HTTPSListener identify the shared
	// Gateway routes attach to (stack outputs for app stacks).
	GatewayName      pulumi.StringOutput
	GatewayNamespace pulumi.StringOutput
	GatewayClassName pulumi.StringOutput
	// ProxyNamespace is where the gateway's proxies run: an app's
	// NetworkPolicy admits traffic from it (not from GatewayNamespace,
	// which holds only the Gateway object).
	ProxyNamespace pulumi.StringOutput
	// Domain the HTTPS listener serves (*.Domain).
	Domain pulumi.StringOutput
	// LoadBalancerHostname is the Gateway's first status address: the NLB's
	// DNS name once the proxies are programmed (the Gateway waits for its
	// Programmed condition). Empty in previews and without AWS.
	LoadBalancerHostname pulumi.StringOutput
	// AccessLogBucket receives the NLB's access logs: "" without AWS and
	// unless TLS.Mode is TLSACM (the only mode with a TLS listener on the
	// NLB, the only listener AWS writes NLB access logs for).
	AccessLogBucket pulumi.StringOutput

	domain  string
	gateway GatewayRef
	// accessLogReady is the access-log bucket's policy: the resource
	// carrying the NLB annotations waits for it, or the controller's
	// attribute update fails with AccessDenied.
	accessLogReady []pulumi.Resource
}

// withDefaults returns a copy of a with every default applied.
func (a Args) withDefaults() Args {
	d := a
	contract.SetDefault(&d.Implementation, DefaultImplementation)
	contract.SetDefault(&d.GatewayClassName, DefaultGatewayClassName)
	contract.SetDefault(&d.GatewayName, DefaultGatewayName)
	contract.SetDefault(&d.GatewayNamespace, DefaultGatewayNamespace)
	if d.TLS.Mode == "" {
		d.TLS.Mode = TLSSelfSigned
		if d.AWS != nil {
			d.TLS.Mode = TLSACME
		}
	}
	contract.SetDefault(&d.TLS.ACMEServer, DefaultACMEServer)
	contract.SetDefault(&d.TLS.CertManager, DefaultCertManager)
	contract.SetDefault(&d.ProxyReplicas, DefaultProxyReplicas)
	if d.ProxyResources == nil {
		res := DefaultProxyResources
		d.ProxyResources = &res
	}
	contract.SetDefault(&d.MonitoringNamespace, DefaultMonitoringNamespace)
	if d.APIServer == nil {
		anyAPI := namespace.AnyAPIServer(DefaultAPIServerPort)
		d.APIServer = &anyAPI
	}
	if d.AWS != nil {
		aws := *d.AWS
		if aws.Partition == "" {
			aws.Partition = DefaultPartition
		}
		if aws.DNSPolicy == "" {
			aws.DNSPolicy = DefaultDNSPolicy
		}
		if aws.AccessLogRetentionDays == 0 {
			aws.AccessLogRetentionDays = DefaultAccessLogRetentionDays
		}
		if aws.DeregistrationDelaySeconds == nil {
			delay := DefaultDeregistrationDelaySeconds
			aws.DeregistrationDelaySeconds = &delay
		}
		if aws.ZoneName == "" {
			aws.ZoneName = d.Domain
		}
		d.AWS = &aws
	}
	return d
}

// monitorDeps is what monitors and the charts rendering them wait for; nil
// without monitoring.
func (a *Args) monitorDeps() []pulumi.Resource {
	if a.Monitoring == nil {
		return nil
	}
	return a.Monitoring.DependsOn
}

func (a *Args) sizing() Sizing {
	if a.HighAvailability {
		return Sizing{ControllerReplicas: 2, HighAvailability: true, Monitoring: a.Monitoring != nil}
	}
	return Sizing{ControllerReplicas: 1, Monitoring: a.Monitoring != nil}
}

// validate returns every problem with a defaulted Args.
func (a Args) validate() error {
	var errs contract.Problems
	add := errs.Add
	if err := CheckDomain(a.Domain); err != nil {
		add("Domain %q: %v", a.Domain, err)
	}
	if err := CheckImplementation(a.Implementation); err != nil {
		add("Implementation %q %v", a.Implementation, err)
	}
	for field, v := range map[string]string{"GatewayClassName": a.GatewayClassName, "GatewayName": a.GatewayName, "GatewayNamespace": a.GatewayNamespace} {
		if err := namespace.CheckDNSLabel(v); err != nil {
			add("%s %q: %v", field, v, err)
		}
	}
	if a.ProxyReplicas < 1 {
		add("ProxyReplicas %d must be at least 1", a.ProxyReplicas)
	}
	switch a.TLS.Mode {
	case TLSACME, TLSACM:
		if a.AWS == nil {
			add("TLS mode %q needs AWS (Route53 or ACM); without AWS use %q", a.TLS.Mode, TLSSelfSigned)
		}
	case TLSSelfSigned:
		if a.AWS != nil {
			add("TLS mode %q is for environments without AWS; use %q or %q", a.TLS.Mode, TLSACME, TLSACM)
		}
	default:
		add("TLS mode %q must be %s, %s or %s", a.TLS.Mode, TLSACME, TLSACM, TLSSelfSigned)
	}
	if err := CheckCertManager(a.TLS.CertManager); err != nil {
		add("TLS CertManager %q: %v", a.TLS.CertManager, err)
	}
	if a.TLS.Mode == TLSACM {
		region, err := CertificateRegion(a.TLS.CertificateARN)
		switch {
		case err != nil:
			add("TLS CertificateARN %q (acm mode): %v", a.TLS.CertificateARN, err)
		case a.AWS != nil && region != a.AWS.Region:
			add("TLS CertificateARN %q must be in the NLB's region %s", a.TLS.CertificateARN, a.AWS.Region)
		}
	} else if a.TLS.CertificateARN != "" {
		add("TLS CertificateARN is only used in acm mode, not %q", a.TLS.Mode)
	}
	if aws := a.AWS; aws != nil {
		if aws.Region == "" || aws.ClusterName == "" || aws.AccountID == nil || aws.VpcID == nil || aws.PublicSubnetIDs == nil || aws.Roles == nil {
			add("AWS needs Region, AccountID, ClusterName, VpcID, PublicSubnetIDs and Roles")
		}
		if err := CheckHostedZoneID(aws.HostedZoneID); err != nil {
			add("AWS HostedZoneID %q: %v", aws.HostedZoneID, err)
		}
		if a.Domain != aws.ZoneName && !strings.HasSuffix(a.Domain, "."+aws.ZoneName) {
			add("Domain %q must be the hosted zone's name %q or under it", a.Domain, aws.ZoneName)
		}
		if err := CheckDNSPolicy(aws.DNSPolicy); err != nil {
			add("AWS DNSPolicy %q: %v", aws.DNSPolicy, err)
		}
		if d := aws.DeregistrationDelaySeconds; d != nil && (*d < 0 || *d > MaxDeregistrationDelaySeconds) {
			add("AWS DeregistrationDelaySeconds %d must be between 0 and %d (the target group attribute deregistration_delay.timeout_seconds)", *d, MaxDeregistrationDelaySeconds)
		}
	}
	return errs.Err()
}

// NewRouting builds the edge: the implementation's controller and proxies,
// the GatewayClass and shared Gateway, TLS, and on AWS the load balancer
// controller, external-dns and the access-log bucket. Pass the cluster's
// Kubernetes provider in opts.
func NewRouting(ctx *pulumi.Context, name string, in *Args, opts ...pulumi.ResourceOption) (*Routing, error) {
	args := in.withDefaults()
	a := &args
	impl := implementations[a.Implementation]
	r := &Routing{domain: a.Domain}
	if err := contract.Register(ctx, typeToken, name, args.validate(), r, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)
	r.AccessLogBucket = pulumi.String("").ToStringOutput()

	// The AWS side first: the load balancer controller must run before the
	// proxy Service exists, or the Service would wait for a controller.
	var awsReady []pulumi.Resource
	var certManagerRole *cluster.WorkloadRole
	if a.AWS != nil {
		if a.TLS.Mode == TLSACM {
			bucket, policy, err := newAccessLogBucket(ctx, name, a.AWS, parent)
			if err != nil {
				return nil, err
			}
			r.AccessLogBucket = bucket
			r.accessLogReady = []pulumi.Resource{policy}
		}
		lbc, err := newLoadBalancerController(ctx, r, a, parent)
		if err != nil {
			return nil, err
		}
		dns, err := newExternalDNS(ctx, r, a, parent)
		if err != nil {
			return nil, err
		}
		awsReady = append(awsReady, lbc, dns)
		if a.TLS.Mode == TLSACME && a.TLS.CertManager == CertManagerInstall {
			certManagerRole, err = newRole(ctx, r, a, "cert-manager", CertManagerNamespace, CertManagerServiceAccount,
				func(s Scope) string { return CertManagerPolicy(s).JSON() })
			if err != nil {
				return nil, err
			}
		}
	}

	inst, err := impl.install(ctx, r, a, parent)
	if err == nil {
		r.ProxyNamespace = pulumi.String(inst.namespace).ToStringOutput()
	}
	if err != nil {
		return nil, err
	}
	afterImpl := pulumi.DependsOn(append(append([]pulumi.Resource{}, inst.dependsOn...), awsReady...))

	gwNS, err := newNamespace(ctx, "gateway", a.GatewayNamespace, parent)
	if err != nil {
		return nil, err
	}

	// TLS: cert-manager (acme, self-signed) writes the wildcard secret the
	// HTTPS listener uses; in acm mode the NLB holds the certificate.
	var certReady []pulumi.Resource
	if a.TLS.Mode != TLSACM {
		objs, err := newCertificates(ctx, r, a, certManagerRole, gwNS.Name, parent)
		if err != nil {
			return nil, err
		}
		certReady = objs
	}

	class, err := apiextensions.NewCustomResource(ctx, a.GatewayClassName, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(gatewayVersion),
		Kind:        pulumi.String("GatewayClass"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(a.GatewayClassName)},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.ToMap(gatewayClassSpec(impl.controllerName(), inst.parametersRef))},
	}, parent, afterImpl)
	if err != nil {
		return nil, err
	}
	// nil, not an empty map, when there is no annotation: with an empty map
	// every preview after an up showed `+ annotations: {}` (found by the
	// engine test, engine/).
	var annotations pulumi.StringMapInput
	if a.AWS != nil {
		// Wait until the NLB is provisioned, so LoadBalancerHostname is
		// known after `pulumi up`. Without AWS (a NodePort) Programmed may
		// never come: do not wait.
		annotations = pulumi.StringMap{
			waitForAnnotation:           pulumi.String("condition=Programmed"),
			"pulumi.com/timeoutSeconds": pulumi.String("900"),
		}
	}
	gw, err := apiextensions.NewCustomResource(ctx, a.GatewayName, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(gatewayVersion),
		Kind:        pulumi.String("Gateway"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(a.GatewayName), Namespace: gwNS.Name, Annotations: annotations},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.ToMap(GatewaySpec(a.GatewayClassName, a.Domain, certificateName+"-tls", a.TLS.Mode == TLSACM))},
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{class}, certReady...)))
	if err != nil {
		return nil, err
	}
	if _, err := apiextensions.NewCustomResource(ctx, redirectName, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(gatewayVersion),
		Kind:        pulumi.String("HTTPRoute"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(redirectName), Namespace: gwNS.Name},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.ToMap(RedirectRouteSpec(a.GatewayName, a.GatewayNamespace))},
	}, parent, pulumi.DependsOn([]pulumi.Resource{gw})); err != nil {
		return nil, err
	}

	r.gateway = GatewayRef{Name: pulumi.String(a.GatewayName), Namespace: pulumi.String(a.GatewayNamespace)}
	r.GatewayName = gw.Metadata.Name().Elem()
	r.GatewayNamespace = gw.Metadata.Namespace().Elem()
	r.GatewayClassName = class.Metadata.Name().Elem()
	r.Domain = pulumi.String(a.Domain).ToStringOutput()
	r.LoadBalancerHostname = gw.OtherFields.ApplyT(statusAddress).(pulumi.StringOutput)
	return contract.Finish(ctx, r, pulumi.Map{
		"gatewayName":          r.GatewayName,
		"gatewayNamespace":     r.GatewayNamespace,
		"gatewayClassName":     r.GatewayClassName,
		"proxyNamespace":       r.ProxyNamespace,
		"domain":               r.Domain,
		"loadBalancerHostname": r.LoadBalancerHostname,
		"accessLogBucket":      r.AccessLogBucket,
	})
}

func gatewayClassSpec(controller string, params map[string]any) map[string]any {
	spec := map[string]any{"controllerName": controller}
	if params != nil {
		spec["parametersRef"] = params
	}
	return spec
}

// statusAddress reads status.addresses[0].value of a Gateway.
func statusAddress(fields map[string]any) string {
	status, _ := fields["status"].(map[string]any)
	addrs, _ := status["addresses"].([]any)
	if len(addrs) == 0 {
		return ""
	}
	first, _ := addrs[0].(map[string]any)
	v, _ := first["value"].(string)
	return v
}
