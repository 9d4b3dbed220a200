// Package planout is what `cmd/plan` writes and where it reads charts
// from: the chart report of each rendered Helm release (in the JSON plan,
// and as DIR/charts/<release>/release.yaml under `-out DIR`, beside the
// release's rendered templates) and the static Helm chart repository. It
// imports only the standard library, so the validation module reads the
// plan's files with these types without pulling in the Pulumi program.
package planout

import (
	"os"
	"path/filepath"
)

// ChartsDirEnv names the static Helm chart repository (index.yaml and the
// chart archives) the plan renders releases from, when -charts is not set.
const ChartsDirEnv = "PLATFORM_CHARTS_DIR"

// ChartsDir is the chart repository for the project in projectDir:
// $ChartsDirEnv when set (named true: it must exist), else ../shared/charts
// beside the project.
func ChartsDir(projectDir string) (dir string, named bool) {
	if d := os.Getenv(ChartsDirEnv); d != "" {
		return d, true
	}
	return filepath.Join(projectDir, "..", "shared", "charts"), false
}

// Under `-out DIR`: ChartsSubdir/<release>/ holds each release's
// ReleaseFile (its ChartReport) and its templates under <chart>/;
// KubernetesSubdir holds every object the program declares, one per file.
const (
	ChartsSubdir     = "charts"
	ReleaseFile      = "release.yaml"
	KubernetesSubdir = "kubernetes"
)

// ChartReport is one rendered Helm release: in the JSON plan, and the
// ReleaseFile of the release under `-out`.
type ChartReport struct {
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	Chart     string `json:"chart"`
	// Pinned is the version the program installs; Rendered the version
	// rendered (older when the chart repository lacks the pin, see Note).
	Pinned   string `json:"pinnedVersion"`
	Rendered string `json:"renderedVersion"`
	Note     string `json:"note,omitempty"`
	// Objects is the number of rendered objects, Kinds the count per kind.
	Objects int            `json:"objects"`
	Kinds   map[string]int `json:"kinds"`
}
