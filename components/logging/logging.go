package logging

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/namespace"
)

// Names of the objects we own in the namespace.
const (
	// IngestTokenSecretName holds the ingest token under the key "token".
	IngestTokenSecretName = "logscale-ingest-token"
	// ServiceMonitorLabel marks the ServiceMonitor for a Prometheus that
	// selects platform ServiceMonitors by label rather than by Helm release.
	ServiceMonitorLabel = "app.kubernetes.io/part-of"
	podSecurityReason   = "the log agent mounts host paths (/var/log read-only, its buffer directory writable) and runs as uid 0 with every capability dropped, to read root-owned container logs"
)

// Rendered is everything the agent runs with, computed from Args without
// Pulumi: the chart and its values, and the generated configuration file.
type Rendered struct {
	// Args with every default applied.
	Args Args
	// Chart and Values of the Helm release (ReleaseName).
	Chart       helmrelease.Chart
	ReleaseName string
	Values      any
	// ConfigMapName holds ConfigFile: Config. No secret is in Config.
	ConfigMapName string
	ConfigFile    string
	Config        string
	// Metrics endpoint, on the chart's Service port MetricsPortName.
	MetricsPortName string
	MetricsPort     int
	MetricsPath     string
}

// Render applies the defaults, validates and generates the agent's
// configuration and chart values. The ingest token is not needed: the
// configuration only names the environment variable that carries it.
func Render(in *Args) (*Rendered, error) {
	a := in.withDefaults()
	if err := a.validate(); err != nil {
		return nil, err
	}
	r := &Rendered{Args: a, ReleaseName: a.Agent, ConfigMapName: a.Agent + "-config"}
	switch a.Agent {
	case FluentBit:
		text, err := RenderFluentBit(FluentBitConfigFor(a))
		if err != nil {
			return nil, err
		}
		r.Chart, r.ConfigFile, r.Config = FluentBitChart, FluentBitConfigFile, text
		r.Values = FluentBitValuesFor(a, r.ConfigMapName, IngestTokenSecretName, checksum(text))
		r.MetricsPortName, r.MetricsPort, r.MetricsPath = "http", FluentBitMetricsPort, FluentBitMetricsPath
	case Fluentd:
		text := RenderFluentd(FluentdConfigFor(a))
		r.Chart, r.ConfigFile, r.Config = FluentdChart, FluentdConfigFile, text
		r.Values = FluentdValuesFor(a, r.ConfigMapName, IngestTokenSecretName, checksum(text))
		r.MetricsPortName, r.MetricsPort, r.MetricsPath = "metrics", FluentdMetricsPort, FluentdMetricsPath
	}
	return r, nil
}

func checksum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Logging is the log pipeline.
type Logging struct {
	pulumi.ResourceState

	// Agent is FluentBit or Fluentd.
	Agent string
	// Namespace the agent runs in.
	Namespace pulumi.StringOutput
	// ConfigMapName holds the generated agent configuration.
	ConfigMapName pulumi.StringOutput
	// IngestTokenSecretName is the Secret holding the ingest token.
	IngestTokenSecretName pulumi.StringOutput
	// MetricsPath is scraped by the ServiceMonitor.
	MetricsPath string
	// BufferMiB is the disk buffer per node.
	BufferMiB int
}

