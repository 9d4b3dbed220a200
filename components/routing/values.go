package routing

import "github.com/cnplatform/platform/components/podvalues"

// Chart values are typed structs rendered with encoding/json; only the fields
// we set are declared. The functions that fill them take plain Go values, so
// tests and the plan command can call them without Pulumi. Values only known
// at deploy time (the VPC id) are added by the component, not here.

// Resources and ResourceList are the shared pod-spec types, kept under these
// names for the exported Args (ProxyResources) and ProxyConfig.
type (
	Resources    = podvalues.Resources
	ResourceList = podvalues.ResourceList
)

// ServiceAccountValues makes a chart use the service account we create (with
// the IAM role annotation) instead of its own.
type ServiceAccountValues struct {
	Create bool   `json:"create"`
	Name   string `json:"name"`
}

// PodDisruptionBudgetValues as most charts spell them.
type PodDisruptionBudgetValues struct {
	Enabled        bool `json:"enabled,omitempty"`
	MinAvailable   int  `json:"minAvailable,omitempty"`
	MaxUnavailable int  `json:"maxUnavailable,omitempty"`
}

// ZoneKey is the well-known label of a node's availability zone.
const ZoneKey = podvalues.ZoneKey

// zoneSpread spreads pods matching labels evenly across zones (maxSkew 1).
// ScheduleAnyway for controllers, DoNotSchedule for the proxies, whose
// replicas exist precisely to survive a zone.
func zoneSpread(labels map[string]string, hard bool) []podvalues.TopologySpreadConstraint {
	when := podvalues.ScheduleAnyway
	if hard {
		when = podvalues.DoNotSchedule
	}
	return []podvalues.TopologySpreadConstraint{podvalues.Spread(podvalues.ZoneKey, when, labels)}
}

// restrictedPod is the pod security context of the restricted Pod Security
// profile, set explicitly so a chart default cannot loosen it.
func restrictedPod(fsGroup int64) podvalues.PodSecurityContext {
	return podvalues.PodSecurityContext{RunAsNonRoot: podvalues.Ptr(true), FSGroup: podvalues.Ptr(fsGroup), SeccompProfile: podvalues.RuntimeDefaultSeccomp()}
}

// Enabled is a chart's {enabled: bool} switch.
type Enabled struct {
	Enabled bool `json:"enabled"`
}

// LoadBalancerControllerValues for the aws-load-balancer-controller chart.
type LoadBalancerControllerValues struct {
	// ClusterName, Region and VpcID are set explicitly: with the metadata hop
	// limit at 1 the controller cannot read them from the instance metadata.
	ClusterName               string                               `json:"clusterName"`
	Region                    string                               `json:"region"`
	VpcID                     string                               `json:"vpcId,omitempty"`
	ReplicaCount              int                                  `json:"replicaCount"`
	ServiceAccount            ServiceAccountValues                 `json:"serviceAccount"`
	Resources                 podvalues.Resources                  `json:"resources"`
	PodDisruptionBudget       *PodDisruptionBudgetValues           `json:"podDisruptionBudget,omitempty"`
	TopologySpreadConstraints []podvalues.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	PodSecurityContext        podvalues.PodSecurityContext         `json:"podSecurityContext"`
	SecurityContext           podvalues.SecurityContext            `json:"securityContext"`
	// The ALB-only integrations are off: the IAM policy does not grant them.
	EnableShield               bool `json:"enableShield"`
	EnableWaf                  bool `json:"enableWaf"`
	EnableWafv2                bool `json:"enableWafv2"`
	CreateIngressClassResource bool `json:"createIngressClassResource"`
	// EnableServiceMutatorWebhook is off: the webhook (failurePolicy Fail)
	// only sets loadBalancerClass on new LoadBalancer Services, which our
	// EnvoyProxy sets itself, and while the controller is not yet ready it
	// refuses every Service in the cluster (cert-manager's and
	// external-dns's, installed alongside).
	EnableServiceMutatorWebhook bool              `json:"enableServiceMutatorWebhook"`
	DefaultTags                 map[string]string `json:"defaultTags,omitempty"`
	ServiceMonitor              Enabled           `json:"serviceMonitor"`
}

