package monitoring

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/namespace"
)

// operatorPodLabels select the Prometheus Operator pod (the chart labels it
// app: <chart name>-operator).
var operatorPodLabels = map[string]string{"app": "kube-prometheus-stack-operator"}

// operatorWebhookPort is where the operator serves its admission webhook.
const operatorWebhookPort = 10250

// networkPolicies adds the allows the monitoring pods need on top of the
// namespaces' default deny and DNS egress.
func networkPolicies(ctx *pulumi.Context, name string, a *Args, ns, nodeNS *namespace.Namespace, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
	all := &metav1.LabelSelectorArgs{}
	selector := func(l map[string]string) *metav1.LabelSelectorArgs {
		return &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(l)}
	}
	blocks := func(cidrs []string) networkingv1.NetworkPolicyPeerArray {
		var out networkingv1.NetworkPolicyPeerArray
		for _, c := range cidrs {
			out = append(out, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(c)}})
		}
		return out
	}
	tcp := func(ports ...int) networkingv1.NetworkPolicyPortArray {
		var out networkingv1.NetworkPolicyPortArray
		for _, p := range ports {
			out = append(out, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(p)})
		}
		return out
	}
	sameNamespace := networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{PodSelector: all}}

	type policy struct {
		suffix, name string
		namespace    pulumi.StringInput
		spec         *networkingv1.NetworkPolicySpecArgs
	}
	policies := []policy{
		// Prometheus <-> Alertmanager (9093), Alertmanager gossip (9094),
		// Grafana -> Prometheus, Prometheus scraping its neighbours.
		{"allow-same-namespace", "allow-same-namespace", ns.Name, &networkingv1.NetworkPolicySpecArgs{
			PodSelector: all,
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Ingress:     networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{From: sameNamespace}},
			Egress:      networkingv1.NetworkPolicyEgressRuleArray{&networkingv1.NetworkPolicyEgressRuleArgs{To: sameNamespace}},
		}},
		// The operator, kube-state-metrics, Grafana's sidecar and
		// Prometheus's service discovery watch the Kubernetes API.
		{"allow-api-server", "allow-api-server", ns.Name, &networkingv1.NetworkPolicySpecArgs{
			PodSelector: all,
			PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
			Egress:      networkingv1.NetworkPolicyEgressRuleArray{a.APIServer.EgressRule()},
		}},
		// Prometheus scrapes pods in every namespace (their own policies
		// admit it) and node ports: kubelet, node-exporter, kube-proxy.
		{"allow-prometheus-scrape", "allow-prometheus-scrape", ns.Name, &networkingv1.NetworkPolicySpecArgs{
			PodSelector: selector(PrometheusPodLabels),
			PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
			Egress: networkingv1.NetworkPolicyEgressRuleArray{
				&networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: all}}},
				&networkingv1.NetworkPolicyEgressRuleArgs{To: blocks(a.ScrapeCIDRs)},
			},
		}},
		// Slack, PagerDuty and webhooks are HTTPS endpoints on the internet.
		{"allow-alertmanager-receivers", "allow-alertmanager-receivers", ns.Name, &networkingv1.NetworkPolicySpecArgs{
			PodSelector: selector(alertmanagerPodLabels),
			PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
			Egress: networkingv1.NetworkPolicyEgressRuleArray{&networkingv1.NetworkPolicyEgressRuleArgs{
				To: blocks([]string{"0.0.0.0/0"}), Ports: tcp(443),
			}},
		}},
		// The API server calls the operator's admission webhook (it
		// validates PrometheusRules).
		{"allow-operator-webhook", "allow-operator-webhook", ns.Name, &networkingv1.NetworkPolicySpecArgs{
			PodSelector: selector(operatorPodLabels),
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
			Ingress:     networkingv1.NetworkPolicyIngressRuleArray{a.APIServer.WebhookIngressRule(operatorWebhookPort)},
		}},
		// node-exporter runs on the host network, where most CNIs do not
		// enforce policies; this states the intended single client anyway.
		{"node-exporter-allow-scrape", "allow-prometheus-scrape", nodeNS.Name, &networkingv1.NetworkPolicySpecArgs{
			PodSelector: all,
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{
				From: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
					NamespaceSelector: selector(map[string]string{"kubernetes.io/metadata.name": a.Namespace}),
					PodSelector:       selector(PrometheusPodLabels),
				}},
				Ports: tcp(9100),
			}},
		}},
	}
	var out []pulumi.Resource
	for _, p := range policies {
		np, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+p.suffix, &networkingv1.NetworkPolicyArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(p.name), Namespace: p.namespace},
			Spec:     p.spec,
		}, parent)
		if err != nil {
			return nil, err
		}
		out = append(out, np)
	}
	return out, nil
}
