package stacks

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/components/routing"
)

// logRetentionDays are the values CloudWatch Logs accepts for a log group's
// retention (0, never expire, is refused: every log group must expire).
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// privateRanges are the blocks a VPC may use without colliding with the
// internet: RFC 1918 and the shared address space AWS also allows.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// problems accumulates validation messages; each names the key, the value
// and what is allowed.
type problems []string

func (p *problems) add(key string, value any, allowed string, args ...any) {
	*p = append(*p, fmt.Sprintf("%s: %s is invalid: %s", key, show(value), fmt.Sprintf(allowed, args...)))
}

func show(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case []string:
		return fmt.Sprintf("[%s]", strings.Join(v, ", "))
	default:
		return fmt.Sprintf("%v", v)
	}
}

// validate checks a defaulted configuration and returns every problem.
func validate(c *Config) []string {
	var p problems
	if !slices.Contains(Environments, c.Environment) {
		p.add(Key("environment"), string(c.Environment), "must be one of dev, staging, prod, local")
		return p
	}
	if c.Domain != "" {
		validateDomain(&p, c.Domain)
	}
	for k := range c.Tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			p.add(Key("tags"), k, "tag keys starting with aws: are reserved by AWS")
		}
	}
	validateMonitoring(&p, c)
	validateRouting(&p, c)
	validateLogging(&p, c)
	validateSecrets(&p, c)
	if c.Environment == Prod {
		// The layers are on when configured; prod may not switch them off.
		if c.Monitoring.enabled != nil && !c.Monitoring.Enabled {
			p.add(monitoringField("enabled"), false, "prod always runs monitoring and alerting")
		}
		if c.Logging.key.Enabled != nil && !c.Logging.Enabled {
			p.add(loggingField("enabled"), false, "prod always ships its logs to LogScale")
		}
		if !c.HighAvailability {
			p.add(Key("highAvailability"), false, "prod always runs its controllers highly available (two replicas, PodDisruptionBudgets, zone spread), so a node roll or a zone loss keeps them up")
		}
	}
	if c.Environment == Local {
		if c.Local.KubeconfigContext == "" {
			p.add(Key("kubeconfigContext"), "", "is required when platform:environment is local (the kubeconfig context of the existing cluster)")
		}
		return p
	}
	validateNetwork(&p, c)
	validateCluster(&p, c)
	return p
}

func validateDomain(p *problems, domain string) {
	if err := routing.CheckDomain(domain); err != nil {
		p.add(Key("domain"), domain, "%v", err)
	}
}

func validateNetwork(p *problems, c *Config) {
	n := c.Network
	regionErr := network.CheckRegion(c.Region)
	if regionErr != nil {
		p.add("aws:region", c.Region, "%v", regionErr)
	}
	zones := n.AvailabilityZones
	minZones := 2 // EKS needs subnets in at least two AZs
	if c.Environment == Prod {
		minZones = 3
	}
	if len(zones) < minZones || len(zones) > maxZones {
		p.add(Key("availabilityZones"), zones, "%s needs between %d and %d availability zones, got %d", c.Environment, minZones, maxZones, len(zones))
	}
	seen := map[string]bool{}
	for i, z := range zones {
		key := fmt.Sprintf("%s[%d]", Key("availabilityZones"), i)
		region, err := network.ZoneRegion(z)
		switch {
		case err != nil:
			p.add(key, z, "%v", err)
		case regionErr == nil && region != c.Region:
			p.add(key, z, "must be in the stack's region %s", c.Region)
		}
		if seen[z] {
			p.add(key, z, "is listed twice; each availability zone once")
		}
		seen[z] = true
	}

	vpc, err := netip.ParsePrefix(n.VpcCIDR)
	vpcOK := err == nil && vpc.Addr().Is4() && vpc.Bits() >= 16 && vpc.Bits() <= 22 && vpc == vpc.Masked()
	if !vpcOK {
		p.add(Key("vpcCidr"), n.VpcCIDR, "must be an IPv4 network block between /16 and /22, such as 10.0.0.0/16")
	} else if !slices.ContainsFunc(privateRanges, func(r netip.Prefix) bool { return contains(r, vpc) }) {
		p.add(Key("vpcCidr"), n.VpcCIDR, "must lie in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10)")
	} else if svc := netip.MustParsePrefix(cluster.ServiceCIDR); vpc.Overlaps(svc) {
		p.add(Key("vpcCidr"), n.VpcCIDR, "must not overlap the cluster's Kubernetes service range %s", svc)
	}
	if vpcOK {
		validateSubnets(p, n, vpc)
	}

	if n.NatGateways != NatSingle && n.NatGateways != NatPerAZ {
		p.add(Key("natGateways"), n.NatGateways, "must be %q or %q", NatSingle, NatPerAZ)
	} else if c.Environment == Prod && n.NatGateways != NatPerAZ {
		p.add(Key("natGateways"), n.NatGateways, "prod must use %q so egress survives the loss of an availability zone", NatPerAZ)
	}
	validateRetention(p, Key("flowLogRetentionDays"), n.FlowLogRetentionDays)
}

