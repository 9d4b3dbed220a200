package cluster

import "fmt"

// The rules of NodeArgs' taints and sizes, written once: Args.validate and
// the stack configuration (stacks) both check with these and name their own
// fields.

// taintEffects are the effects Kubernetes knows, in its spelling, with the
// EKS API's.
var taintEffects = map[string]string{
	"NoSchedule":       "NO_SCHEDULE",
	"PreferNoSchedule": "PREFER_NO_SCHEDULE",
	"NoExecute":        "NO_EXECUTE",
}

// String is the taint as kubectl writes it: key=value:Effect.
func (t Taint) String() string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + t.Effect
}

// CheckTaint says whether t may go on the node groups. They are the
// cluster's only nodes, and the EKS add-ons that run on nodes (CoreDNS and
// the EBS CSI controller, Deployments) tolerate none of our taints, nor do
// the platform's charts: a NoSchedule or NoExecute taint leaves them
// Pending, the add-ons never turn ACTIVE and the create fails after EKS's
// ~20-minute wait. PreferNoSchedule only steers pods away.
func CheckTaint(t Taint) error {
	switch _, known := taintEffects[t.Effect]; {
	case t.Key == "":
		return fmt.Errorf("a taint needs a key")
	case !known:
		return fmt.Errorf("the effect must be one of NoSchedule, PreferNoSchedule, NoExecute")
	case t.Effect == "NoSchedule" || t.Effect == "NoExecute":
		return fmt.Errorf("%s on the only node pool would keep CoreDNS and the EBS CSI controller (EKS add-ons) and every platform chart off every node: the add-ons never become ACTIVE and the create fails after ~20 minutes; use PreferNoSchedule, which only steers pods away", t.Effect)
	}
	return nil
}

// NodeSize names one of a node group's sizes (NodeArgs.MinSize,
// DesiredSize, MaxSize).
type NodeSize string

// The node group sizes.
const (
	MinSize     NodeSize = "MinSize"
	DesiredSize NodeSize = "DesiredSize"
	MaxSize     NodeSize = "MaxSize"
)

// SizeProblem is a size that breaks a rule: Err says what is allowed.
type SizeProblem struct {
	Size  NodeSize
	Value int
	Err   error
}

// CheckSizes returns what is wrong with a node group's sizes; name spells
// a size the way the caller's user writes it (the Go field, a config key).
// No autoscaler runs: the program sets the node count (desired), which EKS
// requires between the minimum and the maximum (UpdateNodegroupConfig
// refuses minSize > desiredSize), so raising the minimum means raising
// desired with it.
func CheckSizes(min, desired, max int, name func(NodeSize) string) []SizeProblem {
	var out []SizeProblem
	add := func(s NodeSize, v int, format string, a ...any) {
		out = append(out, SizeProblem{s, v, fmt.Errorf(format, a...)})
	}
	if min < 0 {
		add(MinSize, min, "must be at least 0")
	}
	if max < 1 {
		add(MaxSize, max, "must be at least 1")
	}
	if min > max {
		add(MinSize, min, "must not exceed %s (%d)", name(MaxSize), max)
	}
	if min > desired {
		add(MinSize, min, "must not exceed %s (%d): EKS refuses a minimum above the node count; raise %s with it", name(DesiredSize), desired, name(DesiredSize))
	}
	if desired > max {
		add(DesiredSize, desired, "must not exceed %s (%d)", name(MaxSize), max)
	}
	return out
}
