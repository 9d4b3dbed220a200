package stacks

import (
	"fmt"

	"github.com/cnplatform/platform/components/cluster"
)

// envDefaults is what a stack file need not repeat: dev is cheap, staging is
// prod's shape at a smaller size, prod is fully highly available.
type envDefaults struct {
	natGateways          string
	flowLogRetentionDays int
	clusterLogRetention  int
	nodes                NodeConfig
}

var defaultsByEnvironment = map[Environment]envDefaults{
	Dev: {
		natGateways:          NatSingle,
		flowLogRetentionDays: 7,
		clusterLogRetention:  7,
		nodes: NodeConfig{
			// Two instance types of the same size so spot capacity can be found.
			InstanceTypes: []string{"t3.medium", "t3a.medium"},
			CapacityType:  Spot,
			MinSize:       1, DesiredSize: 1, MaxSize: 2,
		},
	},
	Staging: {
		natGateways:          NatPerAZ,
		flowLogRetentionDays: 30,
		clusterLogRetention:  30,
		nodes: NodeConfig{
			InstanceTypes: []string{"m5.large"},
			CapacityType:  OnDemand,
			MinSize:       1, DesiredSize: 1, MaxSize: 3,
		},
	},
	Prod: {
		natGateways:          NatPerAZ,
		flowLogRetentionDays: 90,
		// Control-plane logs include the audit log: keep a year.
		clusterLogRetention: 365,
		nodes: NodeConfig{
			InstanceTypes: []string{"m5.large"},
			CapacityType:  OnDemand,
			// Two nodes per AZ: draining one node never empties a zone.
			MinSize: 2, DesiredSize: 2, MaxSize: 6,
		},
	},
}

const (
	defaultVpcCIDR        = "10.0.0.0/16"
	defaultDiskSizeGiB    = 50
	defaultMaxUnavailable = 1
)

// applyDefaults fills what the stack file left out. It never overrides a
// value that was set, so validation sees exactly what the user wrote.
func applyDefaults(c *Config) {
	c.Protect = c.Environment == Prod
	defaultMonitoring(c)
	defaultRouting(c)
	defaultLogging(c)
	if c.Environment == Local {
		return
	}
	d, ok := defaultsByEnvironment[c.Environment]
	if !ok {
		return // unknown environment: reported by validate
	}
	n := &c.Network
	if n.VpcCIDR == "" {
		n.VpcCIDR = defaultVpcCIDR
	}
	if len(n.PrivateSubnetCIDRs) == 0 && len(n.PublicSubnetCIDRs) == 0 {
		if priv, pub, err := SplitVPC(n.VpcCIDR, len(n.AvailabilityZones)); err == nil {
			n.PrivateSubnetCIDRs, n.PublicSubnetCIDRs = priv, pub
		}
	}
	if n.NatGateways == "" {
		n.NatGateways = d.natGateways
	}
	if n.FlowLogRetentionDays == 0 {
		n.FlowLogRetentionDays = d.flowLogRetentionDays
	}

	cl := &c.Cluster
	if cl.Name == "" {
		cl.Name = fmt.Sprintf("platform-%s", c.Environment)
	}
	if cl.KubernetesVersion == "" {
		cl.KubernetesVersion = cluster.DefaultKubernetesVersion
	}
	if cl.LogRetentionDays == 0 {
		cl.LogRetentionDays = d.clusterLogRetention
	}
	nodes := &cl.Nodes
	if len(nodes.InstanceTypes) == 0 {
		nodes.InstanceTypes = d.nodes.InstanceTypes
	}
	if nodes.CapacityType == "" {
		nodes.CapacityType = d.nodes.CapacityType
	}
	sizesUnset := nodes.MinSize == 0 && nodes.DesiredSize == 0 && nodes.MaxSize == 0
	if sizesUnset {
		nodes.MinSize, nodes.DesiredSize, nodes.MaxSize = d.nodes.MinSize, d.nodes.DesiredSize, d.nodes.MaxSize
	} else if nodes.DesiredSize == 0 {
		nodes.DesiredSize = nodes.MinSize
	}
	if nodes.DiskSizeGiB == 0 {
		nodes.DiskSizeGiB = defaultDiskSizeGiB
	}
	if nodes.MaxUnavailable == 0 {
		nodes.MaxUnavailable = defaultMaxUnavailable
	}

	tags := map[string]string{
		"Project":     "platform",
		"Environment": string(c.Environment),
		"ManagedBy":   "pulumi",
	}
	for k, v := range c.Tags {
		tags[k] = v
	}
	c.Tags = tags
}
