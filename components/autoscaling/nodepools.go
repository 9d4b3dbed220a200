package autoscaling

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/namespace"
)

// Capacity types and architectures a pool may launch (the values of the
// karpenter.sh/capacity-type and kubernetes.io/arch requirements).
const (
	OnDemand = "on-demand"
	Spot     = "spot"
	ARM64    = "arm64"
	AMD64    = "amd64"
)

// Consolidation policies (NodePool spec.disruption.consolidationPolicy).
const (
	WhenEmpty                = "WhenEmpty"
	WhenEmptyOrUnderutilized = "WhenEmptyOrUnderutilized"
)

// Defaults of Pool.
const (
	// DefaultMinInstanceGeneration: types of generation 6 and newer
	// (instance-generation Gt 5: Graviton2 and later, Ice Lake and Milan
	// and later), all on Nitro.
	DefaultMinInstanceGeneration = 5
	DefaultConsolidationPolicy   = WhenEmptyOrUnderutilized
	// DefaultConsolidateAfter: how long a node must have been empty or
	// underused before it is consolidated; a minute rides out a rollout's
	// churn without keeping idle nodes for long.
	DefaultConsolidateAfter = "1m"
	// DefaultExpireAfter: every node is replaced within 14 days, so nodes
	// run an AMI at most two weeks older than the pin (AMI freshness).
	DefaultExpireAfter = "336h"
	// DefaultBudgetNodes: at most this share of a pool's nodes is being
	// disrupted at once (Karpenter's own default).
	DefaultBudgetNodes = "10%"
)

// Pool is one Karpenter NodePool.
type Pool struct {
	// Name of the NodePool (a DNS label). Required.
	Name string
	// CapacityTypes it may launch: on-demand and spot. Required.
	CapacityTypes []string
	// Architectures it may launch: arm64 (Graviton) and amd64. Karpenter
	// launches the cheapest type that fits the pending pods, so with both
	// it takes Graviton first wherever it is cheaper. Every image that runs
	// on the pool must be multi-architecture. Required.
	Architectures []string
	// InstanceCategories (karpenter.k8s.aws/instance-category): c, m, r...
	// A broad list gives spot depth. Required.
	InstanceCategories []string
	// MinInstanceGeneration: only types of a newer generation. Default
	// [DefaultMinInstanceGeneration].
	MinInstanceGeneration int
	// Labels on every node of the pool. Default none.
	Labels map[string]string
	// Taints on every node of the pool (Kubernetes spelling of the effect).
	// Default none.
	Taints []Taint
	// CPULimit and MemoryLimit: the most the pool launches in total, as
	// Kubernetes quantities ("64", "256Gi"). Required: a pool without
	// limits scales with any runaway workload.
	CPULimit, MemoryLimit string
	// ConsolidationPolicy: WhenEmpty or WhenEmptyOrUnderutilized. Default
	// [DefaultConsolidationPolicy].
	ConsolidationPolicy string
	// ConsolidateAfter: a duration ("1m"). Default [DefaultConsolidateAfter].
	ConsolidateAfter string
	// ExpireAfter: a node's longest life ("336h"). Default
	// [DefaultExpireAfter].
	ExpireAfter string
	// Budgets: how many nodes may be disrupted at once, and when. Default
	// one budget of [DefaultBudgetNodes] at all times.
	Budgets []Budget
	// Weight: Karpenter tries pools of a higher weight first (0-100).
	// Default 0.
	Weight int
}

// Taint is a node taint.
type Taint struct {
	Key, Value, Effect string
}

// Budget is one disruption budget of a pool: at most Nodes (a count or a
// percentage) disrupted at once, during Duration after each Schedule (a
// cron expression, UTC) when set, for Reasons (Underutilized, Empty,
// Drifted; all when empty).
type Budget struct {
	Nodes, Schedule, Duration string
	Reasons                   []string
}

var (
	quantity = contract.NewShape(`^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[mkMGTPE])?$`,
		`must be a Kubernetes quantity such as "64" or "256Gi"`)
	karpenterDuration = contract.NewShape(`^(([0-9]+(s|m|h))+|Never)$`, `must be a duration such as "30s", "1m" or "336h", or "Never"`)
	budgetNodes       = contract.NewShape(`^((100|[0-9]{1,2})%|[0-9]+)$`, `must be a node count or a percentage such as "10%"`)
	budgetDuration    = contract.NewShape(`^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$`, `must be hours and minutes such as "10h" or "1h30m"`)
	cronSchedule      = regexp.MustCompile(`^(\S+\s+){4}\S+$`)
	instanceCategory  = regexp.MustCompile(`^[a-z]+$`)
	budgetReasons     = []string{"Underutilized", "Empty", "Drifted"}
	taintEffects      = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}
)

