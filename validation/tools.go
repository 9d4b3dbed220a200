package validation

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tools are the binaries scripts/kube-tools.sh installs into .tools/bin.
var Tools = []string{"kube-apiserver", "etcd", "kube-score", "trivy"}

// ToolsBin is the directory scripts/kube-tools.sh installs binaries into.
func ToolsBin(repoRoot string) string { return filepath.Join(repoRoot, ".tools", "bin") }

// CRDDir is the directory scripts/kube-tools.sh generates CRDs into, one
// subdirectory per API group.
func CRDDir(repoRoot string) string { return filepath.Join(repoRoot, ".tools", "crds") }

// RequireTools returns an error naming every missing tool (binary or CRD
// directory) and the command that installs them. Tests fail on it: a
// missing tool must never turn into a skipped check.
func RequireTools(repoRoot string, names ...string) error {
	var missing []string
	for _, n := range names {
		p := filepath.Join(ToolsBin(repoRoot), n)
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if dirs, _ := CRDDirs(repoRoot); len(dirs) == 0 {
		missing = append(missing, CRDDir(repoRoot)+"/*/")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run ./scripts/kube-tools.sh from the repository root", strings.Join(missing, ", "))
	}
	return nil
}

// CRDDirs lists the per-group CRD directories under CRDDir.
func CRDDirs(repoRoot string) ([]string, error) {
	entries, err := os.ReadDir(CRDDir(repoRoot))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(CRDDir(repoRoot), e.Name()))
		}
	}
	return dirs, nil
}
