package validation

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// trivyAllowListFile carries the trivy findings accepted on the program's
// objects and the charts rendered with our values, each with its reason
// (same format as kube-score-allow.yaml, with trivy check IDs).
const trivyAllowListFile = "trivy-allow.yaml"

// trivyCanary is a pod every run scans beside the stack's objects.
const (
	trivyCanaryFile = "canary.yaml"
	trivyCanary     = `apiVersion: v1
kind: Pod
metadata:
  name: trivy-canary
  namespace: canary
spec:
  hostNetwork: true
  containers:
  - name: canary
    image: registry.example.com/canary:1.0.0
`
)

// trivyScanned is one object written for trivy: its key and where it
// comes from (the program, or a chart release).
type trivyScanned struct {
	key, origin string
}

// TestTrivyEveryStack runs trivy (misconfiguration mode, Kubernetes
// checks, offline) over every object each stack declares and every object
// of every chart it installs, rendered with the stack's values. Every
// failed check must be fixed in our objects or values or accepted in
// trivy-allow.yaml with a reason; a new finding fails and names the stack,
// the object, where it comes from and the check. It prints one line:
// trivy: stacks=<n> objects=<n> findings=<n> allowed=<n> failed=<n>.
func TestTrivyEveryStack(t *testing.T) {
	allow, err := LoadAllowList(trivyAllowListFile)
	require.NoError(t, err)
	for _, e := range allow {
		assert.Empty(t, e.Problems(), "%s entry %s %s", trivyAllowListFile, e.Check, e.Object)
	}
	require.NoError(t, RequireTools(repoRoot, "trivy"))
	bin := filepath.Join(ToolsBin(repoRoot), "trivy")
	// The checks are the ones compiled into the pinned release.
	info, err := exec.Command("go", "version", "-m", bin).Output()
	require.NoError(t, err, "go version -m %s", bin)
	require.Regexp(t, `(?m)^\s+mod\s+github.com/aquasecurity/trivy\s+`+regexp.QuoteMeta(TrivyVersion)+`\s`, string(info),
		"%s is not trivy %s: run ./scripts/kube-tools.sh", bin, TrivyVersion)
	used := make([]bool, len(allow))

	all := stacks(t)
	var nStacks, nObjects, nFindings, nAllowed, nFailed int
	for _, stack := range sortedStacks(all) {
		dir := t.TempDir()
		written := map[string]trivyScanned{} // file relative to dir -> object
		write := func(file string, obj map[string]any, s trivyScanned) {
			b, err := yaml.Marshal(obj)
			require.NoError(t, err)
			p := filepath.Join(dir, filepath.FromSlash(file))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, b, 0o644))
			written[file] = s
		}
		for _, o := range all[stack] {
			write("program/"+o.File, o.Object, trivyScanned{key: o.Key(), origin: "the program (" + o.File + ")"})
		}
		for _, rel := range renderedReleases(t, all, stack) {
			for i, o := range rel.Objects {
				obj := o.Unstructured.DeepCopy()
				if obj.GetNamespace() == "" && !clusterScopedKinds[obj.GetKind()] {
					obj.SetNamespace(rel.Namespace) // as Helm installs it
				}
				key := obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
				write(fmt.Sprintf("charts/%s/%03d.yaml", rel.Release, i), obj.Object, trivyScanned{key: key, origin: rel.ID()})
			}
		}

		// The canary proves the checks run and read our data: trivy must
		// flag its host network and its image from a registry not in
		// trivy-data/trusted-registries.json. It is not counted.
		require.NoError(t, os.WriteFile(filepath.Join(dir, trivyCanaryFile), []byte(trivyCanary), 0o644))

		rep, err := Trivy(bin, dir, TrivyDataDir)
		require.NoError(t, err, "stack %s", stack)
		canary := map[string]bool{}
		for _, f := range rep.Findings {
			if f.File == trivyCanaryFile {
				canary[f.Check] = true
			}
		}
		for _, c := range []string{"KSV-0009", "KSV-0125"} {
			require.True(t, canary[c], "stack %s: trivy did not report %s on the canary pod %s: are its checks running? (found %v)", stack, c, trivyCanaryFile, canary)
		}
		delete(rep.Scanned, trivyCanaryFile)
		for file, s := range written {
			assert.True(t, rep.Scanned[file], "stack %s: trivy did not scan %s, %s (%s)", stack, s.key, s.origin, file)
		}
		for file := range rep.Scanned {
			_, ok := written[file]
			assert.True(t, ok, "stack %s: trivy scanned %s, which the test did not write", stack, file)
		}
		sort.Slice(rep.Findings, func(i, j int) bool {
			a, b := rep.Findings[i], rep.Findings[j]
			return a.File+a.Check < b.File+b.Check
		})
		for _, f := range rep.Findings {
			if f.File == trivyCanaryFile {
				continue
			}
			s := written[f.File]
			accepted := false
			for i, e := range allow {
				if e.Matches(f.Check, s.key) {
					accepted, used[i] = true, true
				}
			}
			nFindings++
			if accepted {
				nAllowed++
				continue
			}
			nFailed++
			t.Errorf("stack %s: %s from %s: trivy %s %s (%s): %s (fix it in our objects or values, or add check %q with the object and a reason to validation/%s)",
				stack, s.key, s.origin, f.Check, f.Severity, f.Title, f.Message, f.Check, trivyAllowListFile)
		}
		nStacks++
		nObjects += len(rep.Scanned)
	}
	for i, e := range allow {
		if !used[i] {
			t.Errorf("%s: entry %s %s matched no finding in any stack: remove it", trivyAllowListFile, e.Check, e.Object)
		}
	}
	// Printed, not logged: scripts/test runs this test's binary directly so
	// that the line shows on a passing run.
	fmt.Printf("trivy: stacks=%d objects=%d findings=%d allowed=%d failed=%d\n", nStacks, nObjects, nFindings, nAllowed, nFailed)
}
