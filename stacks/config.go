package stacks

import (
	"fmt"
	"strings"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/network"
)

// Namespace is the Pulumi config namespace of this project: every key is
// written `platform:<name>` in the stack files.
const Namespace = "platform"

// Environment names one of the supported kinds of stack.
type Environment string

// The environments a stack can be. `local` deploys only the platform layer onto
// an existing cluster (kind, minikube, or any cluster reachable by kubeconfig).
const (
	Dev     Environment = "dev"
	Staging Environment = "staging"
	Prod    Environment = "prod"
	Local   Environment = "local"
)

// Environments lists the allowed values of platform:environment.
var Environments = []Environment{Dev, Staging, Prod, Local}

// NAT gateway strategies (network.NatSingle, network.NatPerAZ).
const (
	NatSingle = network.NatSingle
	NatPerAZ  = network.NatPerAZ
)

// Capacity types of managed node groups (cluster.OnDemand, cluster.Spot).
const (
	OnDemand = cluster.OnDemand
	Spot     = cluster.Spot
)

// Config is the whole typed configuration of one stack. It is read once from
// Pulumi config by Load, completed with the environment's defaults and checked
// by Validate before any resource is registered.
type Config struct {
	Environment Environment
	// Region is `aws:region` (the AWS provider's own key).
	Region string
	// Tags are added to every AWS resource that takes tags (`platform:tags`).
	Tags map[string]string

	Network NetworkConfig
	Cluster ClusterConfig
	Local   LocalConfig
	// Monitoring, Routing and Logging configure the platform layer.
	Monitoring MonitoringConfig
	Routing    RoutingConfig
	Logging    LoggingConfig
	// Charts: where Helm charts come from (`platform:charts`, stacks/charts.go).
	Charts ChartsConfig
	// Domain is the environment's public DNS domain (`platform:domain`),
	// used by the routing layer. Optional until routing is deployed.
	Domain string
	// Protect marks stateful and costly resources with Pulumi's protect
	// option. It is on in prod and cannot be configured.
	Protect bool
	// HighAvailability (`platform:highAvailability`) gives the platform's
	// controllers that allow it two replicas, PodDisruptionBudgets and zone
	// spread, and spreads Prometheus and Alertmanager over zones in local
	// too (the cloud always spreads them). Default per environment
	// (Defaults): on in staging and prod, where prod refuses false; in
	// local it needs nodes labelled topology.kubernetes.io/zone, and with
	// the prod replica counts it rehearses a node roll at prod's shape
	// (docs/operations.md, "Node rolls").
	HighAvailability bool
	// Notices are what the defaults decided that a user should hear about
	// (Run logs them as warnings), e.g. a layer waiting for its secret.
	Notices []string

	// highAvailability is `platform:highAvailability` as written (nil: unset).
	highAvailability *bool

	// missingSecrets are the commands that set the required secrets Load
	// found unset (ValidationError lists them).
	missingSecrets []string
}

// NetworkConfig is the network component's Args: the stack file sets the
// VPC layout, each field from its key, and Deploy fills ClusterName, Tags
// and Protect from the rest of the configuration.
//
//   - AvailabilityZones `platform:availabilityZones`: the AZs the VPC and
//     the node groups span, listed so previews are deterministic.
//   - VpcCIDR `platform:vpcCidr`, default DefaultVpcCIDR.
//   - PrivateSubnetCIDRs `platform:privateSubnetCidrs`: one per AZ; default:
//     the VPC split in eighths, the first N eighths (a /19 for a /16 VPC).
//   - PublicSubnetCIDRs `platform:publicSubnetCidrs`: one per AZ; default:
//     the last eighth of the VPC split in eighths again (a /22 for a /16).
//   - NatGateways `platform:natGateways` (required perAz in prod) and
//     FlowLogRetentionDays `platform:flowLogRetentionDays`: default per
//     environment (Defaults).
type NetworkConfig = network.Args

// ClusterConfig is the EKS cluster and its nodes.
type ClusterConfig struct {
	// Name (`platform:clusterName`), default platform-<environment>.
	Name string
	// KubernetesVersion (`platform:kubernetesVersion`): one of
	// SupportedKubernetesVersions, default DefaultKubernetesVersion.
	KubernetesVersion string
	// LogRetentionDays (`platform:clusterLogRetentionDays`) of the control-plane
	// log group (audit logs included): default per environment (Defaults).
	LogRetentionDays int
	// EndpointPublicAccess (`platform:endpointPublicAccess`), default false. The
	// private endpoint is always on.
	EndpointPublicAccess bool
	// PublicAccessCIDRs (`platform:publicAccessCidrs`): required when the public
	// endpoint is on; 0.0.0.0/0 is refused in prod.
	PublicAccessCIDRs []string
	// AdminRoleARNs (`platform:adminRoleArns`): IAM roles given cluster-admin
	// through EKS access entries. Required in prod.
	AdminRoleARNs []string
	// ViewerRoleARNs (`platform:viewerRoleArns`): IAM roles given read-only
	// access (AmazonEKSViewPolicy), e.g. the CI role that runs `pulumi
	// preview` on pull requests. Never an admin: any branch can assume it.
	ViewerRoleARNs []string
	// Nodes (`platform:nodes`): the managed node group of each AZ.
	Nodes NodeConfig
}

