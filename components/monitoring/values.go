package monitoring

import (
	"fmt"

	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/podvalues"
)

// Chart is the upstream kube-prometheus-stack chart, pinned exactly.
// Version 91.4.1 (appVersion / Prometheus Operator v0.94.0, Grafana subchart
// 13.2.5), as `helm show chart` reports it in a public offline-lint record of
// that chart archive; its CRDs are compatible with the prometheus-operator API
// module v0.95.1 the repository's CRD checks use (toolchain.md).
const (
	ChartRepo    = "https://prometheus-community.github.io/helm-charts"
	ChartName    = "kube-prometheus-stack"
	ChartVersion = "91.4.1"
)

// CRDChart is the CRD-only chart of the same repository whose CRDs are the
// pinned chart's: prometheus-operator-crds at the release that carries the
// same prometheus-operator version. 32.0.0 is the release that moved to
// v0.94.0 ("Update dependency prometheus-operator/prometheus-operator to
// v0.94.0", prometheus-community/helm-charts#7255; 32.0.2 moved on to
// v0.94.2), the version of kube-prometheus-stack 91.0.0 to 91.4.1 (#7269;
// 91.5.1 moved to v0.94.1). The program applies it before the release,
// which skips its own crds/ (docs/operations.md, "CRDs"); a test renders
// both and compares them CRD by CRD, so a bump of one without the other
// fails (here on the archives that stand in for both pins, 31.0.1 and
// 88.5.3, whose operator versions match the same way: v0.93.1).
var CRDChart = helmrelease.Chart{Repo: ChartRepo, Name: "prometheus-operator-crds", Version: "32.0.0"}

// Names the chart gives its objects. fullnameOverride fixes the prefix so
// job labels, service names and pod labels are predictable for rules,
// NetworkPolicies and other components.
const (
	fullname = "kps"
	// PrometheusName is the Prometheus custom resource (and Service, and the
	// `job` label of its own metrics).
	PrometheusName = fullname + "-prometheus"
	// AlertmanagerName is the Alertmanager custom resource, Service and job.
	AlertmanagerName = fullname + "-alertmanager"
	// ReceiversSecretName holds the receiver URLs and keys; it is mounted
	// into Alertmanager at SecretsMountPath/ReceiversSecretName.
	ReceiversSecretName = "alertmanager-receivers"
	// GrafanaAdminSecretName holds Grafana's admin user and password.
	GrafanaAdminSecretName = "grafana-admin"
	// GrafanaClusterRoleName is our ClusterRole for Grafana's sidecars:
	// get, list and watch on ConfigMaps only (GrafanaRBAC).
	GrafanaClusterRoleName = "platform-grafana-sidecar"
	// SecretsMountPath is where the Prometheus Operator mounts the Secrets
	// listed in the Alertmanager's spec.secrets.
	SecretsMountPath = "/etc/alertmanager/secrets"
	// DashboardLabel marks ConfigMaps Grafana's sidecar loads as dashboards.
	DashboardLabel = "grafana_dashboard"
)

// PrometheusPodLabels select the Prometheus pods: other components allow
// scraping from these labels in the monitoring namespace in their
// NetworkPolicies.
var PrometheusPodLabels = map[string]string{
	"app.kubernetes.io/name": "prometheus",
	"prometheus":             PrometheusName,
}

// alertmanagerPodLabels select the Alertmanager pods.
var alertmanagerPodLabels = map[string]string{
	"app.kubernetes.io/name": "alertmanager",
	"alertmanager":           AlertmanagerName,
}

// Values is the subset of the chart's values we set (json names follow the
// chart's values.yaml).
type Values struct {
	FullnameOverride      string                `json:"fullnameOverride"`
	CRDs                  Enabled               `json:"crds"`
	DefaultRules          DefaultRules          `json:"defaultRules"`
	KubeControllerManager Enabled               `json:"kubeControllerManager"`
	KubeScheduler         Enabled               `json:"kubeScheduler"`
	KubeEtcd              Enabled               `json:"kubeEtcd"`
	KubeProxy             Enabled               `json:"kubeProxy"`
	Prometheus            PrometheusValues      `json:"prometheus"`
	Alertmanager          AlertmanagerValues    `json:"alertmanager"`
	PrometheusOperator    OperatorValues        `json:"prometheusOperator"`
	Grafana               GrafanaValues         `json:"grafana"`
	KubeStateMetrics      KubeStateMetricsValue `json:"kube-state-metrics"`
	NodeExporter          NodeExporterValues    `json:"prometheus-node-exporter"`
}

