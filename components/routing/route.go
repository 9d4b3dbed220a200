package routing

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/namespace"
)

// GatewayRef names the shared Gateway. An app stack fills it from the
// platform stack's outputs gatewayName and gatewayNamespace (a
// StackReference), so the inputs may be outputs.
type GatewayRef struct {
	// Name of the Gateway (the platform stack's output gatewayName).
	// Required.
	Name pulumi.StringInput `pulumi:"name"`
	// Namespace of the Gateway (the platform stack's output
	// gatewayNamespace). Required.
	Namespace pulumi.StringInput `pulumi:"namespace"`
}

// RouteArgs exposes one Service on the internet through the shared Gateway.
//
// The pulumi tags name the inputs of the component package
// (componentpkg). Namespace and Domain may be outputs (of a Namespace, of a
// StackReference): a value known when the route is declared is checked
// then, before anything is registered; an output is checked with the same
// message when it resolves, which fails the route.
type RouteArgs struct {
	// Gateway the route attaches to (its HTTPS listener). Required.
	Gateway GatewayRef `pulumi:"gateway"`
	// Host is the public name, e.g. nginx.example.com. Required; lower case.
	Host string `pulumi:"host"`
	// Namespace of the Service; the route lives beside it. Required.
	Namespace pulumi.StringInput `pulumi:"namespace"`
	// Service receives the traffic. Required.
	Service string `pulumi:"service"`
	// Port of the Service. Required.
	Port int `pulumi:"port"`
	// PathPrefix matched. Default [DefaultPathPrefix].
	PathPrefix string `pulumi:"pathPrefix"`
	// Domain of the Gateway's wildcard certificate (the platform stack's
	// output routingDomain). When set, Host must be exactly one label
	// under it (what *.Domain covers). Default none.
	Domain pulumi.StringInput `pulumi:"domain"`
}

// ExposeArgs is RouteArgs without the Gateway, for Routing.Expose.
type ExposeArgs struct {
	Host       string
	Namespace  string
	Service    string
	Port       int
	PathPrefix string
}

// Route is one HTTPRoute on the shared Gateway.
type Route struct {
	pulumi.ResourceState

	// Hostname is the public name.
	Hostname pulumi.StringOutput `pulumi:"hostname"`
	// URL is https://Hostname.
	URL pulumi.StringOutput `pulumi:"url"`
	// Name of the HTTPRoute.
	Name pulumi.StringOutput `pulumi:"name"`
	// Namespace of the HTTPRoute.
	Namespace pulumi.StringOutput `pulumi:"namespace"`
}

// DefaultPathPrefix routes every path of the host.
const DefaultPathPrefix = "/"

// routeTypeToken is the Route component's Pulumi type; errors name it with
// the component's name.
const routeTypeToken = "platform:routing:Route"

// withDefaults returns a copy of a with every default applied.
func (a RouteArgs) withDefaults() RouteArgs {
	contract.SetDefault(&a.PathPrefix, DefaultPathPrefix)
	return a
}

// validate returns every problem with defaulted RouteArgs, joined: those
// of Namespace and Domain only when they are known now (plain values).
func (a RouteArgs) validate() error {
	var errs contract.Problems
	add := errs.Add
	if a.Gateway.Name == nil || a.Gateway.Namespace == nil {
		add("Gateway Name and Namespace are required")
	}
	if err := CheckDomain(a.Host); err != nil {
		add("Host %q: %v", a.Host, err)
	}
	if a.Namespace == nil {
		add("Namespace is required")
	}
	ns, nsKnown := a.Namespace.(pulumi.String)
	domain, _ := a.Domain.(pulumi.String) // "" when an output: checked once it resolves
	errs = append(errs, a.placementProblems(string(ns), nsKnown, string(domain))...)
	if err := namespace.CheckDNSLabel(a.Service); err != nil {
		add("Service %q: %v", a.Service, err)
	}
	if a.Port < 1 || a.Port > 65535 {
		add("Port %d must be between 1 and 65535", a.Port)
	}
	if !strings.HasPrefix(a.PathPrefix, "/") {
		add("PathPrefix %q must start with /", a.PathPrefix)
	}
	return errs.Err()
}

