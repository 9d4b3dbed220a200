// Command bootstrap is the platform-bootstrap Pulumi program: the state
// bucket, the KMS keys and the GitHub Actions roles the platform stacks need
// before they exist (docs/delivery.md). Run `pulumi up` from this directory.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/bootstrap/backend"
)

func main() {
	pulumi.Run(backend.Run)
}
