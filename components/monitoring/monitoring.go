package monitoring

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Monitoring is the component resource.
type Monitoring struct {
	pulumi.ResourceState
}
