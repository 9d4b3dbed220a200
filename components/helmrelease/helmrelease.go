// Package helmrelease installs an upstream Helm chart, pinned to an exact
// version, with values built from typed Go structs. A Helm release is one
// Pulumi resource (the chart renders at deploy time), which keeps previews
// fast and leaves the chart's own objects to the chart. Charts come from
// their upstream repositories unless a stack points every chart at a mirror
// or a directory of archives (Source). It registers no component of its
// own. Subpackage render renders the releases offline for tests and plans.
package helmrelease

import (
	"encoding/json"
	"fmt"
	"regexp"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
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

// New installs the chart as a Helm release.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*helmv3.Release, error) {
	c := args.Chart
	if c.Repo == "" || c.Name == "" || !exactVersion.MatchString(c.Version) {
		return nil, fmt.Errorf("chart %q: repository, name and an exact version are required, got %+v", name, c)
	}
	values, err := ValuesMap(args.Values)
	if err != nil {
		return nil, fmt.Errorf("chart %q values: %w", name, err)
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
	// The upstream location; a stack's chart source (Source.Option) moves
	// it to a mirror.
	setLocation(ra, Source{}, c)
	return helmv3.NewRelease(ctx, name, ra, opts...)
}
