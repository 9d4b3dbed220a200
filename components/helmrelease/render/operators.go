package render

import (
	"maps"
	"strings"
)

// The charts install controllers that make workloads from custom resources
// at run time; a render cannot show those workloads, and the engine test's
// cluster does not run the controllers (kwok fakes their pods). The labels
// below are what the controllers put on the pods they make, read from
// their sources, so that a test can check our PodDisruptionBudgets and
// spread constraints select those pods, and stand in for the controllers.

// OperatorPodLabels are the labels the Prometheus Operator v0.94.0
// (kube-prometheus-stack 91.4.1's appVersion) puts on the pods of a
// Prometheus or Alertmanager named name: makeSelectorLabels in
// pkg/prometheus/server/operator.go (with the shard label,
// pkg/prometheus/server/statefulset.go) and pkg/alertmanager/operator.go,
// over the resource's spec.podMetadata.labels, which cannot override them.
func OperatorPodLabels(kind, name string, podMetadataLabels map[string]string) map[string]string {
	app := strings.ToLower(kind)
	l := maps.Clone(podMetadataLabels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, map[string]string{
		"app.kubernetes.io/name":       app,
		"app.kubernetes.io/instance":   name,
		"app.kubernetes.io/managed-by": "prometheus-operator",
		app:                            name,
	})
	if kind == "Prometheus" {
		l["operator.prometheus.io/name"] = name
		l["operator.prometheus.io/shard"] = "0"
	}
	return l
}

// OperatorSelectorLabels are the StatefulSet selector among them: every
// label but spec.podMetadata's.
func OperatorSelectorLabels(kind, name string) map[string]string {
	return OperatorPodLabels(kind, name, nil)
}

// EnvoyProxyPodLabels are the labels Envoy Gateway puts on the proxy pods
// of the Gateway gatewayNamespace/gatewayName (envoyproxy/gateway
// internal/infrastructure/kubernetes/proxy/resource.go EnvoyAppLabel, with
// the owning Gateway's labels); its PodDisruptionBudget for them selects
// the same.
func EnvoyProxyPodLabels(gatewayNamespace, gatewayName string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":                         "envoy",
		"app.kubernetes.io/component":                    "proxy",
		"app.kubernetes.io/managed-by":                   "envoy-gateway",
		"gateway.envoyproxy.io/owning-gateway-name":      gatewayName,
		"gateway.envoyproxy.io/owning-gateway-namespace": gatewayNamespace,
	}
}
