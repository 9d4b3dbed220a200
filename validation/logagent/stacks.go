package logagent

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/cmd/plan/planout"
	"github.com/cnplatform/platform/components/logging/agentspec"
	"github.com/cnplatform/platform/validation"
)

// Stack is what one stack file deploys for the log pipeline, read from the
// repository's own `cmd/plan -out`: the objects the program declares and
// the fluent-bit chart rendered with the values the program sends.
type Stack struct {
	Name string
	// Config is the `fluent-bit.yaml` of the agent's ConfigMap.
	Config []byte
	// Rules is the stack's Prometheus rule file; Dashboard the log pipeline
	// dashboard (Grafana JSON).
	Rules, Dashboard []byte
	// Namespace the agent runs in, and Job the job label Prometheus gives
	// its series (the ServiceMonitor's jobLabel, on the chart's Service).
	Namespace, Job string
	// MetricsPortName is the port the ServiceMonitor scrapes.
	MetricsPortName string
	// DaemonSet is the chart's DaemonSet and AgentRules its ClusterRole's
	// rules, as rendered.
	DaemonSet  DaemonSet
	AgentRules []any
	// MemoryLimitMiB is the agent container's memory limit and ImageTag its
	// image tag.
	MemoryLimitMiB int
	ImageTag       string
}

