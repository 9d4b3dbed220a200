// Package cost estimates a stack's monthly AWS bill from its declared
// resources, with a dated price table. It is an estimate for comparing
// environments and catching surprises in review, not a bill: usage-based
// charges (NAT and load balancer data processing, CloudWatch ingestion) are
// listed as notes, not guessed.
package cost

import (
	"fmt"
	"math"
	"sort"

	"github.com/cnplatform/platform/harness"
)

// HoursPerMonth is AWS's billing month.
const HoursPerMonth = 730

// PricesAsOf dates the price table.
const PricesAsOf = "2026-11-24"

// Region the prices are for.
const Region = "eu-west-1"

// Price is one unit price, USD.
type Price struct {
	USD    float64
	Unit   string
	Source string
}

const (
	srcReference = "shared/reference/reliability-and-cost.md (AWS pricing pages, eu-west-1 on-demand)"
	srcEBS       = "aws.amazon.com/ebs/pricing (gp3, eu-west-1)"
	srcKMS       = "aws.amazon.com/kms/pricing (customer managed key)"
	srcEC2       = "aws.amazon.com/ec2/pricing/on-demand (eu-west-1, Linux)"
)

// Prices are the unit prices the estimate uses (estimates; eu-west-1). An
// instance type without a price is reported in the notes, never guessed:
// add it here with its source.
var Prices = map[string]Price{
	"eks-cluster":    {0.10, "cluster-hour", srcReference},
	"nat-gateway":    {0.048, "gateway-hour", srcReference},
	"nlb":            {0.0252, "load-balancer-hour", srcReference},
	"public-ipv4":    {0.005, "address-hour", srcReference},
	"ebs-gp3":        {0.088, "GiB-month", srcEBS},
	"kms-key":        {1.00, "key-month", srcKMS},
	"ec2:m5.large":   {0.107, "instance-hour", srcReference},
	"ec2:t3.medium":  {0.0456, "instance-hour", srcReference},
	"ec2:t3a.medium": {0.0408, "instance-hour", srcEC2},
	"ec2:m6i.large":  {0.107, "instance-hour", srcEC2},
	"ec2:t3.large":   {0.0912, "instance-hour", srcEC2},
	"ec2:m5.xlarge":  {0.214, "instance-hour", srcEC2},
}

// Item is one line of the estimate.
type Item struct {
	Name       string  `json:"name"`
	Resource   string  `json:"resource,omitempty"`
	Quantity   float64 `json:"quantity"`
	Unit       string  `json:"unit"`
	UnitUSD    float64 `json:"unitUSD"`
	MonthlyUSD float64 `json:"monthlyUSD"`
}

