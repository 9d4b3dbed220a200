package namespace

import (
	"fmt"
	"net/netip"

	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// APIServer is the one rule for "may talk to the Kubernetes API server",
// used by every platform namespace whose pods watch or call the API
// (monitoring, routing, logging), and the one source of the API server's
// calls to admission webhooks.
//
// In-cluster clients dial the `kubernetes` Service address (the first
// address of the cluster's service range: 172.20.0.1 on our EKS clusters),
// and the VPC CNI's network policy agent matches egress before that address
// is translated to an endpoint (amazon-network-policy-controller-k8s
// pkg/resolvers/endpoints.go resolves pod selectors to Service addresses,
// ipBlocks are taken literally; aws-network-policy-agent#549). So on EKS the
// rule allows the Service address itself and the VPC (the control plane's
// network interfaces, reached after translation and through the private
// endpoint); an ipBlock of the VPC alone cuts the clients off.
type APIServer struct {
	// CIDRs the API is reached at. Required.
	CIDRs []string
	// Ports the API is reached on: 443 (the Service port, and EKS's
	// endpoint port); kind's endpoints listen on 6443. Required.
	Ports []int
	// WebhookSourceCIDRs call admission webhooks: on EKS the control
	// plane's network interfaces in the VPC. Required.
	WebhookSourceCIDRs []string
}

// EKSAPIServer is the rule on an EKS cluster whose service range is
// serviceCIDR, in a VPC of vpcCIDR.
func EKSAPIServer(serviceCIDR, vpcCIDR string) (APIServer, error) {
	svc, err := KubernetesServiceIP(serviceCIDR)
	if err != nil {
		return APIServer{}, err
	}
	return APIServer{
		CIDRs:              []string{svc.String() + "/32", vpcCIDR},
		Ports:              []int{APIServerPort},
		WebhookSourceCIDRs: []string{vpcCIDR},
	}, nil
}

// APIServerPort is the port the Kubernetes API is served on behind the
// `kubernetes` Service, and EKS's; a local cluster may add its own.
const APIServerPort = 443

// AnyAPIServer is the rule when the API server's addresses are not known
// (local: any cluster a kubeconfig reaches): any address on the API ports.
func AnyAPIServer(port int) APIServer {
	ports := []int{APIServerPort}
	if port != APIServerPort {
		ports = append(ports, port)
	}
	return APIServer{CIDRs: []string{"0.0.0.0/0"}, Ports: ports, WebhookSourceCIDRs: []string{"0.0.0.0/0"}}
}

// KubernetesServiceIP is the `kubernetes` Service's address: the first
// address of the service range (kube-apiserver
// pkg/controlplane/services.go, ServiceIPRange).
func KubernetesServiceIP(serviceCIDR string) (netip.Addr, error) {
	p, err := netip.ParsePrefix(serviceCIDR)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return netip.Addr{}, fmt.Errorf("service CIDR %q: must be an IPv4 network address such as 172.20.0.0/16", serviceCIDR)
	}
	return p.Addr().Next(), nil
}

// Validate reports a rule that would allow nothing.
func (a APIServer) Validate() error {
	if len(a.CIDRs) == 0 || len(a.Ports) == 0 || len(a.WebhookSourceCIDRs) == 0 {
		return fmt.Errorf("APIServer %+v: CIDRs, Ports and WebhookSourceCIDRs are required", a)
	}
	for _, c := range append(append([]string{}, a.CIDRs...), a.WebhookSourceCIDRs...) {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("APIServer CIDR %q: must be a CIDR block", c)
		}
	}
	return nil
}

// EgressRule allows the selected pods to reach the API server.
func (a APIServer) EgressRule() *networkingv1.NetworkPolicyEgressRuleArgs {
	return &networkingv1.NetworkPolicyEgressRuleArgs{To: ipBlocks(a.CIDRs), Ports: tcpPorts(a.Ports)}
}

// WebhookIngressRule lets the API server call a webhook served on port.
func (a APIServer) WebhookIngressRule(port int) *networkingv1.NetworkPolicyIngressRuleArgs {
	return &networkingv1.NetworkPolicyIngressRuleArgs{From: ipBlocks(a.WebhookSourceCIDRs), Ports: tcpPorts([]int{port})}
}

func ipBlocks(cidrs []string) networkingv1.NetworkPolicyPeerArray {
	var out networkingv1.NetworkPolicyPeerArray
	for _, c := range cidrs {
		out = append(out, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(c)}})
	}
	return out
}

func tcpPorts(ports []int) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, p := range ports {
		out = append(out, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(p)})
	}
	return out
}
