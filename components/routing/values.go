package routing

// Chart values are typed structs rendered with encoding/json; only the fields
// we set are declared. The functions that fill them take plain Go values, so
// tests and the plan command can call them without Pulumi. Values only known
// at deploy time (the VPC id) are added by the component, not here.

// Resources are a container's requests and limits.
type Resources struct {
	Requests ResourceList `json:"requests"`
	Limits   ResourceList `json:"limits"`
}

// ResourceList is CPU and memory, in Kubernetes quantities.
type ResourceList struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory"`
}

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

// TopologySpread is a Kubernetes topologySpreadConstraint.
type TopologySpread struct {
	MaxSkew           int           `json:"maxSkew"`
	TopologyKey       string        `json:"topologyKey"`
	WhenUnsatisfiable string        `json:"whenUnsatisfiable"`
	LabelSelector     LabelSelector `json:"labelSelector"`
}

// LabelSelector matches labels exactly.
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// ZoneKey is the well-known label of a node's availability zone.
const ZoneKey = "topology.kubernetes.io/zone"

// zoneSpread spreads pods matching labels evenly across zones (maxSkew 1).
// ScheduleAnyway for controllers, DoNotSchedule for the proxies, whose
// replicas exist precisely to survive a zone.
func zoneSpread(labels map[string]string, hard bool) []TopologySpread {
	when := "ScheduleAnyway"
	if hard {
		when = "DoNotSchedule"
	}
	return []TopologySpread{{MaxSkew: 1, TopologyKey: ZoneKey, WhenUnsatisfiable: when, LabelSelector: LabelSelector{MatchLabels: labels}}}
}

// PodSecurityContext and SecurityContext are the restricted Pod Security
// settings, set explicitly so a chart default cannot loosen them.
type PodSecurityContext struct {
	RunAsNonRoot   bool           `json:"runAsNonRoot"`
	FSGroup        int            `json:"fsGroup,omitempty"`
	SeccompProfile SeccompProfile `json:"seccompProfile"`
}

