// Package zonefailure simulates the loss of one availability zone from a
// stack's declared resources: for each AZ it drops the zone and checks that
// egress, nodes, the ingress path, Prometheus, Alertmanager and the log agent
// keep serving from what is left. It reads only what the program declares
// (subnets, routes, node groups, replica counts and topology spread
// constraints), so it runs offline on every stack.
package zonefailure

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cnplatform/platform/harness"
)

const zoneKey = "topology.kubernetes.io/zone"

// Check is the verdict for one capability with one zone lost.
type Check struct {
	Capability string `json:"capability"`
	Survives   bool   `json:"survives"`
	Detail     string `json:"detail"`
}

// ZoneReport is what happens when one zone is lost.
type ZoneReport struct {
	Zone     string  `json:"zone"`
	Survives bool    `json:"survives"`
	Checks   []Check `json:"checks"`
}

// Capabilities the simulation checks, in report order.
const (
	Egress       = "egress (NAT)"
	Nodes        = "nodes"
	LoadBalancer = "ingress: load balancer subnets"
	Gateway      = "ingress: gateway proxies"
	Prometheus   = "prometheus"
	Alertmanager = "alertmanager"
	LogAgent     = "log agent"
)

// replicated is a workload declared with a replica count, wherever it is
// (chart values or a custom resource).
type replicated struct {
	name         string
	replicas     float64
	zoneSpread   bool // maxSkew 1 on the zone key
	hardSpread   bool // ... with whenUnsatisfiable DoNotSchedule
	antiAffinity bool // required pod anti-affinity on the zone key
	resourceURN  string
}

// Simulate reports, for each AZ the stack's subnets span, whether the
// platform keeps serving without it.
func Simulate(res *harness.Result) []ZoneReport {
	zones := zonesOf(res)
	workloads := replicatedWorkloads(res)
	var out []ZoneReport
	for _, lost := range zones {
		rep := ZoneReport{Zone: lost, Survives: true}
		add := func(c Check) {
			rep.Checks = append(rep.Checks, c)
			rep.Survives = rep.Survives && c.Survives
		}
		add(egress(res, zones, lost))
		nodes := nodesLeft(res, lost)
		add(nodes)
		add(loadBalancerSubnets(res, lost))
		for _, cap := range []string{Gateway, Prometheus, Alertmanager} {
			add(replicasLeft(cap, workloads, len(zones), nodes.Survives))
		}
		add(logAgent(res, nodes))
		out = append(out, rep)
	}
	return out
}

// SurvivesAnySingleZone reports whether every zone report survives.
func SurvivesAnySingleZone(reports []ZoneReport) bool {
	if len(reports) == 0 {
		return false
	}
	for _, r := range reports {
		if !r.Survives {
			return false
		}
	}
	return true
}

func zonesOf(res *harness.Result) []string {
	seen := map[string]bool{}
	var zones []string
	for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
		if z := s.String("availabilityZone"); z != "" && !seen[z] {
			seen[z] = true
			zones = append(zones, z)
		}
	}
	sort.Strings(zones)
	return zones
}

func zoneOfSubnet(res *harness.Result, id string) string {
	if s, ok := res.ByID(id); ok {
		return s.String("availabilityZone")
	}
	return ""
}

func tier(s harness.Resource) string { return s.String("tags", "platform/tier") }

// egress: every surviving private subnet still routes 0.0.0.0/0 through a
// NAT gateway in a surviving zone.
func egress(res *harness.Result, zones []string, lost string) Check {
	var broken []string
	for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
		z := s.String("availabilityZone")
		if tier(s) != "private" || z == lost {
			continue
		}
		natZone := ""
		for _, a := range res.OfType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
			if a.String("subnetId") != s.ID {
				continue
			}
			for _, r := range res.OfType("aws:ec2/route:Route") {
				if r.String("routeTableId") == a.String("routeTableId") && r.String("destinationCidrBlock") == "0.0.0.0/0" {
					if nat, ok := res.ByID(r.String("natGatewayId")); ok {
						natZone = zoneOfSubnet(res, nat.String("subnetId"))
					}
				}
			}
		}
		if natZone == "" || natZone == lost {
			broken = append(broken, z)
		}
	}
	if len(broken) > 0 {
		return Check{Egress, false, fmt.Sprintf("private subnets in %s route through the NAT gateway in %s", strings.Join(broken, ", "), lost)}
	}
	return Check{Egress, true, "every surviving private subnet egresses through a NAT gateway in its own or another surviving zone"}
}

