package validation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// KubernetesVersion is the cluster version kube-score checks deprecated
// APIs against: components/cluster's DefaultKubernetesVersion (EKS 1.36).
const KubernetesVersion = "v1.36"

// Kube-score grades (github.com/zegl/kube-score/scorecard).
const (
	GradeCritical = 1
	GradeWarning  = 5
)

// ScoredKinds are the kinds kube-score v1.20.0 scores; it ignores others.
var ScoredKinds = map[string]bool{
	"Pod": true, "Job": true, "CronJob": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true,
	"Service": true, "NetworkPolicy": true, "Ingress": true, "PodDisruptionBudget": true, "HorizontalPodAutoscaler": true,
}

// ScoredObject is one object of kube-score's JSON (v2) output.
type ScoredObject struct {
	TypeMeta struct {
		Kind string `json:"kind"`
	} `json:"type_meta"`
	ObjectMeta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"object_meta"`
	FileName string `json:"file_name"`
	Checks   []struct {
		Check struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"check"`
		Grade    int  `json:"grade"`
		Skipped  bool `json:"skipped"`
		Comments []struct {
			Path    string `json:"path"`
			Summary string `json:"summary"`
		} `json:"comments"`
	} `json:"checks"`
}

// Key is the object's "Kind/namespace/name", as Object.Key.
func (s ScoredObject) Key() string {
	return s.TypeMeta.Kind + "/" + s.ObjectMeta.Namespace + "/" + s.ObjectMeta.Name
}

// Finding is a check graded warning or critical.
type Finding struct {
	Key, File, Check, Name string
	Grade                  int
	Comments               []string
}

func (f Finding) String() string {
	grade := "WARNING"
	if f.Grade <= GradeCritical {
		grade = "CRITICAL"
	}
	return fmt.Sprintf("%s (%s): %s %s [%s]: %s", f.Key, f.File, grade, f.Check, f.Name, strings.Join(f.Comments, "; "))
}

// Findings lists the non-skipped checks graded warning or worse.
func (s ScoredObject) Findings() []Finding {
	var out []Finding
	for _, c := range s.Checks {
		if c.Skipped || c.Grade > GradeWarning {
			continue
		}
		f := Finding{Key: s.Key(), File: s.FileName, Check: c.Check.ID, Name: c.Check.Name, Grade: c.Grade}
		for _, m := range c.Comments {
			f.Comments = append(f.Comments, strings.TrimSpace(m.Path+" "+m.Summary))
		}
		out = append(out, f)
	}
	return out
}

// KubeScore runs `kube-score score` on files (kube-score exits 1 when it
// grades anything critical; that is a result, not an error).
func KubeScore(binary string, files []string) ([]ScoredObject, error) {
	args := append([]string{"score", "--output-format", "json", "--kubernetes-version", KubernetesVersion}, files...)
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, fmt.Errorf("kube-score: %v\n%s", err, stderr.String())
	}
	var objs []ScoredObject
	if err := json.Unmarshal(stdout.Bytes(), &objs); err != nil {
		return nil, fmt.Errorf("kube-score output is not JSON (%v): %s%s", err, stdout.String(), stderr.String())
	}
	return objs, nil
}
