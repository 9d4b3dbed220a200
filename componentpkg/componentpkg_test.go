package componentpkg

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/policy/iamref"
)

// validArgs are inputs a consumer could give each component.
var validArgs = map[string]any{
	"platform:namespace:Namespace": &namespace.Args{Name: "hello"},
	"platform:routing:Route": &routing.RouteArgs{
		Gateway: routing.GatewayRef{Name: pulumi.String("platform"), Namespace: pulumi.String("routing")},
		Host:    "hello.dev.example.com", Namespace: pulumi.String("hello"), Service: "hello", Port: 80,
		Domain: pulumi.String("dev.example.com"),
	},
	"platform:cluster:WorkloadRole": &cluster.WorkloadRoleArgs{
		Namespace: "hello", ServiceAccount: "hello",
		OIDCProviderARN: pulumi.String("arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"),
		OIDCIssuerURL:   pulumi.String("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"),
	},
}

// The engine asks the provider for the type in the schema and the provider
// must register exactly that type: each component's constructor registers
// the token the package serves it under, at the top of what it creates.
func TestEachComponentRegistersItsToken(t *testing.T) {
	require.Len(t, validArgs, len(Components))
	for _, c := range Components {
		t.Run(c.Token, func(t *testing.T) {
			args, ok := validArgs[c.Token]
			require.True(t, ok, "a test input for %s", c.Token)
			res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
				_, err := c.New(ctx, "x", args)
				return err
			})
			require.NoError(t, err)
			got := res.OfType(c.Token)
			require.Len(t, got, 1, "%s registers one %s", c.Token, c.Token)
			assert.False(t, got[0].Custom)
			assert.Equal(t, res.StackURN, got[0].Parent)
		})
	}
}

// The schema lists exactly the components Construct serves.
func TestSchemaHasEveryComponent(t *testing.T) {
	var spec struct {
		Name      string                     `json:"name"`
		Version   string                     `json:"version"`
		Resources map[string]json.RawMessage `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(Schema, &spec))
	assert.Equal(t, Name, spec.Name)
	assert.Equal(t, Version, spec.Version)
	var tokens []string
	for tok := range spec.Resources {
		tokens = append(tokens, tok)
	}
	var served []string
	for _, c := range Components {
		served = append(served, c.Token)
	}
	assert.ElementsMatch(t, served, tokens)
}

// A consumer outside the platform stack gives WorkloadRole the cluster's
// OIDC provider: the trust policy lets exactly that provider's tokens for
// the one service account assume the role.
func TestWorkloadRoleFromTheStackOutputs(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := cluster.NewWorkloadRole(ctx, "hello", validArgs["platform:cluster:WorkloadRole"].(*cluster.WorkloadRoleArgs))
		return err
	})
	require.NoError(t, err)
	roles := res.OfType("aws:iam/role:Role")
	require.Len(t, roles, 1)
	var trust struct {
		Statement []struct {
			Principal map[string]string
			Action    any
			Condition map[string]map[string]string
		}
	}
	// The document as AWS defines it: actions, condition keys, principals
	// (../shared/reference/aws, not our own copy).
	ref, err := iamref.Load(iamref.Dir(".."))
	require.NoError(t, err)
	assert.Empty(t, ref.CheckDocument(iamref.Trust, roles[0].String("assumeRolePolicy")))
	require.NoError(t, json.Unmarshal([]byte(roles[0].String("assumeRolePolicy")), &trust))
	require.Len(t, trust.Statement, 1)
	s := trust.Statement[0]
	assert.Equal(t, "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC", s.Principal["Federated"])
	assert.Equal(t, map[string]string{
		"oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:hello:hello",
		"oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
	}, s.Condition["StringEquals"])

	_, err = harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		_, err := cluster.NewWorkloadRole(ctx, "hello", &cluster.WorkloadRoleArgs{Namespace: "hello", ServiceAccount: "hello"})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `platform:cluster:WorkloadRole "hello": OIDCProviderARN and OIDCIssuerURL are required`)
}
