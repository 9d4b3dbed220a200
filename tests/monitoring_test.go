package tests

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/stacks"
)

// kpsRelease returns the kube-prometheus-stack release and its values.
func kpsRelease(t *testing.T, res *harness.Result) harness.Resource {
	t.Helper()
	var found []harness.Resource
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		if r.String("chart") == "kube-prometheus-stack" {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "one kube-prometheus-stack release")
	return found[0]
}

var (
	retentionSizeMB = regexp.MustCompile(`^(\d+)MB$`)
	volumeGi        = regexp.MustCompile(`^(\d+)Gi$`)
)

func TestEveryStackRunsMonitoring(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		assert.True(t, cfg.Monitoring.Enabled, "every environment is monitored")
		rel := kpsRelease(t, res)
		assert.Regexp(t, `^\d+\.\d+\.\d+$`, rel.String("version"), "chart pinned exactly")
		assert.Equal(t, "monitoring", rel.String("namespace"))
	})
}

func TestPrometheusAndAlertmanagerShapePerEnvironment(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		rel := kpsRelease(t, res)
		spec := []string{"values", "prometheus", "prometheusSpec"}
		am := []string{"values", "alertmanager", "alertmanagerSpec"}
		promReplicas := int(rel.Number(append(spec, "replicas")...))
		amReplicas := int(rel.Number(append(am, "replicas")...))
		switch cfg.Environment {
		case stacks.Prod:
			assert.GreaterOrEqual(t, promReplicas, 2, "prod runs HA Prometheus")
			assert.GreaterOrEqual(t, amReplicas, 3, "prod runs an Alertmanager cluster of 3")
		case stacks.Dev, stacks.Local:
			assert.Equal(t, 1, promReplicas, "one Prometheus is enough in %s", cfg.Environment)
			assert.Equal(t, 1, amReplicas)
		}
		if promReplicas > 1 {
			assert.NotEmpty(t, rel.String(append(spec, "replicaExternalLabelName")...), "replicas differ in a replica label")
			assert.True(t, rel.Bool("values", "prometheus", "podDisruptionBudget", "enabled"))
		}
		if amReplicas > 1 {
			assert.True(t, rel.Bool("values", "alertmanager", "podDisruptionBudget", "enabled"))
		}
		if cfg.Environment != stacks.Local {
			for _, path := range [][]string{spec, am} {
				tsc := rel.Get(append(path, "topologySpreadConstraints", "0")...)
				require.True(t, tsc.IsObject(), "%v spreads across zones", path)
				o := tsc.ObjectValue()
				assert.Equal(t, "topology.kubernetes.io/zone", o["topologyKey"].StringValue())
				assert.Equal(t, float64(1), o["maxSkew"].NumberValue())
			}
		}

		// Persistent volumes: gp3 in the cloud (the cluster component's
		// class), the default class in local; TSDB capped at <= 85 %.
		claim := append(spec, "storageSpec", "volumeClaimTemplate", "spec")
		amClaim := append(am, "storage", "volumeClaimTemplate", "spec")
		if cfg.Environment == stacks.Local {
			assert.Empty(t, rel.String(append(claim, "storageClassName")...))
		} else {
			assert.Equal(t, "gp3", rel.String(append(claim, "storageClassName")...))
			assert.Equal(t, "gp3", rel.String(append(amClaim, "storageClassName")...))
		}
		size := volumeGi.FindStringSubmatch(rel.String(append(claim, "resources", "requests", "storage")...))
		capMB := retentionSizeMB.FindStringSubmatch(rel.String(append(spec, "retentionSize")...))
		require.NotNil(t, size)
		require.NotNil(t, capMB)
		gi, _ := strconv.Atoi(size[1])
		mb, _ := strconv.Atoi(capMB[1])
		assert.LessOrEqual(t, float64(mb), 0.85*float64(gi)*1024, "retentionSize at most 85 %% of the volume")
		assert.NotEmpty(t, rel.String(append(spec, "retention")...))
		assert.NotEmpty(t, rel.String(append(spec, "resources", "limits", "memory")...))
	})
}

func TestEKSControlPlaneIsNeitherScrapedNorAlertedOn(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		rel := kpsRelease(t, res)
		for _, part := range []string{"kubeControllerManager", "kubeScheduler", "kubeEtcd"} {
			v := rel.Get("values", part, "enabled")
			require.True(t, v.IsBool(), part)
			assert.False(t, v.BoolValue(), "%s is not reachable on EKS", part)
		}
		for _, group := range []string{"etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording"} {
			v := rel.Get("values", "defaultRules", "rules", group)
			require.True(t, v.IsBool(), group)
			assert.False(t, v.BoolValue(), group)
		}
	}, cloudEnvs...)
}

// strings returns every string in a property value, secrets opened, with
// whether it sat under a secret marker.
func allStrings(v resource.PropertyValue, secret bool, out map[string]bool) {
	switch {
	case v.IsSecret():
		allStrings(v.SecretValue().Element, true, out)
	case v.IsOutput():
		allStrings(v.OutputValue().Element, secret || v.OutputValue().Secret, out)
	case v.IsString():
		// A plaintext occurrence anywhere wins: the value is not kept secret.
		if prev, seen := out[v.StringValue()]; !seen || prev {
			out[v.StringValue()] = secret
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			allStrings(e, secret, out)
		}
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			allStrings(e, secret, out)
		}
	}
}

