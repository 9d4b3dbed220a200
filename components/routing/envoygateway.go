package routing

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/podvalues"
)

// ImplementationEnvoyGateway is Envoy Gateway (gateway.envoyproxy.io).
const ImplementationEnvoyGateway = "envoy-gateway"

// EnvoyGatewayNamespace runs the controller and, by Envoy Gateway's design,
// the proxies of every Gateway of its classes.
const EnvoyGatewayNamespace = namespace.EnvoyGateway

const (
	envoyGatewayRelease = "envoy-gateway"
	envoyProxyName      = "platform-proxy"
	// Envoy Gateway shifts privileged listener ports by 10000 so the proxy
	// needs no NET_BIND_SERVICE: the pods listen on 10080 and 10443, which is
	// what the NLB's ip targets and the NetworkPolicy see.
	envoyPortShift = 10000
	// envoyMetricsPort serves /stats/prometheus on every proxy and /metrics
	// on the controller.
	envoyMetricsPort = 19001
	envoyXDSPort     = 18000
	envoyWebhookPort = 9443
)

// ProxyLabels select the Envoy proxy pods of every Gateway.
var ProxyLabels = map[string]string{
	"app.kubernetes.io/managed-by": "envoy-gateway",
	"app.kubernetes.io/component":  "proxy",
}

// envoyControllerLabels select the Envoy Gateway controller pods.
var envoyControllerLabels = map[string]string{"control-plane": "envoy-gateway"}

// ProxyConfig shapes the Envoy proxies of the shared Gateway.
type ProxyConfig struct {
	Replicas  int
	Resources podvalues.Resources
	// ServiceType: LoadBalancer (an NLB on AWS) or NodePort (local).
	ServiceType string
	// LoadBalancerClass hands the Service to the AWS Load Balancer
	// Controller; empty without AWS.
	LoadBalancerClass string
	// ServiceAnnotations (the NLB's settings).
	ServiceAnnotations map[string]string
	// GatewayName and GatewayNamespace own the proxies (for zone spread).
	GatewayName, GatewayNamespace string
	// Shutdown is the proxies' drain (EnvoyProxy spec.shutdown).
	Shutdown ProxyShutdown
}

// MaxDeregistrationDelaySeconds is the largest target-group deregistration
// delay AWS accepts
// (docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-attributes.html).
const MaxDeregistrationDelaySeconds = 3600

// DeregistrationPropagationSeconds is how long an NLB may still open new
// flows to a proxy after the load balancer controller has started its
// deregistration: the controller reacts to the pod's termination within
// seconds, but the NLB keeps sending new connections to a draining IP
// target for up to about two minutes in practice
// (kubernetes-sigs/aws-load-balancer-controller#3270: "even though i set
// deregistering delay to 5 seconds ... the deregistering process takes
// about 2 minutes"; #1834), so the proxies allow for all of it. The
// readiness gate (PodReadinessGateLabel) keeps a rollout from stopping the
// old proxies before the new ones are healthy targets.
const DeregistrationPropagationSeconds = 120

// ProxyShutdown is Envoy Gateway's graceful shutdown of a proxy
// (gateway.envoyproxy.io/v1.9/tasks/operations/graceful-shutdown): on
// SIGTERM the shutdown manager fails the readiness probe and drains the
// listeners, keeps Envoy up for at least MinDrainSeconds (new connections
// are still accepted while listeners drain), and lets it exit when no
// connection is left or DrainTimeoutSeconds have passed. Envoy Gateway
// sets the pod's terminationGracePeriodSeconds to the drain timeout plus
// 300 s (internal/infrastructure/kubernetes/proxy/resource_provider.go,
// expectedTerminationGracePeriodSeconds, v1.9.1).
type ProxyShutdown struct {
	MinDrainSeconds, DrainTimeoutSeconds int
}

// ProxyShutdownFor is the drain for a target group's deregistration delay:
// a proxy stays up for the delay plus DeregistrationPropagationSeconds, so
// it outlives both the NLB's new flows and the flows it lets finish, then
// has 30 s more for connections still open.
func ProxyShutdownFor(deregistrationDelaySeconds int) ProxyShutdown {
	min := deregistrationDelaySeconds + DeregistrationPropagationSeconds
	return ProxyShutdown{MinDrainSeconds: min, DrainTimeoutSeconds: min + 30}
}

// PodReadinessGateLabel on the proxies' namespace makes the load balancer
// controller's webhook add a readiness gate to every proxy pod: a new proxy
// is Ready only once the NLB reports it a healthy target, so a rolling
// update or drain never removes the old proxies first
// (kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/pod_readiness_gate;
// ip targets only, which the NLB uses).
const PodReadinessGateLabel = "elbv2.k8s.aws/pod-readiness-gate-inject"

