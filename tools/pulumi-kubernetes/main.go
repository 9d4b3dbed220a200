// Command pulumi-resource-kubernetes serves the Kubernetes provider to the
// engine test. Upstream's main (provider/v4/cmd/pulumi-resource-kubernetes)
// embeds schema-embed.json, which its release build generates from
// schema.json and which the module does not ship; this main embeds the
// module's own schema.json and terraform-mapping.json, copied beside it by
// scripts/engine-tools.sh (git-ignored), and stamps the version as upstream's
// generate.go does.
package main

import (
	_ "embed"
	"encoding/json"
	"log"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	var spec map[string]any
	if err := json.Unmarshal(schema, &spec); err != nil {
		log.Fatalf("pulumi-resource-kubernetes: embedded schema.json: %v", err)
	}
	spec["version"] = version.Version
	versioned, err := json.Marshal(spec)
	if err != nil {
		log.Fatalf("pulumi-resource-kubernetes: schema: %v", err)
	}
	provider.Serve("kubernetes", version.Version, versioned, terraformMapping)
}