// NodeConfig describes each per-AZ managed node group. Sizes are per AZ.
type NodeConfig struct {
	// InstanceTypes: default per environment (Defaults).
	InstanceTypes []string `json:"instanceTypes,omitempty"`
	// CapacityType: ON_DEMAND or SPOT (dev only); default per environment
	// (Defaults).
	CapacityType string `json:"capacityType,omitempty"`
	// MinSize, DesiredSize, MaxSize per AZ: default per environment
	// (Defaults).
	MinSize     int `json:"minSize,omitempty"`
	DesiredSize int `json:"desiredSize,omitempty"`
	MaxSize     int `json:"maxSize,omitempty"`
	// DiskSizeGiB of the encrypted gp3 root volume, default
	// cluster.DefaultDiskSizeGiB.
	DiskSizeGiB int `json:"diskSizeGiB,omitempty"`
	// MaxUnavailable nodes per group during an update, default
	// cluster.DefaultMaxUnavailable.
	MaxUnavailable int `json:"maxUnavailable,omitempty"`
	// Labels added to every node.
	Labels map[string]string `json:"labels,omitempty"`
	// Taints added to every node.
	Taints []Taint `json:"taints,omitempty"`
}

// Taint is a Kubernetes node taint. Effect is one of NoSchedule,
// PreferNoSchedule, NoExecute.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// LocalConfig is used by the `local` environment only.
type LocalConfig struct {
	// KubeconfigContext (`platform:kubeconfigContext`): required in local.
	KubeconfigContext string
	// KubeconfigPath (`platform:kubeconfigPath`): default: the Kubernetes
	// provider's own lookup ($KUBECONFIG, then ~/.kube/config).
	KubeconfigPath string
}

// Load reads the stack's configuration from src, applies the environment's
// defaults and validates the result. It returns every problem at once as a
// *ValidationError.
func Load(src Source) (*Config, error) {
	r := newReader(src)
	c := &Config{}
	loadAll(r, c)

	applyDefaults(c)
	problems := append(r.problems, validate(c)...)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems, SecretCommands: c.missingSecrets}
	}
	return c, nil
}

// loadAll reads every key into c. It reads all keys whatever the
// environment, so KnownKeys can list them.
func loadAll(r *reader, c *Config) {
	var env string
	r.str("environment", &env)
	c.Environment = Environment(env)
	if v, ok := r.src.Get("aws:region"); ok {
		c.Region = strings.TrimSpace(v)
	}
	r.object("tags", &c.Tags, "must be a map of strings")
	r.object("availabilityZones", &c.Network.AvailabilityZones, "must be a list of availability zone names")
	r.str("vpcCidr", &c.Network.VpcCIDR)
	r.object("privateSubnetCidrs", &c.Network.PrivateSubnetCIDRs, "must be a list of CIDR blocks")
	r.object("publicSubnetCidrs", &c.Network.PublicSubnetCIDRs, "must be a list of CIDR blocks")
	r.str("natGateways", &c.Network.NatGateways)
	r.integer("flowLogRetentionDays", &c.Network.FlowLogRetentionDays)
	r.str("clusterName", &c.Cluster.Name)
	r.str("kubernetesVersion", &c.Cluster.KubernetesVersion)
	r.integer("clusterLogRetentionDays", &c.Cluster.LogRetentionDays)
	r.boolean("endpointPublicAccess", &c.Cluster.EndpointPublicAccess)
	r.object("publicAccessCidrs", &c.Cluster.PublicAccessCIDRs, "must be a list of CIDR blocks")
	r.object("adminRoleArns", &c.Cluster.AdminRoleARNs, "must be a list of IAM role ARNs")
	r.object("viewerRoleArns", &c.Cluster.ViewerRoleARNs, "must be a list of IAM role ARNs")
	r.object("nodes", &c.Cluster.Nodes, "must be an object with instanceTypes, capacityType, minSize, desiredSize, maxSize, diskSizeGiB, maxUnavailable, labels, taints")
	r.str("domain", &c.Domain)
	parseInto(r, "highAvailability", &c.highAvailability, parseBoolPtr, "must be true or false")
	r.str("kubeconfigContext", &c.Local.KubeconfigContext)
	r.str("kubeconfigPath", &c.Local.KubeconfigPath)
	reportMovedKeys(r)
	loadMonitoring(r, c)
	loadRouting(r, c)
	loadLogging(r, c)
	loadCharts(r, c)
}

// ValidationError lists every problem found in a stack's configuration.
type ValidationError struct {
	Problems []string
	// SecretCommands set the required secrets that are missing, one
	// `pulumi config set --secret` command each (also named in Problems).
	SecretCommands []string
}

func (e *ValidationError) Error() string {
	msg := fmt.Sprintf("invalid stack configuration (%d problems):\n  - %s", len(e.Problems), strings.Join(e.Problems, "\n  - "))
	if len(e.SecretCommands) > 0 {
		msg += "\nSet the missing secrets (stored encrypted in the stack file by the stack's secrets provider):\n  " + strings.Join(e.SecretCommands, "\n  ")
	}
	return msg
}

// APIServer is the environment's one rule for reaching the Kubernetes API
// (namespace.APIServer), used by every layer's network policies: on EKS the
// `kubernetes` Service address of the cluster's service range and the VPC;
// in local, any address on 443 and the API server's port.
func (c *Config) APIServer() *namespace.APIServer {
	if c.Environment == Local {
		a := namespace.AnyAPIServer(c.Routing.APIServerPort)
		return &a
	}
	a, err := namespace.EKSAPIServer(cluster.ServiceCIDR, c.Network.VpcCIDR)
	if err != nil {
		panic(err) // cluster.ServiceCIDR is a constant network address
	}
	return &a
}
