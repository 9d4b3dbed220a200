package stacks

import (
	"fmt"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/routing"
)

// EnvironmentDefaults is what a stack file need not repeat: dev is cheap,
// staging is prod's shape at a smaller size, prod is fully highly
// available, local runs on a laptop's kind cluster. A default that is the
// same everywhere is a constant of the component that owns the field
// (cluster.DefaultDiskSizeGiB, monitoring.DefaultScrapeInterval, ...).
// The README's and docs' configuration tables are generated from this
// table (TestConfigurationReference, go test ./stacks -update).
type EnvironmentDefaults struct {
	// Network: NAT gateways and flow-log retention (days).
	NatGateways          string
	FlowLogRetentionDays int
	// Cluster: control-plane log retention (days) and the node groups.
	ClusterLogRetentionDays int
	Nodes                   NodeConfig
	// Logging: expected log volume per node (KiB/s) and the LogScale
	// outage the buffer rides out (minutes).
	LogRateKiBPerNode int
	LogOutageMinutes  int
	// Monitoring: replicas, Prometheus volume, active series sized for,
	// retention and StorageClass ("" the cluster's default).
	PrometheusReplicas   int
	AlertmanagerReplicas int
	PrometheusVolumeGiB  int
	ExpectedActiveSeries int
	Retention            string
	StorageClass         string
	// HighAvailability: controllers with two replicas, PodDisruptionBudgets
	// and zone spread (Config.HighAvailability).
	HighAvailability bool
	// Routing: gateway proxies, NLB access-log retention (days), TLS mode,
	// external-dns policy and the port controllers reach the API server on.
	ProxyReplicas          int
	AccessLogRetentionDays int
	TLSMode                string
	ExternalDNSPolicy      string
	APIServerPort          int
}

// Defaults is the one table of per-environment defaults.
var Defaults = map[Environment]EnvironmentDefaults{
	Dev: {
		NatGateways:             NatSingle,
		FlowLogRetentionDays:    7,
		ClusterLogRetentionDays: 7,
		Nodes: NodeConfig{
			// Two instance types of the same size so spot capacity can be found.
			InstanceTypes: []string{"t3.medium", "t3a.medium"},
			CapacityType:  Spot,
			MinSize:       1, DesiredSize: 1, MaxSize: 2,
		},
		LogRateKiBPerNode: 128, LogOutageMinutes: 30,
		PrometheusReplicas: 1, AlertmanagerReplicas: 1, PrometheusVolumeGiB: 10, ExpectedActiveSeries: 200000,
		Retention: "3d", StorageClass: "gp3",
		ProxyReplicas: 1, AccessLogRetentionDays: 7, TLSMode: routing.TLSACME,
		ExternalDNSPolicy: routing.DNSPolicySync, APIServerPort: namespace.APIServerPort,
	},
	Staging: {
		// Staging has prod's shape, so it gets prod's controller HA too.
		HighAvailability:        true,
		NatGateways:             NatPerAZ,
		FlowLogRetentionDays:    30,
		ClusterLogRetentionDays: 30,
		Nodes: NodeConfig{
			InstanceTypes: []string{cluster.DefaultInstanceType},
			CapacityType:  OnDemand,
			MinSize:       1, DesiredSize: 1, MaxSize: 3,
		},
		LogRateKiBPerNode: 256, LogOutageMinutes: 60,
		PrometheusReplicas: 2, AlertmanagerReplicas: 3, PrometheusVolumeGiB: 30, ExpectedActiveSeries: 500000,
		Retention: "7d", StorageClass: "gp3",
		ProxyReplicas: 2, AccessLogRetentionDays: 30, TLSMode: routing.TLSACME,
		ExternalDNSPolicy: routing.DNSPolicySync, APIServerPort: namespace.APIServerPort,
	},
	Prod: {
		HighAvailability:     true,
		NatGateways:          NatPerAZ,
		FlowLogRetentionDays: 90,
		// Control-plane logs include the audit log: keep a year.
		ClusterLogRetentionDays: 365,
		Nodes: NodeConfig{
			InstanceTypes: []string{cluster.DefaultInstanceType},
			CapacityType:  OnDemand,
			// Two nodes per AZ: draining one node never empties a zone.
			MinSize: 2, DesiredSize: 2, MaxSize: 6,
		},
		// 0.5 MB/s per busy node for two hours: ~3.5 GiB of a 50 GiB node disk.
		LogRateKiBPerNode: 512, LogOutageMinutes: 120,
		PrometheusReplicas: 2, AlertmanagerReplicas: 3, PrometheusVolumeGiB: 100, ExpectedActiveSeries: 1000000,
		Retention: "15d", StorageClass: "gp3",
		// One proxy per AZ; upsert-only: prod's external-dns never deletes a record.
		ProxyReplicas: 3, AccessLogRetentionDays: 90, TLSMode: routing.TLSACME,
		ExternalDNSPolicy: routing.DNSPolicyUpsertOnly, APIServerPort: namespace.APIServerPort,
	},
	// local: an existing cluster (kind); no network, cluster or AWS side.
	Local: {
		LogRateKiBPerNode: 64, LogOutageMinutes: 15,
		PrometheusReplicas: 1, AlertmanagerReplicas: 1, PrometheusVolumeGiB: 5, ExpectedActiveSeries: 100000,
		Retention: "1d", StorageClass: "",
		ProxyReplicas: 1, TLSMode: routing.TLSSelfSigned,
		// No external-dns runs in local; the policy is only a value.
		ExternalDNSPolicy: routing.DNSPolicySync,
		// kind's API server listens on 6443.
		APIServerPort: 6443,
	},
}