// placementProblems checks the Namespace (when known) and, with a Domain, a
// valid Host under it: validate gives it what is known when the route is
// declared, NewRoute what Namespace and Domain resolve to.
func (a RouteArgs) placementProblems(ns string, nsKnown bool, domain string) contract.Problems {
	var errs contract.Problems
	if nsKnown {
		if err := namespace.CheckName(ns); err != nil {
			errs.Add("Namespace %q: %v", ns, err)
		}
	}
	if domain != "" && CheckDomain(a.Host) == nil {
		if err := CheckHostUnder(a.Host, domain); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// NewRoute declares an HTTPRoute from Host to Service:Port on the Gateway's
// HTTPS listener. external-dns publishes Host pointing at the load balancer
// and the Gateway's wildcard certificate serves it; plain HTTP is redirected
// by the Gateway. Pass the cluster's Kubernetes provider in opts.
func NewRoute(ctx *pulumi.Context, name string, in *RouteArgs, opts ...pulumi.ResourceOption) (*Route, error) {
	a := in.withDefaults()
	r := &Route{}
	if err := contract.Register(ctx, routeTypeToken, name, a.validate(), r, opts...); err != nil {
		return nil, err
	}
	domain := a.Domain
	if domain == nil {
		domain = pulumi.String("")
	}
	// Namespace and Domain given as outputs are checked here, with the
	// messages validate gives, prefixed like the constructor's errors.
	checked := pulumi.All(a.Namespace, domain).ApplyT(func(v []any) (string, error) {
		ns := v[0].(string)
		if err := a.placementProblems(ns, true, v[1].(string)).Err(); err != nil {
			return "", fmt.Errorf("%s %q: %w", routeTypeToken, name, err)
		}
		return ns, nil
	}).(pulumi.StringOutput)
	spec := pulumi.All(a.Gateway.Name, a.Gateway.Namespace).ApplyT(func(v []any) map[string]any {
		return HTTPRouteSpec(v[0].(string), v[1].(string), a.Host, a.Service, a.Port, a.PathPrefix)
	}).(pulumi.MapOutput)
	route, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(gatewayVersion),
		Kind:       pulumi.String("HTTPRoute"),
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(name), Namespace: checked,
			Labels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(a.Service)},
		},
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, pulumi.Parent(r))
	if err != nil {
		return nil, err
	}
	r.Hostname = pulumi.String(a.Host).ToStringOutput()
	r.URL = pulumi.Sprintf("https://%s", a.Host)
	r.Name = route.Metadata.Name().Elem()
	r.Namespace = route.Metadata.Namespace().Elem()
	return contract.Finish(ctx, r, pulumi.Map{"hostname": r.Hostname, "url": r.URL, "name": r.Name, "namespace": r.Namespace})
}

// Expose is NewRoute on this environment's Gateway, with Host checked against
// its domain. The route is a child of the routing component (and uses its
// Kubernetes provider) unless opts say otherwise.
func (r *Routing) Expose(ctx *pulumi.Context, name string, args *ExposeArgs, opts ...pulumi.ResourceOption) (*Route, error) {
	return NewRoute(ctx, name, &RouteArgs{
		Gateway: r.gateway, Host: args.Host, Namespace: pulumi.String(args.Namespace),
		Service: args.Service, Port: args.Port, PathPrefix: args.PathPrefix, Domain: pulumi.String(r.domain),
	}, append([]pulumi.ResourceOption{pulumi.Parent(r)}, opts...)...)
}

// Gateway names this environment's shared Gateway.
func (r *Routing) Gateway() GatewayRef { return r.gateway }

// CheckHostUnder reports a host the Gateway's wildcard certificate *.domain
// does not cover: it must be exactly one label under domain.
func CheckHostUnder(host, domain string) error {
	label, rest, _ := strings.Cut(host, ".")
	if rest != domain || label == "" {
		return fmt.Errorf("host %q must be one label under %s (the wildcard certificate *.%s)", host, domain, domain)
	}
	return nil
}
