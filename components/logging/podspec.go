package logging

import (
	"fmt"

	"github.com/cnplatform/platform/components/podvalues"
)

// Typed fragments of Kubernetes pod specs only the logging agents use, as the
// charts' values take them; the shared ones are in package podvalues. Only the
// fields we set are declared; json tags follow the Kubernetes API.

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
func agentSecurityContext(readOnlyRoot bool) podvalues.SecurityContext {
	return podvalues.SecurityContext{
		RunAsUser:                podvalues.Ptr(int64(0)),
		RunAsGroup:               podvalues.Ptr(int64(0)),
		RunAsNonRoot:             podvalues.Ptr(false),
		AllowPrivilegeEscalation: podvalues.Ptr(false),
		Privileged:               podvalues.Ptr(false),
		ReadOnlyRootFilesystem:   podvalues.Ptr(readOnlyRoot),
		Capabilities:             &podvalues.Capabilities{Drop: []string{"ALL"}},
		SeccompProfile:           podvalues.RuntimeDefaultSeccomp(),
	}
}

// tolerateEverything lets the DaemonSet run on every node, whatever its
// taints: a node without the agent is a node whose logs are lost.
var tolerateEverything = []podvalues.Toleration{{Operator: "Exists"}}

// AgentPod is what both agents' charts take, under the same keys, for the
// DaemonSet's pods. Embedded in FluentBitValues and FluentdValues.
type AgentPod struct {
	Env               []EnvVar               `json:"env"`
	PodAnnotations    map[string]string      `json:"podAnnotations,omitempty"`
	PriorityClassName string                 `json:"priorityClassName"`
	Tolerations       []podvalues.Toleration `json:"tolerations"`
	// PodSecurityContext and SecurityContext: see agentSecurityContext.
	PodSecurityContext podvalues.PodSecurityContext `json:"podSecurityContext"`
	SecurityContext    podvalues.SecurityContext    `json:"securityContext"`
	Resources          podvalues.Resources          `json:"resources"`
	LivenessProbe      Probe                        `json:"livenessProbe"`
	ReadinessProbe     Probe                        `json:"readinessProbe"`
	UpdateStrategy     UpdateStrategy               `json:"updateStrategy"`
}

// agentPod is the pod both agents run: the ingest token from the Secret
// only, a checksum annotation that rolls the pods when our configuration
// changes, on every node, with the agent's probes. A tenth of the nodes
// update at a time.
func agentPod(a Args, secretName, configChecksum string, readOnlyRoot bool, liveness, readiness Probe) AgentPod {
	return AgentPod{
		Env:                []EnvVar{tokenEnv(secretName)},
		PodAnnotations:     map[string]string{"checksum/platform-config": configChecksum},
		PriorityClassName:  a.PriorityClassName,
		Tolerations:        tolerateEverything,
		PodSecurityContext: podvalues.PodSecurityContext{SeccompProfile: podvalues.RuntimeDefaultSeccomp()},
		SecurityContext:    agentSecurityContext(readOnlyRoot),
		Resources: podvalues.Requests(fmt.Sprintf("%dm", a.CPURequestMilli),
			fmt.Sprintf("%dMi", a.MemoryRequestMiB), fmt.Sprintf("%dMi", a.MemoryLimitMiB)),
		LivenessProbe:  liveness,
		ReadinessProbe: readiness,
		UpdateStrategy: UpdateStrategy{Type: "RollingUpdate", RollingUpdate: &RollingUpdate{MaxUnavailable: "10%"}},
	}
}
