package stacks

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/monitoring"
	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/components/routing"
)

// pulumiSource reads configuration from the running Pulumi program.
type pulumiSource struct{ ctx *pulumi.Context }

func (s pulumiSource) Get(key string) (string, bool) { return s.ctx.GetConfig(key) }

func (s pulumiSource) IsSecret(key string) bool { return s.ctx.IsConfigSecret(key) }

// Platform is what an environment is made of; later layers (routing,
// monitoring, logging) deploy onto Provider.
type Platform struct {
	Config *Config
	// Network and Cluster are nil in the local environment.
	Network *network.Network
	Cluster *cluster.Cluster
	// Provider deploys Kubernetes objects onto the environment's cluster.
	Provider *kubernetes.Provider
	// The platform layer, deployed in this order: monitoring first, since it
	// installs the Prometheus Operator CRDs the others' ServiceMonitors use.
	Monitoring *monitoring.Monitoring
	Routing    *routing.Routing
	Logging    *logging.Logging
}

// Run is the program main.go runs: it loads and validates the stack's
// configuration (registering nothing when it is invalid), then builds the
// environment and exports its outputs.
func Run(ctx *pulumi.Context) error {
	cfg, err := Load(pulumiSource{ctx})
	if err != nil {
		return err
	}
	for _, n := range cfg.Notices {
		_ = ctx.Log.Warn(n, nil)
	}
	p, err := Deploy(ctx, cfg)
	if err != nil {
		return err
	}
	ctx.Export("environment", pulumi.String(string(cfg.Environment)))
	if p.Cluster == nil {
		ctx.Export("kubeconfigContext", pulumi.String(cfg.Local.KubeconfigContext))
		return nil
	}
	ctx.Export("vpcId", p.Network.VpcID)
	ctx.Export("publicSubnetIds", p.Network.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", p.Network.PrivateSubnetIDs)
	ctx.Export("natGatewayIds", p.Network.NatGatewayIDs)
	ctx.Export("clusterName", p.Cluster.Name)
	ctx.Export("clusterEndpoint", p.Cluster.Endpoint)
	ctx.Export("kubeconfig", p.Cluster.Kubeconfig)
	ctx.Export("oidcIssuerUrl", p.Cluster.OIDCIssuerURL)
	ctx.Export("oidcProviderArn", p.Cluster.OIDCProviderARN)
	ctx.Export("nodeRoleArn", p.Cluster.NodeRoleARN)
	return nil
}

// Deploy builds an environment from a validated configuration.
func Deploy(ctx *pulumi.Context, cfg *Config) (*Platform, error) {
	p := &Platform{Config: cfg}
	if cfg.Environment == Local {
		args := &kubernetes.ProviderArgs{Context: pulumi.String(cfg.Local.KubeconfigContext)}
		if cfg.Local.KubeconfigPath != "" {
			args.Kubeconfig = pulumi.String(cfg.Local.KubeconfigPath)
		}
		prov, err := kubernetes.NewProvider(ctx, "local", args)
		if err != nil {
			return nil, err
		}
		p.Provider = prov
		return p, deployPlatformLayer(ctx, cfg, p)
	}

	n := cfg.Network
	n.ClusterName, n.Tags, n.Protect = cfg.Cluster.Name, cfg.Tags, cfg.Protect
	net, err := network.NewNetwork(ctx, cfg.Cluster.Name, &n)
	if err != nil {
		return nil, err
	}
	p.Network = net

	var subnets []cluster.ZoneSubnet
	for _, s := range net.PrivateSubnets {
		subnets = append(subnets, cluster.ZoneSubnet{Zone: s.Zone, ID: s.ID})
	}
	cl := cfg.Cluster
	var taints []cluster.Taint
	for _, t := range cl.Nodes.Taints {
		taints = append(taints, cluster.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
	}
	p.Cluster, err = cluster.NewCluster(ctx, cl.Name, &cluster.Args{
		Name:                 cl.Name,
		KubernetesVersion:    cl.KubernetesVersion,
		Region:               cfg.Region,
		Subnets:              subnets,
		EndpointPublicAccess: cl.EndpointPublicAccess,
		PublicAccessCIDRs:    cl.PublicAccessCIDRs,
		AdminRoleARNs:        cl.AdminRoleARNs,
		ViewerRoleARNs:       cl.ViewerRoleARNs,
		LogRetentionDays:     cl.LogRetentionDays,
		Nodes: cluster.NodeArgs{
			InstanceTypes:  cl.Nodes.InstanceTypes,
			CapacityType:   cl.Nodes.CapacityType,
			MinSize:        cl.Nodes.MinSize,
			DesiredSize:    cl.Nodes.DesiredSize,
			MaxSize:        cl.Nodes.MaxSize,
			DiskSizeGiB:    cl.Nodes.DiskSizeGiB,
			MaxUnavailable: cl.Nodes.MaxUnavailable,
			Labels:         cl.Nodes.Labels,
			Taints:         taints,
		},
		// The nodes need their subnet's route out: the association and
		// the NAT route.
		DependsOn: append(append([]pulumi.Resource{}, net.EgressRoutes...), net.PrivateRouteTableAssociations...),
		Tags:      cfg.Tags,
		Protect:   cfg.Protect,
	})
	if err != nil {
		return nil, err
	}
	p.Provider = p.Cluster.Provider
	return p, deployPlatformLayer(ctx, cfg, p)
}

// deployPlatformLayer deploys what runs on the cluster, in dependency order.
func deployPlatformLayer(ctx *pulumi.Context, cfg *Config, p *Platform) error {
	for _, deploy := range []func(*pulumi.Context, *Config, *Platform) error{
		deployMonitoring, deployRouting, deployLogging,
	} {
		if err := deploy(ctx, cfg, p); err != nil {
			return err
		}
	}
	return nil
}
