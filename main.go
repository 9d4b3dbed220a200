// Command platform is the Pulumi program: `pulumi up` runs stacks.Run for the
// selected stack (dev, staging, prod or local).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/stacks"
)

func main() {
	pulumi.Run(stacks.Run)
}
