package logging

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Logging is the component resource.
type Logging struct {
	pulumi.ResourceState
}