// Enabled switches a chart part on or off.
type Enabled struct {
	Enabled bool `json:"enabled"`
}

// DefaultRules selects the chart's bundled rule groups.
type DefaultRules struct {
	Create bool `json:"create"`
	// Rules switches rule groups (keys as in the chart's defaultRules.rules).
	Rules map[string]bool `json:"rules"`
	// Disabled switches off single alerts by name.
	Disabled map[string]bool `json:"disabled,omitempty"`
}

// PodDisruptionBudget as the chart takes it.
type PodDisruptionBudget struct {
	Enabled        bool `json:"enabled"`
	MinAvailable   *int `json:"minAvailable,omitempty"`
	MaxUnavailable *int `json:"maxUnavailable,omitempty"`
}

// VolumeClaimTemplate is a PVC template (storageSpec / storage).
type VolumeClaimTemplate struct {
	VolumeClaimTemplate PVCTemplate `json:"volumeClaimTemplate"`
}

// PVCTemplate wraps the claim spec.
type PVCTemplate struct {
	Spec PVCSpec `json:"spec"`
}

// PVCSpec is the claim spec; an empty StorageClassName uses the cluster's
// default class.
type PVCSpec struct {
	StorageClassName string       `json:"storageClassName,omitempty"`
	AccessModes      []string     `json:"accessModes"`
	Resources        PVCResources `json:"resources"`
}

// PVCResources requests the volume size.
type PVCResources struct {
	Requests map[string]string `json:"requests"`
}

// PrometheusValues is the chart's `prometheus` key.
type PrometheusValues struct {
	PodDisruptionBudget PodDisruptionBudget `json:"podDisruptionBudget"`
	PrometheusSpec      PrometheusSpec      `json:"prometheusSpec"`
}

// PrometheusSpec is `prometheus.prometheusSpec` (fields of the Prometheus CR).
type PrometheusSpec struct {
	Replicas                                int                                  `json:"replicas"`
	ReplicaExternalLabelName                string                               `json:"replicaExternalLabelName"`
	PrometheusExternalLabelName             string                               `json:"prometheusExternalLabelName"`
	ExternalLabels                          map[string]string                    `json:"externalLabels"`
	ScrapeInterval                          string                               `json:"scrapeInterval"`
	EvaluationInterval                      string                               `json:"evaluationInterval"`
	Retention                               string                               `json:"retention"`
	RetentionSize                           string                               `json:"retentionSize"`
	StorageSpec                             VolumeClaimTemplate                  `json:"storageSpec"`
	PersistentVolumeClaimRetentionPolicy    VolumeRetention                      `json:"persistentVolumeClaimRetentionPolicy"`
	Resources                               podvalues.Resources                  `json:"resources"`
	TopologySpreadConstraints               []podvalues.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	SecurityContext                         podvalues.PodSecurityContext         `json:"securityContext"`
	ServiceMonitorSelectorNilUsesHelmValues bool                                 `json:"serviceMonitorSelectorNilUsesHelmValues"`
	PodMonitorSelectorNilUsesHelmValues     bool                                 `json:"podMonitorSelectorNilUsesHelmValues"`
	RuleSelectorNilUsesHelmValues           bool                                 `json:"ruleSelectorNilUsesHelmValues"`
	ProbeSelectorNilUsesHelmValues          bool                                 `json:"probeSelectorNilUsesHelmValues"`
	ScrapeConfigSelectorNilUsesHelmValues   bool                                 `json:"scrapeConfigSelectorNilUsesHelmValues"`
	// Empty selectors: every namespace.
	ServiceMonitorNamespaceSelector map[string]any `json:"serviceMonitorNamespaceSelector"`
	PodMonitorNamespaceSelector     map[string]any `json:"podMonitorNamespaceSelector"`
	RuleNamespaceSelector           map[string]any `json:"ruleNamespaceSelector"`
}

