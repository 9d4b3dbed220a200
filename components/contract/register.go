package contract

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Register is a constructor's first step: invalid is what the Args'
// validate returned. A problem comes back as `<type token> "<name>": ...`,
// the one error form of every component, before anything is registered;
// otherwise c is registered as a component resource.
func Register(ctx *pulumi.Context, typeToken, name string, invalid error, c pulumi.ComponentResource, opts ...pulumi.ResourceOption) error {
	if invalid != nil {
		return fmt.Errorf("%s %q: %w", typeToken, name, invalid)
	}
	return ctx.RegisterComponentResource(typeToken, name, c, opts...)
}

// Finish is a constructor's last step: it registers c's outputs and returns
// c, or the error.
func Finish[C pulumi.ComponentResource](ctx *pulumi.Context, c C, outputs pulumi.Map) (C, error) {
	if err := ctx.RegisterResourceOutputs(c, outputs); err != nil {
		var none C
		return none, err
	}
	return c, nil
}

// Tags is the AWS tags of one resource: Name, then each set of tags in
// order (a later set wins).
func Tags(name string, sets ...map[string]string) pulumi.StringMap {
	m := pulumi.StringMap{"Name": pulumi.String(name)}
	for _, set := range sets {
		for k, v := range set {
			m[k] = pulumi.String(v)
		}
	}
	return m
}
