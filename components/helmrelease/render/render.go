// Package render renders the Helm releases the program declares the way the
// Kubernetes provider's helm.v3.Release renders them, offline: the same
// Helm SDK major (helm.sh/helm/v3), the release's own name, namespace and
// values, the cluster's Kubernetes version, the chart's CRDs included. It
// registers no Pulumi resource: cmd/plan and the tests call it on the
// releases the mocks harness recorded, so what is rendered is exactly what
// the program sends.
//
// The provider renders with Helm's install action in client-only dry-run
// mode (pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go,
// helmTemplate: action.NewInstall with DryRun, ClientOnly, Replace and
// IncludeCRDs). Render calls the same Helm functions that action runs
// (helm.sh/helm/v3 v3.22.0 pkg/action/install.go RunWithContext and
// action.go renderResources: ProcessDependenciesWithMerge,
// ToRenderValuesWithSchemaValidation, engine.Render, SortManifests,
// CRDObjects) without importing the action package, which would bring
// Helm's Kubernetes client, registry client and SQL storage driver into
// every build of this module.
package render

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/kubeobject"
)

// ReleaseType is the Pulumi type token of a Helm release.
const ReleaseType = "kubernetes:helm.sh/v3:Release"

// ChartType is the Pulumi type token of a helm.v4 Chart, which the program
// uses for the CRD-only charts (helmrelease.NewCRDs). It takes the same
// inputs as a release, and renders the same way.
const ChartType = "kubernetes:helm.sh/v4:Chart"

// Types are the resource types that render as charts, in the order the
// program's charts are applied: CRD charts, then releases.
var Types = []string{ChartType, ReleaseType}

// Release is what one helm.v3.Release (or helm.v4 Chart) resource asks the
// provider for.
type Release struct {
	// Name and Namespace of the release.
	Name      string
	Namespace string
	// Chart is the chart's name: the last element of the `chart` input,
	// which may be a plain name, an OCI reference or an archive path.
	Chart string
	// Ref is the `chart` input as the program sends it.
	Ref string
	// Version is the pinned chart version.
	Version string
	// Repo is repositoryOpts.repo ("" for OCI references and archives).
	Repo string
	// Values are the values the program sends.
	Values map[string]any
	// SkipCRDs: the chart's crds/ directory is not installed (`skipCrds`);
	// its CRDs come from a CRD chart the program applies first.
	SkipCRDs bool
	// Type is the resource's type: ReleaseType, or ChartType for the CRD
	// charts ("" when read from inputs alone).
	Type string
}

// ReleaseFromResource reads the plain inputs of a resource of one of Types.
// A helm.v4 Chart without a namespace renders into the provider's default
// namespace; a release always names its own.
func ReleaseFromResource(typ string, in map[string]any) (Release, error) {
	if ns, _ := in["namespace"].(string); typ == ChartType && ns == "" {
		in = maps.Clone(in)
		in["namespace"] = "default"
	}
	r, err := ReleaseFromInputs(in)
	r.Type = typ
	return r, err
}

// archiveName matches a chart archive file name: <name>-<version>.tgz.
var archiveName = regexp.MustCompile(`^(.+)-(v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\.tgz$`)

// ReleaseFromInputs reads a helm.v3.Release's plain inputs (the harness's
// Resource.PlainInputs, or `inputs` in `cmd/plan -json`).
func ReleaseFromInputs(in map[string]any) (Release, error) {
	str := func(k string) string { s, _ := in[k].(string); return s }
	r := Release{Name: str("name"), Namespace: str("namespace"), Ref: str("chart"), Version: str("version")}
	r.SkipCRDs, _ = in["skipCrds"].(bool)
	if opts, ok := in["repositoryOpts"].(map[string]any); ok {
		r.Repo, _ = opts["repo"].(string)
	}
	if v, ok := in["values"].(map[string]any); ok {
		r.Values = v
	} else {
		r.Values = map[string]any{}
	}
	r.Chart = path.Base(strings.TrimSuffix(r.Ref, "/"))
	if m := archiveName.FindStringSubmatch(r.Chart); m != nil {
		r.Chart = m[1]
		if r.Version == "" {
			r.Version = m[2]
		}
	}
	var missing []string
	for k, v := range map[string]string{"name": r.Name, "namespace": r.Namespace, "chart": r.Ref, "version": r.Version} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return r, fmt.Errorf("helm release %q: inputs %s not set", r.Name, strings.Join(missing, ", "))
	}
	return r, nil
}