func validateSubnets(p *problems, n NetworkConfig, vpc netip.Prefix) {
	if len(n.PrivateSubnetCIDRs) == 0 || len(n.PublicSubnetCIDRs) == 0 {
		if len(n.PrivateSubnetCIDRs)+len(n.PublicSubnetCIDRs) > 0 {
			p.add(Key("privateSubnetCidrs"), n.PrivateSubnetCIDRs, "set privateSubnetCidrs and publicSubnetCidrs together, or neither to derive both from vpcCidr")
		} else if len(n.AvailabilityZones) > 0 {
			p.add(Key("vpcCidr"), n.VpcCIDR, "too small to derive subnets for %d availability zones", len(n.AvailabilityZones))
		}
		return
	}
	type block struct {
		key    string
		prefix netip.Prefix
	}
	var blocks []block
	for _, tier := range []struct {
		name  string
		cidrs []string
	}{{"privateSubnetCidrs", n.PrivateSubnetCIDRs}, {"publicSubnetCidrs", n.PublicSubnetCIDRs}} {
		if len(tier.cidrs) != len(n.AvailabilityZones) {
			p.add(Key(tier.name), tier.cidrs, "needs one CIDR per availability zone (%d), got %d", len(n.AvailabilityZones), len(tier.cidrs))
		}
		for i, s := range tier.cidrs {
			key := fmt.Sprintf("%s[%d]", Key(tier.name), i)
			sub, err := netip.ParsePrefix(s)
			switch {
			case err != nil || !sub.Addr().Is4() || sub != sub.Masked():
				p.add(key, s, "must be an IPv4 network block such as 10.0.0.0/19")
				continue
			case !contains(vpc, sub):
				p.add(key, s, "must lie inside vpcCidr %s", vpc)
				continue
			case sub.Bits() > 28:
				p.add(key, s, "must be /28 or larger (AWS minimum subnet size)")
			}
			for _, b := range blocks {
				if overlaps(b.prefix, sub) {
					p.add(key, s, "overlaps %s (%s)", b.key, b.prefix)
				}
			}
			blocks = append(blocks, block{key, sub})
		}
	}
}

func validateRetention(p *problems, key string, days int) {
	if !slices.Contains(logRetentionDays, days) {
		p.add(key, days, "must be a CloudWatch Logs retention in days: %v", logRetentionDays)
	}
}