// Sizing is the per-environment shape the values functions share.
type Sizing struct {
	// ControllerReplicas of the controllers that can run more than one
	// (leader-elected or stateless webhooks). 2 in HA environments.
	ControllerReplicas int
	// HighAvailability adds PodDisruptionBudgets and zone spread.
	HighAvailability bool
	// Monitoring: the Prometheus Operator CRDs exist, so the charts'
	// ServiceMonitors are on; without them a ServiceMonitor fails to apply.
	Monitoring bool
}

// LoadBalancerControllerValuesFor builds the controller's values.
func LoadBalancerControllerValuesFor(clusterName, region string, tags map[string]string, s Sizing) LoadBalancerControllerValues {
	v := LoadBalancerControllerValues{
		ClusterName: clusterName, Region: region,
		ReplicaCount:       s.ControllerReplicas,
		ServiceAccount:     ServiceAccountValues{Create: false, Name: LoadBalancerControllerServiceAccount},
		Resources:          podvalues.Requests("50m", "128Mi", "256Mi"),
		PodSecurityContext: restrictedPod(65534),
		SecurityContext:    podvalues.RestrictedContainer(),
		DefaultTags:        tags,
		ServiceMonitor:     Enabled{Enabled: s.Monitoring},
	}
	if s.HighAvailability {
		v.PodDisruptionBudget = &PodDisruptionBudgetValues{MaxUnavailable: 1}
		v.TopologySpreadConstraints = zoneSpread(map[string]string{"app.kubernetes.io/name": "aws-load-balancer-controller"}, false)
	}
	return v
}

// EnvoyGatewayValues for the gateway-helm chart (the controller; the proxies
// are shaped by the EnvoyProxy resource).
type EnvoyGatewayValues struct {
	Deployment          EnvoyGatewayDeployment     `json:"deployment"`
	PodDisruptionBudget *PodDisruptionBudgetValues `json:"podDisruptionBudget,omitempty"`
	// Certgen is the install hook Job that makes the controller's
	// certificates (gateway-helm's default resources are {}).
	Certgen EnvoyGatewayCertgen `json:"certgen"`
	// TopologyInjector stays off: it is a MutatingWebhookConfiguration on
	// every pod binding in the cluster that labels proxy pods with their
	// zone for zone-aware routing, which the platform does not configure;
	// and the chart creates it (with its ClusterRole and binding) as a
	// pre-install hook, which `helm uninstall`, and so `pulumi destroy`,
	// leaves behind (found by the engine test, engine/).
	TopologyInjector EnvoyGatewayTopologyInjector `json:"topologyInjector"`
	// CRDs stays off: the crds subchart (Gateway API and Envoy Gateway
	// CRDs in its crds/, and Gateway API's safe-upgrades
	// ValidatingAdmissionPolicy as a template) is what gateway-crds-helm
	// applies before the release (EnvoyGatewayCRDChart). Upstream's way to
	// install the CRDs separately (gateway-helm v1.9 install docs:
	// "disabling the dependency via --set crds.enabled=false"; the v1.9.0
	// release notes warn that --skip-crds "does not skip chart-templated
	// resources").
	CRDs Enabled `json:"crds"`
}

// EnvoyGatewayTopologyInjector is the chart's topologyInjector block.
type EnvoyGatewayTopologyInjector struct {
	Enabled bool `json:"enabled"`
}

// EnvoyGatewayCertgen is the chart's certgen block.
type EnvoyGatewayCertgen struct {
	Job struct {
		Resources podvalues.Resources `json:"resources"`
	} `json:"job"`
}

// EnvoyGatewayDeployment is the chart's deployment block.
type EnvoyGatewayDeployment struct {
	Replicas     int                   `json:"replicas"`
	EnvoyGateway EnvoyGatewayContainer `json:"envoyGateway"`
	Pod          EnvoyGatewayPod       `json:"pod"`
}

// EnvoyGatewayContainer is the controller container.
type EnvoyGatewayContainer struct {
	Resources       podvalues.Resources       `json:"resources"`
	SecurityContext podvalues.SecurityContext `json:"securityContext"`
}

// EnvoyGatewayPod is the controller pod.
type EnvoyGatewayPod struct {
	TopologySpreadConstraints []podvalues.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
}

// EnvoyGatewayCRDs are gateway-crds-helm's values.
type EnvoyGatewayCRDs struct {
	CRDs EnvoyGatewayCRDSwitches `json:"crds"`
}

