package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// monitoringOn is validProd with monitoring on and its required secret set,
// plus changes; keys in secrets are given as Pulumi secrets.
func monitoringOn(changes map[string]string, secrets ...string) StaticSource {
	src := with(validProd(), map[string]string{"platform:monitoring.enabled": "true", "platform:grafanaAdminPassword": "pw"})
	src = with(src, changes)
	return StaticSource{Values: src, SecretKeys: append([]string{"platform:grafanaAdminPassword"}, secrets...)}
}

func TestLoadRejectsBadMonitoringConfig(t *testing.T) {
	cases := []struct {
		name    string
		src     Source
		key     string
		value   string
		allowed string
	}{
		{"monitoring on without a Grafana password", with(validProd(), map[string]string{"platform:monitoring.enabled": "true"}),
			"platform:grafanaAdminPassword", "", "is not set; it is Grafana's admin password, used when monitoring is on"},
		{"one Prometheus in prod", monitoringOn(map[string]string{"platform:monitoring.prometheus": `{"replicas":1}`}),
			"platform:monitoring.prometheus.replicas", "1", "between 2 and 5 in prod"},
		{"two Alertmanagers in prod", monitoringOn(map[string]string{"platform:monitoring.alertmanager": `{"replicas":2}`}),
			"platform:monitoring.alertmanager.replicas", "2", "between 3 and 5 in prod"},
		{"retention not a duration", monitoringOn(map[string]string{"platform:monitoring.prometheus": `{"retention":"two weeks"}`}),
			"platform:monitoring.prometheus.retention", `"two weeks"`, "Prometheus duration"},
		{"repeat interval not a duration", monitoringOn(map[string]string{"platform:monitoring.alertmanager": `{"criticalRepeatInterval":"hourly"}`}),
			"platform:monitoring.alertmanager.criticalRepeatInterval", `"hourly"`, "Prometheus duration"},
		{"volume too small for the retention", monitoringOn(map[string]string{"platform:monitoring.prometheus": `{"retention":"30d","volumeSizeGiB":50}`}),
			"platform:monitoring.prometheus.volumeSizeGiB", "50", "too small for 30d of 1000000 series"},
		{"volume below the minimum", monitoringOn(map[string]string{"platform:monitoring.prometheus": `{"volumeSizeGiB":1}`}),
			"platform:monitoring.prometheus.volumeSizeGiB", "1", "between 5 and 16384"},
		{"series count too small", monitoringOn(map[string]string{"platform:monitoring.prometheus": `{"expectedActiveSeries":500}`}),
			"platform:monitoring.prometheus.expectedActiveSeries", "500", "between 1000 and 20000000"},
		{"typo in the prometheus object", monitoringOn(map[string]string{"platform:monitoring.prometheus": `{"replica":2}`}),
			"platform:monitoring", `\"prometheus\":{\"replica\":2}`, `must be an object with enabled, prometheus, alertmanager, storageClass, slo (json: unknown field "replica")`},
		{"availability given in percent", monitoringOn(map[string]string{"platform:monitoring.slo": `{"availability":99.9}`}),
			"platform:monitoring.slo.availability", "99.9", "share between 0.5 and 1"},
		{"latency threshold between buckets", monitoringOn(map[string]string{"platform:monitoring.slo": `{"latencyThresholdMs":300}`}),
			"platform:monitoring.slo.latencyThresholdMs", "300", "Envoy's histogram bucket bounds"},
		{"invalid storage class", monitoringOn(map[string]string{"platform:monitoring.storageClass": "GP3!"}),
			"platform:monitoring.storageClass", `"GP3!"`, "StorageClass name"},
		{"monitoring flag not a bool", with(validProd(), map[string]string{"platform:monitoring.enabled": "yes"}),
			"platform:monitoring.enabled", `"yes"`, "true or false"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.src)
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			found := false
			for _, p := range verr.Problems {
				if strings.HasPrefix(p, c.key+":") && strings.Contains(p, c.value) && strings.Contains(p, c.allowed) {
					found = true
				}
			}
			assert.True(t, found, "no problem names %s, %s and %q in:\n%s", c.key, c.value, c.allowed, strings.Join(verr.Problems, "\n"))
		})
	}
}