// Estimate is a stack's estimated monthly cost.
type Estimate struct {
	Total  float64  `json:"total"`
	Items  []Item   `json:"items"`
	AsOf   string   `json:"pricesAsOf"`
	Region string   `json:"region"`
	Notes  []string `json:"notes"`
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

// Monthly estimates the stack's monthly cost from its declared resources.
// It fails when a node group's instance type is declared neither on the
// node group nor in its launch template: a default would price machines
// nobody declared.
func Monthly(res *harness.Result) (Estimate, error) {
	e := Estimate{AsOf: PricesAsOf, Region: Region, Items: []Item{}}
	add := func(name, urn, priceKey string, qty float64, perHour bool) {
		p, ok := Prices[priceKey]
		if !ok {
			e.Notes = append(e.Notes, fmt.Sprintf("no price for %s (%s): not counted", priceKey, urn))
			return
		}
		monthly := qty * p.USD
		if perHour {
			monthly *= HoursPerMonth
		}
		e.Items = append(e.Items, Item{Name: name, Resource: urn, Quantity: qty, Unit: p.Unit, UnitUSD: p.USD, MonthlyUSD: round(monthly)})
	}
	for _, r := range res.OfType("aws:eks/cluster:Cluster") {
		add("EKS control plane (standard support)", r.URN, "eks-cluster", 1, true)
	}
	for _, r := range res.OfType("aws:ec2/natGateway:NatGateway") {
		add("NAT gateway", r.URN, "nat-gateway", 1, true)
	}
	for _, r := range res.OfType("aws:ec2/eip:Eip") {
		add("public IPv4 address", r.URN, "public-ipv4", 1, true)
	}
	for _, r := range res.OfType("aws:kms/key:Key") {
		add("KMS customer managed key", r.URN, "kms-key", 1, false)
	}
	spot := false
	for _, g := range res.OfType("aws:eks/nodeGroup:NodeGroup") {
		nodes := g.Number("scalingConfig", "desiredSize")
		lt, hasTemplate := LaunchTemplate(res, g)
		instanceType, err := nodeInstanceType(g, lt, hasTemplate)
		if err != nil {
			return Estimate{}, err
		}
		if g.String("capacityType") == "SPOT" {
			spot = true
		}
		add(fmt.Sprintf("nodes %s x %v", instanceType, nodes), g.URN, "ec2:"+instanceType, nodes, true)
		if hasTemplate {
			disk := lt.Number("blockDeviceMappings", "0", "ebs", "volumeSize")
			add(fmt.Sprintf("node root volumes %v GiB x %v", disk, nodes), g.URN, "ebs-gp3", disk*nodes, false)
		}
	}
	for _, urn := range internetFacingLoadBalancers(res) {
		add("Network Load Balancer", urn, "nlb", 1, true)
	}
	for _, v := range persistentVolumes(res) {
		add(fmt.Sprintf("persistent volumes %s", v.name), v.urn, "ebs-gp3", v.gib, false)
	}
	sort.SliceStable(e.Items, func(i, j int) bool { return e.Items[i].MonthlyUSD > e.Items[j].MonthlyUSD })
	for _, it := range e.Items {
		e.Total += it.MonthlyUSD
	}
	e.Total = round(e.Total)
	if spot {
		e.Notes = append(e.Notes, "spot nodes are priced at the on-demand rate: an upper bound (spot is usually far cheaper, and varies)")
	}
	e.Notes = append(e.Notes,
		"not counted: NAT and load balancer data processing, load balancer capacity units, CloudWatch Logs ingestion and storage, data transfer",
		"prices are estimates for "+Region+" as of "+PricesAsOf)
	return e, nil
}

// LaunchTemplate is the launch template a node group references: by id
// (launchTemplate.id, the physical id the harness gives it), by name
// (launchTemplate.name), or, when the reference is not known yet (a preview
// before the template exists), the one launch template the node group
// depends on.
func LaunchTemplate(res *harness.Result, g harness.Resource) (harness.Resource, bool) {
	if id := g.String("launchTemplate", "id"); id != "" {
		if lt, ok := res.ByID(id); ok && lt.Type == launchTemplateType {
			return lt, true
		}
	}
	if name := g.String("launchTemplate", "name"); name != "" {
		for _, lt := range res.OfType(launchTemplateType) {
			if lt.String("name") == name {
				return lt, true
			}
		}
	}
	var found []harness.Resource
	for _, urn := range g.DependsOn {
		if lt, ok := res.ByURN(urn); ok && lt.Type == launchTemplateType {
			found = append(found, lt)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return harness.Resource{}, false
}

const launchTemplateType = "aws:ec2/launchTemplate:LaunchTemplate"

// nodeInstanceType is the type a node group's instances are priced at: the
// node group's instanceTypes (several, or one) else its launch template's
// instanceType; EKS refuses a node group that sets both. Several on-demand
// types launch in the order listed (EKS's "prioritized" allocation), so
// the first is priced; several spot types are priced at the dearest one's
// on-demand rate, an upper bound.
func nodeInstanceType(g, lt harness.Resource, hasTemplate bool) (string, error) {
	types := g.Strings("instanceTypes")
	if len(types) == 0 && hasTemplate {
		if t := lt.String("instanceType"); t != "" {
			types = []string{t}
		}
	}
	if len(types) == 0 {
		where := "it references no launch template"
		if hasTemplate {
			where = "its launch template " + lt.URN + " sets no instanceType"
		}
		return "", fmt.Errorf("node group %s: no instance type on the node group (instanceTypes) nor in its launch template (%s): the estimate prices only what is declared", g.URN, where)
	}
	if g.String("capacityType") != "SPOT" {
		return types[0], nil
	}
	chosen := types[0]
	for _, t := range types {
		p, ok := Prices["ec2:"+t]
		if !ok {
			return t, nil // no bound without its price: Monthly notes it
		}
		if p.USD > Prices["ec2:"+chosen].USD {
			chosen = t
		}
	}
	return chosen, nil
}

// internetFacingLoadBalancers finds the NLBs the AWS Load Balancer
// Controller will create: objects or chart values annotated internet-facing.
func internetFacingLoadBalancers(res *harness.Result) []string {
	var out []string
	for _, r := range res.Kubernetes() {
		found := false
		harness.Walk(r.PlainInputs(), func(m map[string]any, _ []map[string]any) {
			if m["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing" {
				found = true
			}
		})
		if found {
			out = append(out, r.URN)
		}
	}
	for _, r := range res.OfType("aws:lb/loadBalancer:LoadBalancer") {
		if r.String("loadBalancerType") == "network" {
			out = append(out, r.URN)
		}
	}
	return out
}

type volume struct {
	name, urn string
	gib       float64
}

// persistentVolumes finds volume claim templates in chart values and
// objects: storage request x replicas of the workload declaring it.
func persistentVolumes(res *harness.Result) []volume {
	var out []volume
	for _, r := range res.Kubernetes() {
		harness.Walk(r.PlainInputs(), func(m map[string]any, ancestors []map[string]any) {
			for key, v := range m {
				spec, ok := v.(map[string]any)
				if !ok || (key != "volumeClaimTemplate" && key != "persistentVolumeClaim") {
					continue
				}
				if inner, ok := spec["spec"].(map[string]any); ok {
					spec = inner
				}
				size, ok := harness.Dig(spec, "resources", "requests", "storage").(string)
				if !ok {
					continue
				}
				gib := parseGiB(size)
				// The replica count sits beside the claim template or above it
				// (prometheusSpec.replicas beside prometheusSpec.storageSpec).
				replicas := 1.0
				for i := len(ancestors); i >= 0; i-- {
					scope := m
					if i < len(ancestors) {
						scope = ancestors[i]
					}
					if n, ok := scope["replicas"].(float64); ok && n > 0 {
						replicas = n
						break
					}
				}
				name := r.Name
				if c, ok := m["name"].(string); ok {
					name = c
				}
				out = append(out, volume{name: fmt.Sprintf("%s %s x %v", name, size, replicas), urn: r.URN, gib: gib * replicas})
			}
		})
	}
	return out
}

func parseGiB(s string) float64 {
	var n float64
	var unit string
	fmt.Sscanf(s, "%f%s", &n, &unit)
	switch unit {
	case "Ti":
		return n * 1024
	case "Mi":
		return n / 1024
	case "G":
		return n * 1e9 / (1 << 30)
	default:
		return n
	}
}
