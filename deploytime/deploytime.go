// Package deploytime estimates how long a first `pulumi up` of a stack takes:
// the longest chain through the recorded dependency graph, weighted by a
// per-resource-type duration. Resources off that chain are created in
// parallel by the engine, so the chain is what a user waits for.
package deploytime

import (
	"math"
	"sort"
	"strings"

	"github.com/cnplatform/platform/harness"
)

// Duration is the estimated create time of one resource type.
type Duration struct {
	Minutes float64
	Source  string
}

const (
	srcReference = "shared/reference/reliability-and-cost.md (EKS control plane create ~9-15 min; eksctl 'up to 15 min')"
	srcHelm      = "shared/reference/reliability-and-cost.md (kube-prometheus-stack via helmfile ~40 s; a Helm release waits for its workloads to become ready)"
	srcEstimate  = "estimate: typical AWS API create time observed for this resource type"
)

// Durations are the estimates per resource type; DefaultDuration applies to
// types not listed (fast API calls).
var Durations = map[string]Duration{
	"aws:eks/cluster:Cluster":         {12, srcReference},
	"aws:eks/nodeGroup:NodeGroup":     {4, srcEstimate + " (managed node group: instances launch and join, ~3-5 min)"},
	"aws:eks/addon:Addon":             {1.5, srcEstimate + " (add-on create waits for its pods)"},
	"aws:ec2/natGateway:NatGateway":   {2, srcEstimate + " (NAT gateway becomes available in ~1-3 min)"},
	"aws:ec2/vpc:Vpc":                 {0.2, srcEstimate},
	"aws:ec2/subnet:Subnet":           {0.2, srcEstimate},
	"aws:iam/role:Role":               {0.2, srcEstimate},
	"aws:eks/accessEntry:AccessEntry": {0.2, srcEstimate},
	"aws:kms/key:Key":                 {0.3, srcEstimate},
	"kubernetes:helm.sh/v3:Release":   {2, srcHelm},
	// The Gateway waits for Programmed: its NLB is provisioned and active.
	"kubernetes:gateway.networking.k8s.io/v1:Gateway":     {3, srcEstimate + " (an NLB becomes active in ~2-4 min)"},
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": {0.1, srcEstimate},
}

// DefaultDuration is used for resource types not in Durations.
var DefaultDuration = Duration{0.1, srcEstimate}

// Step is one resource on the critical path.
type Step struct {
	Resource string  `json:"resource"`
	Type     string  `json:"type"`
	Minutes  float64 `json:"minutes"`
}

// Path is the longest dependency chain and its estimated length.
type Path struct {
	Minutes float64 `json:"minutes"`
	Chain   []Step  `json:"chain"`
}

func durationOf(r harness.Resource) float64 {
	if !r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:") {
		return 0 // components and providers take no time of their own
	}
	if d, ok := Durations[r.Type]; ok {
		return d.Minutes
	}
	return DefaultDuration.Minutes
}

// CriticalPath finds the longest chain of dependencies. A resource starts
// when everything it depends on has finished; a component finishes when its
// children have.
func CriticalPath(res *harness.Result) Path {
	byURN := map[string]harness.Resource{}
	children := map[string][]string{}
	for _, r := range res.Resources {
		byURN[r.URN] = r
		children[r.Parent] = append(children[r.Parent], r.URN)
	}
	finish := map[string]float64{}
	prev := map[string]string{} // the predecessor on the longest chain
	visiting := map[string]bool{}
	var visit func(urn string) float64
	visit = func(urn string) float64 {
		if f, ok := finish[urn]; ok {
			return f
		}
		r, ok := byURN[urn]
		if !ok || visiting[urn] {
			return 0
		}
		visiting[urn] = true
		start, from := 0.0, ""
		preds := append([]string{}, r.DependsOn...)
		if !r.Custom {
			preds = append(preds, children[urn]...)
		}
		// A resource is created through its provider, so it waits for it:
		// Kubernetes objects wait for the cluster behind the provider.
		if i := strings.LastIndex(r.Provider, "::"); i > 0 {
			preds = append(preds, r.Provider[:i])
		}
		sort.Strings(preds)
		for _, d := range preds {
			if f := visit(d); f > start {
				start, from = f, d
			}
		}
		visiting[urn] = false
		finish[urn] = start + durationOf(r)
		prev[urn] = from
		return finish[urn]
	}
	var end string
	longest := 0.0
	urns := make([]string, 0, len(byURN))
	for u := range byURN {
		urns = append(urns, u)
	}
	sort.Strings(urns)
	for _, u := range urns {
		if f := visit(u); f > longest {
			longest, end = f, u
		}
	}
	var chain []Step
	for u := end; u != ""; u = prev[u] {
		r := byURN[u]
		if d := durationOf(r); d > 0 {
			chain = append(chain, Step{Resource: u, Type: r.Type, Minutes: d})
		}
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	if chain == nil {
		chain = []Step{}
	}
	return Path{Minutes: math.Round(longest*10) / 10, Chain: chain}
}