// EnvoyGatewayCRDSwitches choose the CRDs gateway-crds-helm renders; each
// switch defaults to off.
type EnvoyGatewayCRDSwitches struct {
	GatewayAPI   GatewayAPICRDs `json:"gatewayAPI"`
	EnvoyGateway Enabled        `json:"envoyGateway"`
}

// GatewayAPICRDs turns on Gateway API's CRDs of one release channel.
type GatewayAPICRDs struct {
	Enabled bool `json:"enabled"`
	// Channel: "standard" or "experimental".
	Channel string `json:"channel"`
}

// EnvoyGatewayCRDValues select, in gateway-crds-helm, the CRDs gateway-helm's
// crds/ holds: Gateway API's experimental channel (the bundle gateway-helm
// ships: TLSRoute, TCPRoute, UDPRoute and the x-k8s.io types Envoy Gateway
// serves) and Envoy Gateway's own. A test renders both charts and compares.
func EnvoyGatewayCRDValues() EnvoyGatewayCRDs {
	return EnvoyGatewayCRDs{CRDs: EnvoyGatewayCRDSwitches{
		GatewayAPI:   GatewayAPICRDs{Enabled: true, Channel: "experimental"},
		EnvoyGateway: Enabled{Enabled: true},
	}}
}

// EnvoyGatewayValuesFor builds the Envoy Gateway controller's values.
func EnvoyGatewayValuesFor(s Sizing) EnvoyGatewayValues {
	v := EnvoyGatewayValues{Deployment: EnvoyGatewayDeployment{
		Replicas: s.ControllerReplicas,
		EnvoyGateway: EnvoyGatewayContainer{
			Resources:       podvalues.Requests("100m", "256Mi", "1024Mi"),
			SecurityContext: podvalues.RestrictedContainer(),
		},
	}}
	v.Certgen.Job.Resources = podvalues.Requests("10m", "32Mi", "64Mi")
	if s.HighAvailability {
		v.PodDisruptionBudget = &PodDisruptionBudgetValues{MinAvailable: 1}
		v.Deployment.Pod.TopologySpreadConstraints = zoneSpread(map[string]string{"control-plane": "envoy-gateway"}, false)
	}
	return v
}

// CertManagerValues for the cert-manager chart.
type CertManagerValues struct {
	CRDs                      CertManagerCRDs                      `json:"crds"`
	ReplicaCount              int                                  `json:"replicaCount"`
	ServiceAccount            ServiceAccountValues                 `json:"serviceAccount"`
	Resources                 podvalues.Resources                  `json:"resources"`
	PodDisruptionBudget       PodDisruptionBudgetValues            `json:"podDisruptionBudget"`
	TopologySpreadConstraints []podvalues.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	Webhook                   CertManagerComponent                 `json:"webhook"`
	Cainjector                CertManagerComponent                 `json:"cainjector"`
	Startupapicheck           CertManagerStartupCheck              `json:"startupapicheck"`
	Prometheus                CertManagerPrometheus                `json:"prometheus"`
}

// CertManagerCRDs installs the CRDs with the chart and keeps them on uninstall
// (deleting them would delete every Certificate).
type CertManagerCRDs struct {
	Enabled bool `json:"enabled"`
	Keep    bool `json:"keep"`
}

// CertManagerComponent is the webhook or cainjector block.
type CertManagerComponent struct {
	ReplicaCount              int                                  `json:"replicaCount"`
	Resources                 podvalues.Resources                  `json:"resources"`
	PodDisruptionBudget       PodDisruptionBudgetValues            `json:"podDisruptionBudget"`
	TopologySpreadConstraints []podvalues.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
}

// CertManagerStartupCheck is the post-install API check job.
type CertManagerStartupCheck struct {
	Resources podvalues.Resources `json:"resources"`
}

// CertManagerPrometheus turns on the chart's ServiceMonitor.
type CertManagerPrometheus struct {
	Enabled        bool    `json:"enabled"`
	Servicemonitor Enabled `json:"servicemonitor"`
}

