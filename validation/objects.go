package validation

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/cmd/plan/planout"
	"github.com/cnplatform/platform/harness/stackfiles"
)

// Placeholders the offline plan writes where a value is not known: secret
// outputs and computed values (harness.Plain).
const (
	SecretPlaceholder  = "[secret]"
	UnknownPlaceholder = "[unknown]"
)

// Object is one Kubernetes object a stack declares, as written by
// `go run ./cmd/plan -stack S -out DIR` under DIR/kubernetes/.
type Object struct {
	// Stack is the stack that declares the object.
	Stack string
	// File is the object's file name under DIR/kubernetes/.
	File string
	// Path is the file's full path.
	Path string

	*unstructured.Unstructured
}

// ID names the object the way a reviewer looks for it:
// "Kind namespace/name (file)" or "Kind name (file)" for cluster objects.
func (o Object) ID() string {
	name := o.GetName()
	if ns := o.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("%s %s (%s)", o.GetKind(), name, o.File)
}

// Key is "Kind/namespace/name" ("Kind//name" for cluster objects), the form
// the kube-score allow-list matches.
func (o Object) Key() string {
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// StackNames lists the stacks that have a Pulumi.<stack>.yaml in repoRoot.
func StackNames(repoRoot string) ([]string, error) { return stackfiles.Names(repoRoot) }

// BuildPlan compiles the repository's cmd/plan into binary, so each stack
// is rendered without relinking.
func BuildPlan(repoRoot, binary string) error {
	cmd := exec.Command("go", "build", "-o", binary, "./cmd/plan")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/plan in %s: %v\n%s", repoRoot, err, out)
	}
	return nil
}

// RenderStack runs the plan binary for stack with -out outDir and reads the
// objects it wrote.
func RenderStack(planBinary, repoRoot, stack, outDir string) ([]Object, error) {
	cmd := exec.Command(planBinary, "-stack", stack, "-dir", repoRoot, "-out", outDir)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("plan -stack %s -out %s: %v\n%s", stack, outDir, err, stderr.String())
	}
	return ReadObjects(stack, filepath.Join(outDir, planout.KubernetesSubdir))
}

// ReadObjects reads every *.yaml file in dir; each holds one object.
func ReadObjects(stack, dir string) ([]Object, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var objs []Object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("stack %s: %s: %w", stack, f, err)
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("stack %s: %s: no apiVersion/kind", stack, f)
		}
		objs = append(objs, Object{Stack: stack, File: filepath.Base(f), Path: f, Unstructured: u})
	}
	return objs, nil
}

// SecretDataPlaceholders lists the keys of a Secret's `data` that hold the
// secret placeholder. `data` must be base64 and the project delivers
// secrets through `stringData` (pulumi-kubernetes encodes nothing for us),
// so such a key is a program error, reported as such rather than replaced.
func SecretDataPlaceholders(o Object) []string {
	if o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" {
		return nil
	}
	data, _, _ := unstructured.NestedMap(o.Object, "data")
	var keys []string
	for k, v := range data {
		if s, ok := v.(string); ok && s == SecretPlaceholder {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// HasUnknown reports whether any value of the object is the offline plan's
// unknown placeholder (a value computed at deploy time).
func HasUnknown(o Object) bool {
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			return x == UnknownPlaceholder
		case map[string]any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(o.Object)
}
