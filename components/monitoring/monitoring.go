package monitoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/namespace"
)

// PrometheusArgs sizes Prometheus.
type PrometheusArgs struct {
	// Replicas: identical Prometheus servers differing only in the
	// prometheus_replica label. Default [DefaultPrometheusReplicas].
	Replicas int
	// Retention: how long samples are kept (Prometheus duration). Default
	// [DefaultRetention].
	Retention string
	// VolumeSizeGiB of each replica's volume; the TSDB is capped at 85 % of
	// it (retentionSize). Default [DefaultPrometheusVolumeGiB].
	VolumeSizeGiB int
	// ExpectedSeries: active series the sizing rule sizes memory and CPU
	// for (PrometheusResources). Default [DefaultExpectedSeries].
	ExpectedSeries int
	// ScrapeInterval, also the rule evaluation interval. Default
	// [DefaultScrapeInterval].
	ScrapeInterval string
}

// AlertmanagerArgs sizes Alertmanager.
type AlertmanagerArgs struct {
	// Replicas: an HA cluster gossiping notification state. Default
	// [DefaultAlertmanagerReplicas].
	Replicas int
	// VolumeSizeGiB for silences and notification log. Default
	// [DefaultAlertmanagerVolumeGiB].
	VolumeSizeGiB int
}

// ReceiverSecrets are Pulumi secret outputs; nil when not configured. They
// are written only into the receivers Kubernetes Secret.
type ReceiverSecrets struct {
	// SlackWebhookURL: a Slack incoming-webhook URL. Default none.
	SlackWebhookURL pulumi.StringInput
	// PagerDutyRoutingKey: an Events API v2 integration key. Default none.
	PagerDutyRoutingKey pulumi.StringInput
	// WebhookURL: a generic webhook receiving critical and warning alerts. Default none.
	WebhookURL pulumi.StringInput
	// HeartbeatURL: a dead-man's-switch URL Watchdog is sent to every
	// minute. Default none (Watchdog goes to the null receiver).
	HeartbeatURL pulumi.StringInput
}

// Args configures the monitoring component.
type Args struct {
	// Namespace for the chart, Prometheus, Alertmanager and Grafana
	// (Pod Security restricted). Default [DefaultNamespace].
	Namespace string
	// NodeExporterNamespace: node-exporter needs hostNetwork, hostPID and
	// host paths, so it runs alone in a privileged namespace. Default
	// [DefaultNodeExporterNamespace].
	NodeExporterNamespace string
	// ClusterName and Environment become the external labels `cluster` and
	// `environment` on every alert. Required.
	ClusterName, Environment string
	// EKS: the cluster is EKS. Keeps kube-proxy scraping (EKS exposes it);
	// controller-manager, scheduler and etcd are never scraped. Default false.
	EKS bool
	// ZoneSpread spreads Prometheus and Alertmanager replicas across zones
	// (maxSkew 1). Default false; needs nodes labelled with zones.
	ZoneSpread bool
	// StorageClass of the volumes. Default "" (the cluster's default class).
	StorageClass string
	// RetainVolumes keeps the Prometheus and Alertmanager volume claims when
	// the release is deleted (VolumeRetention). Default false: they go with
	// it.
	RetainVolumes bool
	// Prometheus and Alertmanager sizing; defaults on their fields.
	Prometheus   PrometheusArgs
	Alertmanager AlertmanagerArgs
	// Routing: intervals and Slack channel; which receivers exist is set
	// from Secrets. Defaults on its fields.
	Routing RoutingArgs
	// Rules parameterises the platform's alert rules. Defaults on its fields.
	Rules RuleArgs
	// Secrets of the receivers. Default none.
	Secrets ReceiverSecrets
	// GrafanaAdminPassword: a secret output, stored in the grafana-admin
	// Secret. Default none: the Grafana chart generates a password into
	// its own Secret (fine for a throwaway cluster; set it everywhere else).
	GrafanaAdminPassword pulumi.StringInput
	// APIServer: where the Kubernetes API is reached (operator,
	// kube-state-metrics, Grafana's sidecar, service discovery, the chart's
	// admission-webhook Jobs) and calls the operator's webhook from.
	// Default any address on 443 (namespace.AnyAPIServer); on EKS pass
	// namespace.EKSAPIServer.
	APIServer *namespace.APIServer
	// ScrapeCIDRs: node addresses Prometheus scrapes (kubelet, node-exporter,
	// kube-proxy) besides pods. Default [DefaultScrapeCIDRs]; set the VPC CIDR on EKS.
	ScrapeCIDRs []string
	// DependsOn: the chart waits for these, e.g. the cluster's StorageClass
	// and storage driver (cluster.Cluster.Ready). Default none.
	DependsOn []pulumi.Resource
}