func validateCluster(p *problems, c *Config) {
	cl := c.Cluster
	if err := cluster.CheckName(cl.Name); err != nil {
		p.add(Key("clusterName"), cl.Name, "%v", err)
	}
	if _, ok := cluster.KubernetesVersions[cl.KubernetesVersion]; !ok {
		p.add(Key("kubernetesVersion"), cl.KubernetesVersion, "must be a version in EKS standard support: %s", strings.Join(cluster.SupportedKubernetesVersions(), ", "))
	}
	validateRetention(p, Key("clusterLogRetentionDays"), cl.LogRetentionDays)

	switch {
	case cl.EndpointPublicAccess && len(cl.PublicAccessCIDRs) == 0:
		p.add(Key("publicAccessCidrs"), cl.PublicAccessCIDRs, "the public endpoint is on (endpointPublicAccess: true), so list the CIDR blocks allowed to reach it")
	case !cl.EndpointPublicAccess && len(cl.PublicAccessCIDRs) > 0:
		p.add(Key("publicAccessCidrs"), cl.PublicAccessCIDRs, "only applies with endpointPublicAccess: true; remove it or turn the public endpoint on")
	}
	for i, s := range cl.PublicAccessCIDRs {
		key := fmt.Sprintf("%s[%d]", Key("publicAccessCidrs"), i)
		pre, err := netip.ParsePrefix(s)
		switch {
		case err != nil || !pre.Addr().Is4() || pre != pre.Masked():
			p.add(key, s, "must be an IPv4 network block such as 203.0.113.0/24")
		case pre.Bits() == 0 && c.Environment == Prod:
			p.add(key, s, "prod never opens the public API endpoint to the whole internet; list your CI and operator egress blocks, or turn the public endpoint off")
		}
	}

	seen := map[string]string{}
	for _, list := range []struct {
		name string
		arns []string
	}{{"adminRoleArns", cl.AdminRoleARNs}, {"viewerRoleArns", cl.ViewerRoleARNs}} {
		for i, arn := range list.arns {
			key := fmt.Sprintf("%s[%d]", Key(list.name), i)
			if err := cluster.CheckRoleARN(arn); err != nil {
				p.add(key, arn, "%v", err)
			}
			if prev, ok := seen[arn]; ok {
				p.add(key, arn, "is already listed in %s; a role is either an admin or a viewer, once", prev)
			}
			seen[arn] = Key(list.name)
		}
	}
	if len(cl.AdminRoleARNs) == 0 {
		p.add(Key("adminRoleArns"), cl.AdminRoleARNs, "needs at least the IAM role that runs `pulumi up` (the CI deploy role, bootstrap output deployRoleArns): the cluster creator gets no implicit access entry, so the platform layer reaches the API through this list only")
	}
	validateNodes(p, c.Environment, cl.Nodes)
}

func validateNodes(p *problems, env Environment, n NodeConfig) {
	key := func(field string) string { return Key("nodes") + "." + field }
	if len(n.InstanceTypes) == 0 {
		p.add(key("instanceTypes"), n.InstanceTypes, "needs at least one instance type")
	}
	for i, t := range n.InstanceTypes {
		if err := cluster.CheckInstanceType(t); err != nil {
			p.add(fmt.Sprintf("%s[%d]", key("instanceTypes"), i), t, "%v", err)
		}
	}
	for _, t := range n.InstanceTypes {
		if len(n.InstanceTypes) > 0 && cluster.Architecture(t) != cluster.Architecture(n.InstanceTypes[0]) {
			p.add(key("instanceTypes"), n.InstanceTypes, "a node group needs one CPU architecture (x86_64 or arm64 Graviton), not both")
			break
		}
	}
	switch {
	case n.CapacityType != OnDemand && n.CapacityType != Spot:
		p.add(key("capacityType"), n.CapacityType, "must be %s or %s", OnDemand, Spot)
	case n.CapacityType == Spot && env != Dev:
		p.add(key("capacityType"), n.CapacityType, "spot capacity is allowed in dev only; %s uses %s", env, OnDemand)
	}
	minSize := 0
	if env == Prod {
		minSize = 1
	}
	if n.MinSize < minSize {
		p.add(key("minSize"), n.MinSize, "must be at least %d in %s", minSize, env)
	}
	sizeKey := func(s cluster.NodeSize) string {
		return map[cluster.NodeSize]string{cluster.MinSize: "minSize", cluster.DesiredSize: "desiredSize", cluster.MaxSize: "maxSize"}[s]
	}
	for _, sp := range cluster.CheckSizes(n.MinSize, n.DesiredSize, n.MaxSize, sizeKey) {
		p.add(key(sizeKey(sp.Size)), sp.Value, "%v", sp.Err)
	}
	if n.DiskSizeGiB < 20 || n.DiskSizeGiB > 16384 {
		p.add(key("diskSizeGiB"), n.DiskSizeGiB, "must be between 20 and 16384 GiB")
	}
	if n.MaxUnavailable < 1 || n.MaxUnavailable > 100 {
		p.add(key("maxUnavailable"), n.MaxUnavailable, "must be between 1 and 100")
	}
	for i, t := range n.Taints {
		taint := cluster.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect}
		if err := cluster.CheckTaint(taint); err != nil {
			p.add(fmt.Sprintf("%s[%d]", key("taints"), i), taint.String(), "%v", err)
		}
	}
	for l := range n.Labels {
		if l == "" || strings.HasPrefix(l, "kubernetes.io/") || strings.HasPrefix(l, "k8s.io/") {
			p.add(key("labels"), l, "label keys must be non-empty and outside the reserved kubernetes.io/ and k8s.io/ prefixes")
		}
	}
}
