package logging_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/harness"
)

// Ship every container's logs to a LogScale repository; the ingest token is a
// Pulumi secret and reaches the agents only through a Kubernetes Secret.
func ExampleNewLogging() {
	program := func(ctx *pulumi.Context) error {
		_, err := logging.NewLogging(ctx, "logging", &logging.Args{
			LogScaleURL: "https://cloud.community.humio.com",
			Repository:  "platform-dev",
			IngestToken: pulumi.ToSecret(pulumi.String("token")).(pulumi.StringOutput),
			ClusterName: "platform-dev",
		})
		return err
	}
	res, err := harness.Run("example", nil, nil, program)
	if err != nil {
		panic(err)
	}
	rel := res.OfType("kubernetes:helm.sh/v3:Release")[0]
	secret := res.OfType("kubernetes:core/v1:Secret")[0]
	fmt.Println(rel.String("chart"), "in", rel.String("namespace"))
	fmt.Println("token kept secret:", secret.IsSecret("stringData") || secret.IsSecret("stringData", "token"))
	// Output:
	// fluent-bit in logging
	// token kept secret: true
}