// AlertmanagerValues is the chart's `alertmanager` key.
type AlertmanagerValues struct {
	PodDisruptionBudget PodDisruptionBudget `json:"podDisruptionBudget"`
	// Config is rendered by the chart into the Alertmanager's config
	// Secret. It holds no secret: receivers read theirs from files.
	Config           *Config          `json:"config"`
	AlertmanagerSpec AlertmanagerSpec `json:"alertmanagerSpec"`
}

// AlertmanagerSpec is `alertmanager.alertmanagerSpec` (the Alertmanager CR).
type AlertmanagerSpec struct {
	Replicas  int                 `json:"replicas"`
	Retention string              `json:"retention"`
	Storage   VolumeClaimTemplate `json:"storage"`
	// PersistentVolumeClaimRetentionPolicy: see VolumeRetention.
	PersistentVolumeClaimRetentionPolicy VolumeRetention                      `json:"persistentVolumeClaimRetentionPolicy"`
	Resources                            podvalues.Resources                  `json:"resources"`
	TopologySpreadConstraints            []podvalues.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	SecurityContext                      podvalues.PodSecurityContext         `json:"securityContext"`
	// Secrets are mounted at /etc/alertmanager/secrets/<name>.
	Secrets []string `json:"secrets"`
	// AutomountServiceAccountToken is false: Alertmanager and its config
	// reloader read only their mounted files and talk to peers and
	// receivers, never to the Kubernetes API (trivy KSV-0036).
	AutomountServiceAccountToken bool `json:"automountServiceAccountToken"`
}

// VolumeRetention is the StatefulSets' PersistentVolumeClaim retention
// policy (Kubernetes 1.27+). StatefulSet claims outlive the StatefulSet by
// default, so deleting the release (pulumi destroy) left the Prometheus and
// Alertmanager EBS volumes billed. whenDeleted Delete removes the claims
// (and, with the gp3 class's reclaimPolicy Delete, the volumes) with the
// release; Retain keeps them, for prod, where losing the TSDB to a mistaken
// delete costs more than a volume (docs/operations.md says how to remove
// them). Scaling down always keeps claims: scaling up again reuses them.
type VolumeRetention struct {
	WhenDeleted string `json:"whenDeleted"`
	WhenScaled  string `json:"whenScaled"`
}

func volumeRetention(retain bool) VolumeRetention {
	if retain {
		return VolumeRetention{WhenDeleted: "Retain", WhenScaled: "Retain"}
	}
	return VolumeRetention{WhenDeleted: "Delete", WhenScaled: "Retain"}
}

// OperatorValues is `prometheusOperator`.
type OperatorValues struct {
	Resources                podvalues.Resources          `json:"resources"`
	SecurityContext          podvalues.PodSecurityContext `json:"securityContext"`
	ContainerSecurityContext podvalues.SecurityContext    `json:"containerSecurityContext"`
	ConfigReloader           ConfigReloader               `json:"prometheusConfigReloader"`
	AdmissionWebhooks        AdmissionWebhooks            `json:"admissionWebhooks"`
}

// AdmissionWebhooks is `prometheusOperator.admissionWebhooks`.
type AdmissionWebhooks struct {
	Patch AdmissionWebhookJobs `json:"patch"`
}

// AdmissionWebhookJobs sizes the hook Jobs that create the webhook's
// certificate and patch it into the webhook configurations (both the
// chart's job-createSecret.yaml and job-patchWebhook.yaml read
// patch.resources).
type AdmissionWebhookJobs struct {
	Resources podvalues.Resources `json:"resources"`
}

// ConfigReloader sizes the config-reloader sidecars.
type ConfigReloader struct {
	Resources podvalues.Resources `json:"resources"`
}

