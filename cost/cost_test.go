package cost

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
)

func r(typ, name string, inputs map[string]any) harness.Resource {
	kind := typ[strings.LastIndex(typ, ":")+1:]
	return harness.Resource{URN: "urn:" + typ + "::" + name, Type: typ, Name: name, Custom: true,
		ID: strings.ToLower(kind) + "-" + name, Inputs: resource.NewPropertyMapFromMap(inputs)}
}

// A fixed stack priced by hand (730 h/month, eu-west-1 prices):
//
//	EKS control plane  0.10 x 730           =  73.00
//	2 NAT gateways     2 x 0.048 x 730      =  70.08
//	2 public IPv4      2 x 0.005 x 730      =   7.30
//	3 x m5.large       3 x 0.107 x 730      = 234.33
//	3 x 20 GiB gp3     60 x 0.088           =   5.28
//	1 KMS key                               =   1.00
//	1 NLB              0.0252 x 730         =  18.40 (18.396)
//	Prometheus 2 x 50 GiB gp3  100 x 0.088  =   8.80
//	total                                   = 418.19
func TestTotalMatchesAHandCalculation(t *testing.T) {
	res := &harness.Result{Resources: []harness.Resource{
		r("aws:eks/cluster:Cluster", "c", nil),
		r("aws:ec2/natGateway:NatGateway", "a", nil), r("aws:ec2/natGateway:NatGateway", "b", nil),
		r("aws:ec2/eip:Eip", "a", nil), r("aws:ec2/eip:Eip", "b", nil),
		r("aws:kms/key:Key", "k", nil),
		r("aws:ec2/launchTemplate:LaunchTemplate", "lt", map[string]any{
			"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 20.0}}}}),
		r("aws:eks/nodeGroup:NodeGroup", "ng", map[string]any{
			"instanceTypes": []any{"m5.large"}, "scalingConfig": map[string]any{"desiredSize": 3.0},
			"launchTemplate": map[string]any{"id": "launchtemplate-lt"}}),
		r("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "proxy", map[string]any{"spec": map[string]any{
			"annotations": map[string]any{"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}}}),
		r("kubernetes:helm.sh/v3:Release", "kps", map[string]any{"values": map[string]any{"prometheus": map[string]any{
			"prometheusSpec": map[string]any{"replicas": 2.0, "storageSpec": map[string]any{"volumeClaimTemplate": map[string]any{
				"spec": map[string]any{"resources": map[string]any{"requests": map[string]any{"storage": "50Gi"}}}}}}}}}),
	}}
	e := Monthly(res)
	assert.InDelta(t, 418.19, e.Total, 0.011)
	assert.Equal(t, PricesAsOf, e.AsOf)
	require.NotEmpty(t, e.Items)
	for _, it := range e.Items {
		assert.NotEmpty(t, it.Name)
		assert.NotEmpty(t, it.Resource)
	}
}

func TestUnknownInstanceTypeIsReportedNotGuessed(t *testing.T) {
	res := &harness.Result{Resources: []harness.Resource{
		r("aws:eks/nodeGroup:NodeGroup", "ng", map[string]any{"instanceTypes": []any{"x9.huge"}, "scalingConfig": map[string]any{"desiredSize": 1.0}}),
	}}
	e := Monthly(res)
	assert.Zero(t, e.Total)
	assert.Contains(t, strings.Join(e.Notes, "\n"), "no price for ec2:x9.huge")
}

func TestEveryPriceHasASource(t *testing.T) {
	for k, p := range Prices {
		assert.NotEmpty(t, p.Source, k)
		assert.Positive(t, p.USD, k)
	}
}