// Monitoring is the installed monitoring stack.
type Monitoring struct {
	pulumi.ResourceState

	// Namespace is the monitoring namespace (known once it exists).
	Namespace pulumi.StringOutput
	// NamespaceName is the same name as a plain string, for NetworkPolicies
	// in other components that allow scraping from it.
	NamespaceName string
	// Release is the kube-prometheus-stack Helm release. Depending on it (or
	// on the component) waits until the chart, and so the Prometheus
	// Operator CRDs, are installed.
	Release pulumi.Resource
	// PrometheusURL and AlertmanagerURL are in-cluster service URLs.
	PrometheusURL, AlertmanagerURL string
}

// Defaults of Args. Environments override several from the one table in
// stacks (defaultsByEnvironment).
const (
	DefaultNamespace             = namespace.DefaultMonitoring
	DefaultNodeExporterNamespace = "monitoring-node-exporter"
	DefaultPrometheusReplicas    = 1
	DefaultRetention             = "10d"
	DefaultPrometheusVolumeGiB   = 20
	DefaultExpectedSeries        = 300000
	DefaultScrapeInterval        = "30s"
	DefaultAlertmanagerReplicas  = 1
	DefaultAlertmanagerVolumeGiB = 2
)

// Limits of Args, which the stack configuration applies too.
const (
	// MaxReplicas of Prometheus and of Alertmanager.
	MaxReplicas = 5
	// MinExpectedSeries and MaxExpectedSeries bound the series one
	// Prometheus is sized for; beyond the maximum it needs sharding.
	MinExpectedSeries = 1000
	MaxExpectedSeries = 20000000
)

// DefaultScrapeCIDRs are the node addresses Prometheus may scrape unless
// told: any (the VPC block is set on EKS).
var DefaultScrapeCIDRs = []string{"0.0.0.0/0"}

// typeToken is the component's Pulumi type; errors name it with the
// component's name.
const typeToken = "platform:monitoring:Monitoring"

// withDefaults returns a copy of a with every default applied.
func (a Args) withDefaults() Args {
	contract.SetDefault(&a.Namespace, DefaultNamespace)
	contract.SetDefault(&a.NodeExporterNamespace, DefaultNodeExporterNamespace)
	contract.SetDefault(&a.Prometheus.Replicas, DefaultPrometheusReplicas)
	contract.SetDefault(&a.Prometheus.Retention, DefaultRetention)
	contract.SetDefault(&a.Prometheus.VolumeSizeGiB, DefaultPrometheusVolumeGiB)
	contract.SetDefault(&a.Prometheus.ExpectedSeries, DefaultExpectedSeries)
	contract.SetDefault(&a.Prometheus.ScrapeInterval, DefaultScrapeInterval)
	contract.SetDefault(&a.Alertmanager.Replicas, DefaultAlertmanagerReplicas)
	contract.SetDefault(&a.Alertmanager.VolumeSizeGiB, DefaultAlertmanagerVolumeGiB)
	a.Routing.Slack = a.Secrets.SlackWebhookURL != nil
	a.Routing.PagerDuty = a.Secrets.PagerDutyRoutingKey != nil
	a.Routing.Webhook = a.Secrets.WebhookURL != nil
	a.Routing.Heartbeat = a.Secrets.HeartbeatURL != nil
	a.Routing.defaults()
	a.Rules.MonitoringNamespace = a.Namespace
	a.Rules.ExpectedSeries = a.Prometheus.ExpectedSeries
	a.Rules.defaults()
	if a.APIServer == nil {
		anyAPI := namespace.AnyAPIServer(namespace.APIServerPort)
		a.APIServer = &anyAPI
	}
	if len(a.ScrapeCIDRs) == 0 {
		a.ScrapeCIDRs = DefaultScrapeCIDRs
	}
	return a
}