// GrafanaValues is the grafana subchart's values.
type GrafanaValues struct {
	Enabled                  bool                         `json:"enabled"`
	Admin                    GrafanaAdmin                 `json:"admin"`
	Resources                podvalues.Resources          `json:"resources"`
	SecurityContext          podvalues.PodSecurityContext `json:"securityContext"`
	ContainerSecurityContext podvalues.SecurityContext    `json:"containerSecurityContext"`
	Sidecar                  GrafanaSidecar               `json:"sidecar"`
	TestFramework            Enabled                      `json:"testFramework"`
	Persistence              Enabled                      `json:"persistence"`
	RBAC                     GrafanaRBAC                  `json:"rbac"`
}

// GrafanaRBAC binds Grafana's service account to a ClusterRole of ours
// (GrafanaClusterRoleName) instead of the chart's, which grants get, list
// and watch on every Secret in the cluster for the sidecars (trivy
// KSV-0041): ours grants ConfigMaps only, which is all the sidecars read
// (SidecarResource).
type GrafanaRBAC struct {
	UseExistingClusterRole string `json:"useExistingClusterRole"`
}

// SidecarResource is what a Grafana sidecar watches: "configmap", so that
// it needs no access to Secrets.
type SidecarResource struct {
	Resource string `json:"resource"`
}

// GrafanaAdmin points Grafana at the Secret holding its admin credentials.
type GrafanaAdmin struct {
	ExistingSecret string `json:"existingSecret"`
	UserKey        string `json:"userKey"`
	PasswordKey    string `json:"passwordKey"`
}

// GrafanaSidecar loads dashboards and data sources from labelled ConfigMaps.
type GrafanaSidecar struct {
	Resources       podvalues.Resources       `json:"resources"`
	SecurityContext podvalues.SecurityContext `json:"securityContext"`
	Dashboards      SidecarDashboards         `json:"dashboards"`
	Datasources     SidecarResource           `json:"datasources"`
}

// SidecarDashboards selects dashboard ConfigMaps.
type SidecarDashboards struct {
	Enabled         bool   `json:"enabled"`
	Label           string `json:"label"`
	LabelValue      string `json:"labelValue"`
	SearchNamespace string `json:"searchNamespace"`
	Resource        string `json:"resource"`
}

// KubeStateMetricsValue is the kube-state-metrics subchart's values.
type KubeStateMetricsValue struct {
	Resources                podvalues.Resources       `json:"resources"`
	ContainerSecurityContext podvalues.SecurityContext `json:"containerSecurityContext"`
	// MetricLabelsAllowlist exports node zone labels for the zone rules.
	MetricLabelsAllowlist []string `json:"metricLabelsAllowlist"`
	// CollectorsExclude drops the secrets collector: with it the chart's
	// ClusterRole lets kube-state-metrics list (and so read) every Secret in
	// the cluster, for kube_secret_* metrics no rule or dashboard of ours
	// uses (trivy KSV-0041).
	CollectorsExclude []string `json:"collectorsExclude"`
}

// NodeExporterValues is the prometheus-node-exporter subchart's values.
type NodeExporterValues struct {
	// NamespaceOverride runs node-exporter in its own privileged namespace.
	NamespaceOverride        string                    `json:"namespaceOverride"`
	Resources                podvalues.Resources       `json:"resources"`
	ContainerSecurityContext podvalues.SecurityContext `json:"containerSecurityContext"`
}

// restrictedContainer is every container's security context: the restricted
// Pod Security profile.
var restrictedContainer = podvalues.RestrictedContainer()

// nonRootPod runs a pod as uid (user, group and file system group) with the
// runtime's default seccomp profile.
func nonRootPod(uid int64) podvalues.PodSecurityContext {
	return podvalues.PodSecurityContext{
		RunAsNonRoot:   podvalues.Ptr(true),
		RunAsUser:      podvalues.Ptr(uid),
		RunAsGroup:     podvalues.Ptr(uid),
		FSGroup:        podvalues.Ptr(uid),
		SeccompProfile: podvalues.RuntimeDefaultSeccomp(),
	}
}

// zoneSpread spreads pods evenly across zones (maxSkew 1): losing a zone
// never takes all replicas.
func zoneSpread(labels map[string]string) []podvalues.TopologySpreadConstraint {
	return []podvalues.TopologySpreadConstraint{
		podvalues.Spread(podvalues.ZoneKey, podvalues.DoNotSchedule, labels),
		podvalues.Spread(podvalues.HostnameKey, podvalues.ScheduleAnyway, labels),
	}
}

