package routing

import (
	"maps"
	"slices"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/namespace"
)

// Each namespace starts default-deny (components/namespace); these are the
// flows its pods need, nothing more.

// peerPorts allows one peer on some ports (all ports when both are empty).
type peerPorts struct {
	peer *networkingv1.NetworkPolicyPeerArgs
	tcp  []int
	udp  []int
}

// policyRule is one NetworkPolicy: pods (all when empty; or all pods except
// those carrying exceptPods) and their allowed ingress and egress.
// apiServer adds the platform's one API-server egress rule
// (namespace.APIServer); webhookPort, when set, lets the API server call
// the admission webhook served there.
type policyRule struct {
	name        string
	pods        map[string]string
	exceptPods  map[string]string
	ingress     []peerPorts
	egress      []peerPorts
	apiServer   bool
	webhookPort int
}

func anywhere() *networkingv1.NetworkPolicyPeerArgs {
	return &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String("0.0.0.0/0")}}
}

func allNamespaces() *networkingv1.NetworkPolicyPeerArgs {
	return &networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{}}
}

func samePods(labels map[string]string) *networkingv1.NetworkPolicyPeerArgs {
	return &networkingv1.NetworkPolicyPeerArgs{PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(labels)}}
}

func monitoringPeer(a *Args) *networkingv1.NetworkPolicyPeerArgs {
	return &networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
		"kubernetes.io/metadata.name": pulumi.String(a.MonitoringNamespace),
	}}}
}

// awsAPIs are the AWS APIs (STS, ELB, EC2, Route53) and ACME servers: HTTPS
// on the internet.
func awsAPIs() peerPorts { return peerPorts{peer: anywhere(), tcp: []int{443}} }

func ports(pp peerPorts) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, p := range pp.tcp {
		out = append(out, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(p)})
	}
	for _, p := range pp.udp {
		out = append(out, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(p)})
	}
	return out
}

func selector(r policyRule) *metav1.LabelSelectorArgs {
	sel := &metav1.LabelSelectorArgs{}
	if len(r.pods) > 0 {
		sel.MatchLabels = pulumi.ToStringMap(r.pods)
	}
	var exprs metav1.LabelSelectorRequirementArray
	for _, k := range slices.Sorted(maps.Keys(r.exceptPods)) {
		exprs = append(exprs, &metav1.LabelSelectorRequirementArgs{
			Key: pulumi.String(k), Operator: pulumi.String("NotIn"), Values: pulumi.StringArray{pulumi.String(r.exceptPods[k])},
		})
	}
	if len(exprs) > 0 {
		sel.MatchExpressions = exprs
	}
	return sel
}

// withPeers appends one rule per peer to rules, each made by rule.
func withPeers[A ~[]R, R any](rules A, peers []peerPorts, rule func(networkingv1.NetworkPolicyPeerArray, networkingv1.NetworkPolicyPortArray) R) A {
	for _, p := range peers {
		rules = append(rules, rule(networkingv1.NetworkPolicyPeerArray{p.peer}, ports(p)))
	}
	return rules
}

// networkPolicies declares the rules in namespace ns (the namespace's own
// default-deny and DNS policies come with it).
func networkPolicies(ctx *pulumi.Context, r *Routing, a *Args, nsName string, ns *namespace.Namespace, rules []policyRule) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, rule := range rules {
		spec := &networkingv1.NetworkPolicySpecArgs{PodSelector: selector(rule)}
		var types []string
		var ingress networkingv1.NetworkPolicyIngressRuleArray
		var egress networkingv1.NetworkPolicyEgressRuleArray
		if rule.webhookPort != 0 {
			ingress = append(ingress, a.APIServer.WebhookIngressRule(rule.webhookPort))
		}
		ingress = withPeers(ingress, rule.ingress, func(peer networkingv1.NetworkPolicyPeerArray, ports networkingv1.NetworkPolicyPortArray) networkingv1.NetworkPolicyIngressRuleInput {
			return &networkingv1.NetworkPolicyIngressRuleArgs{From: peer, Ports: ports}
		})
		if rule.apiServer {
			egress = append(egress, a.APIServer.EgressRule())
		}
		egress = withPeers(egress, rule.egress, func(peer networkingv1.NetworkPolicyPeerArray, ports networkingv1.NetworkPolicyPortArray) networkingv1.NetworkPolicyEgressRuleInput {
			return &networkingv1.NetworkPolicyEgressRuleArgs{To: peer, Ports: ports}
		})
		if len(ingress) > 0 {
			types = append(types, "Ingress")
			spec.Ingress = ingress
		}
		if len(egress) > 0 {
			types = append(types, "Egress")
			spec.Egress = egress
		}
		spec.PolicyTypes = pulumi.ToStringArray(types)
		np, err := networkingv1.NewNetworkPolicy(ctx, nsName+"-allow-"+rule.name, &networkingv1.NetworkPolicyArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("allow-" + rule.name), Namespace: ns.Name},
			Spec:     spec,
		}, pulumi.Parent(r))
		if err != nil {
			return nil, err
		}
		out = append(out, np)
	}
	return out, nil
}
