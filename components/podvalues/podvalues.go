package podvalues

// Image is a chart's image value.
type Image struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	PullPolicy string `json:"pullPolicy,omitempty"`
}

// Toleration is a pod toleration.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator"`
	Effect   string `json:"effect,omitempty"`
}

// ResourceList is a cpu and memory pair in Kubernetes quantities; an empty
// quantity is left out (no CPU limit, for instance).
type ResourceList struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// Resources are a container's requests and limits.
type Resources struct {
	Requests ResourceList `json:"requests"`
	Limits   ResourceList `json:"limits"`
}

// Requests is a container's cpu and memory requests with a memory limit
// and no CPU limit (a CPU limit only throttles; memory is what a node runs
// out of).
func Requests(cpu, memory, memoryLimit string) Resources {
	return Resources{Requests: ResourceList{CPU: cpu, Memory: memory}, Limits: ResourceList{Memory: memoryLimit}}
}

// Capabilities of a container.
type Capabilities struct {
	Drop []string `json:"drop"`
}

// SeccompProfile of a pod or container.
type SeccompProfile struct {
	Type string `json:"type"`
}

// SecurityContext is a container's security context. Pointers keep an
// explicit false or 0 in the output and leave unset fields to the chart.
type SecurityContext struct {
	RunAsUser                *int64          `json:"runAsUser,omitempty"`
	RunAsGroup               *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool           `json:"runAsNonRoot,omitempty"`
	AllowPrivilegeEscalation *bool           `json:"allowPrivilegeEscalation,omitempty"`
	Privileged               *bool           `json:"privileged,omitempty"`
	ReadOnlyRootFilesystem   *bool           `json:"readOnlyRootFilesystem,omitempty"`
	Capabilities             *Capabilities   `json:"capabilities,omitempty"`
	SeccompProfile           *SeccompProfile `json:"seccompProfile,omitempty"`
}

// PodSecurityContext is a pod's security context. Pointers as in
// SecurityContext.
type PodSecurityContext struct {
	RunAsNonRoot   *bool           `json:"runAsNonRoot,omitempty"`
	RunAsUser      *int64          `json:"runAsUser,omitempty"`
	RunAsGroup     *int64          `json:"runAsGroup,omitempty"`
	FSGroup        *int64          `json:"fsGroup,omitempty"`
	SeccompProfile *SeccompProfile `json:"seccompProfile,omitempty"`
}

// LabelSelector matches labels exactly.
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// TopologySpreadConstraint is a pod's topologySpreadConstraint.
type TopologySpreadConstraint struct {
	MaxSkew           int           `json:"maxSkew"`
	TopologyKey       string        `json:"topologyKey"`
	WhenUnsatisfiable string        `json:"whenUnsatisfiable"`
	LabelSelector     LabelSelector `json:"labelSelector"`
}

// Well-known node labels to spread pods over.
const (
	// ZoneKey is the label of a node's availability zone.
	ZoneKey = "topology.kubernetes.io/zone"
	// HostnameKey is the label of a node's name.
	HostnameKey = "kubernetes.io/hostname"
)

// whenUnsatisfiable values.
const (
	DoNotSchedule  = "DoNotSchedule"
	ScheduleAnyway = "ScheduleAnyway"
)

// Spread spreads the pods matching labels evenly (maxSkew 1) over the nodes'
// values of topologyKey. whenUnsatisfiable is DoNotSchedule or
// ScheduleAnyway.
func Spread(topologyKey, whenUnsatisfiable string, labels map[string]string) TopologySpreadConstraint {
	return TopologySpreadConstraint{
		MaxSkew:           1,
		TopologyKey:       topologyKey,
		WhenUnsatisfiable: whenUnsatisfiable,
		LabelSelector:     LabelSelector{MatchLabels: labels},
	}
}

// RuntimeDefaultSeccomp is the container runtime's default seccomp profile.
func RuntimeDefaultSeccomp() *SeccompProfile {
	return &SeccompProfile{Type: "RuntimeDefault"}
}

// RestrictedContainer is the container security context of the restricted
// Pod Security profile, set explicitly so a chart default cannot loosen it:
// non-root, no privilege escalation, read-only root file system, every
// capability dropped, the runtime's default seccomp profile.
func RestrictedContainer() SecurityContext {
	return SecurityContext{
		RunAsNonRoot:             Ptr(true),
		AllowPrivilegeEscalation: Ptr(false),
		ReadOnlyRootFilesystem:   Ptr(true),
		Capabilities:             &Capabilities{Drop: []string{"ALL"}},
		SeccompProfile:           RuntimeDefaultSeccomp(),
	}
}

// Ptr returns a pointer to v, for the optional fields above.
func Ptr[T any](v T) *T { return &v }