// NewLogging deploys the log agent as a DaemonSet onto the cluster of the
// Kubernetes provider given in opts.
func NewLogging(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Logging, error) {
	r, err := Render(args)
	if args.IngestToken == nil {
		err = errors.Join(err, errors.New("IngestToken is required"))
	}
	l := &Logging{}
	if err := contract.Register(ctx, typeToken, name, err, l, opts...); err != nil {
		return nil, err
	}
	a := r.Args
	l.Agent, l.MetricsPath, l.BufferMiB = a.Agent, r.MetricsPath, a.BufferMiB
	parent := pulumi.Parent(l)

	ns, err := namespace.New(ctx, name, &namespace.Args{
		Name:              a.Namespace,
		PodSecurity:       namespace.Privileged,
		PodSecurityReason: podSecurityReason,
	}, parent)
	if err != nil {
		return nil, err
	}
	l.Namespace = ns.Name
	labels := pulumi.StringMap{
		"app.kubernetes.io/part-of":    pulumi.String("platform"),
		"app.kubernetes.io/component":  pulumi.String("logging"),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}

	// The token exists only here: a Pulumi secret in state, a Kubernetes
	// Secret in the cluster, an environment variable in the pod.
	secret, err := corev1.NewSecret(ctx, name+"-ingest-token", &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(IngestTokenSecretName), Namespace: ns.Name, Labels: labels},
		Type:     pulumi.String("Opaque"),
		StringData: pulumi.StringMap{
			DefaultIngestTokenSecretKey: pulumi.ToSecret(args.IngestToken).(pulumi.StringOutput),
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	l.IngestTokenSecretName = secret.Metadata.Name().Elem()

	config, err := corev1.NewConfigMap(ctx, name+"-config", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(r.ConfigMapName), Namespace: ns.Name, Labels: labels},
		Data:     pulumi.StringMap{r.ConfigFile: pulumi.String(r.Config)},
	}, parent)
	if err != nil {
		return nil, err
	}
	l.ConfigMapName = config.Metadata.Name().Elem()

	agentPods := &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(a.Agent)}}
	tcp := func(port int) networkingv1.NetworkPolicyPortInput {
		return &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(port)}
	}
	_, logScalePort, _ := ParseLogScaleURL(a.LogScaleURL)
	// LogScale is outside the cluster (its addresses change): egress to it
	// is open by port; the API server by the platform's one rule.
	egress, err := networkingv1.NewNetworkPolicy(ctx, name+"-allow-egress", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("allow-logscale-and-apiserver"), Namespace: ns.Name, Labels: labels},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: agentPods,
			PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
			Egress: networkingv1.NetworkPolicyEgressRuleArray{
				&networkingv1.NetworkPolicyEgressRuleArgs{Ports: networkingv1.NetworkPolicyPortArray{tcp(logScalePort)}},
				a.APIServer.EgressRule(),
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	scrape, err := networkingv1.NewNetworkPolicy(ctx, name+"-allow-scrape", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("allow-metrics-scrape"), Namespace: ns.Name, Labels: labels},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: agentPods,
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{
				From: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
					NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
						"kubernetes.io/metadata.name": pulumi.String(a.MonitoringNamespace),
					}},
				}},
				Ports: networkingv1.NetworkPolicyPortArray{tcp(r.MetricsPort)},
			}},
		},
	}, parent)
	if err != nil {
		return nil, err
	}

	release, err := helmrelease.New(ctx, r.ReleaseName, &helmrelease.Args{
		Chart:     r.Chart,
		Namespace: ns.Name,
		Values:    r.Values,
	}, parent, pulumi.DependsOn([]pulumi.Resource{secret, config, egress, scrape}))
	if err != nil {
		return nil, err
	}

	// Our own ServiceMonitor rather than the chart's: it must wait for the
	// Prometheus Operator CRDs, which the chart cannot depend on; without
	// monitoring the CRD does not exist, so neither does the ServiceMonitor.
	if a.Monitoring != nil {
		deps := append([]pulumi.Resource{release}, a.Monitoring.DependsOn...)
		if err := newServiceMonitor(ctx, name, a, r, ns, deps, parent); err != nil {
			return nil, err
		}
	}

	return contract.Finish(ctx, l, pulumi.Map{
		"agent":                 pulumi.String(l.Agent),
		"namespace":             l.Namespace,
		"configMapName":         l.ConfigMapName,
		"ingestTokenSecretName": l.IngestTokenSecretName,
		"metricsPath":           pulumi.String(l.MetricsPath),
		"bufferMiB":             pulumi.Int(l.BufferMiB),
	})
}

// newServiceMonitor declares the agent's ServiceMonitor after deps.
func newServiceMonitor(ctx *pulumi.Context, name string, a Args, r *Rendered, ns *namespace.Namespace, deps []pulumi.Resource, parent pulumi.ResourceOption) error {
	_, err := apiextensions.NewCustomResource(ctx, name+"-servicemonitor", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("monitoring.coreos.com/v1"),
		Kind:       pulumi.String("ServiceMonitor"),
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(a.Agent),
			Namespace: ns.Name,
			Labels: pulumi.StringMap{
				ServiceMonitorLabel:      pulumi.String("platform"),
				"app.kubernetes.io/name": pulumi.String(a.Agent),
			},
		},
		OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{
			"jobLabel": "app.kubernetes.io/name",
			"selector": map[string]any{"matchLabels": map[string]any{
				"app.kubernetes.io/name":     a.Agent,
				"app.kubernetes.io/instance": r.ReleaseName,
			}},
			"namespaceSelector": map[string]any{"matchNames": []any{a.Namespace}},
			"endpoints": []any{map[string]any{
				"port":          r.MetricsPortName,
				"path":          r.MetricsPath,
				"interval":      "30s",
				"scrapeTimeout": "10s",
				"relabelings": []any{map[string]any{
					"sourceLabels": []any{"__meta_kubernetes_pod_node_name"},
					"targetLabel":  "node",
					"action":       "replace",
				}},
			}},
		}},
	}, parent, pulumi.DependsOn(deps))
	return err
}
