package engine

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
	s := &ChartServer{URL: "http://" + l.Addr().String(), Repo: repo, notes: map[string]string{},
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
func (s *ChartServer) NearestOlder(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
	if args.Type != "kubernetes:helm.sh/v3:Release" {
		return nil
	}
	ra, ok := args.Props.(*helmv3.ReleaseArgs)
	if !ok {
		return nil
	}
	opts, ok := ra.RepositoryOpts.(*helmv3.RepositoryOptsArgs)
	if !ok || opts == nil || opts.Repo != pulumi.String(s.URL) {
		return nil
	}
	chart, ok1 := ra.Chart.(pulumi.String)
	version, ok2 := ra.Version.(pulumi.String)
	if !ok1 || !ok2 {
		return nil
	}
	r, err := s.Repo.Resolve(string(chart), string(version))
	if err != nil || !r.Substituted() {
		return nil
	}
	s.mu.Lock()
	s.notes[r.Chart] = fmt.Sprintf("chart %s: pinned %s is not in the chart repository; installing %s, the nearest older version", r.Chart, r.Pinned, r.Version)
	s.mu.Unlock()
	ra.Version = pulumi.String(r.Version)
	return &pulumi.ResourceTransformationResult{Props: ra, Opts: args.Opts}
}
