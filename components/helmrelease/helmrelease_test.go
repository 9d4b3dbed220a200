package helmrelease_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/helmrelease/render"
	"github.com/cnplatform/platform/harness"
)

type values struct {
	Replicas int               `json:"replicas"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// A chart from a plain repository and one from an OCI registry, each pinned.
func ExampleNew() {
	program := func(ctx *pulumi.Context) error {
		if _, err := helmrelease.New(ctx, "external-dns", &helmrelease.Args{
			Chart:     helmrelease.Chart{Repo: "https://kubernetes-sigs.github.io/external-dns", Name: "external-dns", Version: "1.15.0"},
			Namespace: pulumi.String("routing"),
			Values:    values{Replicas: 1},
		}); err != nil {
			return err
		}
		_, err := helmrelease.New(ctx, "eg", &helmrelease.Args{
			Chart:     helmrelease.Chart{Repo: "oci://docker.io/envoyproxy", Name: "gateway-helm", Version: "v1.4.0"},
			Namespace: pulumi.String("envoy-gateway-system"),
		})
		return err
	}
	res, err := harness.Run("example", nil, nil, program)
	if err != nil {
		panic(err)
	}
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		fmt.Println(strings.TrimSpace(r.String("chart") + " " + r.String("version") + " " + r.String("repositoryOpts", "repo")))
	}
	// Unordered output:
	// external-dns 1.15.0 https://kubernetes-sigs.github.io/external-dns
	// oci://docker.io/envoyproxy/gateway-helm v1.4.0
}

func TestVersionMustBeExact(t *testing.T) {
	for _, v := range []string{"", "1.x", "^1.2.0", "~1.2", ">=1.0.0", "latest"} {
		_, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
			_, err := helmrelease.New(ctx, "c", &helmrelease.Args{Chart: helmrelease.Chart{Repo: "https://x", Name: "c", Version: v}})
			return err
		})
		require.Error(t, err, v)
		assert.Contains(t, err.Error(), "exact version")
	}
}

func TestValuesComeFromTypedStructs(t *testing.T) {
	m, err := helmrelease.ValuesMap(values{Replicas: 2, Labels: map[string]string{"a": "b"}})
	require.NoError(t, err)
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := helmrelease.New(ctx, "c", &helmrelease.Args{
			Chart: helmrelease.Chart{Repo: "https://x", Name: "c", Version: "1.2.3"}, Namespace: pulumi.String("n"),
			Values: values{Replicas: 2, Labels: map[string]string{"a": "b"}},
		})
		return err
	})
	require.NoError(t, err)
	rel := res.OfType("kubernetes:helm.sh/v3:Release")[0]
	assert.Equal(t, float64(2), rel.Number("values", "replicas"))
	assert.Equal(t, "b", rel.String("values", "labels", "a"))
	assert.Len(t, m, 2)
	assert.True(t, rel.Bool("atomic"), "a failed upgrade rolls back")
	assert.Equal(t, fmt.Sprint(600.0), fmt.Sprint(rel.Number("timeout")))
}

// NewCRDs applies a CRD-only chart as a helm.v4 Chart, pinned, and its
// transform retains every CustomResourceDefinition on delete (and nothing
// else): deleting a CRD deletes every object of its kind.
func TestNewCRDsRetainsTheCRDs(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := helmrelease.NewCRDs(ctx, "crds", &helmrelease.CRDArgs{
			Chart:  helmrelease.Chart{Repo: "https://x", Name: "c-crds", Version: "1.2.3"},
			Values: values{Replicas: 1},
		})
		return err
	})
	require.NoError(t, err)
	charts := res.OfType(render.ChartType)
	require.Len(t, charts, 1)
	assert.Equal(t, "c-crds", charts[0].String("chart"))
	assert.Equal(t, "1.2.3", charts[0].String("version"))
	assert.Equal(t, "https://x", charts[0].String("repositoryOpts", "repo"))
	assert.Equal(t, float64(1), charts[0].Number("values", "replicas"))

	for typ, retained := range map[string]bool{
		"kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition":          true,
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": false,
	} {
		out := helmrelease.RetainCRDs(context.Background(), &pulumi.ResourceTransformArgs{Custom: true, Type: typ, Name: "x", Props: pulumi.Map{}})
		assert.Equal(t, retained, out != nil && out.Opts.RetainOnDelete, typ)
	}

	_, err = harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := helmrelease.NewCRDs(ctx, "crds", &helmrelease.CRDArgs{Chart: helmrelease.Chart{Repo: "https://x", Name: "c-crds", Version: "1.x"}})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exact version")
}