// withDefaults returns a copy of p with every default applied.
func (p Pool) withDefaults() Pool {
	contract.SetDefault(&p.MinInstanceGeneration, DefaultMinInstanceGeneration)
	contract.SetDefault(&p.ConsolidationPolicy, DefaultConsolidationPolicy)
	contract.SetDefault(&p.ConsolidateAfter, DefaultConsolidateAfter)
	contract.SetDefault(&p.ExpireAfter, DefaultExpireAfter)
	if len(p.Budgets) == 0 {
		p.Budgets = []Budget{{Nodes: DefaultBudgetNodes}}
	}
	return p
}

// Problems returns every problem with a defaulted pool, each naming the
// field (after prefix), the value and what is allowed.
func (p Pool) Problems(prefix string) []string {
	var out []string
	add := func(format string, v ...any) { out = append(out, prefix+fmt.Sprintf(format, v...)) }
	if err := namespace.CheckDNSLabel(p.Name); err != nil {
		add("Name %q: %v", p.Name, err)
	}
	oneOf := func(field string, got, allowed []string) {
		if len(got) == 0 {
			add("%s is required: one or more of %s", field, strings.Join(allowed, ", "))
		}
		for _, v := range got {
			if !slices.Contains(allowed, v) {
				add("%s %q: must be one of %s", field, v, strings.Join(allowed, ", "))
			}
		}
	}
	oneOf("CapacityTypes", p.CapacityTypes, []string{OnDemand, Spot})
	oneOf("Architectures", p.Architectures, []string{ARM64, AMD64})
	if len(p.InstanceCategories) == 0 {
		add("InstanceCategories is required: instance families' letters such as c, m, r")
	}
	for _, c := range p.InstanceCategories {
		if !instanceCategory.MatchString(c) {
			add("InstanceCategories %q: must be lower-case letters (an instance category such as c, m or r)", c)
		}
	}
	if p.MinInstanceGeneration < 1 {
		add("MinInstanceGeneration %d: must be 1 or more", p.MinInstanceGeneration)
	}
	for field, v := range map[string]string{"CPULimit": p.CPULimit, "MemoryLimit": p.MemoryLimit} {
		if err := quantity.Check(v); err != nil {
			add("%s %q: %v (required: the most the pool launches)", field, v, err)
		}
	}
	if p.ConsolidationPolicy != WhenEmpty && p.ConsolidationPolicy != WhenEmptyOrUnderutilized {
		add("ConsolidationPolicy %q: must be %s or %s", p.ConsolidationPolicy, WhenEmpty, WhenEmptyOrUnderutilized)
	}
	for field, v := range map[string]string{"ConsolidateAfter": p.ConsolidateAfter, "ExpireAfter": p.ExpireAfter} {
		if err := karpenterDuration.Check(v); err != nil {
			add("%s %q: %v", field, v, err)
		}
	}
	for i, b := range p.Budgets {
		if err := budgetNodes.Check(b.Nodes); err != nil {
			add("Budgets[%d].Nodes %q: %v", i, b.Nodes, err)
		}
		if (b.Schedule == "") != (b.Duration == "") {
			add("Budgets[%d]: Schedule %q and Duration %q must be set together", i, b.Schedule, b.Duration)
		}
		if b.Schedule != "" && !cronSchedule.MatchString(b.Schedule) {
			add("Budgets[%d].Schedule %q: must be a cron expression of five fields (UTC), such as \"0 8 * * mon-fri\"", i, b.Schedule)
		}
		if b.Duration != "" {
			if err := budgetDuration.Check(b.Duration); err != nil {
				add("Budgets[%d].Duration %q: %v", i, b.Duration, err)
			}
		}
		for _, r := range b.Reasons {
			if !slices.Contains(budgetReasons, r) {
				add("Budgets[%d].Reasons %q: must be one of %s", i, r, strings.Join(budgetReasons, ", "))
			}
		}
	}
	for i, t := range p.Taints {
		if t.Key == "" || !slices.Contains(taintEffects, t.Effect) {
			add("Taints[%d] %+v: needs a key and an effect of %s", i, t, strings.Join(taintEffects, ", "))
		}
	}
	if p.Weight < 0 || p.Weight > 100 {
		add("Weight %d: must be 0 to 100", p.Weight)
	}
	return out
}

