package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/cnplatform/platform/components/helmrelease/render"
)

// chartKeys is what a chart (and its subcharts) knows: the defaults of its
// values.yaml and the text of its templates.
type chartKeys struct {
	defaults  map[string]any
	templates string
	subcharts map[string]*chartKeys
}

func keysOf(c *chart.Chart) *chartKeys {
	k := &chartKeys{defaults: c.Values, subcharts: map[string]*chartKeys{}}
	var b strings.Builder
	for _, t := range c.Templates {
		b.Write(t.Data)
		b.WriteByte('\n')
	}
	k.templates = b.String()
	for _, d := range c.Dependencies() {
		k.subcharts[d.Name()] = keysOf(d)
	}
	for _, d := range c.Metadata.Dependencies {
		if d.Alias != "" {
			if sub, ok := k.subcharts[d.Name]; ok {
				k.subcharts[d.Alias] = sub
			}
		}
	}
	return k
}

// read reports whether a template mentions the key: as a field
// (`.Values.a.key`, `.key` inside a `with`) or a string (`index . "key"`,
// `hasKey . "key"`).
func (k *chartKeys) read(key string) bool {
	q := regexp.QuoteMeta(key)
	return regexp.MustCompile(`\.` + q + `\b|"` + q + `"`).MatchString(k.templates)
}

// passedWhole reports whether a template hands the map under key to the
// output as a whole (`toYaml .Values.x.key`, `.Values.key | toYaml`, or a
// `with` block of it): its contents are Kubernetes fields (a
// securityContext, a probe), not chart settings.
func (k *chartKeys) passedWhole(key string) bool {
	q := regexp.QuoteMeta(key)
	return regexp.MustCompile(`toYaml\s+\(?[$.\w]*\.` + q + `\b|[$.\w]*\.` + q + `\s*\|\s*toYaml|with\s+[$.\w]*\.` + q + `\s*-?}}`).MatchString(k.templates)
}

// unknownKeys lists the paths of values that the chart neither declares in
// values.yaml nor reads in a template. Below a key whose default is an
// empty map (free-form: annotations, resources, nodeSelector), a map the
// templates pass on whole, or a non-map, nothing is checked.
func unknownKeys(k *chartKeys, values map[string]any) []string {
	var out []string
	var walk func(k *chartKeys, defaults map[string]any, v map[string]any, path string, top bool)
	walk = func(k *chartKeys, defaults map[string]any, v map[string]any, path string, top bool) {
		for key, val := range v {
			p := strings.TrimPrefix(path+"."+key, ".")
			sub, isMap := val.(map[string]any)
			if top {
				if sc, ok := k.subcharts[key]; ok && isMap {
					walk(sc, sc.defaults, sub, p, true)
					continue
				}
				if key == "global" {
					continue
				}
			}
			def, declared := defaults[key]
			if !declared {
				if !k.read(key) {
					out = append(out, p)
				}
				continue
			}
			defMap, defIsMap := def.(map[string]any)
			if isMap && defIsMap && len(defMap) > 0 && !k.passedWhole(key) {
				walk(k, defMap, sub, p, false)
			}
		}
	}
	walk(k, k.defaults, values, "", true)
	sort.Strings(out)
	return out
}

// settersOf names the Go files under components/ that can set a values
// key: a json tag or a string literal with that name.
func settersOf(t *testing.T, key string) []string {
	var files []string
	tag := regexp.MustCompile("json:\"" + regexp.QuoteMeta(key) + "[,\"]|\"" + regexp.QuoteMeta(key) + "\"")
	root := filepath.Join(repoRoot, "components")
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && tag.Match(b) {
			rel, _ := filepath.Rel(repoRoot, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	}))
	return files
}

func unknownKeyProblems(t *testing.T, chartName string, k *chartKeys, values map[string]any) []string {
	var out []string
	for _, p := range unknownKeys(k, values) {
		last := p[strings.LastIndex(p, ".")+1:]
		setters := settersOf(t, last)
		where := "set by " + strings.Join(setters, ", ")
		if len(setters) == 0 {
			where = "set by no Go file under components/ (a computed key?)"
		}
		out = append(out, fmt.Sprintf("chart %s: values key %s is not in the chart's values.yaml and no template reads it (%s)", chartName, p, where))
	}
	return out
}

// TestEveryValuesKeyIsKnownToItsChart: every key of the values each stack
// sends is declared by the chart (or subchart) or read by its templates;
// a misspelt or renamed key would otherwise be ignored silently.
func TestEveryValuesKeyIsKnownToItsChart(t *testing.T) {
	charts := map[string]*chartKeys{}
	checked := 0
	for _, s := range renderAll(t) {
		for _, r := range s.Results {
			k, ok := charts[r.Resolved.Archive]
			if !ok {
				c, err := loader.Load(r.Resolved.Archive)
				require.NoError(t, err)
				k = keysOf(c)
				charts[r.Resolved.Archive] = k
			}
			for _, p := range unknownKeyProblems(t, r.Resolved.Chart+" "+r.Resolved.Version, k, r.Release.Values) {
				t.Errorf("stack %s release %s: %s", s.Name, r.Release.Name, p)
			}
			checked++
		}
	}
	require.Positive(t, checked)
}

// The check finds a key the chart does not know, names chart, key and the
// Go file that sets it, and accepts the real keys around it.
func TestUnknownValuesKeyIsReported(t *testing.T) {
	all := renderAll(t)
	var fb *render.Result
	for _, r := range all[0].Results {
		if r.Resolved.Chart == "fluent-bit" || r.Resolved.Chart == "kube-prometheus-stack" {
			fb = r
		}
	}
	require.NotNil(t, fb, "a fluent-bit or kube-prometheus-stack release in stack %s", all[0].Name)
	c, err := loader.Load(fb.Resolved.Archive)
	require.NoError(t, err)
	k := keysOf(c)
	values := map[string]any{}
	for key, v := range fb.Release.Values {
		values[key] = v
	}
	// A real field name of our values structs in a place the chart does
	// not have it.
	values["priorityClassNameX"] = "x"
	values["podAnnotations"] = map[string]any{"free-form": "ok"}
	problems := unknownKeyProblems(t, fb.Resolved.Chart, k, values)
	require.Len(t, problems, 1, "%v", problems)
	assert.Contains(t, problems[0], "chart "+fb.Resolved.Chart+": values key priorityClassNameX ")
	assert.Empty(t, unknownKeyProblems(t, fb.Resolved.Chart, k, fb.Release.Values), "the values the program sends")
	// The file that sets a key is named.
	assert.Contains(t, settersOf(t, "checksum/platform-config"), "components/logging/podspec.go", "the agents' shared pod values (AgentPod)")
}
