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
