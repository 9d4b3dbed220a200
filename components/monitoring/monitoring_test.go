package monitoring_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/monitoring"
	"github.com/cnplatform/platform/harness"
)

const (
	slackURL     = "https://hooks.slack.com/services/T000/B000/very-secret"
	pagerKey     = "pagerduty-very-secret-key"
	grafanaPass  = "grafana-very-secret-password"
	releaseType  = "kubernetes:helm.sh/v3:Release"
	ruleType     = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
	secretType   = "kubernetes:core/v1:Secret"
	configMapTyp = "kubernetes:core/v1:ConfigMap"
)

func secret(s string) pulumi.StringInput {
	return pulumi.ToSecret(pulumi.String(s)).(pulumi.StringOutput)
}

func runMonitoring(t *testing.T, args *monitoring.Args) (*harness.Result, *monitoring.Monitoring, error) {
	t.Helper()
	var comp *monitoring.Monitoring
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		prov, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		comp, err = monitoring.NewMonitoring(ctx, "monitoring", args, pulumi.Provider(prov))
		return err
	})
	return res, comp, err
}

func fullArgs() *monitoring.Args {
	return &monitoring.Args{
		ClusterName: "platform-prod", Environment: "prod", EKS: true, ZoneSpread: true, StorageClass: "gp3",
		Prometheus:           monitoring.PrometheusArgs{Replicas: 2, Retention: "15d", VolumeSizeGiB: 100, ExpectedSeries: 1000000},
		Alertmanager:         monitoring.AlertmanagerArgs{Replicas: 3},
		Secrets:              monitoring.ReceiverSecrets{SlackWebhookURL: secret(slackURL), PagerDutyRoutingKey: secret(pagerKey)},
		GrafanaAdminPassword: secret(grafanaPass),
	}
}

func TestMonitoringInstallsThePinnedChartAfterItsSecrets(t *testing.T) {
	res, comp, err := runMonitoring(t, fullArgs())
	require.NoError(t, err)
	assert.Equal(t, "monitoring", comp.NamespaceName)
	require.NotNil(t, comp.Release)

	releases := res.OfType(releaseType)
	require.Len(t, releases, 1)
	rel := releases[0]
	assert.Equal(t, "kube-prometheus-stack", rel.String("chart"))
	assert.Equal(t, "91.4.1", rel.String("version"))
	assert.Equal(t, "monitoring", rel.String("namespace"))
	assert.Equal(t, "https://prometheus-community.github.io/helm-charts", rel.String("repositoryOpts", "repo"))
	assert.NotEmpty(t, rel.Provider)

	secrets := map[string]harness.Resource{}
	for _, s := range res.OfType(secretType) {
		secrets[s.String("metadata", "name")] = s
		assert.True(t, rel.DependsOnURN(s.URN), "the release waits for Secret %s", s.Name)
	}
	receivers := secrets["alertmanager-receivers"]
	require.NotEmpty(t, receivers.URN)
	assert.Equal(t, slackURL, receivers.String("stringData", "slack-webhook-url"))
	assert.Equal(t, pagerKey, receivers.String("stringData", "pagerduty-routing-key"))
	assert.True(t, receivers.IsSecret("stringData", "slack-webhook-url") || receivers.IsSecret("stringData"))
	assert.True(t, receivers.Get("stringData", "webhook-url").IsNull(), "an unset receiver has no key")
	grafana := secrets["grafana-admin"]
	assert.Equal(t, grafanaPass, grafana.String("stringData", "admin-password"))

	// No secret value anywhere but in the two Secrets.
	for _, r := range res.Resources {
		if r.Type == secretType {
			continue
		}
		raw, err := json.Marshal(r.PlainInputs())
		require.NoError(t, err)
		for _, s := range []string{slackURL, pagerKey, grafanaPass} {
			assert.NotContains(t, string(raw), s, "%s carries a secret", r.URN)
		}
	}
}

func TestNamespacesPodSecurity(t *testing.T) {
	res, _, err := runMonitoring(t, fullArgs())
	require.NoError(t, err)
	levels := map[string]string{}
	for _, ns := range res.OfType("kubernetes:core/v1:Namespace") {
		levels[ns.String("metadata", "name")] = ns.String("metadata", "labels", "pod-security.kubernetes.io/enforce")
		if ns.String("metadata", "name") == "monitoring-node-exporter" {
			assert.Contains(t, ns.String("metadata", "annotations", "platform/pod-security-reason"), "hostNetwork")
		}
	}
	assert.Equal(t, map[string]string{"monitoring": "restricted", "monitoring-node-exporter": "privileged"}, levels)
}

