// Package helmrelease installs an upstream Helm chart, pinned to an exact
// version, with values built from typed Go structs. A Helm release is one
// Pulumi resource (the chart renders at deploy time), which keeps previews
// fast and leaves the chart's own objects to the chart. Charts come from
// their upstream repositories unless a stack points every chart at a mirror
// or a directory of archives (Source). It registers no component of its
// own. Subpackage render renders the releases offline for tests and plans.
package helmrelease

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Chart names an upstream chart at an exact version.
type Chart struct {
	// Repo is the chart repository URL (https:// or oci://).
	Repo string
	// Name of the chart in the repository.
	Name string
	// Version: an exact semantic version, never a range.
	Version string
}

var exactVersion = regexp.MustCompile(`^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

// Args installs Chart into Namespace with Values.
type Args struct {
	Chart     Chart
	Namespace pulumi.StringInput
	// Values is a Go value (usually a struct with json tags) rendered to the
	// chart's values. Secrets never go here: charts read them from
	// Kubernetes Secrets by name.
	Values any
	// Timeout in seconds for the release to become ready. Default 600.
	Timeout int
	// SkipCRDs leaves the chart's crds/ directory out of the release: its
	// CRDs are applied by NewCRDs, before the release, and upgraded with
	// the pin (Helm installs crds/ once and never upgrades it).
	SkipCRDs bool
}

// ValuesMap renders typed values into the map Helm receives.
func ValuesMap(values any) (pulumi.Map, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return pulumi.ToMap(m), nil
}

// checked refuses a chart without repository, name or an exact version,
// and renders its values.
func checked(what, name string, c Chart, v any) (pulumi.Map, error) {
	if c.Repo == "" || c.Name == "" || !exactVersion.MatchString(c.Version) {
		return nil, fmt.Errorf("%s %q: repository, name and an exact version are required, got %+v", what, name, c)
	}
	values, err := ValuesMap(v)
	if err != nil {
		return nil, fmt.Errorf("%s %q values: %w", what, name, err)
	}
	return values, nil
}

// New installs the chart as a Helm release.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*helmv3.Release, error) {
	c := args.Chart
	values, err := checked("chart", name, c, args.Values)
	if err != nil {
		return nil, err
	}
	timeout := args.Timeout
	if timeout == 0 {
		timeout = 600
	}
	ra := &helmv3.ReleaseArgs{
		Name:      pulumi.String(name),
		Version:   pulumi.String(c.Version),
		Namespace: args.Namespace,
		Values:    values,
		// Roll back a failed upgrade instead of leaving it half applied.
		Atomic:        pulumi.Bool(true),
		CleanupOnFail: pulumi.Bool(true),
		Timeout:       pulumi.Int(timeout),
		MaxHistory:    pulumi.Int(10),
	}
	if args.SkipCRDs {
		ra.SkipCrds = pulumi.Bool(true)
	}
	// The upstream location; a stack's chart source (Source.Option) moves
	// it to a mirror.
	setLocation(ra, Source{}, c)
	return helmv3.NewRelease(ctx, name, ra, opts...)
}

// CRDArgs applies the CustomResourceDefinitions of a chart from the CRD-only
// chart its upstream publishes for that purpose, at the version matching
// the chart's pin.
type CRDArgs struct {
	// Chart is the CRD-only chart, pinned.
	Chart Chart
	// Values select the CRDs (the chart's own switches); nil for all.
	Values any
}

// NewCRDs applies the CRD-only chart as a helm.v4 Chart: the provider
// renders it (the CRDs are templates there, so every pin renders its own
// CRDs) and applies each CustomResourceDefinition as its own resource,
// server-side (the provider's default: no last-applied annotation, so the
// largest CRDs fit) and awaiting Established. A preview of a pin change
// shows each CRD's diff. Every CRD is retained on delete: removing a CRD
// deletes every custom resource of its kind in the cluster (alerting rules,
// routes), which a destroy or a component switched off must never do as a
// side effect; Helm keeps the CRDs of crds/ for the same reason. Register
// the releases that use the CRDs with DependsOn on the result and SkipCRDs.
func NewCRDs(ctx *pulumi.Context, name string, args *CRDArgs, opts ...pulumi.ResourceOption) (*helmv4.Chart, error) {
	c := args.Chart
	values, err := checked("CRD chart", name, c, args.Values)
	if err != nil {
		return nil, err
	}
	ca := &helmv4.ChartArgs{
		Name:    pulumi.String(name),
		Version: pulumi.String(c.Version),
		Values:  values,
	}
	setChartLocation(ca, Source{}, c)
	return helmv4.NewChart(ctx, name, ca, append(opts, pulumi.Transforms([]pulumi.ResourceTransform{RetainCRDs}))...)
}

// RetainCRDs is the transform NewCRDs gives its chart: every
// CustomResourceDefinition the provider registers under it is retained on
// delete.
func RetainCRDs(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
	if args.Type != "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition" {
		return nil
	}
	opts := args.Opts
	opts.RetainOnDelete = true
	return &pulumi.ResourceTransformResult{Props: args.Props, Opts: opts}
}