func pdb(replicas int) PodDisruptionBudget {
	if replicas < 2 {
		// A PDB on a single replica would block every node drain.
		return PodDisruptionBudget{Enabled: false}
	}
	// minAvailable replicas-1 (the budget of maxUnavailable 1), never
	// maxUnavailable: the chart's default podDisruptionBudget holds
	// minAvailable: 1 and its templates render the whole map
	// (kube-prometheus-stack 88.5.3 templates/prometheus/podDisruptionBudget.yaml,
	// alertmanager/podDisruptionBudget.yaml: toYaml (omit ... "enabled")), so
	// our maxUnavailable would sit beside it and the API server rejects a PDB
	// with both. A null cannot remove the default: the provider drops null
	// values. Checked on the rendered chart (components/helmrelease/render).
	minAvailable := replicas - 1
	return PodDisruptionBudget{Enabled: true, MinAvailable: &minAvailable}
}

func volume(storageClass string, sizeGiB int) VolumeClaimTemplate {
	return VolumeClaimTemplate{VolumeClaimTemplate: PVCTemplate{Spec: PVCSpec{
		StorageClassName: storageClass,
		AccessModes:      []string{"ReadWriteOnce"},
		Resources:        PVCResources{Requests: map[string]string{"storage": fmt.Sprintf("%dGi", sizeGiB)}},
	}}}
}

// RetentionSize renders the TSDB size cap (85 % of the volume) in the unit
// Prometheus takes (its MB are MiB).
func RetentionSize(volumeGiB int) string {
	return fmt.Sprintf("%dMB", RetentionSizeBytes(int64(volumeGiB)*gib)/mib)
}

