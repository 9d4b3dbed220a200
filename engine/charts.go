package engine

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/helmrelease/render"
)

// ChartServer serves a directory of chart archives with its index.yaml
// (../shared/charts) as a Helm repository on 127.0.0.1: the chart source the
// test points the stack at (platform:charts.repository).
type ChartServer struct {
	URL  string
	Repo *render.Repository

	srv *http.Server
	mu  sync.Mutex
	// notes: one line per pin served by an older version.
	notes map[string]string
	// previous: serve every chart's previous release (UsePrevious).
	previous bool
	// moved: the charts served at their previous release, chart -> version.
	moved map[string]string
}

// UsePrevious makes NearestOlder install every chart's previous release
// (the repository's upgrade pairs, SOURCES.md) instead of the pin, until
// it is called with false: the upgrade test's starting point.
func (s *ChartServer) UsePrevious(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.previous = on
}

// Moved lists the charts served at their previous release while
// UsePrevious was on, as "chart version", sorted.
func (s *ChartServer) Moved() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for c, v := range s.moved {
		out = append(out, c+" "+v)
	}
	sort.Strings(out)
	return out
}

// ServeCharts starts the repository server.
func ServeCharts(dir string) (*ChartServer, error) {
	repo, err := render.OpenRepository(dir)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &ChartServer{URL: "http://" + l.Addr().String(), Repo: repo, notes: map[string]string{}, moved: map[string]string{},
		srv: &http.Server{Handler: http.FileServer(http.Dir(dir))}}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Close stops the server.
func (s *ChartServer) Close() error { return s.srv.Close() }

// Notes are the substitutions made, one line each, sorted.
func (s *ChartServer) Notes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range s.notes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NearestOlder is a stack transformation for the test's program: a Helm
// release fetched from this server whose pinned version the directory does
// not hold installs the nearest older version the directory has, as the
// chart rendering tests do (../shared/charts/SOURCES.md lists the pins newer
// than anything obtainable here). Each substitution is recorded in Notes.
// A chart with no version at or below its pin fails the release (the
// transformation leaves the pin, and the provider reports it missing).
// While UsePrevious is on, every chart installs its previous release
// instead, recorded in Moved.
func (s *ChartServer) NearestOlder(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
	var c helmrelease.Chart
	var ok bool
	switch p := args.Props.(type) {
	case *helmv3.ReleaseArgs:
		c, ok = helmrelease.ChartOfRelease(p)
	case *helmv4.ChartArgs:
		c, ok = helmrelease.ChartOfChart(p)
	}
	if !ok || c.Repo != s.URL {
		return nil
	}
	s.mu.Lock()
	previous := s.previous
	s.mu.Unlock()
	if previous {
		r, err := s.Repo.Previous(c.Name, c.Version)
		if err != nil {
			return nil // the provider reports the pin missing
		}
		s.mu.Lock()
		s.moved[r.Chart] = r.Version
		s.mu.Unlock()
		return withVersion(args, r.Version)
	}
	r, err := s.Repo.Resolve(c.Name, c.Version)
	if err != nil || !r.Substituted() {
		return nil
	}
	s.mu.Lock()
	s.notes[r.Chart] = fmt.Sprintf("chart %s: pinned %s is not in the chart repository; installing %s, the nearest older version", r.Chart, r.Pinned, r.Version)
	s.mu.Unlock()
	return withVersion(args, r.Version)
}

// withVersion sets the version of a release or chart.
func withVersion(args *pulumi.ResourceTransformationArgs, version string) *pulumi.ResourceTransformationResult {
	switch p := args.Props.(type) {
	case *helmv3.ReleaseArgs:
		p.Version = pulumi.String(version)
	case *helmv4.ChartArgs:
		p.Version = pulumi.String(version)
	}
	return &pulumi.ResourceTransformationResult{Props: args.Props, Opts: args.Opts}
}