// EnvoyProxySpec is the EnvoyProxy (gateway.envoyproxy.io/v1alpha1) the
// GatewayClass points at: replicas, resources, restricted security context,
// and the Service. With more than one replica the proxies spread across
// zones (maxSkew 1, DoNotSchedule) and a PodDisruptionBudget keeps all but
// one available.
func EnvoyProxySpec(c ProxyConfig) map[string]any {
	sc := podvalues.RestrictedContainer()
	pod := map[string]any{
		"securityContext": map[string]any{
			"runAsNonRoot":   true,
			"seccompProfile": map[string]any{"type": sc.SeccompProfile.Type},
		},
	}
	k8s := map[string]any{
		"envoyDeployment": map[string]any{
			"replicas": c.Replicas,
			"pod":      pod,
			"container": map[string]any{
				"resources": map[string]any{
					"requests": map[string]any{"cpu": c.Resources.Requests.CPU, "memory": c.Resources.Requests.Memory},
					"limits":   limits(c.Resources.Limits),
				},
				// Envoy Gateway's own default user; set again because
				// this securityContext replaces its default.
				"securityContext": map[string]any{
					"runAsUser":                65532,
					"runAsGroup":               65532,
					"runAsNonRoot":             true,
					"allowPrivilegeEscalation": false,
					"readOnlyRootFilesystem":   true,
					"capabilities":             map[string]any{"drop": []any{"ALL"}},
					"seccompProfile":           map[string]any{"type": sc.SeccompProfile.Type},
				},
			},
		},
		"envoyService": envoyService(c),
	}
	if c.Replicas > 1 {
		pod["topologySpreadConstraints"] = []any{map[string]any{
			"maxSkew":           1,
			"topologyKey":       ZoneKey,
			"whenUnsatisfiable": "DoNotSchedule",
			"labelSelector": map[string]any{"matchLabels": map[string]any{
				"gateway.envoyproxy.io/owning-gateway-name":      c.GatewayName,
				"gateway.envoyproxy.io/owning-gateway-namespace": c.GatewayNamespace,
			}},
		}}
		k8s["envoyPDB"] = map[string]any{"minAvailable": c.Replicas - 1}
	}
	return map[string]any{
		"provider": map[string]any{"type": "Kubernetes", "kubernetes": k8s},
		"shutdown": map[string]any{
			"minDrainDuration": fmt.Sprintf("%ds", c.Shutdown.MinDrainSeconds),
			"drainTimeout":     fmt.Sprintf("%ds", c.Shutdown.DrainTimeoutSeconds),
		},
	}
}

func limits(l podvalues.ResourceList) map[string]any {
	m := map[string]any{"memory": l.Memory}
	if l.CPU != "" {
		m["cpu"] = l.CPU
	}
	return m
}

func envoyService(c ProxyConfig) map[string]any {
	svc := map[string]any{"type": c.ServiceType}
	if c.ServiceType == "LoadBalancer" {
		// ip targets reach the pods directly: no node ports, and every
		// proxy pod is a target whatever node it is on.
		svc["externalTrafficPolicy"] = "Cluster"
		svc["allocateLoadBalancerNodePorts"] = false
	}
	if c.LoadBalancerClass != "" {
		svc["loadBalancerClass"] = c.LoadBalancerClass
	}
	if len(c.ServiceAnnotations) > 0 {
		svc["annotations"] = anyMap(c.ServiceAnnotations)
	}
	return svc
}

// envoyGateway installs Envoy Gateway.
type envoyGateway struct{}

func (envoyGateway) controllerName() string { return "gateway.envoyproxy.io/gatewayclass-controller" }

