package autoscaling

import (
	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/podvalues"
)

// The upstream charts, pinned: aws/karpenter-provider-aws release v1.14.1
// (commit bde00654cd316fddb3dccfba3f5ac07039865429, 2026-08-20), published
// as OCI charts on public ECR. The controller image (public.ecr.aws/karpenter/controller:1.14.1,
// pinned by digest in the chart's values) is the chart's own.
var (
	Chart = helmrelease.Chart{Repo: "oci://public.ecr.aws/karpenter", Name: "karpenter", Version: "1.14.1"}
	// CRDChart: the CRD-only chart of the same release (its CRDs are
	// templates, so a pin change upgrades them). The karpenter chart's own
	// crds/ are skipped: Helm would install them once and never upgrade
	// them (1.14 added capacitybuffers.autoscaling.x-k8s.io).
	CRDChart = helmrelease.Chart{Repo: Chart.Repo, Name: "karpenter-crd", Version: Chart.Version}
)

// Charts lists every chart the component installs.
func Charts() []helmrelease.Chart { return []helmrelease.Chart{CRDChart, Chart} }

// ChartValues are the karpenter chart's values we set; the chart's own
// defaults do the rest: a PodDisruptionBudget of one unavailable, the
// replicas spread over zones (DoNotSchedule) and hosts, priority
// system-cluster-critical, a toleration of CriticalAddonsOnly and a node
// affinity that keeps the controller off the nodes it launches itself
// (karpenter.sh/nodepool DoesNotExist): it runs on the system node groups.
type ChartValues struct {
	ServiceAccount struct {
		// Create is false: the component creates it, with the role's ARN.
		Create bool   `json:"create"`
		Name   string `json:"name"`
	} `json:"serviceAccount"`
	Replicas   int `json:"replicas"`
	Controller struct {
		Resources       podvalues.Resources       `json:"resources"`
		SecurityContext podvalues.SecurityContext `json:"securityContext"`
	} `json:"controller"`
	Settings struct {
		ClusterName       string `json:"clusterName"`
		InterruptionQueue string `json:"interruptionQueue"`
	} `json:"settings"`
	ServiceMonitor struct {
		Enabled bool `json:"enabled"`
	} `json:"serviceMonitor"`
}

// Values are the chart's values for a cluster and its interruption queue.
func Values(clusterName, queueName string, replicas int, resources podvalues.Resources, serviceMonitor bool) ChartValues {
	var v ChartValues
	v.ServiceAccount.Name = ServiceAccount
	v.Replicas = replicas
	v.Controller.Resources = resources
	// The chart sets every other restricted field itself; the seccomp
	// profile is the pod's only unless given here.
	v.Controller.SecurityContext = podvalues.SecurityContext{SeccompProfile: podvalues.RuntimeDefaultSeccomp()}
	v.Settings.ClusterName = clusterName
	v.Settings.InterruptionQueue = queueName
	v.ServiceMonitor.Enabled = serviceMonitor
	return v
}
