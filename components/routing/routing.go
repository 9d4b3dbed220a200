package routing

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Routing is the component resource.
type Routing struct {
	pulumi.ResourceState
}