func TestRulesAreCustomResourcesCreatedAfterTheChart(t *testing.T) {
	res, _, err := runMonitoring(t, fullArgs())
	require.NoError(t, err)
	rel := res.OfType(releaseType)[0]
	rules := res.OfType(ruleType)
	require.Len(t, rules, 5, "one PrometheusRule per group")
	alerts := 0
	for _, r := range rules {
		assert.True(t, r.DependsOnURN(rel.URN), "%s must wait for the CRDs", r.Name)
		assert.Equal(t, "monitoring", r.String("metadata", "namespace"))
		groups := r.Get("spec", "groups")
		require.True(t, groups.IsArray())
		for _, g := range groups.ArrayValue() {
			for _, rule := range g.ObjectValue()["rules"].ArrayValue() {
				o := rule.ObjectValue()
				if !o["alert"].IsString() {
					continue
				}
				alerts++
				assert.NotEmpty(t, o["for"].StringValue(), "every alert has a for duration")
				assert.Contains(t, []string{"critical", "warning", "info"}, o["labels"].ObjectValue()["severity"].StringValue())
				ann := o["annotations"].ObjectValue()
				for _, k := range []string{"summary", "description", "runbook_url"} {
					assert.NotEmpty(t, ann[resource.PropertyKey(k)].StringValue(), "%s needs %s", o["alert"].StringValue(), k)
				}
			}
		}
	}
	assert.GreaterOrEqual(t, alerts, 20)
}

func TestDashboardsAreProvisionedAsLabelledConfigMaps(t *testing.T) {
	res, _, err := runMonitoring(t, fullArgs())
	require.NoError(t, err)
	found := map[string]bool{}
	for _, cm := range res.OfType(configMapTyp) {
		if cm.String("metadata", "labels", "grafana_dashboard") != "1" {
			continue
		}
		for k, v := range cm.Get("data").ObjectValue() {
			var d map[string]any
			require.NoError(t, json.Unmarshal([]byte(v.StringValue()), &d), string(k))
			assert.NotEmpty(t, d["panels"])
			found[string(k)] = true
		}
	}
	assert.True(t, found["gateway-traffic.json"])
	assert.True(t, found["log-pipeline.json"])
}

func TestNetworkPoliciesAllowOnlyWhatMonitoringNeeds(t *testing.T) {
	res, _, err := runMonitoring(t, fullArgs())
	require.NoError(t, err)
	names := map[string]bool{}
	for _, p := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		names[p.String("metadata", "namespace")+"/"+p.String("metadata", "name")] = true
		if p.String("metadata", "name") == "allow-alertmanager-receivers" {
			assert.Equal(t, float64(443), p.Number("spec", "egress", "0", "ports", "0", "port"))
		}
	}
	for _, n := range []string{"monitoring/default-deny", "monitoring/allow-same-namespace", "monitoring/allow-api-server",
		"monitoring/allow-prometheus-scrape", "monitoring/allow-alertmanager-receivers", "monitoring/allow-operator-webhook",
		"monitoring-node-exporter/default-deny", "monitoring-node-exporter/allow-prometheus-scrape"} {
		assert.True(t, names[n], n)
	}
}

func TestInvalidArgsRegisterNothing(t *testing.T) {
	args := fullArgs()
	args.Prometheus.Retention = "two weeks"
	args.Rules.LatencyThresholdMs = 300
	res, _, err := runMonitoring(t, args)
	require.Error(t, err)
	for _, want := range []string{`Prometheus.Retention "two weeks"`, "LatencyThresholdMs 300"} {
		assert.Contains(t, err.Error(), want)
	}
	for _, r := range res.Resources {
		assert.False(t, strings.HasPrefix(r.Type, "platform:monitoring"), "nothing registered: %s", r.URN)
	}
}

func TestGeneratedFilesHoldNoSecrets(t *testing.T) {
	files, err := monitoring.GeneratedFiles(monitoring.Args{
		ClusterName: "c", Environment: "dev",
		Routing: monitoring.RoutingArgs{Slack: true, PagerDuty: true, Webhook: true, Heartbeat: true},
	})
	require.NoError(t, err)
	for _, p := range []string{"monitoring/rules/platform-rules.yaml", "monitoring/alertmanager/alertmanager.yaml",
		"monitoring/dashboards/gateway-traffic.json", "monitoring/dashboards/log-pipeline.json"} {
		assert.NotEmpty(t, files[p], p)
	}
	am := string(files["monitoring/alertmanager/alertmanager.yaml"])
	assert.Contains(t, am, "api_url_file: /etc/alertmanager/secrets/alertmanager-receivers/slack-webhook-url")
	assert.Contains(t, am, "routing_key_file:")
	assert.Contains(t, am, "url_file: /etc/alertmanager/secrets/alertmanager-receivers/heartbeat-url")
	assert.Contains(t, string(files["monitoring/alertmanager/secrets/alertmanager-receivers/slack-webhook-url"]), "placeholder")
}

// Without an admin password (local), Grafana uses the chart's generated
// Secret: no grafana-admin Secret of ours, no existingSecret in the values.
func TestGrafanaPasswordOptional(t *testing.T) {
	args := fullArgs()
	args.GrafanaAdminPassword = nil
	res, _, err := runMonitoring(t, args)
	require.NoError(t, err)
	for _, r := range res.Resources {
		if r.Type == "kubernetes:core/v1:Secret" {
			assert.NotEqual(t, monitoring.GrafanaAdminSecretName, r.String("metadata", "name"))
		}
	}
	assert.Empty(t, monitoring.ChartValues(args).Grafana.Admin.ExistingSecret)
	assert.Equal(t, monitoring.GrafanaAdminSecretName, monitoring.ChartValues(fullArgs()).Grafana.Admin.ExistingSecret)
}