func (envoyGateway) install(ctx *pulumi.Context, r *Routing, a *Args, parent pulumi.ResourceOption) (*installed, error) {
	nsArgs := &namespace.Args{Name: EnvoyGatewayNamespace}
	if a.AWS != nil {
		nsArgs.Labels = map[string]string{PodReadinessGateLabel: "enabled"}
	}
	ns, err := namespace.New(ctx, "envoy-gateway", nsArgs, parent)
	if err != nil {
		return nil, err
	}
	proxyPorts := []int{80 + envoyPortShift, 443 + envoyPortShift}
	policies, err := networkPolicies(ctx, r, a, EnvoyGatewayNamespace, ns, []policyRule{
		{
			name: "proxy-ingress", pods: ProxyLabels,
			ingress: []peerPorts{{peer: anywhere(), tcp: proxyPorts}, {peer: monitoringPeer(a), tcp: []int{envoyMetricsPort}}},
		},
		{
			// The proxies reach backends in any namespace (routes come from
			// app namespaces) and the controller's xDS port.
			name: "proxy-egress", pods: ProxyLabels,
			egress: []peerPorts{{peer: allNamespaces()}},
		},
		{
			name: "controller", pods: envoyControllerLabels, webhookPort: envoyWebhookPort,
			ingress: []peerPorts{
				{peer: samePods(ProxyLabels), tcp: []int{envoyXDSPort}},
				{peer: monitoringPeer(a), tcp: []int{envoyMetricsPort}},
			},
		},
		{
			// Everything but the proxies (controller, certgen job) talks to
			// the API server.
			name: "api-server", exceptPods: ProxyLabels, apiServer: true,
		},
	})
	if err != nil {
		return nil, err
	}
	crds, err := helmrelease.NewCRDs(ctx, EnvoyGatewayCRDChart.Name, &helmrelease.CRDArgs{
		Chart: EnvoyGatewayCRDChart, Values: EnvoyGatewayCRDValues(),
	}, parent)
	if err != nil {
		return nil, err
	}
	release, err := helmrelease.New(ctx, envoyGatewayRelease, &helmrelease.Args{
		Chart:     EnvoyGatewayChart,
		Namespace: ns.Name,
		Values:    EnvoyGatewayValuesFor(a.sizing()),
		SkipCRDs:  true,
	}, parent, pulumi.DependsOn(append(policies, crds)))
	if err != nil {
		return nil, err
	}
	after := pulumi.DependsOn([]pulumi.Resource{release})

	proxy := ProxyConfig{
		Replicas:         a.ProxyReplicas,
		Resources:        *a.ProxyResources,
		ServiceType:      "NodePort",
		GatewayName:      a.GatewayName,
		GatewayNamespace: a.GatewayNamespace,
		Shutdown:         ProxyShutdownFor(DefaultDeregistrationDelaySeconds),
	}
	if a.AWS != nil {
		proxy.Shutdown = ProxyShutdownFor(*a.AWS.DeregistrationDelaySeconds)
	}
	var spec pulumi.Input = pulumi.ToMap(EnvoyProxySpec(proxy))
	if aws := a.AWS; aws != nil {
		proxy.ServiceType = "LoadBalancer"
		proxy.LoadBalancerClass = "service.k8s.aws/nlb"
		spec = pulumi.All(aws.PublicSubnetIDs, r.AccessLogBucket).ApplyT(func(v []any) map[string]any {
			p := proxy
			p.ServiceAnnotations = NLBAnnotations(NLBOptions{
				SubnetIDs:                  v[0].([]string),
				AccessLogBucket:            v[1].(string),
				AccessLogPrefix:            aws.ClusterName,
				DeletionProtection:         aws.DeletionProtection,
				CertificateARN:             a.TLS.CertificateARN,
				DeregistrationDelaySeconds: *aws.DeregistrationDelaySeconds,
			})
			return EnvoyProxySpec(p)
		}).(pulumi.MapOutput)
	}
	ep, err := apiextensions.NewCustomResource(ctx, envoyProxyName, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String("gateway.envoyproxy.io/v1alpha1"),
		Kind:        pulumi.String("EnvoyProxy"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(envoyProxyName), Namespace: pulumi.String(EnvoyGatewayNamespace)},
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, parent, after, pulumi.DependsOn(r.accessLogReady))
	if err != nil {
		return nil, err
	}

	inst := &installed{
		parametersRef: map[string]any{
			"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
			"name": envoyProxyName, "namespace": EnvoyGatewayNamespace,
		},
		dependsOn: []pulumi.Resource{release, ep},
		namespace: EnvoyGatewayNamespace,
	}
	if a.Monitoring == nil {
		// No Prometheus Operator CRDs: a PodMonitor would fail to apply.
		return inst, nil
	}
	// The proxies' Envoy stats and the controller's metrics.
	monitors := []struct {
		name, kind string
		spec       map[string]any
	}{
		{"envoy-proxy", "PodMonitor", map[string]any{
			"selector":            map[string]any{"matchLabels": anyMap(ProxyLabels)},
			"podMetricsEndpoints": []any{map[string]any{"port": "metrics", "path": "/stats/prometheus", "interval": "30s"}},
		}},
		{"envoy-gateway", "ServiceMonitor", map[string]any{
			"selector":  map[string]any{"matchLabels": anyMap(envoyControllerLabels)},
			"endpoints": []any{map[string]any{"port": "metrics", "path": "/metrics", "interval": "30s"}},
		}},
	}
	for _, m := range monitors {
		mon, err := newMonitor(ctx, m.name, m.kind, EnvoyGatewayNamespace, m.spec, parent, after, pulumi.DependsOn(a.monitorDeps()))
		if err != nil {
			return nil, err
		}
		inst.monitors = append(inst.monitors, mon)
	}
	return inst, nil
}

func newMonitor(ctx *pulumi.Context, name, kind, ns string, spec map[string]any, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return apiextensions.NewCustomResource(ctx, name+"-"+strings.ToLower(kind), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(monitoringAPI),
		Kind:       pulumi.String(kind),
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(name), Namespace: pulumi.String(ns),
			Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("platform")},
		},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.ToMap(spec)},
	}, opts...)
}
