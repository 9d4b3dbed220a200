package monitoring

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
)

func prodArgs() *Args {
	a := &Args{
		ClusterName: "platform-prod", Environment: "prod", EKS: true, ZoneSpread: true, StorageClass: "gp3",
		Prometheus:   PrometheusArgs{Replicas: 2, Retention: "15d", VolumeSizeGiB: 100, ExpectedSeries: 1000000},
		Alertmanager: AlertmanagerArgs{Replicas: 3},
		Routing:      RoutingArgs{Slack: true, PagerDuty: true},
		// Set in every cloud stack (stacks.SecretSettings).
		GrafanaAdminPassword: pulumi.String("pw"),
	}
	*a = a.withDefaults()
	a.Routing.Slack, a.Routing.PagerDuty = true, true
	return a
}

// valuesMap renders values the way Helm receives them.
func valuesMap(t *testing.T, v Values) map[string]any {
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func TestProdValuesAreHighlyAvailable(t *testing.T) {
	m := valuesMap(t, ChartValues(prodArgs()))
	spec := []string{"prometheus", "prometheusSpec"}
	assert.EqualValues(t, 2, harness.Dig(m, append(spec, "replicas")...))
	assert.Equal(t, "prometheus_replica", harness.Dig(m, append(spec, "replicaExternalLabelName")...))
	assert.Equal(t, "15d", harness.Dig(m, append(spec, "retention")...))
	assert.Equal(t, "87040MB", harness.Dig(m, append(spec, "retentionSize")...))
	assert.Equal(t, "gp3", harness.Dig(m, append(spec, "storageSpec", "volumeClaimTemplate", "spec", "storageClassName")...))
	assert.Equal(t, "100Gi", harness.Dig(m, append(spec, "storageSpec", "volumeClaimTemplate", "spec", "resources", "requests", "storage")...))
	assert.Equal(t, "2304Mi", harness.Dig(m, append(spec, "resources", "requests", "memory")...))
	assert.Equal(t, true, harness.Dig(m, "prometheus", "podDisruptionBudget", "enabled"))
	assert.EqualValues(t, 3, harness.Dig(m, "alertmanager", "alertmanagerSpec", "replicas"))
	assert.Equal(t, true, harness.Dig(m, "alertmanager", "podDisruptionBudget", "enabled"))
	for _, path := range [][]string{append(spec, "topologySpreadConstraints"), {"alertmanager", "alertmanagerSpec", "topologySpreadConstraints"}} {
		tsc, _ := harness.Dig(m, path...).([]any)
		require.NotEmpty(t, tsc, path)
		zone := tsc[0].(map[string]any)
		assert.Equal(t, "topology.kubernetes.io/zone", zone["topologyKey"])
		assert.EqualValues(t, 1, zone["maxSkew"])
		assert.Equal(t, "DoNotSchedule", zone["whenUnsatisfiable"])
	}
	assert.Equal(t, map[string]any{"cluster": "platform-prod", "environment": "prod"}, harness.Dig(m, append(spec, "externalLabels")...))
}

func TestEKSControlPlaneIsNotScraped(t *testing.T) {
	m := valuesMap(t, ChartValues(prodArgs()))
	for _, part := range []string{"kubeControllerManager", "kubeScheduler", "kubeEtcd"} {
		assert.Equal(t, false, harness.Dig(m, part, "enabled"), part)
	}
	for _, group := range []string{"etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording"} {
		assert.Equal(t, false, harness.Dig(m, "defaultRules", "rules", group), group)
	}
	assert.Equal(t, true, harness.Dig(m, "kubeProxy", "enabled"), "EKS exposes kube-proxy metrics")
}

func TestPrometheusSelectsMonitorsAndRulesFromEveryNamespace(t *testing.T) {
	m := valuesMap(t, ChartValues(prodArgs()))
	for _, k := range []string{"serviceMonitorSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues", "ruleSelectorNilUsesHelmValues", "probeSelectorNilUsesHelmValues", "scrapeConfigSelectorNilUsesHelmValues"} {
		assert.Equal(t, false, harness.Dig(m, "prometheus", "prometheusSpec", k), k)
	}
	for _, k := range []string{"serviceMonitorNamespaceSelector", "podMonitorNamespaceSelector", "ruleNamespaceSelector"} {
		assert.Equal(t, map[string]any{}, harness.Dig(m, "prometheus", "prometheusSpec", k), k)
	}
}

func TestSingleReplicasGetNoDisruptionBudget(t *testing.T) {
	a := &Args{ClusterName: "kind", Environment: "local"}
	*a = a.withDefaults()
	m := valuesMap(t, ChartValues(a))
	assert.Equal(t, false, harness.Dig(m, "prometheus", "podDisruptionBudget", "enabled"), "a PDB on one replica blocks every drain")
	assert.Equal(t, false, harness.Dig(m, "alertmanager", "podDisruptionBudget", "enabled"))
	assert.Nil(t, harness.Dig(m, "prometheus", "prometheusSpec", "topologySpreadConstraints"))
	assert.Nil(t, harness.Dig(m, "prometheus", "prometheusSpec", "storageSpec", "volumeClaimTemplate", "spec", "storageClassName"), "the cluster's default class")
	assert.Equal(t, false, harness.Dig(m, "kubeProxy", "enabled"))
}

func TestSecuritySettingsOfEveryWorkload(t *testing.T) {
	m := valuesMap(t, ChartValues(prodArgs()))
	for _, path := range [][]string{
		{"prometheusOperator", "containerSecurityContext"},
		{"grafana", "containerSecurityContext"},
		{"grafana", "sidecar", "securityContext"},
		{"kube-state-metrics", "containerSecurityContext"},
		{"prometheus-node-exporter", "containerSecurityContext"},
	} {
		sc, _ := harness.Dig(m, path...).(map[string]any)
		require.NotNil(t, sc, path)
		assert.Equal(t, true, sc["runAsNonRoot"], path)
		assert.Equal(t, true, sc["readOnlyRootFilesystem"], path)
		assert.Equal(t, false, sc["allowPrivilegeEscalation"], path)
	}
	for _, path := range [][]string{
		{"prometheus", "prometheusSpec", "securityContext"},
		{"alertmanager", "alertmanagerSpec", "securityContext"},
		{"prometheusOperator", "securityContext"},
		{"grafana", "securityContext"},
	} {
		assert.Equal(t, true, harness.Dig(m, append(path, "runAsNonRoot")...), path)
		assert.Equal(t, "RuntimeDefault", harness.Dig(m, append(path, "seccompProfile", "type")...), path)
	}
	for _, path := range [][]string{
		{"prometheus", "prometheusSpec", "resources"}, {"alertmanager", "alertmanagerSpec", "resources"},
		{"prometheusOperator", "resources"}, {"grafana", "resources"}, {"kube-state-metrics", "resources"}, {"prometheus-node-exporter", "resources"},
	} {
		assert.NotEmpty(t, harness.Dig(m, append(path, "requests", "memory")...), path)
		assert.NotEmpty(t, harness.Dig(m, append(path, "requests", "cpu")...), path)
		assert.NotEmpty(t, harness.Dig(m, append(path, "limits", "memory")...), path)
	}
	assert.Equal(t, "monitoring-node-exporter", harness.Dig(m, "prometheus-node-exporter", "namespaceOverride"))
}

func TestAlertmanagerConfigInValuesReadsSecretsFromFiles(t *testing.T) {
	m := valuesMap(t, ChartValues(prodArgs()))
	raw, err := json.Marshal(harness.Dig(m, "alertmanager", "config"))
	require.NoError(t, err)
	s := string(raw)
	assert.Contains(t, s, `"api_url_file":"/etc/alertmanager/secrets/alertmanager-receivers/slack-webhook-url"`)
	assert.Contains(t, s, `"routing_key_file":"/etc/alertmanager/secrets/alertmanager-receivers/pagerduty-routing-key"`)
	assert.NotContains(t, s, `"api_url":`)
	assert.NotContains(t, s, `"routing_key":`)
	assert.Equal(t, []any{"alertmanager-receivers"}, harness.Dig(m, "alertmanager", "alertmanagerSpec", "secrets"))
	assert.Equal(t, "grafana-admin", harness.Dig(m, "grafana", "admin", "existingSecret"))
}

// StatefulSet claims outlive their StatefulSet unless its retention policy
// says otherwise: without one, `pulumi destroy` leaves the volumes billed.
func TestVolumeClaimsGoWithTheReleaseUnlessRetained(t *testing.T) {
	a := &Args{}
	v := ChartValues(a)
	assert.Equal(t, "Delete", v.Prometheus.PrometheusSpec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
	assert.Equal(t, "Delete", v.Alertmanager.AlertmanagerSpec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
	a.RetainVolumes = true
	v = ChartValues(a)
	assert.Equal(t, "Retain", v.Prometheus.PrometheusSpec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
	assert.Equal(t, "Retain", v.Alertmanager.AlertmanagerSpec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
}