// validate returns every problem with defaulted Args, joined.
func (a Args) validate() error {
	var p []string
	for field, v := range map[string]string{"Namespace": a.Namespace, "NodeExporterNamespace": a.NodeExporterNamespace} {
		if err := namespace.CheckName(v); err != nil {
			p = append(p, fmt.Sprintf("%s %q: %v", field, v, err))
		}
	}
	if a.Namespace == a.NodeExporterNamespace {
		p = append(p, "NodeExporterNamespace must differ from Namespace: node-exporter needs a privileged namespace")
	}
	if a.ClusterName == "" || a.Environment == "" {
		p = append(p, "ClusterName and Environment are required (external labels)")
	}
	if a.Prometheus.Replicas < 1 || a.Prometheus.Replicas > MaxReplicas {
		p = append(p, fmt.Sprintf("Prometheus.Replicas %d must be between 1 and %d", a.Prometheus.Replicas, MaxReplicas))
	}
	if a.Alertmanager.Replicas < 1 || a.Alertmanager.Replicas > MaxReplicas {
		p = append(p, fmt.Sprintf("Alertmanager.Replicas %d must be between 1 and %d", a.Alertmanager.Replicas, MaxReplicas))
	}
	for field, v := range map[string]string{"Prometheus.Retention": a.Prometheus.Retention, "Prometheus.ScrapeInterval": a.Prometheus.ScrapeInterval,
		"Routing.GroupWait": a.Routing.GroupWait, "Routing.GroupInterval": a.Routing.GroupInterval,
		"Routing.CriticalRepeatInterval": a.Routing.CriticalRepeatInterval, "Routing.WarningRepeatInterval": a.Routing.WarningRepeatInterval,
		"Routing.HeartbeatInterval": a.Routing.HeartbeatInterval} {
		if err := CheckDuration(v); err != nil {
			p = append(p, fmt.Sprintf("%s %q: %v", field, v, err))
		}
	}
	if a.Prometheus.VolumeSizeGiB < 1 || a.Alertmanager.VolumeSizeGiB < 1 {
		p = append(p, "volume sizes must be at least 1 GiB")
	}
	if err := CheckStorageClass(a.StorageClass); a.StorageClass != "" && err != nil {
		p = append(p, fmt.Sprintf("StorageClass %q: %v", a.StorageClass, err))
	}
	if err := CheckExpectedSeries(a.Prometheus.ExpectedSeries); err != nil {
		p = append(p, fmt.Sprintf("Prometheus.ExpectedSeries %d: %v", a.Prometheus.ExpectedSeries, err))
	}
	p = append(p, a.Rules.validate()...)
	sort.Strings(p)
	var errs contract.Problems
	for _, m := range p {
		errs = append(errs, errors.New(m))
	}
	return errs.Err()
}

