// Package tests evaluates every stack file in the repository through the
// mocks harness and checks what a platform engineer cares about.
package tests

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/stacks"
)

// repoRoot holds Pulumi.yaml and the stack files.
const repoRoot = ".."

type evaluated struct {
	result *harness.Result
	config *stacks.Config
	err    error
}

var (
	evalOnce sync.Once
	evals    map[string]evaluated
)

// allStacks evaluates each Pulumi.<stack>.yaml once per test binary.
func allStacks(t *testing.T) map[string]evaluated {
	t.Helper()
	evalOnce.Do(func() {
		evals = map[string]evaluated{}
		names, err := harness.StackNames(repoRoot)
		if err != nil {
			panic(err)
		}
		for _, name := range names {
			var e evaluated
			st, err := stackrun.Run(repoRoot, name)
			if err != nil {
				e.err = err
			} else {
				e.config, e.result = st.Config, st.Result
			}
			evals[name] = e
		}
	})
	require.NotEmpty(t, evals, "no stack files found")
	return evals
}

// forEachStack runs fn for every stack file (optionally only some environments).
func forEachStack(t *testing.T, fn func(t *testing.T, res *harness.Result, cfg *stacks.Config), envs ...stacks.Environment) {
	t.Helper()
	ran := 0
	for name, e := range allStacks(t) {
		require.NoError(t, e.err, "stack %s", name)
		if len(envs) > 0 && !contains(envs, e.config.Environment) {
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) { fn(t, e.result, e.config) })
	}
	require.Positive(t, ran, "no stack file matched %v", envs)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

var cloudEnvs = []stacks.Environment{stacks.Dev, stacks.Staging, stacks.Prod}

func TestEveryEnvironmentHasAStackFile(t *testing.T) {
	seen := map[stacks.Environment]bool{}
	for name, e := range allStacks(t) {
		require.NoError(t, e.err, name)
		seen[e.config.Environment] = true
	}
	for _, env := range stacks.Environments {
		assert.True(t, seen[env], "no stack file for environment %s", env)
	}
}

func TestStackFilesHaveNoUnknownKeys(t *testing.T) {
	names, err := harness.StackNames(repoRoot)
	require.NoError(t, err)
	for _, name := range names {
		sf, err := harness.LoadStackFile(repoRoot, name)
		require.NoError(t, err)
		assert.Empty(t, stacks.UnknownKeys(sf.Keys()), name)
	}
}

func TestEveryResourceIsInsideAComponentOrIsTheLocalProvider(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		for _, r := range res.Resources {
			if r.Custom && res.Component(r) == "" {
				assert.Equal(t, stacks.Local, cfg.Environment, "%s sits at the top level", r.URN)
			}
		}
	})
}

func TestCloudStackOutputs(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		for _, k := range []string{"environment", "vpcId", "publicSubnetIds", "privateSubnetIds", "natGatewayIds",
			"clusterName", "clusterEndpoint", "kubeconfig", "oidcIssuerUrl", "oidcProviderArn", "nodeRoleArn"} {
			out, ok := res.Outputs[k]
			require.True(t, ok, "missing output %s", k)
			assert.True(t, out.Known, k)
		}
		assert.Equal(t, cfg.Cluster.Name, res.Outputs["clusterName"].Value)
		assert.Len(t, res.Outputs["privateSubnetIds"].Value, len(cfg.Network.AvailabilityZones))
		for k, o := range res.Outputs {
			if k != "kubeconfig" {
				assert.False(t, o.Secret, "%s needs not be secret", k)
			}
		}
	}, cloudEnvs...)
}

func TestCloudStacksDeployTheWholePlatformLayer(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		for _, typ := range []string{"platform:monitoring:Monitoring", "platform:routing:Routing", "platform:logging:Logging"} {
			assert.Len(t, res.OfType(typ), 1, "%s stack deploys %s", cfg.Environment, typ)
		}
	}, cloudEnvs...)
}

func TestLocalStackDeploysOntoAnExistingCluster(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		for _, r := range res.Resources {
			assert.NotContains(t, r.Type, "aws:", "local creates no AWS resource: %s", r.URN)
		}
		providers := res.OfType("pulumi:providers:kubernetes")
		require.Len(t, providers, 1)
		for _, r := range res.Resources {
			if r.Custom && r.Type != "pulumi:providers:kubernetes" {
				assert.True(t, strings.HasPrefix(r.Provider, providers[0].URN+"::"), "%s goes to the local cluster", r.URN)
			}
		}
		assert.Equal(t, cfg.Local.KubeconfigContext, providers[0].String("context"))
		assert.Equal(t, cfg.Local.KubeconfigContext, res.Outputs["kubeconfigContext"].Value)
	}, stacks.Local)
}

func TestInvalidStackRegistersNothing(t *testing.T) {
	cfg := map[string]string{
		"aws:region":                 "eu-west-1",
		"platform:environment":       "prod",
		"platform:availabilityZones": `["eu-west-1a","eu-west-1b"]`,
	}
	res, err := harness.Run("broken", cfg, nil, stacks.Run)
	var verr *stacks.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Contains(t, err.Error(), "platform:availabilityZones")
	assert.Empty(t, res.Resources, "invalid configuration must fail before any resource is registered")
}
