package render_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/stacks"
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

// The proxies' namespace carries routing.PodReadinessGateLabel so that the
// load balancer controller adds a target-health readiness gate to every
// proxy pod (issue 21 item 4). That only works if the pinned chart's pod
// webhook selects namespaces by exactly that label and value; and because
// the controller's namespace is not the only one labelled, the webhook must
// fail open, or no pod of the proxies' namespace (the Envoy Gateway
// controller included) could be created while the controller is down.
func TestReadinessGateLabelIsWhatTheControllerSelects(t *testing.T) {
	checked := 0
	for _, s := range renderAll(t) {
		if s.Config.Environment == stacks.Local || !s.Config.Routing.Enabled {
			continue // no AWS, no load balancer controller
		}
		found := false
		for _, o := range objectsOfKind(s, "MutatingWebhookConfiguration") {
			for _, w := range list(o.Object["webhooks"]) {
				if !mutatesPodCreate(obj(w)) {
					continue
				}
				for _, e := range list(dig(w, "namespaceSelector", "matchExpressions")) {
					if str(obj(e)["key"]) == routing.PodReadinessGateLabel && str(obj(e)["operator"]) == "In" && slices.Contains(list(obj(e)["values"]), any("enabled")) {
						found = true
						assert.Equal(t, "Ignore", str(obj(w)["failurePolicy"]), "stack %s: %s webhook %s", s.Name, o.ID(), str(obj(w)["name"]))
					}
				}
			}
		}
		assert.True(t, found, "stack %s: no pod webhook of the rendered charts selects namespaces labelled %s=enabled", s.Name, routing.PodReadinessGateLabel)
		checked++
	}
	require.Positive(t, checked, "stacks with the load balancer controller")
}

func mutatesPodCreate(w map[string]any) bool {
	for _, rule := range list(w["rules"]) {
		if slices.Contains(list(obj(rule)["resources"]), any("pods")) && slices.Contains(list(obj(rule)["operations"]), any("CREATE")) {
			return true
		}
	}
	return false
}