// ChartValues builds the chart's values from defaulted Args.
func ChartValues(a *Args) Values {
	p, am := a.Prometheus, a.Alertmanager
	admin := GrafanaAdmin{ExistingSecret: GrafanaAdminSecretName, UserKey: "admin-user", PasswordKey: "admin-password"}
	if a.GrafanaAdminPassword == nil {
		// The chart generates a password into its own Secret.
		admin.ExistingSecret = ""
	}
	v := Values{
		FullnameOverride: fullname,
		CRDs:             Enabled{Enabled: true},
		DefaultRules: DefaultRules{
			Create: true,
			// EKS runs the control plane: controller-manager, scheduler and
			// etcd are not scrapeable, so their rules would only ever fire
			// "target down" (prometheus-community/helm-charts#4106).
			Rules: map[string]bool{
				"etcd":                   false,
				"kubeControllerManager":  false,
				"kubeSchedulerAlerting":  false,
				"kubeSchedulerRecording": false,
				"kubeProxy":              a.EKS,
			},
			// Replaced by NodeNotReady in our rules, which carries the zone
			// so a zone outage inhibits it.
			Disabled: map[string]bool{"KubeNodeNotReady": true},
		},
		KubeControllerManager: Enabled{Enabled: false},
		KubeScheduler:         Enabled{Enabled: false},
		KubeEtcd:              Enabled{Enabled: false},
		// EKS's kube-proxy serves metrics on 0.0.0.0:10249; local clusters
		// (kind) bind it to localhost.
		KubeProxy: Enabled{Enabled: a.EKS},
		Prometheus: PrometheusValues{
			PodDisruptionBudget: pdb(p.Replicas),
			PrometheusSpec: PrometheusSpec{
				Replicas: p.Replicas,
				// Replicas differ only in this label; the operator drops it
				// from alerts so Alertmanager deduplicates them.
				ReplicaExternalLabelName:                "prometheus_replica",
				PrometheusExternalLabelName:             "prometheus",
				ExternalLabels:                          map[string]string{"cluster": a.ClusterName, "environment": a.Environment},
				ScrapeInterval:                          p.ScrapeInterval,
				EvaluationInterval:                      p.ScrapeInterval,
				Retention:                               p.Retention,
				RetentionSize:                           RetentionSize(p.VolumeSizeGiB),
				StorageSpec:                             volume(a.StorageClass, p.VolumeSizeGiB),
				PersistentVolumeClaimRetentionPolicy:    volumeRetention(a.RetainVolumes),
				Resources:                               PrometheusResources(p.ExpectedSeries),
				SecurityContext:                         nonRootPod(1000),
				ServiceMonitorSelectorNilUsesHelmValues: false,
				PodMonitorSelectorNilUsesHelmValues:     false,
				RuleSelectorNilUsesHelmValues:           false,
				ProbeSelectorNilUsesHelmValues:          false,
				ScrapeConfigSelectorNilUsesHelmValues:   false,
				ServiceMonitorNamespaceSelector:         map[string]any{},
				PodMonitorNamespaceSelector:             map[string]any{},
				RuleNamespaceSelector:                   map[string]any{},
			},
		},
		Alertmanager: AlertmanagerValues{
			PodDisruptionBudget: pdb(am.Replicas),
			Config:              AlertmanagerConfig(a.Routing),
			AlertmanagerSpec: AlertmanagerSpec{
				Replicas:                             am.Replicas,
				Retention:                            "120h",
				Storage:                              volume(a.StorageClass, am.VolumeSizeGiB),
				PersistentVolumeClaimRetentionPolicy: volumeRetention(a.RetainVolumes),
				Resources:                            podvalues.Requests("50m", "128Mi", "256Mi"),
				SecurityContext:                      nonRootPod(1000),
				Secrets:                              []string{ReceiversSecretName},
				AutomountServiceAccountToken:         false,
			},
		},
		PrometheusOperator: OperatorValues{
			Resources:                podvalues.Requests("100m", "128Mi", "512Mi"),
			SecurityContext:          nonRootPod(65534),
			ContainerSecurityContext: restrictedContainer,
			ConfigReloader:           ConfigReloader{Resources: podvalues.Requests("10m", "32Mi", "64Mi")},
			AdmissionWebhooks:        AdmissionWebhooks{Patch: AdmissionWebhookJobs{Resources: podvalues.Requests("10m", "32Mi", "64Mi")}},
		},
		Grafana: GrafanaValues{
			Enabled:         true,
			Admin:           admin,
			Resources:       podvalues.Requests("100m", "256Mi", "512Mi"),
			SecurityContext: nonRootPod(472),
			// Grafana writes only to its data volume (/var/lib/grafana, an
			// emptyDir without persistence), so its root file system is read-only.
			ContainerSecurityContext: restrictedContainer,
			Sidecar: GrafanaSidecar{
				Resources:       podvalues.Requests("50m", "64Mi", "128Mi"),
				SecurityContext: restrictedContainer,
				Dashboards:      SidecarDashboards{Enabled: true, Label: DashboardLabel, LabelValue: "1", SearchNamespace: "ALL", Resource: "configmap"},
				Datasources:     SidecarResource{Resource: "configmap"},
			},
			RBAC: GrafanaRBAC{UseExistingClusterRole: GrafanaClusterRoleName},
			// The chart's test pod runs as root; dashboards are code, so
			// Grafana keeps no state worth a volume.
			TestFramework: Enabled{Enabled: false},
			Persistence:   Enabled{Enabled: false},
		},
		KubeStateMetrics: KubeStateMetricsValue{
			Resources:                podvalues.Requests("50m", "128Mi", "256Mi"),
			ContainerSecurityContext: restrictedContainer,
			MetricLabelsAllowlist:    []string{"nodes=[topology.kubernetes.io/zone,node.kubernetes.io/instance-type]"},
			CollectorsExclude:        []string{"secrets"},
		},
		NodeExporter: NodeExporterValues{
			NamespaceOverride:        a.NodeExporterNamespace,
			Resources:                podvalues.Requests("50m", "32Mi", "64Mi"),
			ContainerSecurityContext: restrictedContainer,
		},
	}
	if a.ZoneSpread {
		v.Prometheus.PrometheusSpec.TopologySpreadConstraints = zoneSpread(PrometheusPodLabels)
		v.Alertmanager.AlertmanagerSpec.TopologySpreadConstraints = zoneSpread(alertmanagerPodLabels)
	}
	return v
}
