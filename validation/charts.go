package validation

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/cmd/plan/planout"
)

// ChartsDir is the chart repository the plan renders from:
// $PLATFORM_CHARTS_DIR (planout.ChartsDirEnv) or ../shared/charts beside
// the repository.
func ChartsDir(repoRoot string) string {
	dir, _ := planout.ChartsDir(repoRoot)
	return dir
}

// RenderedRelease is one Helm release as rendered by `cmd/plan -out`.
type RenderedRelease struct {
	planout.ChartReport
	Objects []Object
}

// ID names an object of the release for a failure message.
func (r RenderedRelease) ID() string {
	return fmt.Sprintf("chart %s %s (release %s)", r.Chart, r.Rendered, r.Release)
}

var yamlDocSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// ReadReleases reads every release under dir (DIR/charts): each
// <release>/release.yaml (planout.ReleaseFile) and the multi-document
// template files beside it.
func ReadReleases(stack, dir string) ([]RenderedRelease, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("stack %s: rendered charts: %w", stack, err)
	}
	var out []RenderedRelease
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		base := filepath.Join(dir, e.Name())
		report := filepath.Join(base, planout.ReleaseFile)
		b, err := os.ReadFile(report)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", stack, err)
		}
		var rel RenderedRelease
		if err := yaml.UnmarshalStrict(b, &rel.ChartReport); err != nil {
			return nil, fmt.Errorf("stack %s: %s/%s: %w", stack, e.Name(), planout.ReleaseFile, err)
		}
		var files []string
		err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && p != report {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			rel.Objects = append(rel.Objects, objectsOf(stack, base, f, b)...)
		}
		if len(rel.Objects) != rel.ChartReport.Objects {
			return nil, fmt.Errorf("stack %s: release %s: read %d objects, %s says %d", stack, rel.Release, len(rel.Objects), planout.ReleaseFile, rel.ChartReport.Objects)
		}
		out = append(out, rel)
	}
	return out, nil
}

func objectsOf(stack, base, file string, b []byte) []Object {
	rel, _ := filepath.Rel(base, file)
	var out []Object
	for _, doc := range yamlDocSeparator.Split(string(b), -1) {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil || m == nil {
			continue
		}
		out = append(out, Object{Stack: stack, File: filepath.ToSlash(rel), Path: file, Unstructured: &unstructured.Unstructured{Object: m}})
	}
	return out
}

// IsCRD reports whether o is a CustomResourceDefinition.
func IsCRD(o Object) bool {
	return o.GetKind() == "CustomResourceDefinition" && o.GroupVersionKind().Group == "apiextensions.k8s.io"
}