func TestReceiverSecretsMustBePulumiSecrets(t *testing.T) {
	for _, key := range []string{"platform:alertSlackWebhookUrl", "platform:alertPagerdutyRoutingKey", "platform:alertWebhookUrl", "platform:alertHeartbeatUrl", "platform:grafanaAdminPassword"} {
		const value = "https://hooks.example.com/plaintext-value"
		_, err := Load(with(validProd(), map[string]string{key: value}))
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), key+": a plaintext value is invalid")
		assert.Contains(t, err.Error(), "pulumi config set --secret "+key)
		assert.NotContains(t, err.Error(), value, "the message never repeats the secret")
	}
}

func TestMonitoringDefaultsPerEnvironment(t *testing.T) {
	load := func(env string, extra map[string]string) *Config {
		t.Helper()
		changes := map[string]string{"platform:environment": env}
		for k, v := range extra {
			changes[k] = v
		}
		src := monitoringOn(changes)
		if env == "local" {
			src.Values["platform:kubeconfigContext"] = "kind-platform"
		}
		cfg, err := Load(src)
		require.NoError(t, err)
		return cfg
	}
	dev, staging, prod, local := load("dev", nil), load("staging", nil), load("prod", nil), load("local", nil)
	assert.Equal(t, 1, dev.Monitoring.Prometheus.Replicas)
	assert.Equal(t, 1, dev.Monitoring.Alertmanager.Replicas)
	assert.Equal(t, "3d", dev.Monitoring.Prometheus.Retention, "dev keeps a short history")
	assert.Equal(t, 2, staging.Monitoring.Prometheus.Replicas)
	assert.Equal(t, 2, prod.Monitoring.Prometheus.Replicas)
	assert.Equal(t, 3, prod.Monitoring.Alertmanager.Replicas)
	assert.Equal(t, "15d", prod.Monitoring.Prometheus.Retention)
	assert.Equal(t, "gp3", prod.Monitoring.StorageClass, "the cluster component's encrypted gp3 class")
	assert.Equal(t, "", local.Monitoring.StorageClass, "local uses the cluster's default class")
	assert.True(t, prod.Monitoring.Enabled)

	custom := load("dev", map[string]string{"platform:monitoring.prometheus": `{"replicas":2,"retention":"5d"}`})
	assert.Equal(t, 2, custom.Monitoring.Prometheus.Replicas, "user values win")
	assert.Equal(t, "5d", custom.Monitoring.Prometheus.Retention)
	assert.Equal(t, 10, custom.Monitoring.Prometheus.VolumeSizeGiB, "unset fields keep the default")
}

func TestMonitoringIsOffWithoutItsPassword(t *testing.T) {
	cfg, err := Load(validProd())
	require.NoError(t, err)
	assert.False(t, cfg.Monitoring.Enabled)
	cfg, err = Load(StaticSource{Values: with(validProd(), map[string]string{"platform:grafanaAdminPassword": "pw"}), SecretKeys: []string{"platform:grafanaAdminPassword"}})
	require.NoError(t, err)
	assert.True(t, cfg.Monitoring.Enabled, "setting the password turns monitoring on")
}

func TestMonitoringFilesForThePlanCommand(t *testing.T) {
	cfg, err := Load(monitoringOn(map[string]string{"platform:alertPagerdutyRoutingKey": "s3cr3t-pd-key", "platform:monitoring.alertmanager": `{"receivers":["pagerduty"]}`}, "platform:alertPagerdutyRoutingKey"))
	require.NoError(t, err)
	files, err := MonitoringFiles(cfg)
	require.NoError(t, err)
	am := string(files["monitoring/alertmanager/alertmanager.yaml"])
	assert.Contains(t, am, "routing_key_file: /etc/alertmanager/secrets/alertmanager-receivers/pagerduty-routing-key")
	assert.NotContains(t, am, "slack_configs", "no Slack URL configured, no Slack integration")
	assert.NotContains(t, am, "s3cr3t-pd-key", "the key itself never reaches the file")
	assert.Contains(t, string(files["monitoring/rules/platform-rules.yaml"]), "alert: GatewayErrorBudgetBurn")

	off, err := Load(validProd())
	require.NoError(t, err)
	files, err = MonitoringFiles(off)
	require.NoError(t, err)
	assert.Empty(t, files)
}