// NewMonitoring installs the monitoring stack. Pass the cluster's Kubernetes
// provider in opts.
func NewMonitoring(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	a := args.withDefaults()
	m := &Monitoring{NamespaceName: a.Namespace}
	if err := contract.Register(ctx, typeToken, name, a.validate(), m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)

	ns, err := namespace.New(ctx, name+"-ns", &namespace.Args{Name: a.Namespace}, parent)
	if err != nil {
		return nil, err
	}
	m.Namespace = ns.Name
	nodeNS, err := namespace.New(ctx, name+"-node-exporter-ns", &namespace.Args{
		Name:              a.NodeExporterNamespace,
		PodSecurity:       namespace.Privileged,
		PodSecurityReason: "node-exporter reads host metrics: it needs hostNetwork, hostPID and read-only hostPath mounts of / , /proc and /sys",
	}, parent)
	if err != nil {
		return nil, err
	}

	receivers := pulumi.StringMap{}
	for key, v := range map[string]pulumi.StringInput{
		SecretKeySlackURL: a.Secrets.SlackWebhookURL, SecretKeyPagerDutyKey: a.Secrets.PagerDutyRoutingKey,
		SecretKeyWebhookURL: a.Secrets.WebhookURL, SecretKeyHeartbeatURL: a.Secrets.HeartbeatURL,
	} {
		if v != nil {
			receivers[key] = pulumi.ToSecret(v).(pulumi.StringOutput)
		}
	}
	labels := pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("platform"), "app.kubernetes.io/component": pulumi.String("monitoring")}
	receiversArgs := &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(ReceiversSecretName), Namespace: ns.Name, Labels: labels},
		Type:       pulumi.String("Opaque"),
		StringData: receivers,
	}
	if len(receivers) == 0 {
		// No stringData rather than an empty one: with an empty map every
		// preview after an up replaced the Secret (`+ stringData`; found by
		// the engine test, engine/).
		receiversArgs.StringData = nil
	}
	receiversSecret, err := corev1.NewSecret(ctx, name+"-receivers", receiversArgs, parent)
	if err != nil {
		return nil, err
	}
	secrets := []pulumi.Resource{receiversSecret}
	if a.GrafanaAdminPassword != nil {
		grafanaSecret, err := corev1.NewSecret(ctx, name+"-grafana-admin", &corev1.SecretArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(GrafanaAdminSecretName), Namespace: ns.Name, Labels: labels},
			Type:     pulumi.String("Opaque"),
			StringData: pulumi.StringMap{
				secretKeyGrafanaUser:   pulumi.String("admin"),
				secretKeyGrafanaPasswd: pulumi.ToSecret(a.GrafanaAdminPassword).(pulumi.StringOutput),
			},
		}, parent)
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, grafanaSecret)
	}
	policies, err := networkPolicies(ctx, name, &a, ns, nodeNS, parent)
	if err != nil {
		return nil, err
	}

	// Grafana's sidecars read dashboard and data source ConfigMaps in every
	// namespace; the chart binds this role instead of its own (GrafanaRBAC).
	grafanaRole, err := rbacv1.NewClusterRole(ctx, name+"-grafana-sidecar", &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(GrafanaClusterRoleName), Labels: labels},
		Rules: rbacv1.PolicyRuleArray{&rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.StringArray{pulumi.String("")},
			Resources: pulumi.StringArray{pulumi.String("configmaps")},
			Verbs:     pulumi.StringArray{pulumi.String("get"), pulumi.String("list"), pulumi.String("watch")},
		}},
	}, parent)
	if err != nil {
		return nil, err
	}

	crds, err := helmrelease.NewCRDs(ctx, CRDChart.Name, &helmrelease.CRDArgs{Chart: CRDChart}, parent)
	if err != nil {
		return nil, err
	}
	deps := append(append(append([]pulumi.Resource{ns, nodeNS, grafanaRole, crds}, secrets...), policies...), a.DependsOn...)
	release, err := helmrelease.New(ctx, "kube-prometheus-stack", &helmrelease.Args{
		Chart:     helmrelease.Chart{Repo: ChartRepo, Name: ChartName, Version: ChartVersion},
		Namespace: ns.Name,
		Values:    ChartValues(&a),
		// HA Prometheus with fresh volumes takes a while to become ready.
		Timeout:  900,
		SkipCRDs: true,
	}, parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, err
	}
	m.Release = release
	afterCRDs := pulumi.DependsOn([]pulumi.Resource{release})

	for _, g := range RuleGroups(a.Rules) {
		spec, err := untyped(map[string]any{"groups": []RuleGroup{g}})
		if err != nil {
			return nil, err
		}
		if _, err := apiextensions.NewCustomResource(ctx, name+"-rules-"+g.Name, &apiextensions.CustomResourceArgs{
			ApiVersion:  pulumi.String("monitoring.coreos.com/v1"),
			Kind:        pulumi.String("PrometheusRule"),
			Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(g.Name), Namespace: ns.Name, Labels: labels},
			OtherFields: kubernetes.UntypedArgs{"spec": spec},
		}, parent, afterCRDs); err != nil {
			return nil, err
		}
	}

	boards, err := Dashboards(a.Rules)
	if err != nil {
		return nil, err
	}
	for _, file := range sortedKeys(boards) {
		base := strings.TrimSuffix(file, ".json")
		dashLabels := pulumi.StringMap{DashboardLabel: pulumi.String("1")}
		for k, v := range labels {
			dashLabels[k] = v
		}
		if _, err := corev1.NewConfigMap(ctx, name+"-dashboard-"+base, &corev1.ConfigMapArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("dashboard-" + base), Namespace: ns.Name, Labels: dashLabels},
			Data:     pulumi.StringMap{file: pulumi.String(string(boards[file]))},
		}, parent); err != nil {
			return nil, err
		}
	}

	m.PrometheusURL = fmt.Sprintf("http://%s.%s.svc:9090", PrometheusName, a.Namespace)
	m.AlertmanagerURL = fmt.Sprintf("http://%s.%s.svc:9093", AlertmanagerName, a.Namespace)
	return contract.Finish(ctx, m, pulumi.Map{
		"namespace":       m.Namespace,
		"prometheusUrl":   pulumi.String(m.PrometheusURL),
		"alertmanagerUrl": pulumi.String(m.AlertmanagerURL),
	})
}

// untyped turns typed values into the plain maps a custom resource takes.
func untyped(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(raw, &out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