// Kinds of the objects Karpenter reads, and their API versions.
const (
	NodePoolAPIVersion  = "karpenter.sh/v1"
	NodeClassAPIVersion = "karpenter.k8s.aws/v1"
	NodeClassGroup      = "karpenter.k8s.aws"
	NodeClassKind       = "EC2NodeClass"
)

// NodeClassRef names the node class a pool launches from.
type NodeClassRef struct {
	Group, Kind, Name string
}

// NodePoolSpec is the NodePool's spec for a defaulted pool whose nodes
// launch from nodeClass into zones.
func NodePoolSpec(p Pool, nodeClass NodeClassRef, zones []string) map[string]any {
	requirement := func(key, op string, values ...string) map[string]any {
		return map[string]any{"key": key, "operator": op, "values": values}
	}
	template := map[string]any{
		"nodeClassRef": map[string]any{"group": nodeClass.Group, "kind": nodeClass.Kind, "name": nodeClass.Name},
		"requirements": []any{
			requirement("karpenter.sh/capacity-type", "In", p.CapacityTypes...),
			requirement("kubernetes.io/arch", "In", p.Architectures...),
			requirement("kubernetes.io/os", "In", "linux"),
			requirement("topology.kubernetes.io/zone", "In", zones...),
			requirement("karpenter.k8s.aws/instance-category", "In", p.InstanceCategories...),
			requirement("karpenter.k8s.aws/instance-generation", "Gt", fmt.Sprint(p.MinInstanceGeneration)),
		},
		"expireAfter": p.ExpireAfter,
	}
	if len(p.Taints) > 0 {
		var taints []any
		for _, t := range p.Taints {
			taint := map[string]any{"key": t.Key, "effect": t.Effect}
			if t.Value != "" {
				taint["value"] = t.Value
			}
			taints = append(taints, taint)
		}
		template["taints"] = taints
	}
	var budgets []any
	for _, b := range p.Budgets {
		budget := map[string]any{"nodes": b.Nodes}
		if b.Schedule != "" {
			budget["schedule"], budget["duration"] = b.Schedule, b.Duration
		}
		if len(b.Reasons) > 0 {
			budget["reasons"] = b.Reasons
		}
		budgets = append(budgets, budget)
	}
	spec := map[string]any{
		"template": map[string]any{"metadata": map[string]any{"labels": p.Labels}, "spec": template},
		"limits":   map[string]any{"cpu": p.CPULimit, "memory": p.MemoryLimit},
		"disruption": map[string]any{
			"consolidationPolicy": p.ConsolidationPolicy,
			"consolidateAfter":    p.ConsolidateAfter,
			"budgets":             budgets,
		},
	}
	if p.Weight > 0 {
		spec["weight"] = p.Weight
	}
	return spec
}

// NodeClass is the EC2NodeClass every pool launches from.
type NodeClass struct {
	// RoleName is the nodes' IAM role (Karpenter makes its instance
	// profile).
	RoleName string
	// AMIAlias pins the AMI release ("al2023@v20260714").
	AMIAlias string
	// SubnetTags select the subnets nodes launch into.
	SubnetTags map[string]string
	// SecurityGroupID is the security group of every node: the cluster's,
	// which the managed node groups use too.
	SecurityGroupID string
	// DiskSizeGiB of the encrypted gp3 root volume.
	DiskSizeGiB int
	// Tags on every instance, volume and network interface.
	Tags map[string]string
}

// NodeClassSpec is the EC2NodeClass's spec: the hardened settings of the
// managed node groups' launch template (IMDSv2 required with one hop, an
// encrypted gp3 root volume, no SSH key, no public address).
func NodeClassSpec(nc NodeClass) map[string]any {
	return map[string]any{
		"role":                       nc.RoleName,
		"amiSelectorTerms":           []any{map[string]any{"alias": nc.AMIAlias}},
		"subnetSelectorTerms":        []any{map[string]any{"tags": nc.SubnetTags}},
		"securityGroupSelectorTerms": []any{map[string]any{"id": nc.SecurityGroupID}},
		"associatePublicIPAddress":   false,
		"metadataOptions": map[string]any{
			"httpEndpoint":            "enabled",
			"httpProtocolIPv6":        "disabled",
			"httpPutResponseHopLimit": 1,
			"httpTokens":              "required",
		},
		"blockDeviceMappings": []any{map[string]any{
			"deviceName": "/dev/xvda",
			"rootVolume": true,
			"ebs": map[string]any{
				"volumeSize":          fmt.Sprintf("%dGi", nc.DiskSizeGiB),
				"volumeType":          "gp3",
				"encrypted":           true,
				"deleteOnTermination": true,
			},
		}},
		"tags": nc.Tags,
	}
}
