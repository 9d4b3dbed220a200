package tests

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/bootstrap/backend"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/stacks"
)

// bootstrapRoles is what the bootstrap stack (bootstrap/Pulumi.shared.yaml,
// evaluated with its own program) gives the platform stacks: the role each
// environment's deploy job runs as, and the preview role with the
// environments whose pull requests it previews.
type bootstrapRoles struct {
	deploy         map[string]string // environment -> deploy role ARN
	preview        string
	previewedByPRs []string // environments whose secrets the preview role may decrypt
}

// loadBootstrapRoles runs the bootstrap program under the mocks: role
// names (NamePrefix, "deploy-<env>") and the preview environments come from
// the bootstrap's own configuration and code, not from a copy here. The
// mocks give every ARN the harness's account, so callers compare the part
// after the account (role path and name).
func loadBootstrapRoles(t *testing.T) bootstrapRoles {
	t.Helper()
	dir := filepath.Join(repoRoot, "bootstrap")
	sf, err := harness.LoadStackFile(dir, "shared")
	require.NoError(t, err)
	res, err := harness.Run("shared", sf.Config, sf.SecretKeys, backend.Run)
	require.NoError(t, err)

	plainMap := func(output string) map[string]string {
		o, ok := res.Outputs[output]
		require.True(t, ok, "bootstrap exports %s", output)
		b, err := json.Marshal(o.Value)
		require.NoError(t, err)
		var m map[string]string
		require.NoError(t, json.Unmarshal(b, &m), "bootstrap output %s: %s", output, b)
		return m
	}
	out := bootstrapRoles{deploy: plainMap("deployRoleArns")}
	require.NotEmpty(t, out.deploy, "bootstrap/Pulumi.shared.yaml declares deploy roles")
	preview, ok := res.Outputs["previewRoleArn"].Value.(string)
	require.True(t, ok && preview != "", "bootstrap exports previewRoleArn")
	out.preview = preview

	// The environments a pull request previews are those whose secrets key
	// the preview role may use: read from its state policy as declared.
	keyEnv := map[string]string{}
	for env, arn := range plainMap("secretsKeyArns") {
		keyEnv[arn] = env
	}
	previewName := preview[strings.LastIndex(preview, "/")+1:]
	for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
		if p.String("role") != previewName {
			continue
		}
		var doc struct {
			Statement []struct {
				Action   any
				Resource any
			}
		}
		require.NoError(t, json.Unmarshal([]byte(p.String("policy")), &doc))
		for _, st := range doc.Statement {
			for _, r := range asList(st.Resource) {
				if env, ok := keyEnv[r]; ok && slices.Contains(asList(st.Action), "kms:Decrypt") && !slices.Contains(out.previewedByPRs, env) {
					out.previewedByPRs = append(out.previewedByPRs, env)
				}
			}
		}
	}
	slices.Sort(out.previewedByPRs)
	return out
}

func asList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// rolePart is an IAM role ARN without its account: "aws:iam:role/<path><name>".
// The bootstrap's ARNs carry the mocks' account; a stack file names the
// account the roles live in.
func rolePart(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return arn
	}
	return parts[1] + ":" + parts[2] + ":" + parts[5]
}

func hasRole(list []string, arn string) bool {
	return slices.ContainsFunc(list, func(a string) bool { return rolePart(a) == rolePart(arn) })
}

// loadStackConfig reads a stack file the way the program does.
func loadStackConfig(t *testing.T, stack string) *stacks.Config {
	t.Helper()
	sf, err := stackrun.LoadStackFile(repoRoot, stack)
	require.NoError(t, err, "the bootstrap has environment %s: Pulumi.%s.yaml", stack, stack)
	cfg, err := stacks.Load(stacks.StaticSource{Values: sf.Config, SecretKeys: sf.SecretKeys})
	require.NoError(t, err, "stack %s", stack)
	return cfg
}

// Finding 3 of issue 19: the clusters are created with
// bootstrapClusterCreatorAdminPermissions false, so the identity running
// `pulumi up` gets Kubernetes access only through platform:adminRoleArns. In
// CI that identity is the bootstrap's deploy role of the environment:
// without it every Kubernetes resource fails Unauthorized after the VPC,
// cluster and nodes are built.
func TestDeployRoleIsClusterAdminOfItsStack(t *testing.T) {
	roles := loadBootstrapRoles(t)
	for env, arn := range roles.deploy {
		t.Run(env, func(t *testing.T) {
			cfg := loadStackConfig(t, env)
			assert.True(t, hasRole(cfg.Cluster.AdminRoleARNs, arn),
				"stack %s: platform:adminRoleArns %v lacks the bootstrap's deploy role %s (role/%s in the stack's account): the deploy job would get no Kubernetes access",
				env, cfg.Cluster.AdminRoleARNs, arn, arn[strings.Index(arn, ":role/")+len(":role/"):])
		})
	}
}

// Finding 11 of issue 19: the preview role runs `pulumi preview` on pull
// requests for the bootstrap's previewEnvironments only (it may decrypt
// only their secrets). Those stacks must let it read the cluster
// (platform:viewerRoleArns, AmazonEKSViewPolicy), or the preview never
// shows the Kubernetes diff; the others must not give a role that any
// branch can assume access to their cluster.
func TestPreviewRoleViewsExactlyThePreviewedStacks(t *testing.T) {
	roles := loadBootstrapRoles(t)
	require.NotEmpty(t, roles.previewedByPRs, "the bootstrap previews some environment")
	for env := range roles.deploy {
		t.Run(env, func(t *testing.T) {
			cfg := loadStackConfig(t, env)
			previewed := slices.Contains(roles.previewedByPRs, env)
			if previewed {
				assert.True(t, hasRole(cfg.Cluster.ViewerRoleARNs, roles.preview),
					"stack %s is previewed in pull requests (bootstrap previewEnvironments %v) but platform:viewerRoleArns %v lacks the preview role %s: its Kubernetes diff is never shown",
					env, roles.previewedByPRs, cfg.Cluster.ViewerRoleARNs, roles.preview)
			} else {
				assert.False(t, hasRole(cfg.Cluster.ViewerRoleARNs, roles.preview),
					"stack %s is not previewed in pull requests (bootstrap previewEnvironments %v) but platform:viewerRoleArns %v gives the preview role %s, which any branch can assume, read access to its cluster",
					env, roles.previewedByPRs, cfg.Cluster.ViewerRoleARNs, roles.preview)
			}
			assert.False(t, hasRole(cfg.Cluster.AdminRoleARNs, roles.preview), "stack %s: the preview role is never a cluster admin", env)
		})
	}
}
