package helmrelease

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SourceKind says where charts are fetched from.
type SourceKind string

// The kinds of chart source.
const (
	// Upstream: each chart's own repository (Chart.Repo). The default.
	Upstream SourceKind = ""
	// OCIRegistry: oci://host/path; chart NAME is oci://host/path/NAME.
	OCIRegistry SourceKind = "oci"
	// HTTPRepository: a Helm repository (index.yaml) at http(s)://...
	HTTPRepository SourceKind = "http"
	// Directory: a local directory of chart archives NAME-VERSION.tgz
	// (the file names `helm package` and `helm pull` write).
	Directory SourceKind = "dir"
)

// SourceForms describes the accepted values of a chart source, for errors.
const SourceForms = `"oci://<registry>/<path>" (an OCI registry), "https://<host>/<path>" or "http://..." (a Helm repository with index.yaml), or "file://<directory>" (chart archives <name>-<version>.tgz; a relative directory is relative to the Pulumi project)`

// Source is where every chart of a stack comes from: the upstream
// repositories (the zero value), or one mirror that serves each chart under
// its upstream name at its exact pinned version.
type Source struct {
	Kind SourceKind
	// URL of the registry or repository, without a trailing slash.
	URL string
	// Dir is the absolute directory of a Directory source.
	Dir string
}

// ParseSource parses a chart source. "" is Upstream.
func ParseSource(s string) (Source, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Source{}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Source{}, fmt.Errorf("must be %s (%v)", SourceForms, err)
	}
	switch u.Scheme {
	case "oci", "http", "https":
		if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return Source{}, fmt.Errorf("must be %s, with a host and no query, fragment or credentials (registry and repository credentials come from the Helm configuration of the machine running Pulumi)", SourceForms)
		}
		kind := HTTPRepository
		if u.Scheme == "oci" {
			kind = OCIRegistry
		}
		return Source{Kind: kind, URL: strings.TrimRight(s, "/")}, nil
	case "file":
		dir := strings.TrimPrefix(s, "file://")
		if dir == "" {
			return Source{}, fmt.Errorf("must be %s: the directory is missing", SourceForms)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return Source{}, fmt.Errorf("directory %s: %v", dir, err)
		}
		return Source{Kind: Directory, URL: s, Dir: abs}, nil
	}
	return Source{}, fmt.Errorf("must be %s", SourceForms)
}

// String is the source as configured ("upstream" for the default).
func (s Source) String() string {
	if s.Kind == Upstream {
		return "upstream"
	}
	return s.URL
}

// Archive is the file a Directory source must hold for chart c.
func (s Source) Archive(c Chart) string {
	return filepath.Join(s.Dir, c.Name+"-"+c.Version+".tgz")
}

// Check reports the charts a Directory source does not hold, one error
// naming chart, version and the file looked for. Registries and
// repositories are not reachable offline: the provider reports a missing
// chart there when the preview loads it.
func (s Source) Check(charts ...Chart) error {
	if s.Kind != Directory {
		return nil
	}
	var missing []string
	for _, c := range charts {
		if st, err := os.Stat(s.Archive(c)); err != nil || st.IsDir() {
			missing = append(missing, fmt.Sprintf("chart %s version %s: no archive at %s", c.Name, c.Version, s.Archive(c)))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("chart source %s: %s", s.URL, strings.Join(missing, "; "))
	}
	return nil
}

// Locate returns how the provider must be told to fetch chart c: the
// `chart` input, and the repository (repositoryOpts.repo, "" for none).
func (s Source) Locate(c Chart) (chart, repo string) {
	switch s.Kind {
	case OCIRegistry:
		return s.URL + "/" + c.Name, ""
	case HTTPRepository:
		return c.Name, s.URL
	case Directory:
		// A local archive: the provider loads it as a path (helm_release.go
		// localChart) and reads its version from the archive.
		return s.Archive(c), ""
	}
	if strings.HasPrefix(c.Repo, "oci://") {
		return strings.TrimRight(c.Repo, "/") + "/" + c.Name, ""
	}
	return c.Name, c.Repo
}

// Option points every Helm release registered under the resource it is
// given to (a component and all its children) at this source. Upstream
// changes nothing. The components create their releases with New, which
// records each release's upstream Chart, so the option needs no access to
// the components' arguments.
func (s Source) Option() pulumi.ResourceOption {
	return pulumi.Transformations([]pulumi.ResourceTransformation{s.transform})
}

func (s Source) transform(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
	if s.Kind == Upstream {
		return nil
	}
	switch props := args.Props.(type) {
	case *helmv3.ReleaseArgs:
		if c, ok := ChartOfRelease(props); ok {
			setLocation(props, s, c)
			return &pulumi.ResourceTransformationResult{Props: props, Opts: args.Opts}
		}
	case *helmv4.ChartArgs:
		if c, ok := ChartOfChart(props); ok {
			setChartLocation(props, s, c)
			return &pulumi.ResourceTransformationResult{Props: props, Opts: args.Opts}
		}
	}
	return nil
}

// ChartOfRelease reads back the Chart New put into a release's arguments.
func ChartOfRelease(ra *helmv3.ReleaseArgs) (Chart, bool) {
	var repo pulumi.Input
	if opts, ok := ra.RepositoryOpts.(*helmv3.RepositoryOptsArgs); ok && opts != nil {
		repo = opts.Repo
	}
	return chartOf(ra.Chart, ra.Version, repo)
}

// ChartOfChart reads back the Chart NewCRDs put into a helm.v4 Chart's
// arguments.
func ChartOfChart(ca *helmv4.ChartArgs) (Chart, bool) {
	var repo pulumi.Input
	if opts, ok := ca.RepositoryOpts.(*helmv4.RepositoryOptsArgs); ok && opts != nil {
		repo = opts.Repo
	}
	return chartOf(ca.Chart, ca.Version, repo)
}

func chartOf(chart, version, repo pulumi.Input) (Chart, bool) {
	name, ok1 := chart.(pulumi.String)
	v, ok2 := version.(pulumi.String)
	if !ok1 || !ok2 {
		return Chart{}, false
	}
	c := Chart{Name: string(name), Version: string(v)}
	if r, ok := repo.(pulumi.String); ok {
		c.Repo = string(r)
	}
	if i := strings.LastIndex(c.Name, "/"); strings.HasPrefix(c.Name, "oci://") && i > 0 {
		c.Repo, c.Name = c.Name[:i], c.Name[i+1:]
	}
	return c, c.Name != "" && c.Version != ""
}

func setLocation(ra *helmv3.ReleaseArgs, s Source, c Chart) {
	chart, repo := s.Locate(c)
	ra.Chart = pulumi.String(chart)
	ra.RepositoryOpts = nil
	if repo != "" {
		ra.RepositoryOpts = &helmv3.RepositoryOptsArgs{Repo: pulumi.String(repo)}
	}
}

func setChartLocation(ca *helmv4.ChartArgs, s Source, c Chart) {
	chart, repo := s.Locate(c)
	ca.Chart = pulumi.String(chart)
	ca.RepositoryOpts = nil
	if repo != "" {
		ca.RepositoryOpts = &helmv4.RepositoryOptsArgs{Repo: pulumi.String(repo)}
	}
}