// SecurityContext of one container.
type SecurityContext struct {
	RunAsNonRoot             bool           `json:"runAsNonRoot"`
	AllowPrivilegeEscalation bool           `json:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   bool           `json:"readOnlyRootFilesystem"`
	Capabilities             Capabilities   `json:"capabilities"`
	SeccompProfile           SeccompProfile `json:"seccompProfile"`
}

// Capabilities to drop.
type Capabilities struct {
	Drop []string `json:"drop"`
}

// SeccompProfile type.
type SeccompProfile struct {
	Type string `json:"type"`
}

func restrictedPod(fsGroup int) PodSecurityContext {
	return PodSecurityContext{RunAsNonRoot: true, FSGroup: fsGroup, SeccompProfile: SeccompProfile{Type: "RuntimeDefault"}}
}

func restrictedContainer() SecurityContext {
	return SecurityContext{
		RunAsNonRoot: true, AllowPrivilegeEscalation: false, ReadOnlyRootFilesystem: true,
		Capabilities: Capabilities{Drop: []string{"ALL"}}, SeccompProfile: SeccompProfile{Type: "RuntimeDefault"},
	}
}

// Enabled is a chart's {enabled: bool} switch.
type Enabled struct {
	Enabled bool `json:"enabled"`
}

// LoadBalancerControllerValues for the aws-load-balancer-controller chart.
type LoadBalancerControllerValues struct {
	// ClusterName, Region and VpcID are set explicitly: with the metadata hop
	// limit at 1 the controller cannot read them from the instance metadata.
	ClusterName               string                     `json:"clusterName"`
	Region                    string                     `json:"region"`
	VpcID                     string                     `json:"vpcId,omitempty"`
	ReplicaCount              int                        `json:"replicaCount"`
	ServiceAccount            ServiceAccountValues       `json:"serviceAccount"`
	Resources                 Resources                  `json:"resources"`
	PodDisruptionBudget       *PodDisruptionBudgetValues `json:"podDisruptionBudget,omitempty"`
	TopologySpreadConstraints []TopologySpread           `json:"topologySpreadConstraints,omitempty"`
	PodSecurityContext        PodSecurityContext         `json:"podSecurityContext"`
	SecurityContext           SecurityContext            `json:"securityContext"`
	// The ALB-only integrations are off: the IAM policy does not grant them.
	EnableShield               bool              `json:"enableShield"`
	EnableWaf                  bool              `json:"enableWaf"`
	EnableWafv2                bool              `json:"enableWafv2"`
	CreateIngressClassResource bool              `json:"createIngressClassResource"`
	DefaultTags                map[string]string `json:"defaultTags,omitempty"`
	ServiceMonitor             Enabled           `json:"serviceMonitor"`
}

// Sizing is the per-environment shape the values functions share.
type Sizing struct {
	// ControllerReplicas of the controllers that can run more than one
	// (leader-elected or stateless webhooks). 2 in HA environments.
	ControllerReplicas int
	// HighAvailability adds PodDisruptionBudgets and zone spread.
	HighAvailability bool
}

// LoadBalancerControllerValuesFor builds the controller's values.
func LoadBalancerControllerValuesFor(clusterName, region string, tags map[string]string, s Sizing) LoadBalancerControllerValues {
	v := LoadBalancerControllerValues{
		ClusterName: clusterName, Region: region,
		ReplicaCount:   s.ControllerReplicas,
		ServiceAccount: ServiceAccountValues{Create: false, Name: LoadBalancerControllerServiceAccount},
		Resources: Resources{
			Requests: ResourceList{CPU: "50m", Memory: "128Mi"},
			Limits:   ResourceList{Memory: "256Mi"},
		},
		PodSecurityContext: restrictedPod(65534),
		SecurityContext:    restrictedContainer(),
		DefaultTags:        tags,
		ServiceMonitor:     Enabled{Enabled: true},
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
}

// EnvoyGatewayDeployment is the chart's deployment block.
type EnvoyGatewayDeployment struct {
	Replicas     int                   `json:"replicas"`
	EnvoyGateway EnvoyGatewayContainer `json:"envoyGateway"`
	Pod          EnvoyGatewayPod       `json:"pod"`
}

// EnvoyGatewayContainer is the controller container.
type EnvoyGatewayContainer struct {
	Resources       Resources       `json:"resources"`
	SecurityContext SecurityContext `json:"securityContext"`
}

// EnvoyGatewayPod is the controller pod.
type EnvoyGatewayPod struct {
	TopologySpreadConstraints []TopologySpread `json:"topologySpreadConstraints,omitempty"`
}

// EnvoyGatewayValuesFor builds the Envoy Gateway controller's values.
func EnvoyGatewayValuesFor(s Sizing) EnvoyGatewayValues {
	v := EnvoyGatewayValues{Deployment: EnvoyGatewayDeployment{
		Replicas: s.ControllerReplicas,
		EnvoyGateway: EnvoyGatewayContainer{
			Resources: Resources{
				Requests: ResourceList{CPU: "100m", Memory: "256Mi"},
				Limits:   ResourceList{Memory: "1024Mi"},
			},
			SecurityContext: restrictedContainer(),
		},
	}}
	if s.HighAvailability {
		v.PodDisruptionBudget = &PodDisruptionBudgetValues{MinAvailable: 1}
		v.Deployment.Pod.TopologySpreadConstraints = zoneSpread(map[string]string{"control-plane": "envoy-gateway"}, false)
	}
	return v
}

// CertManagerValues for the cert-manager chart.
type CertManagerValues struct {
	CRDs                      CertManagerCRDs           `json:"crds"`
	ReplicaCount              int                       `json:"replicaCount"`
	ServiceAccount            ServiceAccountValues      `json:"serviceAccount"`
	Resources                 Resources                 `json:"resources"`
	PodDisruptionBudget       PodDisruptionBudgetValues `json:"podDisruptionBudget"`
	TopologySpreadConstraints []TopologySpread          `json:"topologySpreadConstraints,omitempty"`
	Webhook                   CertManagerComponent      `json:"webhook"`
	Cainjector                CertManagerComponent      `json:"cainjector"`
	Startupapicheck           CertManagerStartupCheck   `json:"startupapicheck"`
	Prometheus                CertManagerPrometheus     `json:"prometheus"`
}

// CertManagerCRDs installs the CRDs with the chart and keeps them on uninstall
// (deleting them would delete every Certificate).
type CertManagerCRDs struct {
	Enabled bool `json:"enabled"`
	Keep    bool `json:"keep"`
}

// CertManagerComponent is the webhook or cainjector block.
type CertManagerComponent struct {
	ReplicaCount              int                       `json:"replicaCount"`
	Resources                 Resources                 `json:"resources"`
	PodDisruptionBudget       PodDisruptionBudgetValues `json:"podDisruptionBudget"`
	TopologySpreadConstraints []TopologySpread          `json:"topologySpreadConstraints,omitempty"`
}

// CertManagerStartupCheck is the post-install API check job.
type CertManagerStartupCheck struct {
	Resources Resources `json:"resources"`
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
	small := Resources{Requests: ResourceList{CPU: "10m", Memory: "64Mi"}, Limits: ResourceList{Memory: "256Mi"}}
	v := CertManagerValues{
		CRDs:            CertManagerCRDs{Enabled: true, Keep: true},
		ReplicaCount:    1,
		ServiceAccount:  ServiceAccountValues{Create: false, Name: CertManagerServiceAccount},
		Resources:       Resources{Requests: ResourceList{CPU: "20m", Memory: "128Mi"}, Limits: ResourceList{Memory: "512Mi"}},
		Webhook:         CertManagerComponent{ReplicaCount: s.ControllerReplicas, Resources: small},
		Cainjector:      CertManagerComponent{ReplicaCount: 1, Resources: Resources{Requests: ResourceList{CPU: "10m", Memory: "128Mi"}, Limits: ResourceList{Memory: "512Mi"}}},
		Startupapicheck: CertManagerStartupCheck{Resources: small},
		Prometheus:      CertManagerPrometheus{Enabled: true, Servicemonitor: Enabled{Enabled: true}},
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
	Provider           ExternalDNSProvider  `json:"provider"`
	Sources            []string             `json:"sources"`
	DomainFilters      []string             `json:"domainFilters"`
	TxtOwnerID         string               `json:"txtOwnerId"`
	Policy             string               `json:"policy"`
	Registry           string               `json:"registry"`
	Interval           string               `json:"interval"`
	ExtraArgs          []string             `json:"extraArgs"`
	Env                []EnvVar             `json:"env"`
	ServiceAccount     ServiceAccountValues `json:"serviceAccount"`
	Resources          Resources            `json:"resources"`
	PodSecurityContext PodSecurityContext   `json:"podSecurityContext"`
	SecurityContext    SecurityContext      `json:"securityContext"`
	ServiceMonitor     Enabled              `json:"serviceMonitor"`
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
		Provider:       ExternalDNSProvider{Name: "aws"},
		Sources:        []string{"gateway-httproute"},
		DomainFilters:  []string{domain},
		TxtOwnerID:     ownerID,
		Policy:         policy,
		Registry:       "txt",
		Interval:       "1m",
		ExtraArgs:      []string{"--zone-id-filter=" + hostedZoneID, "--aws-zone-type=public"},
		Env:            []EnvVar{{Name: "AWS_DEFAULT_REGION", Value: region}},
		ServiceAccount: ServiceAccountValues{Create: false, Name: ExternalDNSServiceAccount},
		Resources: Resources{
			Requests: ResourceList{CPU: "10m", Memory: "64Mi"},
			Limits:   ResourceList{Memory: "128Mi"},
		},
		PodSecurityContext: restrictedPod(65534),
		SecurityContext:    restrictedContainer(),
		ServiceMonitor:     Enabled{Enabled: true},
	}
}