// DaemonSet is the part of the rendered DaemonSet the scenarios check.
type DaemonSet struct {
	Spec struct {
		Template struct {
			Spec struct {
				Containers []Container `json:"containers"`
				Volumes    []struct {
					Name      string `json:"name"`
					ConfigMap *struct {
						Name string `json:"name"`
					} `json:"configMap"`
					HostPath *struct {
						Path string `json:"path"`
					} `json:"hostPath"`
				} `json:"volumes"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// Container is a pod container, the fields checked.
type Container struct {
	Name  string   `json:"name"`
	Image string   `json:"image"`
	Args  []string `json:"args"`
	Env   []struct {
		Name string `json:"name"`
	} `json:"env"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	Resources struct {
		Limits struct {
			Memory string `json:"memory"`
		} `json:"limits"`
	} `json:"resources"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		ReadOnly  bool   `json:"readOnly"`
	} `json:"volumeMounts"`
}

// Agent names as the logging component deploys them.
const (
	agentRelease   = agentspec.FluentBit
	agentConfigMap = "fluent-bit-config"
	agentConfigKey = agentspec.FluentBitConfigFile
)

// RenderStacks builds cmd/plan and renders every stack file into workDir.
// Stacks that run no Fluent Bit (logging off, or Fluentd) are returned in
// without.
func RenderStacks(repoRoot, workDir string) (with []Stack, without []string, err error) {
	names, err := validation.StackNames(repoRoot)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no Pulumi.<stack>.yaml in %s", repoRoot)
	}
	plan := filepath.Join(workDir, "plan")
	if err := validation.BuildPlan(repoRoot, plan); err != nil {
		return nil, nil, err
	}
	for _, name := range names {
		s, ok, err := renderStack(plan, repoRoot, name, filepath.Join(workDir, "plan-"+name))
		if err != nil {
			return nil, nil, fmt.Errorf("stack %s: %w", name, err)
		}
		if !ok {
			without = append(without, name)
			continue
		}
		with = append(with, s)
	}
	return with, without, nil
}

func renderStack(plan, repoRoot, name, out string) (Stack, bool, error) {
	s := Stack{Name: name}
	objs, err := validation.RenderStack(plan, repoRoot, name, out)
	if err != nil {
		return s, false, err
	}
	var jobLabel string
	for _, o := range objs {
		switch {
		case o.GetKind() == "ConfigMap" && o.GetName() == agentConfigMap:
			data, _ := o.Object["data"].(map[string]any)
			text, _ := data[agentConfigKey].(string)
			s.Config, s.Namespace = []byte(text), o.GetNamespace()
		case o.GetKind() == "ServiceMonitor" && o.GetName() == agentRelease:
			spec, _ := o.Object["spec"].(map[string]any)
			jobLabel, _ = spec["jobLabel"].(string)
			if eps, _ := spec["endpoints"].([]any); len(eps) == 1 {
				ep, _ := eps[0].(map[string]any)
				s.MetricsPortName, _ = ep["port"].(string)
			}
		}
	}
	if len(s.Config) == 0 {
		return s, false, nil
	}
	// The generator's own copy of the pipeline must be the ConfigMap's.
	file, err := os.ReadFile(filepath.Join(out, "logging", "fluent-bit", agentConfigKey))
	if err != nil {
		return s, false, err
	}
	if string(file) != string(s.Config) {
		return s, false, fmt.Errorf("logging/fluent-bit/%s differs from the ConfigMap the DaemonSet mounts", agentConfigKey)
	}
	if s.Rules, err = os.ReadFile(filepath.Join(out, "monitoring", "rules", "platform-rules.yaml")); err != nil {
		return s, false, err
	}
	if s.Dashboard, err = os.ReadFile(filepath.Join(out, "monitoring", "dashboards", "log-pipeline.json")); err != nil {
		return s, false, err
	}

	chart, err := chartObjects(filepath.Join(out, planout.ChartsSubdir, agentRelease))
	if err != nil {
		return s, false, err
	}
	ds, ok := chart["DaemonSet"]
	if !ok {
		return s, false, fmt.Errorf("the rendered fluent-bit chart has no DaemonSet")
	}
	raw, _ := yaml.Marshal(ds)
	if err := yaml.Unmarshal(raw, &s.DaemonSet); err != nil {
		return s, false, err
	}
	if cr, ok := chart["ClusterRole"]; ok {
		s.AgentRules, _ = cr["rules"].([]any)
	}
	if svc, ok := chart["Service"]; ok && jobLabel != "" {
		meta, _ := svc["metadata"].(map[string]any)
		labels, _ := meta["labels"].(map[string]any)
		s.Job, _ = labels[jobLabel].(string)
	}
	if s.Job == "" {
		return s, false, fmt.Errorf("no job label: the ServiceMonitor's jobLabel %q is not a label of the chart's Service", jobLabel)
	}
	c, err := s.AgentContainer()
	if err != nil {
		return s, false, err
	}
	m := mebibytes.FindStringSubmatch(c.Resources.Limits.Memory)
	if m == nil {
		return s, false, fmt.Errorf("container %s: resources.limits.memory %q: want <n>Mi", c.Name, c.Resources.Limits.Memory)
	}
	s.MemoryLimitMiB, _ = strconv.Atoi(m[1])
	if i := strings.LastIndex(c.Image, ":"); i > 0 {
		s.ImageTag = c.Image[i+1:]
	}
	return s, true, nil
}

var mebibytes = regexp.MustCompile(`^(\d+)Mi$`)

// AgentContainer is the DaemonSet's fluent-bit container.
func (s Stack) AgentContainer() (Container, error) {
	for _, c := range s.DaemonSet.Spec.Template.Spec.Containers {
		if c.Name == agentRelease {
			return c, nil
		}
	}
	return Container{}, fmt.Errorf("the DaemonSet has no %s container", agentRelease)
}

// chartObjects reads the objects `plan -out` rendered from a chart, by kind
// (one each is expected here).
func chartObjects(dir string) (map[string]map[string]any, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("the fluent-bit chart was not rendered (%s missing): plan renders charts from ../shared/charts, -charts DIR or $%s", dir, planout.ChartsDirEnv)
	}
	out := map[string]map[string]any{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".yaml") || filepath.Base(p) == planout.ReleaseFile {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, doc := range strings.Split(string(b), "\n---") {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if kind, _ := m["kind"].(string); kind != "" {
				out[kind] = m
			}
		}
		return nil
	})
	return out, err
}
