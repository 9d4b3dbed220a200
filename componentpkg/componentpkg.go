// Package componentpkg serves the platform's components to Pulumi programs
// in every language: cmd/pulumi-resource-platform runs Construct as a
// component provider, and its schema (schema.json, generated from the Go
// types by `go test ./componentpkg -run TestSchema -update`) is what
// `pulumi package add` and the SDK generators read.
//
// It adapts the Go library and copies none of it: each component's inputs
// are its Args type (the `pulumi` tags name them), its outputs are the
// component's tagged output fields, and the library's constructor validates
// them with the messages a Go program gets.
package componentpkg

import (
	_ "embed"
	"fmt"
	"reflect"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/routing"
)

// Name is the package's name, the first part of every type token.
const Name = "platform"

// Version is the package's version: the schema's, the provider binary's and
// the git tag's a consumer adds it at (`pulumi package add ...@v<Version>`).
const Version = "0.1.0"

// Schema is the package schema (Pulumi's package schema format).
//
//go:embed schema.json
var Schema []byte

// Component is one component the package serves.
type Component struct {
	// Token is its Pulumi type, the one the Go library registers.
	Token string
	// Args is a pointer to a zero value of its Args type; Resource a nil
	// pointer of its component type.
	Args, Resource any
	// New calls the library's constructor with args (of Args' type).
	New func(ctx *pulumi.Context, name string, args any, opts ...pulumi.ResourceOption) (pulumi.ComponentResource, error)
}

// Components are the components a consumer composes: the pieces an
// application team uses on its own, next to the platform stack.
var Components = []Component{
	serve("platform:namespace:Namespace", namespace.New),
	serve("platform:routing:Route", routing.NewRoute),
	serve("platform:cluster:WorkloadRole", cluster.NewWorkloadRole),
}

// serve adapts a library constructor: its Args type is the inputs, its
// component type the outputs.
func serve[A any, R pulumi.ComponentResource](token string, ctor func(*pulumi.Context, string, *A, ...pulumi.ResourceOption) (R, error)) Component {
	var none R
	return Component{
		Token: token, Args: new(A), Resource: none,
		New: func(ctx *pulumi.Context, name string, args any, opts ...pulumi.ResourceOption) (pulumi.ComponentResource, error) {
			return ctor(ctx, name, args.(*A), opts...)
		},
	}
}

// Construct builds the component typ names: the provider's ConstructFunc.
func Construct(ctx *pulumi.Context, typ, name string, inputs provider.ConstructInputs, options pulumi.ResourceOption) (*provider.ConstructResult, error) {
	for _, c := range Components {
		if c.Token != typ {
			continue
		}
		args := reflect.New(reflect.TypeOf(c.Args).Elem()).Interface()
		if err := inputs.CopyTo(args); err != nil {
			return nil, fmt.Errorf("%s %s: %w (an input that is another resource's output must be an Input in the schema; plain inputs must be known values)", typ, name, err)
		}
		r, err := c.New(ctx, name, args, options)
		if err != nil {
			return nil, err
		}
		return provider.NewConstructResult(r)
	}
	var tokens []string
	for _, c := range Components {
		tokens = append(tokens, c.Token)
	}
	return nil, fmt.Errorf("unknown resource type %s: this package (%s %s) has %s", typ, Name, Version, strings.Join(tokens, ", "))
}
