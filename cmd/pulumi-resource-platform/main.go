// Command pulumi-resource-platform is the platform's component package: a
// Pulumi component provider that serves the components in componentpkg
// (Namespace, Route, WorkloadRole) to programs in any Pulumi language. The
// engine starts it; a program refers to it by the folder holding it
// (`packages:` in a YAML program's Pulumi.yaml, or `pulumi package add`).
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"

	"github.com/cnplatform/platform/componentpkg"
)

func main() {
	if err := provider.ComponentMain(componentpkg.Name, componentpkg.Version, componentpkg.Schema, componentpkg.Construct); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-platform: %v\n", err)
		os.Exit(1)
	}
}