// nodesLeft counts the nodes the surviving zones' groups run: their desired
// size, which the program sets. No autoscaler runs, so nothing adds nodes
// after a zone loss: the lost zone's pods fit on what is left or stay
// Pending.
func nodesLeft(res *harness.Result, lost string) Check {
	nodes, groups := 0.0, 0
	for _, g := range res.OfType("aws:eks/nodeGroup:NodeGroup") {
		inLost := false
		for _, id := range g.Strings("subnetIds") {
			if zoneOfSubnet(res, id) == lost {
				inLost = true
			}
		}
		if !inLost {
			nodes += g.Number("scalingConfig", "desiredSize")
			groups++
		}
	}
	if nodes < 1 {
		return Check{Nodes, false, fmt.Sprintf("no node group outside %s runs a node (desired size)", lost)}
	}
	return Check{Nodes, true, fmt.Sprintf("%d node groups outside %s keep their %v nodes (desired size; no autoscaler runs, so nothing adds nodes after a zone loss)", groups, lost, nodes)}
}

// loadBalancerSubnets: the load balancer controller places the NLB in every
// public subnet tagged for it; one surviving subnet keeps it reachable.
func loadBalancerSubnets(res *harness.Result, lost string) Check {
	var left []string
	for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
		if s.String("tags", "kubernetes.io/role/elb") == "1" && s.String("availabilityZone") != lost {
			left = append(left, s.String("availabilityZone"))
		}
	}
	sort.Strings(left)
	if len(left) == 0 {
		return Check{LoadBalancer, false, "no public load balancer subnet outside " + lost}
	}
	return Check{LoadBalancer, true, "the NLB keeps nodes in " + strings.Join(left, ", ")}
}

func roleOf(path string) string {
	switch {
	case strings.Contains(path, "envoyDeployment"):
		return Gateway
	case strings.Contains(path, "prometheusSpec"):
		return Prometheus
	case strings.Contains(path, "alertmanagerSpec"):
		return Alertmanager
	}
	return ""
}

// replicasLeft: with R replicas spread with maxSkew 1 over N zones, a zone
// holds at most ceil(R/N), so R - ceil(R/N) survive. Without a hard spread,
// all replicas may share the lost zone.
func replicasLeft(capability string, workloads []replicated, zones int, nodesSurvive bool) Check {
	var w *replicated
	for i := range workloads {
		if workloads[i].name == capability {
			w = &workloads[i]
		}
	}
	if w == nil {
		return Check{capability, false, "not declared in this stack"}
	}
	perZone := w.replicas
	if (w.hardSpread || w.antiAffinity) && zones > 0 {
		perZone = math.Ceil(w.replicas / float64(zones))
	}
	left := w.replicas - perZone
	detail := fmt.Sprintf("%v replicas, at most %v in one zone: %v left", w.replicas, perZone, left)
	switch {
	case !w.hardSpread && !w.antiAffinity && w.zoneSpread:
		detail += " (zone spread is best effort: ScheduleAnyway)"
	case !w.zoneSpread && !w.antiAffinity:
		detail += " (no zone spread)"
	}
	return Check{capability, left >= 1 && nodesSurvive, detail}
}

// logAgent: the agent is a DaemonSet, on every node that is left.
func logAgent(res *harness.Result, nodes Check) Check {
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		chart := r.String("chart")
		if strings.Contains(chart, "fluent-bit") || strings.Contains(chart, "fluentd") {
			if nodes.Survives {
				return Check{LogAgent, true, chart + " runs as a DaemonSet on every surviving node; the lost zone's unsent logs wait in its nodes' disk buffers"}
			}
			return Check{LogAgent, false, "no node left for the " + chart + " DaemonSet"}
		}
	}
	return Check{LogAgent, false, "no log agent declared in this stack"}
}

// replicatedWorkloads finds maps with a replica count in chart values and
// custom resources, with their zone spread.
func replicatedWorkloads(res *harness.Result) []replicated {
	var out []replicated
	for _, r := range res.Kubernetes() {
		var visit func(v any, path string)
		visit = func(v any, path string) {
			switch v := v.(type) {
			case map[string]any:
				if n, ok := v["replicas"].(float64); ok {
					if role := roleOf(path); role != "" {
						w := replicated{name: role, replicas: n, resourceURN: r.URN}
						spreadOf(v, &w)
						for _, child := range v {
							if m, ok := child.(map[string]any); ok {
								spreadOf(m, &w)
							}
						}
						out = append(out, w)
					}
				}
				for k, e := range v {
					visit(e, path+"."+k)
				}
			case []any:
				for _, e := range v {
					visit(e, path)
				}
			}
		}
		visit(r.PlainInputs(), "")
	}
	return out
}

func spreadOf(m map[string]any, w *replicated) {
	list, _ := m["topologySpreadConstraints"].([]any)
	for _, c := range list {
		cm, _ := c.(map[string]any)
		if cm["topologyKey"] == zoneKey && cm["maxSkew"] == 1.0 {
			w.zoneSpread = true
			if cm["whenUnsatisfiable"] == "DoNotSchedule" {
				w.hardSpread = true
			}
		}
	}
	terms, _ := harness.Dig(m, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution").([]any)
	for _, t := range terms {
		tm, _ := t.(map[string]any)
		if tm["topologyKey"] == zoneKey {
			w.antiAffinity = true
		}
	}
}
