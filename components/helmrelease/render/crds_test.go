package render_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/helmrelease/render"
)

// crdsLeftOut are the releases that skip their chart's crds/ with no CRD
// chart in their place, and why nothing needs those CRDs.
var crdsLeftOut = map[string]string{
	"external-dns": "its crds/ holds only DNSEndpoint, the type of external-dns's `crd` source, which our values do not enable (sources: gateway-httproute)",
}

// crdsByHelm are the releases that still install their chart's crds/
// through Helm (on the first install only: Helm never upgrades crds/), and
// why: the gap docs/operations.md ("CRDs") names.
var crdsByHelm = map[string]string{
	"aws-load-balancer-controller": "upstream publishes no CRD-only chart for it (aws/eks-charts has only the controller's chart, whose crds/ holds TargetGroupBinding, IngressClassParams and the gateway.k8s.aws types); its upgrade notes ask for `kubectl apply -k` of that folder",
}

// alsoInCRDCharts are the kinds a CRD chart may render besides CRDs, and why.
var alsoInCRDCharts = map[string]string{
	// gateway-crds-helm renders Gateway API's safe-upgrades policy with the
	// experimental bundle (it refuses a CRD of an older bundle over a newer
	// one): the same objects gateway-helm's crds subchart renders, which
	// our values switch off there (routing.EnvoyGatewayValues.CRDs).
	"ValidatingAdmissionPolicy":        "Gateway API's safe-upgrades policy",
	"ValidatingAdmissionPolicyBinding": "Gateway API's safe-upgrades policy",
}

// TestCRDChartsCarryTheCRDsTheReleasesSkip (issue 21 item 1): the program
// applies each chart's CRDs from the CRD-only chart upstream publishes for
// it (helmrelease.NewCRDs) and installs the chart itself with skipCrds.
// For every stack, each CRD the skipped crds/ directories hold must come
// from one of the stack's CRD charts with the same spec: group, names,
// scope and every version with its served and storage flags and its
// schema. Both sides are the upstream archives themselves, so a pin of one
// moved without the other fails here, naming the CRD. Every CRD the CRD
// charts apply must be one a release skipped: nothing extra.
func TestCRDChartsCarryTheCRDsTheReleasesSkip(t *testing.T) {
	for _, s := range renderAll(t) {
		fromCharts := map[string]render.Object{}
		charts := 0
		for _, r := range s.Results {
			if r.Release.Type != render.ChartType {
				continue
			}
			charts++
			for _, o := range r.Objects {
				if o.Kind() != "CustomResourceDefinition" {
					_, ok := alsoInCRDCharts[o.Kind()]
					assert.True(t, ok, "stack %s: CRD chart %s renders %s, which is not a CRD", s.Name, r.Release.Name, o.ID())
					continue
				}
				fromCharts[o.Name()] = o
			}
		}
		used := map[string]bool{}
		compared := 0
		for _, rel := range s.Releases {
			if rel.Type != render.ReleaseType {
				continue
			}
			own, err := render.CRDsOf(repository, rel)
			require.NoError(t, err)
			switch {
			case !rel.SkipCRDs:
				if len(own) > 0 {
					_, ok := crdsByHelm[rel.Chart]
					assert.True(t, ok, "stack %s: release %s installs %d CRDs from its chart's crds/ through Helm, which never upgrades them: apply them from a CRD chart (helmrelease.NewCRDs) and set SkipCRDs", s.Name, rel.Name, len(own))
				}
				continue
			case crdsLeftOut[rel.Chart] != "":
				continue
			}
			require.NotEmpty(t, own, "stack %s: release %s skips CRDs its chart does not have", s.Name, rel.Name)
			for _, o := range own {
				c, ok := fromCharts[o.Name()]
				if !assert.True(t, ok, "stack %s: release %s skips CRD %s and no CRD chart of the stack applies it", s.Name, rel.Name, o.Name()) {
					continue
				}
				used[o.Name()] = true
				compared++
				if !reflect.DeepEqual(o.Object["spec"], c.Object["spec"]) {
					t.Errorf("stack %s: CRD %s: the CRD chart's spec (versions, schema) differs from the crds/ of chart %s %s (the release skips those)", s.Name, o.Name(), rel.Chart, rel.Version)
				}
			}
		}
		for name := range fromCharts {
			assert.True(t, used[name], "stack %s: CRD chart applies %s, which no release's chart holds", s.Name, name)
		}
		t.Logf("stack %s: %d CRD charts apply %d CRDs, each equal to the CRD its release skips", s.Name, charts, compared)
	}
}
