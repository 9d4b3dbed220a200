// Package namespace creates the namespaces the platform's own components run
// in, each with Pod Security Admission labels and a default-deny
// NetworkPolicy plus DNS egress, so every other flow must be allowed
// explicitly by the component that needs it.
package namespace

import (
	"errors"
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
)

// Pod Security Standards levels.
const (
	Restricted = "restricted"
	Baseline   = "baseline"
	Privileged = "privileged"
)

// The namespaces of the platform's layers, unless their Args say
// otherwise: the layers find each other here (monitoring scrapes the log
// agent, its rules watch it).
const (
	DefaultMonitoring = "monitoring"
	DefaultLogging    = "logging"
	// EnvoyGateway is where Envoy Gateway runs the gateway's proxies.
	EnvoyGateway = "envoy-gateway-system"
)

// DefaultPodSecurity is the level a namespace enforces unless Args says
// otherwise.
const DefaultPodSecurity = Restricted

// typeToken is the component's Pulumi type; errors name it with the
// component's name.
const typeToken = "platform:namespace:Namespace"

// Args configures a platform namespace.
//
// The pulumi tags name the inputs of the component package
// (componentpkg), which serves this type to programs in other languages.
type Args struct {
	// Name of the namespace. Required.
	Name string `pulumi:"name"`
	// PodSecurity is the enforced Pod Security Standard: restricted,
	// baseline or privileged. Default [DefaultPodSecurity].
	PodSecurity string `pulumi:"podSecurity"`
	// PodSecurityReason says why a level below restricted is needed.
	// Required unless PodSecurity is restricted.
	PodSecurityReason string `pulumi:"podSecurityReason"`
	// Labels added to the namespace. Default none.
	Labels map[string]string `pulumi:"labels"`
}

// Namespace is a platform namespace with its baseline policies.
type Namespace struct {
	pulumi.ResourceState

	// Name is the namespace's name, known once it exists.
	Name pulumi.StringOutput `pulumi:"name"`
	// Resource is the Namespace object, for DependsOn.
	Resource *corev1.Namespace
}

// withDefaults returns a copy of a with every default applied.
func (a Args) withDefaults() Args {
	contract.SetDefault(&a.PodSecurity, DefaultPodSecurity)
	return a
}

// validate returns every problem with defaulted Args, joined.
func (a Args) validate() error {
	var errs contract.Problems
	if a.Name == "" {
		errs = append(errs, errors.New("Name is required"))
	} else if err := CheckName(a.Name); err != nil {
		errs = append(errs, fmt.Errorf("Name %q: %w", a.Name, err))
	}
	switch {
	case a.PodSecurity != Restricted && a.PodSecurity != Baseline && a.PodSecurity != Privileged:
		errs = append(errs, fmt.Errorf("PodSecurity %q: must be restricted, baseline or privileged", a.PodSecurity))
	case a.PodSecurity != Restricted && a.PodSecurityReason == "":
		errs = append(errs, fmt.Errorf("PodSecurity %s needs a PodSecurityReason", a.PodSecurity))
	}
	return errs.Err()
}

// New creates the namespace, its default-deny policy and DNS egress.
// Pass the cluster's Kubernetes provider in opts (pulumi.Provider or
// pulumi.Providers).
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Namespace, error) {
	a := args.withDefaults()
	level := a.PodSecurity
	ns := &Namespace{}
	if err := contract.Register(ctx, typeToken, name, a.validate(), ns, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(ns)

	labels := pulumi.StringMap{
		"app.kubernetes.io/part-of":          pulumi.String("platform"),
		"pod-security.kubernetes.io/enforce": pulumi.String(level),
		// Warn and audit at restricted, so a namespace below it still shows
		// what keeps it there.
		"pod-security.kubernetes.io/warn":  pulumi.String(Restricted),
		"pod-security.kubernetes.io/audit": pulumi.String(Restricted),
	}
	for k, v := range a.Labels {
		labels[k] = pulumi.String(v)
	}
	annotations := pulumi.StringMap{}
	if a.PodSecurityReason != "" {
		annotations["platform/pod-security-reason"] = pulumi.String(a.PodSecurityReason)
	}
	obj, err := corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(a.Name), Labels: labels, Annotations: annotations},
	}, parent)
	if err != nil {
		return nil, err
	}
	ns.Resource = obj
	ns.Name = obj.Metadata.Name().Elem()

	if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-default-deny", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("default-deny"), Namespace: ns.Name},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
		},
	}, parent); err != nil {
		return nil, err
	}
	dnsPort := func(proto string) networkingv1.NetworkPolicyPortInput {
		return &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(proto), Port: pulumi.Int(53)}
	}
	if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-allow-dns", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("allow-dns"), Namespace: ns.Name},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
			Egress: networkingv1.NetworkPolicyEgressRuleArray{&networkingv1.NetworkPolicyEgressRuleArgs{
				To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
					NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
						"kubernetes.io/metadata.name": pulumi.String("kube-system"),
					}},
					PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
						"k8s-app": pulumi.String("kube-dns"),
					}},
				}},
				Ports: networkingv1.NetworkPolicyPortArray{dnsPort("UDP"), dnsPort("TCP")},
			}},
		},
	}, parent); err != nil {
		return nil, err
	}
	return contract.Finish(ctx, ns, pulumi.Map{"name": ns.Name})
}
