package render_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The AWS Load Balancer Controller chart installs, by default, a mutating
// webhook on every Service of type LoadBalancer with failurePolicy Fail
// (aws-load-balancer-controller chart 3.5.0 templates/webhook.yaml,
// enableServiceMutatorWebhook). Installed beside cert-manager and
// external-dns, whose Services then fail to create until the controller is
// ready, it can fail a first `up`; its only job is to set loadBalancerClass,
// which our EnvoyProxy sets itself. So no rendered chart of any stack may
// carry a fail-closed webhook on Services.
func TestNoFailClosedWebhookOnServices(t *testing.T) {
	stacks := renderAll(t)
	require.NotEmpty(t, stacks)
	checked := 0
	for _, s := range stacks {
		for _, o := range objectsOfKind(s, "MutatingWebhookConfiguration") {
			for _, w := range list(o.Object["webhooks"]) {
				checked++
				for _, rule := range list(obj(w)["rules"]) {
					for _, res := range list(obj(rule)["resources"]) {
						if str(res) == "services" {
							assert.NotEqual(t, "Fail", str(obj(w)["failurePolicy"]), "stack %s: %s webhook %s mutates Services and fails closed", s.Name, o.ID(), str(obj(w)["name"]))
						}
					}
				}
			}
		}
	}
	assert.Positive(t, checked, "the charts render mutating webhooks (the LB controller's pod webhook at least): the check looked at some")
}

// clusterScoped are the kinds the charts create outside any namespace, so a
// destroy that deletes the namespaces does not take them along.
var clusterScoped = map[string]bool{
	"ClusterRole": true, "ClusterRoleBinding": true, "MutatingWebhookConfiguration": true,
	"ValidatingWebhookConfiguration": true, "PriorityClass": true, "StorageClass": true,
	"IngressClass": true, "APIService": true, "Namespace": true,
}

// Helm does not delete hook objects on uninstall ("hook resources are not
// managed with corresponding releases", helm.sh/docs/topics/charts_hooks),
// so `pulumi destroy` leaves a cluster-scoped hook object behind unless its
// delete policy removes it once the hook succeeded. The engine test found
// Envoy Gateway's topology-injector webhook and its certgen ClusterRole left
// that way; no rendered chart of any stack may have such an object.
func TestNoClusterScopedHookOutlivesTheRelease(t *testing.T) {
	stacks := renderAll(t)
	require.NotEmpty(t, stacks)
	hooks := 0
	for _, s := range stacks {
		for _, r := range s.Results {
			for _, o := range r.Objects {
				if o.Hook == "" {
					continue
				}
				hooks++
				if !clusterScoped[o.Kind()] {
					continue
				}
				meta, _ := o.Object["metadata"].(map[string]any)
				annotations, _ := meta["annotations"].(map[string]any)
				policy, _ := annotations["helm.sh/hook-delete-policy"].(string)
				assert.Contains(t, policy, "hook-succeeded",
					"stack %s: %s is a cluster-scoped %s hook that `helm uninstall` leaves behind", s.Name, o.ID(), o.Hook)
			}
		}
	}
	assert.Positive(t, hooks, "the charts render hook objects (Envoy Gateway's certgen, kube-prometheus-stack's admission jobs): the check looked at some")
}
