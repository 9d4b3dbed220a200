package cost

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
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
	e, err := Monthly(res)
	require.NoError(t, err)
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
	e, err := Monthly(res)
	require.NoError(t, err)
	assert.Zero(t, e.Total)
	assert.Contains(t, strings.Join(e.Notes, "\n"), "no price for ec2:x9.huge")
}

func TestEveryPriceHasASource(t *testing.T) {
	for k, p := range Prices {
		assert.NotEmpty(t, p.Source, k)
		assert.Positive(t, p.USD, k)
	}
}

// referencePrices reads the price table of
// ../shared/reference/reliability-and-cost.md (item -> USD per hour) and
// the hours in its month, so tests check the estimate against upstream
// figures, not against this package's own constants.
func referencePrices(t *testing.T) (prices map[string]float64, hoursPerMonth float64) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "shared", "reference", "reliability-and-cost.md"))
	require.NoError(t, err, "the reference price table is the test's source of truth")
	prices = map[string]float64{}
	number := regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)
	for _, line := range strings.Split(string(raw), "\n") {
		if m := regexp.MustCompile(`A month is ([0-9]+) hours`).FindStringSubmatch(line); m != nil {
			hoursPerMonth, err = strconv.ParseFloat(m[1], 64)
			require.NoError(t, err)
		}
		cells := strings.Split(line, "|")
		if len(cells) != 4 {
			continue
		}
		if v := number.FindString(cells[2]); v != "" && strings.Contains(cells[2], "/") {
			prices[strings.TrimSpace(cells[1])], err = strconv.ParseFloat(v, 64)
			require.NoError(t, err)
		}
	}
	require.Positive(t, hoursPerMonth, "the reference states the hours in a month")
	for _, item := range []string{"m5.large", "t3.medium"} {
		require.Contains(t, prices, item)
	}
	return prices, hoursPerMonth
}

// Finding 18 of issue 19: the node group carries the instance types only
// when there are several; a single type sits in the launch template it
// references. The estimate prices the type where it is declared, and fails
// when it is declared nowhere instead of assuming one.
func TestNodesArePricedAtTheTypeWhereItIsDeclared(t *testing.T) {
	prices, hours := referencePrices(t)
	template := func(inputs map[string]any) harness.Resource {
		inputs["blockDeviceMappings"] = []any{map[string]any{"ebs": map[string]any{"volumeSize": 20.0}}}
		return r("aws:ec2/launchTemplate:LaunchTemplate", "lt", inputs)
	}
	group := func(inputs map[string]any) harness.Resource {
		inputs["scalingConfig"] = map[string]any{"desiredSize": 2.0}
		inputs["launchTemplate"] = map[string]any{"id": "launchtemplate-lt"} // the mock id harness gives it
		return r("aws:eks/nodeGroup:NodeGroup", "ng", inputs)
	}
	for _, tc := range []struct {
		name      string
		resources []harness.Resource
		wantType  string  // in the item's name
		wantUSD   float64 // the nodes' monthly cost
		wantErr   string
	}{
		{"one type, in the launch template",
			[]harness.Resource{template(map[string]any{"instanceType": "m5.large"}), group(map[string]any{})},
			"m5.large", 2 * prices["m5.large"] * hours, ""},
		{"one type on the node group",
			[]harness.Resource{template(map[string]any{}), group(map[string]any{"instanceTypes": []any{"m5.large"}})},
			"m5.large", 2 * prices["m5.large"] * hours, ""},
		{"several spot types on the node group: the dearest on-demand rate bounds them",
			[]harness.Resource{template(map[string]any{}), group(map[string]any{"instanceTypes": []any{"t3a.medium", "t3.medium"}, "capacityType": "SPOT"})},
			"t3.medium", 2 * prices["t3.medium"] * hours, ""},
		{"one type in a launch template known only as a dependency (its id not known yet)",
			[]harness.Resource{template(map[string]any{"instanceType": "m5.large"}), func() harness.Resource {
				g := group(map[string]any{})
				g.Inputs["launchTemplate"] = resource.NewObjectProperty(resource.PropertyMap{"id": resource.MakeComputed(resource.NewStringProperty(""))})
				g.DependsOn = []string{"urn:aws:ec2/launchTemplate:LaunchTemplate::lt"}
				return g
			}()},
			"m5.large", 2 * prices["m5.large"] * hours, ""},
		{"several on-demand types: the first is launched first",
			[]harness.Resource{template(map[string]any{}), group(map[string]any{"instanceTypes": []any{"t3.medium", "t3a.medium"}})},
			"t3.medium", 2 * prices["t3.medium"] * hours, ""},
		{"neither: an error, not a default",
			[]harness.Resource{template(map[string]any{}), group(map[string]any{})},
			"", 0, "node group urn:aws:eks/nodeGroup:NodeGroup::ng: no instance type on the node group (instanceTypes) nor in its launch template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Monthly(&harness.Result{Resources: tc.resources})
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			var nodes []Item
			for _, it := range e.Items {
				if strings.HasPrefix(it.Name, "nodes ") {
					nodes = append(nodes, it)
				}
			}
			require.Len(t, nodes, 1, "one line for the node group's instances")
			assert.Contains(t, nodes[0].Name, tc.wantType)
			assert.InDelta(t, tc.wantUSD, nodes[0].MonthlyUSD, 0.006)
		})
	}
}

