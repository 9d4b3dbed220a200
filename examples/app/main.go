// Command app is an application stack built on the platform: it reads the
// platform stack's outputs through a StackReference and exposes nginx on the
// internet through the platform's shared Gateway, with one routing call.
//
//	cd examples/app
//	pulumi config set platformStack <org>/platform/dev
//	pulumi up
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/examples/app/nginx"
)

func main() {
	pulumi.Run(nginx.Program)
}