// CertManagerValuesFor builds cert-manager's values. The controller stays a
// single replica (leader-elected; a restart only delays renewals); the
// webhook, which every cert-manager API call goes through, gets the HA shape.
func CertManagerValuesFor(s Sizing) CertManagerValues {
	small := podvalues.Requests("10m", "64Mi", "256Mi")
	v := CertManagerValues{
		CRDs:            CertManagerCRDs{Enabled: true, Keep: true},
		ReplicaCount:    1,
		ServiceAccount:  ServiceAccountValues{Create: false, Name: CertManagerServiceAccount},
		Resources:       podvalues.Requests("20m", "128Mi", "512Mi"),
		Webhook:         CertManagerComponent{ReplicaCount: s.ControllerReplicas, Resources: small},
		Cainjector:      CertManagerComponent{ReplicaCount: 1, Resources: podvalues.Requests("10m", "128Mi", "512Mi")},
		Startupapicheck: CertManagerStartupCheck{Resources: small},
		Prometheus:      CertManagerPrometheus{Enabled: true, Servicemonitor: Enabled{Enabled: s.Monitoring}},
	}
	if s.HighAvailability {
		v.Webhook.PodDisruptionBudget = PodDisruptionBudgetValues{Enabled: true, MinAvailable: 1}
		v.Webhook.TopologySpreadConstraints = zoneSpread(map[string]string{"app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": CertManagerRelease}, false)
	}
	return v
}

// External-DNS policies.
const (
	// DNSPolicySync deletes records whose route is gone.
	DNSPolicySync = "sync"
	// DNSPolicyUpsertOnly never deletes: a mistaken route change cannot take
	// a production name down; stale records are removed by hand.
	DNSPolicyUpsertOnly = "upsert-only"
)

// ExternalDNSValues for the external-dns chart.
type ExternalDNSValues struct {
	Provider           ExternalDNSProvider          `json:"provider"`
	Sources            []string                     `json:"sources"`
	DomainFilters      []string                     `json:"domainFilters"`
	TxtOwnerID         string                       `json:"txtOwnerId"`
	Policy             string                       `json:"policy"`
	Registry           string                       `json:"registry"`
	Interval           string                       `json:"interval"`
	ExtraArgs          []string                     `json:"extraArgs"`
	Env                []EnvVar                     `json:"env"`
	ServiceAccount     ServiceAccountValues         `json:"serviceAccount"`
	Resources          podvalues.Resources          `json:"resources"`
	PodSecurityContext podvalues.PodSecurityContext `json:"podSecurityContext"`
	SecurityContext    podvalues.SecurityContext    `json:"securityContext"`
	ServiceMonitor     Enabled                      `json:"serviceMonitor"`
}

// ExternalDNSProvider names the DNS provider.
type ExternalDNSProvider struct {
	Name string `json:"name"`
}

// EnvVar is a plain environment variable (never a secret).
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ExternalDNSValuesFor builds external-dns's values: HTTPRoutes only, into the
// one zone, records owned by this cluster (so environments can share a zone).
func ExternalDNSValuesFor(domain, hostedZoneID, ownerID, policy, region string) ExternalDNSValues {
	return ExternalDNSValues{
		Provider:      ExternalDNSProvider{Name: "aws"},
		Sources:       []string{"gateway-httproute"},
		DomainFilters: []string{domain},
		TxtOwnerID:    ownerID,
		Policy:        policy,
		Registry:      "txt",
		Interval:      "1m",
		// --aws-zone-match-parent: the domain filter is the environment's
		// domain (dev.example.com) while the zone is its parent
		// (example.com); without the flag external-dns v0.21.0 drops the
		// zone (provider/aws/aws.go zones(): domainFilter.Match(zone name),
		// MatchParent only with the flag) and publishes nothing. The zone id
		// filter still limits it to the one zone.
		ExtraArgs:          []string{"--zone-id-filter=" + hostedZoneID, "--aws-zone-type=public", "--aws-zone-match-parent"},
		Env:                []EnvVar{{Name: "AWS_DEFAULT_REGION", Value: region}},
		ServiceAccount:     ServiceAccountValues{Create: false, Name: ExternalDNSServiceAccount},
		Resources:          podvalues.Requests("10m", "64Mi", "128Mi"),
		PodSecurityContext: restrictedPod(65534),
		SecurityContext:    podvalues.RestrictedContainer(),
		ServiceMonitor:     Enabled{Enabled: true},
	}
}
