package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/cost"
	"github.com/cnplatform/platform/deploytime"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/policy"
	"github.com/cnplatform/platform/stacks"
	"github.com/cnplatform/platform/zonefailure"
)

func TestEveryStackPassesTheSecurityBaseline(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		findings := policy.Evaluate(res, policy.Options{Production: cfg.Environment == stacks.Prod})
		for _, f := range policy.Failures(findings) {
			t.Errorf("%s", f)
		}
		judged := 0
		for _, f := range findings {
			if f.Resource != "" {
				judged++
			}
		}
		assert.Greater(t, judged, 10, "the checks judged the stack's own resources")
		for _, f := range findings {
			if f.Status == policy.Exempt {
				assert.NotEmpty(t, f.Message, "an exemption says why")
			}
		}
	})
}

func TestDevCostsLessThanStagingLessThanProd(t *testing.T) {
	totals := map[stacks.Environment]float64{}
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		e, err := cost.Monthly(res)
		require.NoError(t, err)
		totals[cfg.Environment] = e.Total
		assert.NotContains(t, strings.Join(e.Notes, "\n"), "no price for", "every declared instance type is priced")
		assert.Positive(t, e.Total)
	}, cloudEnvs...)
	require.Len(t, totals, 3)
	assert.Less(t, totals[stacks.Dev], totals[stacks.Staging])
	assert.Less(t, totals[stacks.Staging], totals[stacks.Prod])
}

func TestProdSurvivesTheLossOfAnyZone(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		reports := zonefailure.Simulate(res)
		require.Len(t, reports, len(cfg.Network.AvailabilityZones))
		for _, r := range reports {
			for _, c := range r.Checks {
				assert.True(t, c.Survives, "losing %s: %s: %s", r.Zone, c.Capability, c.Detail)
			}
		}
	}, stacks.Prod)
}

func TestDevIsNotHighlyAvailableAndSaysSo(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		reports := zonefailure.Simulate(res)
		require.Len(t, reports, len(cfg.Network.AvailabilityZones))
		assert.False(t, zonefailure.SurvivesAnySingleZone(reports), "dev's single NAT gateway is a known single point of failure")
		egressLost := 0
		for _, r := range reports {
			for _, c := range r.Checks {
				if c.Capability == zonefailure.Egress && !c.Survives {
					egressLost++
				}
			}
		}
		assert.Equal(t, 1, egressLost, "losing the NAT gateway's zone cuts every zone's egress; losing another does not")
	}, stacks.Dev)
}

func TestFirstDeployWaitsForTheControlPlane(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		p := deploytime.CriticalPath(res)
		types := map[string]bool{}
		for _, s := range p.Chain {
			types[s.Type] = true
		}
		assert.True(t, types["aws:eks/cluster:Cluster"], "the control plane is on the critical path")
		assert.True(t, types["aws:eks/nodeGroup:NodeGroup"], "so are the nodes")
		assert.GreaterOrEqual(t, p.Minutes, 15.0)
		assert.LessOrEqual(t, p.Minutes, 60.0)
	}, cloudEnvs...)
}