// DefaultVpcCIDR is the VPC block of every environment unless set.
const DefaultVpcCIDR = "10.0.0.0/16"

// applyDefaults fills what the stack file left out. It never overrides a
// value that was set, so validation sees exactly what the user wrote.
func applyDefaults(c *Config) {
	c.Protect = c.Environment == Prod
	c.HighAvailability = valueOr(c.highAvailability, Defaults[c.Environment].HighAvailability)
	defaultMonitoring(c)
	defaultRouting(c)
	defaultLogging(c)
	if c.Environment == Local {
		return
	}
	d, ok := Defaults[c.Environment]
	if !ok {
		return // unknown environment: reported by validate
	}
	n := &c.Network
	if n.VpcCIDR == "" {
		n.VpcCIDR = DefaultVpcCIDR
	}
	if len(n.PrivateSubnetCIDRs) == 0 && len(n.PublicSubnetCIDRs) == 0 {
		if priv, pub, err := SplitVPC(n.VpcCIDR, len(n.AvailabilityZones)); err == nil {
			n.PrivateSubnetCIDRs, n.PublicSubnetCIDRs = priv, pub
		}
	}
	if n.NatGateways == "" {
		n.NatGateways = d.NatGateways
	}
	if n.FlowLogRetentionDays == 0 {
		n.FlowLogRetentionDays = d.FlowLogRetentionDays
	}

	cl := &c.Cluster
	if cl.Name == "" {
		cl.Name = fmt.Sprintf("platform-%s", c.Environment)
	}
	if cl.KubernetesVersion == "" {
		cl.KubernetesVersion = cluster.DefaultKubernetesVersion
	}
	if cl.LogRetentionDays == 0 {
		cl.LogRetentionDays = d.ClusterLogRetentionDays
	}
	nodes := &cl.Nodes
	if len(nodes.InstanceTypes) == 0 {
		nodes.InstanceTypes = d.Nodes.InstanceTypes
	}
	if nodes.CapacityType == "" {
		nodes.CapacityType = d.Nodes.CapacityType
	}
	sizesUnset := nodes.MinSize == 0 && nodes.DesiredSize == 0 && nodes.MaxSize == 0
	if sizesUnset {
		nodes.MinSize, nodes.DesiredSize, nodes.MaxSize = d.Nodes.MinSize, d.Nodes.DesiredSize, d.Nodes.MaxSize
	} else if nodes.DesiredSize == 0 {
		nodes.DesiredSize = nodes.MinSize
	}
	if nodes.DiskSizeGiB == 0 {
		nodes.DiskSizeGiB = cluster.DefaultDiskSizeGiB
	}
	if nodes.MaxUnavailable == 0 {
		nodes.MaxUnavailable = cluster.DefaultMaxUnavailable
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