// Finding 18 of issue 19, on the committed prod stack: its nodes are
// m5.large, a single type, so it sits in the launch template each node
// group references; the estimate priced them at t3.medium. The expected
// figures come from the reference price table and AWS's pricing pages, not
// from Prices.
func TestProdIsPricedAtTheNodesItDeclares(t *testing.T) {
	prices, hours := referencePrices(t)
	st, err := stackrun.Run("..", "prod")
	require.NoError(t, err)
	res := st.Result

	// What prod declares, read from its resources.
	nodes := 0.0
	groups := res.OfType("aws:eks/nodeGroup:NodeGroup")
	require.NotEmpty(t, groups)
	for _, g := range groups {
		assert.Empty(t, g.Strings("instanceTypes"), "%s: a single type sits in the launch template", g.Name)
		lt, ok := res.ByID(g.String("launchTemplate", "id"))
		require.True(t, ok, "%s references a recorded launch template", g.Name)
		assert.Equal(t, "m5.large", lt.String("instanceType"), g.Name)
		nodes += g.Number("scalingConfig", "desiredSize")
	}
	wantNodes := nodes * prices["m5.large"] * hours

	e, err := Monthly(res)
	require.NoError(t, err)
	gotNodes := 0.0
	for _, it := range e.Items {
		if strings.HasPrefix(it.Name, "nodes ") {
			assert.Contains(t, it.Name, "m5.large")
			gotNodes += it.MonthlyUSD
		}
	}
	assert.InDelta(t, wantNodes, gotNodes, 0.01*float64(len(groups)), "%v m5.large nodes", nodes)

	// The total at the listed prices: each line recomputed from its
	// quantity and the reference price of its kind. gp3 and KMS are not in
	// the reference table: $0.088 per GiB-month (aws.amazon.com/ebs/pricing,
	// gp3, EU (Ireland)) and $1 per key-month (aws.amazon.com/kms/pricing).
	hourly := map[string]float64{
		"EKS control plane": prices["EKS control plane (standard support)"],
		"NAT gateway":       prices["NAT gateway"],
		"public IPv4":       prices["public IPv4 address"],
		"Network Load":      prices["Network Load Balancer"],
	}
	monthly := map[string]float64{"node root volumes": 0.088, "persistent volumes": 0.088, "KMS customer managed key": 1.00}
	want := wantNodes
	for _, it := range e.Items {
		if strings.HasPrefix(it.Name, "nodes ") {
			continue
		}
		priced := false
		for prefix, usd := range hourly {
			if strings.HasPrefix(it.Name, prefix) {
				want, priced = want+it.Quantity*usd*hours, true
			}
		}
		for prefix, usd := range monthly {
			if strings.HasPrefix(it.Name, prefix) {
				want, priced = want+it.Quantity*usd, true
			}
		}
		assert.True(t, priced, "the test knows the price of %q", it.Name)
	}
	assert.InDelta(t, want, e.Total, 0.006*float64(len(e.Items)))
	t.Logf("prod: $%.2f/month, of which %v m5.large nodes $%.2f", e.Total, nodes, gotNodes)
}
