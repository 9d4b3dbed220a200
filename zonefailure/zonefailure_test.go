package zonefailure

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/harness"
)

type platform struct {
	nat                string
	prometheusReplicas int
	alertmanagerSpread string // whenUnsatisfiable
	gatewayReplicas    int
	nodeMin            int
}

var zones = []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}

func spread(when string) []map[string]any {
	return []map[string]any{{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": when}}
}

// build declares a small platform with the real network component.
func build(t *testing.T, p platform) *harness.Result {
	t.Helper()
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		net, err := network.NewNetwork(ctx, "net", &network.Args{
			ClusterName: "c", AvailabilityZones: zones, VpcCIDR: "10.0.0.0/16", NatGateways: p.nat,
			PrivateSubnetCIDRs: []string{"10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"},
			PublicSubnetCIDRs:  []string{"10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"},
		})
		if err != nil {
			return err
		}
		for _, s := range net.PrivateSubnets {
			if _, err := eks.NewNodeGroup(ctx, "ng-"+s.Zone, &eks.NodeGroupArgs{
				ClusterName: pulumi.String("c"), NodeRoleArn: pulumi.String("arn"), SubnetIds: pulumi.StringArray{s.ID},
				ScalingConfig: &eks.NodeGroupScalingConfigArgs{MinSize: pulumi.Int(p.nodeMin), DesiredSize: pulumi.Int(p.nodeMin), MaxSize: pulumi.Int(3)},
			}); err != nil {
				return err
			}
		}
		ns := pulumi.String("monitoring")
		if _, err := helmrelease.New(ctx, "kube-prometheus-stack", &helmrelease.Args{
			Chart: helmrelease.Chart{Repo: "https://example.com", Name: "kube-prometheus-stack", Version: "1.0.0"}, Namespace: ns,
			Values: map[string]any{
				"prometheus":   map[string]any{"prometheusSpec": map[string]any{"replicas": p.prometheusReplicas, "topologySpreadConstraints": spread("DoNotSchedule")}},
				"alertmanager": map[string]any{"alertmanagerSpec": map[string]any{"replicas": 3, "topologySpreadConstraints": spread(p.alertmanagerSpread)}},
			},
		}); err != nil {
			return err
		}
		if _, err := helmrelease.New(ctx, "fluent-bit", &helmrelease.Args{
			Chart: helmrelease.Chart{Repo: "https://example.com", Name: "fluent-bit", Version: "1.0.0"}, Namespace: pulumi.String("logging"),
		}); err != nil {
			return err
		}
		_, err = apiextensions.NewCustomResource(ctx, "proxy", &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String("gateway.envoyproxy.io/v1alpha1"), Kind: pulumi.String("EnvoyProxy"),
			OtherFields: map[string]any{"spec": map[string]any{"provider": map[string]any{"type": "Kubernetes", "kubernetes": map[string]any{
				"envoyDeployment": map[string]any{"replicas": p.gatewayReplicas, "pod": map[string]any{"topologySpreadConstraints": spread("DoNotSchedule")}},
			}}}},
		})
		return err
	})
	require.NoError(t, err)
	return res
}

func checkOf(t *testing.T, r ZoneReport, capability string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Capability == capability {
			return c
		}
	}
	require.Failf(t, "missing check", "%s not reported for %s", capability, r.Zone)
	return Check{}
}

func TestHAPlatformSurvivesAnySingleZone(t *testing.T) {
	reports := Simulate(build(t, platform{nat: network.NatPerAZ, prometheusReplicas: 2, alertmanagerSpread: "DoNotSchedule", gatewayReplicas: 2, nodeMin: 1}))
	require.Len(t, reports, 3)
	for _, r := range reports {
		assert.True(t, r.Survives, "losing %s: %+v", r.Zone, r.Checks)
		assert.Len(t, r.Checks, 7)
	}
	assert.True(t, SurvivesAnySingleZone(reports))
}

func TestWeakPointsAreFound(t *testing.T) {
	cases := []struct {
		name       string
		p          platform
		capability string
		zone       string // the zone whose loss breaks it ("" = every zone)
	}{
		{"single NAT gateway", platform{nat: network.NatSingle, prometheusReplicas: 2, alertmanagerSpread: "DoNotSchedule", gatewayReplicas: 2, nodeMin: 1}, Egress, "eu-west-1a"},
		{"one Prometheus", platform{nat: network.NatPerAZ, prometheusReplicas: 1, alertmanagerSpread: "DoNotSchedule", gatewayReplicas: 2, nodeMin: 1}, Prometheus, ""},
		{"one gateway proxy", platform{nat: network.NatPerAZ, prometheusReplicas: 2, alertmanagerSpread: "DoNotSchedule", gatewayReplicas: 1, nodeMin: 1}, Gateway, ""},
		{"soft Alertmanager spread", platform{nat: network.NatPerAZ, prometheusReplicas: 2, alertmanagerSpread: "ScheduleAnyway", gatewayReplicas: 2, nodeMin: 1}, Alertmanager, ""},
		{"node groups of no node", platform{nat: network.NatPerAZ, prometheusReplicas: 2, alertmanagerSpread: "DoNotSchedule", gatewayReplicas: 2, nodeMin: 0}, Nodes, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reports := Simulate(build(t, tc.p))
			require.Len(t, reports, 3)
			assert.False(t, SurvivesAnySingleZone(reports))
			for _, r := range reports {
				c := checkOf(t, r, tc.capability)
				broken := tc.zone == "" || tc.zone == r.Zone
				assert.Equal(t, !broken, c.Survives, fmt.Sprintf("losing %s: %s: %s", r.Zone, tc.capability, c.Detail))
			}
		})
	}
}

// Issue 19 finding 12: no autoscaler is installed, so the report must not
// promise one: the node groups keep their fixed size and nothing adds nodes
// in the surviving zones.
func TestNodesReportSaysWhatIsLeftWithoutScaleOut(t *testing.T) {
	reports := Simulate(build(t, platform{nat: network.NatPerAZ, prometheusReplicas: 2, alertmanagerSpread: "DoNotSchedule", gatewayReplicas: 2, nodeMin: 2}))
	require.Len(t, reports, 3)
	for _, r := range reports {
		c := checkOf(t, r, Nodes)
		assert.True(t, c.Survives)
		assert.NotContains(t, c.Detail, "autoscaler can", "losing %s: %s", r.Zone, c.Detail)
		assert.Contains(t, c.Detail, "2 node groups outside "+r.Zone+" keep their 4 nodes")
		assert.Contains(t, c.Detail, "nothing adds nodes after a zone loss")
	}
}