func TestMonitoringSecretsOnlyInKubernetesSecrets(t *testing.T) {
	keys := []string{"platform:alertSlackWebhookUrl", "platform:alertPagerdutyRoutingKey", "platform:alertWebhookUrl", "platform:alertHeartbeatUrl", "platform:grafanaAdminPassword"}
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		delivered := map[string]bool{}
		for _, r := range res.Resources {
			found := map[string]bool{}
			allStrings(resource.NewProperty(r.Inputs), false, found)
			for _, key := range keys {
				secretMarked, present := found[harness.SecretPlaceholder(key)]
				if !present {
					continue
				}
				assert.Equal(t, "kubernetes:core/v1:Secret", r.Type, "%s reaches %s", key, r.URN)
				assert.True(t, secretMarked, "%s stays a Pulumi secret in %s", key, r.URN)
				delivered[key] = true
			}
		}
		assert.True(t, delivered["platform:grafanaAdminPassword"], "Grafana's password is delivered")
		if cfg.Environment == stacks.Prod {
			for _, key := range []string{"platform:alertSlackWebhookUrl", "platform:alertPagerdutyRoutingKey", "platform:alertHeartbeatUrl"} {
				assert.True(t, delivered[key], "prod pages and chats: %s", key)
			}
		}
	})
}

func TestPlatformRulesAreValidPrometheusRuleObjects(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		rel := kpsRelease(t, res)
		rules := 0
		for _, o := range res.KubernetesObjects() {
			if o.Kind() != "PrometheusRule" {
				continue
			}
			rules++
			assert.Equal(t, "monitoring.coreos.com/v1", o.Object["apiVersion"])
			assert.NotEmpty(t, o.Name())
			assert.NotEmpty(t, o.Namespace())
			spec, _ := o.Object["spec"].(map[string]any)
			groups, _ := spec["groups"].([]any)
			require.NotEmpty(t, groups, o.Name())
			for _, g := range groups {
				gm := g.(map[string]any)
				assert.NotEmpty(t, gm["name"])
				for _, r := range gm["rules"].([]any) {
					rm := r.(map[string]any)
					assert.NotEmpty(t, rm["expr"])
					if rm["alert"] == nil {
						assert.NotEmpty(t, rm["record"])
						continue
					}
					labels, _ := rm["labels"].(map[string]any)
					assert.Contains(t, []any{"critical", "warning", "info"}, labels["severity"], rm["alert"])
					assert.NotEmpty(t, rm["for"], rm["alert"])
					ann, _ := rm["annotations"].(map[string]any)
					for _, k := range []string{"summary", "description", "runbook_url"} {
						assert.NotEmpty(t, ann[k], "%v needs %s", rm["alert"], k)
					}
				}
			}
		}
		assert.GreaterOrEqual(t, rules, 5)
		// Every Prometheus Operator object, ours and other components',
		// waits for the chart that installs the CRDs.
		for _, r := range res.Resources {
			if strings.HasPrefix(r.Type, "kubernetes:monitoring.coreos.com/") {
				assert.True(t, r.DependsOnURN(rel.URN), fmt.Sprintf("%s must wait for kube-prometheus-stack", r.URN))
			}
		}
	})
}

func TestMonitoringWaitsForTheClusterStorage(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		var release harness.Resource
		for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
			if r.String("chart") == "kube-prometheus-stack" {
				release = r
			}
		}
		require.NotEmpty(t, release.URN)
		classes := res.OfType("kubernetes:storage.k8s.io/v1:StorageClass")
		require.Len(t, classes, 1)
		assert.True(t, release.DependsOnURN(classes[0].URN), "Prometheus volumes need the gp3 class")
		for _, a := range res.OfType("aws:eks/addon:Addon") {
			if a.String("addonName") == "aws-ebs-csi-driver" {
				assert.True(t, release.DependsOnURN(a.URN), "and the EBS CSI driver")
			}
		}
	}, cloudEnvs...)
}

// With monitoring off (allowed outside prod) the Prometheus Operator CRDs
// do not exist: no ServiceMonitor or PodMonitor may be declared by us or
// rendered by a chart, or it fails to apply and the release rolls back.
func TestMonitoringOffLeavesNoMonitors(t *testing.T) {
	for _, stack := range []string{"dev", "local"} {
		t.Run(stack, func(t *testing.T) {
			sf, err := stackrun.LoadStackFile(repoRoot, stack)
			require.NoError(t, err)
			sf.Config["platform:monitoring"] = `{"enabled":false}`
			var secrets []string
			for _, k := range sf.SecretKeys {
				if k != "platform:grafanaAdminPassword" && !strings.HasPrefix(k, "platform:alert") {
					secrets = append(secrets, k)
				} else {
					delete(sf.Config, k)
				}
			}
			res, err := harness.Run(stack, sf.Config, secrets, stacks.Run)
			require.NoError(t, err)
			require.NotEmpty(t, res.OfType("kubernetes:helm.sh/v3:Release"))
			for _, r := range res.Resources {
				assert.NotContains(t, r.Type, "monitoring.coreos.com", "%s needs the Prometheus Operator CRDs", r.URN)
			}
			for _, rel := range res.OfType("kubernetes:helm.sh/v3:Release") {
				var walk func(path string, v any)
				walk = func(path string, v any) {
					m, ok := v.(map[string]any)
					if !ok {
						return
					}
					for k, x := range m {
						if strings.EqualFold(k, "serviceMonitor") || strings.EqualFold(k, "podMonitor") {
							if sm, ok := x.(map[string]any); ok {
								assert.NotEqual(t, true, sm["enabled"], "%s: %s.%s is on", rel.Name, path, k)
							}
						}
						walk(path+"."+k, x)
					}
				}
				walk("values", rel.PlainInputs()["values"])
			}
		})
	}
}
