package validation

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// repoRoot holds Pulumi.yaml, the stack files, cmd/plan and .tools.
const repoRoot = ".."

// requiredStacks must all exist: a renamed or lost stack file must not
// shrink what is validated.
var requiredStacks = []string{"dev", "staging", "prod", "local"}

var (
	workDir     string
	renderOnce  sync.Once
	renderErr   error
	stackObject map[string][]Object
)

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime; failures reach the tests as
	// errors, so its progress messages are not needed.
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "validation-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// stacks renders every stack once per test binary with the repository's
// own plan command and returns each stack's Kubernetes objects.
func stacks(t *testing.T) map[string][]Object {
	t.Helper()
	renderOnce.Do(func() {
		names, err := StackNames(repoRoot)
		if err != nil {
			renderErr = err
			return
		}
		plan := filepath.Join(workDir, "plan")
		if renderErr = BuildPlan(repoRoot, plan); renderErr != nil {
			return
		}
		stackObject = map[string][]Object{}
		for _, name := range names {
			objs, err := RenderStack(plan, repoRoot, name, filepath.Join(workDir, "plan-"+name))
			if err != nil {
				renderErr = err
				return
			}
			stackObject[name] = objs
		}
	})
	require.NoError(t, renderErr)
	for _, s := range requiredStacks {
		require.Contains(t, stackObject, s, "stack file Pulumi.%s.yaml", s)
	}
	return stackObject
}

// sortedStacks returns the stack names in a stable order.
func sortedStacks(objs map[string][]Object) []string {
	names, _ := StackNames(repoRoot)
	var out []string
	for _, n := range names {
		if _, ok := objs[n]; ok {
			out = append(out, n)
		}
	}
	return out
}
