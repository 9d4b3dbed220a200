package monitoring_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/monitoring"
	"github.com/cnplatform/platform/harness"
)

// kube-prometheus-stack with our alert rules and Alertmanager routing; the
// Grafana admin password is a Pulumi secret delivered through a Secret.
func ExampleNewMonitoring() {
	program := func(ctx *pulumi.Context) error {
		_, err := monitoring.NewMonitoring(ctx, "monitoring", &monitoring.Args{
			ClusterName:          "platform-dev",
			Environment:          "dev",
			EKS:                  true,
			StorageClass:         "gp3",
			GrafanaAdminPassword: pulumi.ToSecret(pulumi.String("pw")).(pulumi.StringOutput),
		})
		return err
	}
	res, err := harness.Run("example", nil, nil, program)
	if err != nil {
		panic(err)
	}
	rel := res.OfType("kubernetes:helm.sh/v3:Release")[0]
	fmt.Println(rel.String("chart"), "in", rel.String("namespace"))
	fmt.Println("rules:", len(res.OfType("kubernetes:monitoring.coreos.com/v1:PrometheusRule")) > 0)
	// Output:
	// kube-prometheus-stack in monitoring
	// rules: true
}
