package namespace_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/harness"
)

// A restricted namespace that denies all traffic but DNS until its owner
// allows more.
func ExampleNew() {
	program := func(ctx *pulumi.Context) error {
		_, err := namespace.New(ctx, "reports", &namespace.Args{Name: "reports"})
		return err
	}
	res, err := harness.Run("example", nil, nil, program)
	if err != nil {
		panic(err)
	}
	for _, o := range res.KubernetesObjects() {
		fmt.Println(o.Kind(), o.Name())
	}
	// Unordered output:
	// Namespace reports
	// NetworkPolicy default-deny
	// NetworkPolicy allow-dns
}