// Repository is a static Helm chart repository on disk: index.yaml and the
// archives it lists (../shared/charts in this workspace).
type Repository struct {
	Dir   string
	index indexFile
}

// indexFile is the part of a Helm repository index.yaml Resolve reads.
type indexFile struct {
	APIVersion string                    `json:"apiVersion"`
	Entries    map[string][]indexVersion `json:"entries"`
}

type indexVersion struct {
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
}

// OpenRepository reads dir/index.yaml.
func OpenRepository(dir string) (*Repository, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.yaml"))
	if err != nil {
		return nil, fmt.Errorf("chart repository: %w", err)
	}
	var idx indexFile
	if err := yaml.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("chart repository %s: index.yaml: %w", dir, err)
	}
	if idx.APIVersion != "v1" || len(idx.Entries) == 0 {
		return nil, fmt.Errorf("chart repository %s: index.yaml is not a Helm repository index (apiVersion v1 with entries)", dir)
	}
	return &Repository{Dir: dir, index: idx}, nil
}

// Resolved is the archive chosen for a pinned chart version.
type Resolved struct {
	Chart string
	// Pinned is the version the program pins; Version the archive's.
	Pinned  string
	Version string
	Archive string
}

// Substituted reports whether an older version stands in for the pin.
func (r Resolved) Substituted() bool { return r.Pinned != r.Version }

// Note is the one line that says an older version stands in for the pin,
// or "" when the pin itself is rendered.
func (r Resolved) Note() string {
	if !r.Substituted() {
		return ""
	}
	return fmt.Sprintf("chart %s: pinned %s is not in the chart repository; rendering %s, the nearest older version", r.Chart, r.Pinned, r.Version)
}

// Resolve finds chart at version, or else the nearest older version of it
// (the repository's SOURCES.md says which pins are newer than what could
// be obtained). An exact pin is preferred, then the same spelling (with or
// without a leading "v").
func (r *Repository) Resolve(chart, version string) (Resolved, error) {
	entries := r.index.Entries[chart]
	if len(entries) == 0 {
		return Resolved{}, fmt.Errorf("chart %s %s: no version of %s in %s", chart, version, chart, filepath.Join(r.Dir, "index.yaml"))
	}
	want, err := semver.NewVersion(version)
	if err != nil {
		return Resolved{}, fmt.Errorf("chart %s: version %q: %w", chart, version, err)
	}
	var best *indexVersion
	var bestV *semver.Version
	for i := range entries {
		cv := &entries[i]
		v, err := semver.NewVersion(cv.Version)
		if err != nil || v.GreaterThan(want) {
			continue
		}
		better := best == nil || v.GreaterThan(bestV) ||
			(v.Equal(bestV) && cv.Version == version) ||
			(v.Equal(bestV) && best.Version != version && strings.HasPrefix(cv.Version, "v") == strings.HasPrefix(version, "v"))
		if better {
			best, bestV = cv, v
		}
	}
	if best == nil {
		var have []string
		for _, cv := range entries {
			have = append(have, cv.Version)
		}
		return Resolved{}, fmt.Errorf("chart %s %s: no version at or below it in %s (have %s)", chart, version, r.Dir, strings.Join(have, ", "))
	}
	if len(best.URLs) == 0 {
		return Resolved{}, fmt.Errorf("chart %s %s: index entry has no url", chart, best.Version)
	}
	archive := best.URLs[0]
	if !filepath.IsAbs(archive) && !strings.Contains(archive, "://") {
		archive = filepath.Join(r.Dir, archive)
	}
	return Resolved{Chart: chart, Pinned: version, Version: best.Version, Archive: archive}, nil
}

