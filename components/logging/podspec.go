package logging

// Typed fragments of Kubernetes pod specs, as the charts' values take them.
// Only the fields we set are declared; json tags follow the Kubernetes API.

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

// SecretKeyRef points an environment variable at one key of a Secret.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// EnvSource is an environment variable's valueFrom.
type EnvSource struct {
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// EnvVar is a container environment variable. Secrets are only ever given
// through ValueFrom, never as Value.
type EnvVar struct {
	Name      string     `json:"name"`
	Value     string     `json:"value,omitempty"`
	ValueFrom *EnvSource `json:"valueFrom,omitempty"`
}

// HostPathSource is a hostPath volume source.
type HostPathSource struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// EmptyDirSource is an emptyDir volume source.
type EmptyDirSource struct {
	SizeLimit string `json:"sizeLimit,omitempty"`
}

// Volume is a pod volume (hostPath or emptyDir).
type Volume struct {
	Name     string          `json:"name"`
	HostPath *HostPathSource `json:"hostPath,omitempty"`
	EmptyDir *EmptyDirSource `json:"emptyDir,omitempty"`
}

// VolumeMount mounts a volume into the container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
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
// explicit false or 0 in the output.
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

// PodSecurityContext is a pod's security context.
type PodSecurityContext struct {
	SeccompProfile *SeccompProfile `json:"seccompProfile,omitempty"`
}

// ResourceList maps cpu/memory to quantities.
type ResourceList map[string]string

// Resources are a container's requests and limits.
type Resources struct {
	Requests ResourceList `json:"requests"`
	Limits   ResourceList `json:"limits"`
}

// HTTPGetAction is a probe's HTTP GET.
type HTTPGetAction struct {
	Path string `json:"path"`
	Port string `json:"port"`
}

// Probe is a liveness or readiness probe.
type Probe struct {
	HTTPGet             HTTPGetAction `json:"httpGet"`
	InitialDelaySeconds int           `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds       int           `json:"periodSeconds,omitempty"`
	TimeoutSeconds      int           `json:"timeoutSeconds,omitempty"`
	FailureThreshold    int           `json:"failureThreshold,omitempty"`
}

// Enabled is a chart's `{enabled: bool}` switch.
type Enabled struct {
	Enabled bool `json:"enabled"`
}

// UpdateStrategy of the DaemonSet.
type UpdateStrategy struct {
	Type          string         `json:"type"`
	RollingUpdate *RollingUpdate `json:"rollingUpdate,omitempty"`
}

// RollingUpdate bounds how many nodes lose their agent at once.
type RollingUpdate struct {
	MaxUnavailable string `json:"maxUnavailable"`
}

func ptr[T any](v T) *T { return &v }

// agentSecurityContext is shared by both agents.
//
// The agent runs as root (uid 0) on purpose: the container runtime writes
// /var/log/pods/*/*.log owned by root with mode 0640, and the buffer
// directory is a hostPath the kubelet creates owned by root. As the owner of
// both, root needs no capability to read or write them, so every
// capability is dropped, privilege escalation is off, /var/log is mounted
// read-only and the buffer directory is the only writable host path. The
// namespace is therefore `privileged` for Pod Security (hostPath volumes and
// runAsUser 0), with the reason recorded on it.
func agentSecurityContext(readOnlyRoot bool) SecurityContext {
	return SecurityContext{
		RunAsUser:                ptr(int64(0)),
		RunAsGroup:               ptr(int64(0)),
		RunAsNonRoot:             ptr(false),
		AllowPrivilegeEscalation: ptr(false),
		Privileged:               ptr(false),
		ReadOnlyRootFilesystem:   ptr(readOnlyRoot),
		Capabilities:             &Capabilities{Drop: []string{"ALL"}},
		SeccompProfile:           &SeccompProfile{Type: "RuntimeDefault"},
	}
}

// tolerateEverything lets the DaemonSet run on every node, whatever its
// taints: a node without the agent is a node whose logs are lost.
var tolerateEverything = []Toleration{{Operator: "Exists"}}
