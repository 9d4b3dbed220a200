package routing_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/harness"
)

// An app stack exposes its Service on the platform's shared Gateway in one
// call; the Gateway's name and namespace usually come from the platform
// stack's outputs (gatewayName, gatewayNamespace) through a StackReference.
func ExampleNewRoute() {
	program := func(ctx *pulumi.Context) error {
		route, err := routing.NewRoute(ctx, "nginx", &routing.RouteArgs{
			Gateway:   routing.GatewayRef{Name: pulumi.String("platform"), Namespace: pulumi.String(routing.EnvoyGatewayNamespace)},
			Host:      "nginx.example.com",
			Namespace: pulumi.String("nginx"),
			Service:   "nginx",
			Port:      80,
		})
		if err != nil {
			return err
		}
		ctx.Export("url", route.URL)
		return nil
	}
	res, err := harness.Run("example", nil, nil, program)
	if err != nil {
		panic(err)
	}
	r := res.OfType("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")[0]
	fmt.Println(r.Strings("spec", "hostnames"), "->", r.String("spec", "rules", "0", "backendRefs", "0", "name"), r.Number("spec", "rules", "0", "backendRefs", "0", "port"))
	fmt.Println(res.Outputs["url"].Value)
	// Output:
	// [nginx.example.com] -> nginx 80
	// https://nginx.example.com
}