// Previous finds the release of chart before the one Resolve picks for
// version: the newest older version in the repository (its SOURCES.md
// holds the previous release of every chart for upgrade tests), spelled
// like the pin where the repository has both spellings.
func (r *Repository) Previous(chart, version string) (Resolved, error) {
	cur, err := r.Resolve(chart, version)
	if err != nil {
		return Resolved{}, err
	}
	curV, err := semver.NewVersion(cur.Version)
	if err != nil {
		return Resolved{}, err
	}
	var best *semver.Version
	for _, cv := range r.index.Entries[chart] {
		v, err := semver.NewVersion(cv.Version)
		if err == nil && v.LessThan(curV) && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	if best == nil {
		return Resolved{}, fmt.Errorf("chart %s: no release before %s in %s", chart, cur.Version, r.Dir)
	}
	prev, err := r.Resolve(chart, spelledLike(best, version))
	if err != nil {
		return Resolved{}, err
	}
	prev.Pinned = version
	return prev, nil
}

// spelledLike writes v with a leading "v" when pin has one.
func spelledLike(v *semver.Version, pin string) string {
	if strings.HasPrefix(pin, "v") {
		return "v" + v.String()
	}
	return v.String()
}

// Options of a render.
type Options struct {
	// KubeVersion is the cluster's Kubernetes version (".Capabilities.KubeVersion"),
	// e.g. "1.35".
	KubeVersion string
	// APIVersions are added to Helm's built-in API versions
	// (".Capabilities.APIVersions"): the custom resource versions the
	// cluster serves when the release is installed.
	APIVersions []string
}

// Object is one rendered Kubernetes object.
type Object struct {
	// Source is the template (or CRD file) it came from, as Helm names it:
	// "<chart>/templates/deployment.yaml".
	Source string
	// CRD: from the chart's crds/ directory (installed before the rest).
	CRD bool
	// Hook names the Helm hook events of a hook object ("" otherwise).
	Hook string
	// YAML is the document as rendered.
	YAML string
	// Fields: Object, the document parsed strictly (a duplicate key anywhere
	// is an error of Render), and its Kind, APIVersion, Name and Namespace.
	kubeobject.Fields
}

// ID is "Kind namespace/name" ("Kind name" without a namespace).
func (o Object) ID() string {
	if ns := o.Namespace(); ns != "" {
		return o.Kind() + " " + ns + "/" + o.Name()
	}
	return o.Kind() + " " + o.Name()
}

// Result is one rendered release.
type Result struct {
	Release  Release
	Resolved Resolved
	// Objects: CRDs first, then the manifests in Helm's install order, then
	// the hooks (test hooks left out, as the provider leaves them out).
	Objects []Object

	templates []byte // set by All
}

// Counts returns the number of rendered objects per kind.
func (r *Result) Counts() map[string]int {
	out := map[string]int{}
	for _, o := range r.Objects {
		out[o.Kind()]++
	}
	return out
}

// RenderFrom resolves rel's chart in repository and renders it.
func RenderFrom(repository *Repository, rel Release, opts Options) (*Result, error) {
	res, err := repository.Resolve(rel.Chart, rel.Version)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	out, err := Render(rel, res.Archive, opts)
	if err != nil {
		return nil, err
	}
	out.Resolved = res
	return out, nil
}

// Render renders rel from the chart archive (or directory) at chartPath.
func Render(rel Release, chartPath string, opts Options) (*Result, error) {
	chrt, err := loader.Load(chartPath)
	if err != nil {
		return nil, fmt.Errorf("release %s (chart %s %s, namespace %s): %w", rel.Name, rel.Chart, rel.Version, rel.Namespace, err)
	}
	return renderChart(rel, chrt, opts)
}

// renderChart renders a freshly loaded chart (rendering changes it).
func renderChart(rel Release, chrt *chart.Chart, opts Options) (*Result, error) {
	fail := func(err error) (*Result, error) {
		return nil, fmt.Errorf("release %s (chart %s %s, namespace %s): %w", rel.Name, rel.Chart, rel.Version, rel.Namespace, err)
	}
	if t := chrt.Metadata.Type; t != "" && t != "application" {
		return fail(fmt.Errorf("%s charts are not installable", t))
	}
	// The provider drops null values before Helm sees them (mergeMaps with
	// allowNullValues false): a null in our values never reaches the chart.
	vals, _ := dropNulls(rel.Values).(map[string]any)
	if vals == nil {
		vals = map[string]any{}
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		return fail(err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	if opts.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(opts.KubeVersion)
		if err != nil {
			return fail(err)
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, opts.APIVersions...)
	if c := chrt.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return fail(fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", c, caps.KubeVersion.String()))
	}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(chrt, vals, chartutil.ReleaseOptions{
		Name: rel.Name, Namespace: rel.Namespace, Revision: 1, IsInstall: true,
	}, caps, false)
	if err != nil {
		return fail(err)
	}
	var e engine.Engine
	files, err := e.Render(chrt, top)
	if err != nil {
		return fail(err)
	}
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return fail(err)
	}
	result := &Result{Release: rel}
	for _, crd := range crdObjects(rel, chrt) {
		objs, err := parseDocs(crd.Filename, string(crd.File.Data))
		if err != nil {
			return fail(err)
		}
		for i := range objs {
			objs[i].CRD = true
		}
		result.Objects = append(result.Objects, objs...)
	}
	for _, m := range manifests {
		objs, err := parseDocs(m.Name, m.Content)
		if err != nil {
			return fail(err)
		}
		result.Objects = append(result.Objects, objs...)
	}
	for _, h := range hooks {
		if isTestHook(h) {
			continue
		}
		objs, err := parseDocs(h.Path, h.Manifest)
		if err != nil {
			return fail(err)
		}
		for i := range objs {
			objs[i].Hook = hookEvents(h)
		}
		result.Objects = append(result.Objects, objs...)
	}
	return result, nil
}

// CRDsOf returns the objects of the crds/ directories of rel's chart (its
// own and those of the subcharts enabled by the chart's default values),
// whatever rel's values and SkipCRDs say: the CRDs the chart ships, which
// the program must apply by other means when it leaves them out.
func CRDsOf(repository *Repository, rel Release) ([]Object, error) {
	res, err := repository.Resolve(rel.Chart, rel.Version)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	chrt, err := loader.Load(res.Archive)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, map[string]any{}); err != nil {
		return nil, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	var out []Object
	for _, crd := range chrt.CRDObjects() {
		objs, err := parseDocs(crd.Filename, string(crd.File.Data))
		if err != nil {
			return nil, fmt.Errorf("release %s: %w", rel.Name, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// crdObjects are the files of the chart's crds/ directories (its own and
// its enabled subcharts') that the release installs: none with SkipCRDs.
func crdObjects(rel Release, chrt *chart.Chart) []chart.CRD {
	if rel.SkipCRDs {
		return nil
	}
	return chrt.CRDObjects()
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

func hookEvents(h *release.Hook) string {
	var ev []string
	for _, e := range h.Events {
		ev = append(ev, e.String())
	}
	return strings.Join(ev, ",")
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// parseDocs parses every YAML document of one source strictly: a key
// that appears twice in a mapping is an error (Helm and kubectl keep the
// last one silently, so the chart or our values lose a setting).
func parseDocs(source, text string) ([]Object, error) {
	var out []Object
	for _, doc := range docSeparator.Split(text, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.UnmarshalStrict([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if m == nil {
			continue
		}
		out = append(out, Object{Source: source, YAML: strings.TrimSpace(doc) + "\n", Fields: kubeobject.Fields{Object: m}})
	}
	return out, nil
}

func stripComments(doc string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				out[k] = dropNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e != nil {
				out = append(out, dropNulls(e))
			}
		}
		return out
	}
	return v
}

// All renders every release of a stack. Capabilities: kubeVersion, and
// every API version served by a CRD that one of the releases installs, as
// the cluster serves them once the releases a chart waits for are
// installed (a chart's own crds/ directory is installed before its
// templates render; the program makes routing and logging wait for the
// monitoring release, whose CRDs their ServiceMonitors use). The versions
// come from the charts' crds/ directories; a CRD that a template renders
// adds its versions afterwards, and the releases whose templates ask
// `.Capabilities.APIVersions` are rendered again with them.
func All(repository *Repository, rels []Release, kubeVersion string) ([]*Result, error) {
	type loaded struct {
		rel   Release
		res   Resolved
		chart *chart.Chart
	}
	var charts []loaded
	var errs []error
	var crdFiles []*Result
	for _, rel := range rels {
		res, err := repository.Resolve(rel.Chart, rel.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", rel.Name, err))
			continue
		}
		chrt, err := loader.Load(res.Archive)
		if err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", rel.Name, err))
			continue
		}
		crds := &Result{}
		for _, crd := range crdObjects(rel, chrt) {
			objs, err := parseDocs(crd.Filename, string(crd.File.Data))
			if err != nil {
				errs = append(errs, fmt.Errorf("release %s: %w", rel.Name, err))
			}
			crds.Objects = append(crds.Objects, objs...)
		}
		crdFiles = append(crdFiles, crds)
		charts = append(charts, loaded{rel, res, chrt})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	served := CRDVersions(crdFiles)
	var out []*Result
	for _, c := range charts {
		r, err := renderChart(c.rel, c.chart, Options{KubeVersion: kubeVersion, APIVersions: served})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Resolved = c.res
		r.templates = templateText(c.chart)
		out = append(out, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	all := CRDVersions(out)
	known := map[string]bool{}
	for _, v := range served {
		known[v] = true
	}
	var added []string // the groups of the API versions templates add
	for _, v := range all {
		if !known[v] {
			added = append(added, strings.SplitN(v, "/", 2)[0])
		}
	}
	if len(added) == 0 {
		return out, nil
	}
	for i, r := range out {
		if !r.asks(added) {
			continue
		}
		again, err := RenderFrom(repository, r.Release, Options{KubeVersion: kubeVersion, APIVersions: all})
		if err != nil {
			return nil, err
		}
		out[i] = again
	}
	return out, nil
}

// templateText is the text of every template of the chart and its
// subcharts.
func templateText(c *chart.Chart) []byte {
	var b []byte
	for _, t := range c.Templates {
		b = append(append(b, t.Data...), '\n')
	}
	for _, d := range c.Dependencies() {
		b = append(b, templateText(d)...)
	}
	return b
}

// asks reports whether the release's templates may ask
// `.Capabilities.APIVersions` about one of groups.
func (r *Result) asks(groups []string) bool {
	if !bytes.Contains(r.templates, []byte("APIVersions")) {
		return false
	}
	for _, g := range groups {
		if bytes.Contains(r.templates, []byte(g)) {
			return true
		}
	}
	return false
}

// CRDVersions lists the group/version and group/version/Kind of every
// served version of every CustomResourceDefinition rendered, the forms
// `.Capabilities.APIVersions.Has` accepts.
func CRDVersions(results []*Result) []string {
	seen := map[string]bool{}
	for _, r := range results {
		for _, o := range r.Objects {
			if o.Kind() != "CustomResourceDefinition" {
				continue
			}
			spec, _ := o.Object["spec"].(map[string]any)
			group, _ := spec["group"].(string)
			names, _ := spec["names"].(map[string]any)
			kind, _ := names["kind"].(string)
			versions, _ := spec["versions"].([]any)
			for _, v := range versions {
				vm, _ := v.(map[string]any)
				name, _ := vm["name"].(string)
				if served, ok := vm["served"].(bool); name == "" || (ok && !served) {
					continue
				}
				seen[group+"/"+name] = true
				seen[group+"/"+name+"/"+kind] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Files groups the rendered objects by the file they came from, as
// `helm template --output-dir` lays them out: "<chart>/templates/x.yaml"
// holding that template's documents.
func (r *Result) Files() map[string][]byte {
	out := map[string][]byte{}
	for _, o := range r.Objects {
		b := out[o.Source]
		if len(b) > 0 {
			b = append(b, "---\n"...)
		}
		out[o.Source] = append(b, o.YAML...)
	}
	return out
}
