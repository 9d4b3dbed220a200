// Package nginx is the example application: the original design's nginx
// route (host nginx.<domain> -> service nginx, port 80 -> container 8080),
// deployed onto the platform by another Pulumi program.
package nginx

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/routing"
)

// DefaultHost fits the default platform stack's domain (dev.example.com).
const DefaultHost = "nginx.dev.example.com"

// Image is nginx built to run unprivileged on port 8080, pinned.
const Image = "nginxinc/nginx-unprivileged:1.27.3-alpine"

// Program deploys nginx and routes https://<host> to it.
func Program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "app")
	platformStack := cfg.Get("platformStack")
	if platformStack == "" {
		platformStack = "organization/platform/dev"
	}
	// The host must be one label under the platform's routing domain, the
	// only names its wildcard certificate covers. The default fits the
	// default platform stack (dev, domain dev.example.com); set app:host
	// for another (checked against the stack's routingDomain below).
	host := cfg.Get("host")
	if host == "" {
		host = DefaultHost
	}

	platform, err := pulumi.NewStackReference(ctx, platformStack, nil)
	if err != nil {
		return err
	}
	// A cloud platform stack exports its cluster's kubeconfig (a secret),
	// the local one the kubeconfig context it deployed to; the provider
	// takes whichever the stack has ("" leaves the default).
	optional := func(name string) pulumi.StringOutput {
		return platform.GetOutput(pulumi.String(name)).ApplyT(func(v any) string {
			s, _ := v.(string)
			return s
		}).(pulumi.StringOutput)
	}
	provider, err := kubernetes.NewProvider(ctx, "platform", &kubernetes.ProviderArgs{
		Kubeconfig: optional("kubeconfig"),
		Context:    optional("kubeconfigContext"),
	})
	if err != nil {
		return err
	}
	k8s := pulumi.Provider(provider)

	ns, err := namespace.New(ctx, "nginx", &namespace.Args{Name: "nginx"}, k8s)
	if err != nil {
		return err
	}
	labels := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String("nginx")}
	meta := func(name string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: ns.Name, Labels: labels}
	}
	spread := func(key string) corev1.TopologySpreadConstraintInput {
		return &corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String(key), WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
			LabelSelector: &metav1.LabelSelectorArgs{MatchLabels: labels},
		}
	}
	if _, err := appsv1.NewDeployment(ctx, "nginx", &appsv1.DeploymentArgs{
		Metadata: meta("nginx"),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(2),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &corev1.PodSpecArgs{
					AutomountServiceAccountToken: pulumi.Bool(false),
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot:   pulumi.Bool(true),
						RunAsUser:      pulumi.Int(101),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					TopologySpreadConstraints: corev1.TopologySpreadConstraintArray{
						spread("topology.kubernetes.io/zone"), spread("kubernetes.io/hostname"),
					},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String("nginx"),
						Image: pulumi.String(Image),
						Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(8080)}},
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false),
							ReadOnlyRootFilesystem:   pulumi.Bool(true),
							Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
						},
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("50m"), "memory": pulumi.String("32Mi")},
							Limits:   pulumi.StringMap{"memory": pulumi.String("64Mi")},
						},
						ReadinessProbe: &corev1.ProbeArgs{HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String("/"), Port: pulumi.String("http")}},
						LivenessProbe:  &corev1.ProbeArgs{HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String("/"), Port: pulumi.String("http")}},
						// nginx writes its pid and caches here; the root stays read-only.
						VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}},
					}},
					Volumes: corev1.VolumeArray{&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}},
				},
			},
		},
	}, k8s, pulumi.Parent(ns)); err != nil {
		return err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, "nginx", &policyv1.PodDisruptionBudgetArgs{
		Metadata: meta("nginx"),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MinAvailable: pulumi.Int(1),
			Selector:     &metav1.LabelSelectorArgs{MatchLabels: labels},
		},
	}, k8s, pulumi.Parent(ns)); err != nil {
		return err
	}
	// The original design's mapping: service port 80 -> container 8080.
	if _, err := corev1.NewService(ctx, "nginx", &corev1.ServiceArgs{
		Metadata: meta("nginx"),
		Spec: &corev1.ServiceSpecArgs{
			Selector: labels,
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Port: pulumi.Int(80), TargetPort: pulumi.String("http"),
			}},
		},
	}, k8s, pulumi.Parent(ns)); err != nil {
		return err
	}
	// Only the gateway's proxies may reach nginx: they run in the platform's
	// proxyNamespace (the Gateway object lives elsewhere).
	if _, err := networkingv1.NewNetworkPolicy(ctx, "nginx-from-gateway", &networkingv1.NetworkPolicyArgs{
		Metadata: meta("allow-from-gateway"),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{
				From: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
					NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
						"kubernetes.io/metadata.name": platform.GetStringOutput(pulumi.String("proxyNamespace")),
					}},
				}},
				Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(8080), Protocol: pulumi.String("TCP")}},
			}},
		},
	}, k8s, pulumi.Parent(ns)); err != nil {
		return err
	}

	route, err := routing.NewRoute(ctx, "nginx", &routing.RouteArgs{
		Gateway: routing.GatewayRef{
			Name:      platform.GetStringOutput(pulumi.String("gatewayName")),
			Namespace: platform.GetStringOutput(pulumi.String("gatewayNamespace")),
		},
		Host:      host,
		Namespace: ns.Name,
		Service:   "nginx",
		Port:      80,
	}, k8s, pulumi.DependsOn([]pulumi.Resource{ns}))
	if err != nil {
		return err
	}
	// A host the wildcard certificate does not cover would be served with a
	// certificate error: fail the update instead, naming both.
	ctx.Export("url", pulumi.All(route.URL, platform.GetStringOutput(pulumi.String("routingDomain"))).ApplyT(
		func(v []any) (string, error) {
			if err := routing.CheckHostUnder(host, v[1].(string)); err != nil {
				return "", fmt.Errorf("app:host: %w", err)
			}
			return v[0].(string), nil
		}).(pulumi.StringOutput))
	return nil
}
