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
	// Args is a pointer to its (zero) Args type; Resource a pointer to its
	// (zero) component type.
	Args, Resource any
	// New calls the library's constructor with args (of Args' type).
	New func(ctx *pulumi.Context, name string, args any, opts ...pulumi.ResourceOption) (pulumi.ComponentResource, error)
}

// Components are the components a consumer composes: the pieces an
// application team uses on its own, next to the platform stack.
var Components = []Component{
	{
		Token: "platform:namespace:Namespace", Args: &namespace.Args{}, Resource: &namespace.Namespace{},
		New: func(ctx *pulumi.Context, name string, args any, opts ...pulumi.ResourceOption) (pulumi.ComponentResource, error) {
			return namespace.New(ctx, name, args.(*namespace.Args), opts...)
		},
	},
	{
		Token: "platform:routing:Route", Args: &routing.RouteArgs{}, Resource: &routing.Route{},
		New: func(ctx *pulumi.Context, name string, args any, opts ...pulumi.ResourceOption) (pulumi.ComponentResource, error) {
			return routing.NewRoute(ctx, name, args.(*routing.RouteArgs), opts...)
		},
	},
	{
		Token: "platform:cluster:WorkloadRole", Args: &cluster.WorkloadRoleArgs{}, Resource: &cluster.WorkloadRole{},
		New: func(ctx *pulumi.Context, name string, args any, opts ...pulumi.ResourceOption) (pulumi.ComponentResource, error) {
			return cluster.NewWorkloadRole(ctx, name, args.(*cluster.WorkloadRoleArgs), opts...)
		},
	},
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
	return nil, fmt.Errorf("unknown resource type %s: this package (%s %s) has %s", typ, Name, Version, tokens())
}

func tokens() string {
	s := ""
	for i, c := range Components {
		if i > 0 {
			s += ", "
		}
		s += c.Token
	}
	return s
}
