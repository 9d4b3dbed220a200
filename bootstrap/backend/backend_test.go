package backend_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/bootstrap/backend"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/policy"
)

const (
	bucketType    = "aws:s3/bucketV2:BucketV2"
	keyType       = "aws:kms/key:Key"
	aliasType     = "aws:kms/alias:Alias"
	roleType      = "aws:iam/role:Role"
	rolePolicy    = "aws:iam/rolePolicy:RolePolicy"
	attachType    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	oidcType      = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
	stackFileName = "shared"
)

// runStackFile evaluates the bootstrap program for bootstrap/Pulumi.shared.yaml,
// with overrides applied to its configuration ("" deletes a key).
func runStackFile(t *testing.T, overrides map[string]string) *harness.Result {
	t.Helper()
	sf, err := harness.LoadStackFile("..", stackFileName)
	require.NoError(t, err)
	cfg := map[string]string{}
	for k, v := range sf.Config {
		cfg[k] = v
	}
	for k, v := range overrides {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	res, err := harness.Run(stackFileName, cfg, sf.SecretKeys, backend.Run)
	require.NoError(t, err)
	return res
}

// forBucket returns the one resource of typ configuring bucket b.
func forBucket(t *testing.T, res *harness.Result, typ string, b harness.Resource) harness.Resource {
	t.Helper()
	var found []harness.Resource
	for _, r := range res.OfType(typ) {
		if r.String("bucket") == b.ID {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "%s for bucket %s", typ, b.ID)
	return found[0]
}

type statement struct {
	Effect    string
	Principal map[string]any
	Action    []string
	Resource  []string
	Condition map[string]map[string]any
}

func statements(t *testing.T, doc string) []statement {
	t.Helper()
	var d struct{ Statement []statement }
	require.NoError(t, json.Unmarshal([]byte(doc), &d), doc)
	require.NotEmpty(t, d.Statement)
	return d.Statement
}

func TestStateBucket(t *testing.T) {
	res := runStackFile(t, nil)
	buckets := res.OfType(bucketType)
	require.Len(t, buckets, 1)
	b := buckets[0]

	t.Run("named from config, protected, never force-destroyed", func(t *testing.T) {
		assert.Equal(t, "example-org-platform-pulumi-state", b.String("bucket"))
		assert.True(t, b.Protect, "losing the bucket loses every stack's state")
		assert.False(t, b.Bool("forceDestroy"))
	})
	t.Run("versioned", func(t *testing.T) {
		v := forBucket(t, res, "aws:s3/bucketVersioningV2:BucketVersioningV2", b)
		assert.Equal(t, "Enabled", v.String("versioningConfiguration", "status"))
	})
	t.Run("encrypted with the customer state key, bucket key on", func(t *testing.T) {
		sse := forBucket(t, res, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", b)
		assert.Equal(t, "aws:kms", sse.String("rules", "0", "applyServerSideEncryptionByDefault", "sseAlgorithm"))
		assert.True(t, sse.Bool("rules", "0", "bucketKeyEnabled"))
		keyARN := sse.String("rules", "0", "applyServerSideEncryptionByDefault", "kmsMasterKeyId")
		var key *harness.Resource
		for _, k := range res.OfType(keyType) {
			if strings.HasSuffix(keyARN, ":key/"+k.ID) {
				key = &k
			}
		}
		require.NotNil(t, key, "SSE key %q is not a key this stack declares", keyARN)
		assert.True(t, key.Bool("enableKeyRotation"))
		assert.True(t, key.Protect)
	})
	t.Run("public access blocked, ACLs off", func(t *testing.T) {
		pab := forBucket(t, res, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b)
		for _, f := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			assert.True(t, pab.Bool(f), f)
		}
		own := forBucket(t, res, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", b)
		assert.Equal(t, "BucketOwnerEnforced", own.String("rule", "objectOwnership"))
	})
	t.Run("TLS only", func(t *testing.T) {
		pol := forBucket(t, res, "aws:s3/bucketPolicy:BucketPolicy", b)
		arn := mockBucketARN(b)
		var denies int
		for _, st := range statements(t, pol.String("policy")) {
			if st.Effect == "Deny" && st.Condition["Bool"]["aws:SecureTransport"] == "false" {
				denies++
				assert.Contains(t, st.Action, "s3:*")
				assert.ElementsMatch(t, []string{arn, arn + "/*"}, st.Resource)
				assert.Equal(t, "*", st.Principal["AWS"])
			}
			assert.NotEqual(t, "Allow", st.Effect, "the bucket policy only denies")
		}
		assert.Equal(t, 1, denies, "a Deny on aws:SecureTransport=false")
	})
	t.Run("noncurrent versions expire, recent history kept", func(t *testing.T) {
		lc := forBucket(t, res, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", b)
		assert.Equal(t, "Enabled", lc.String("rules", "0", "status"))
		assert.Equal(t, 90.0, lc.Number("rules", "0", "noncurrentVersionExpiration", "noncurrentDays"))
		assert.Positive(t, lc.Number("rules", "0", "noncurrentVersionExpiration", "newerNoncurrentVersions"))
	})
}

func TestSecretsKey(t *testing.T) {
	res := runStackFile(t, nil)
	keys := res.OfType(keyType)
	require.Len(t, keys, 4, "a state key and a secrets key per environment")
	for _, k := range keys {
		assert.True(t, k.Bool("enableKeyRotation"), k.Name)
		assert.True(t, k.Protect, k.Name)
		assert.Equal(t, 30.0, k.Number("deletionWindowInDays"), k.Name)
		assert.Empty(t, k.String("policy"), "%s: AWS default key policy (account root), no * principal", k.Name)
	}
	targets := map[string]bool{}
	for _, env := range []string{"dev", "staging", "prod"} {
		var alias *harness.Resource
		for _, a := range res.OfType(aliasType) {
			if a.String("name") == "alias/platform-pulumi-secrets-"+env {
				alias = &a
			}
		}
		require.NotNil(t, alias, "the alias stack %s names in awskms://", env)
		assert.True(t, alias.Protect)
		target, ok := res.ByID(alias.String("targetKeyId"))
		require.True(t, ok)
		assert.Equal(t, keyType, target.Type)
		targets[target.URN] = true
	}
	assert.Len(t, targets, 3, "one key per environment")
	assert.Equal(t, map[string]string{
		"dev":     "awskms://alias/platform-pulumi-secrets-dev?region=eu-west-1",
		"staging": "awskms://alias/platform-pulumi-secrets-staging?region=eu-west-1",
		"prod":    "awskms://alias/platform-pulumi-secrets-prod?region=eu-west-1",
	}, res.Outputs["secretsProviders"].Value)
	assert.Equal(t, "s3://example-org-platform-pulumi-state?region=eu-west-1&awssdk=v2", res.Outputs["backendUrl"].Value)
}

// TestSecurityBaseline runs the repository's baseline checks as for a
// production stack: the backend holds every environment's state.
func TestSecurityBaseline(t *testing.T) {
	for name, overrides := range map[string]map[string]string{
		"with GitHub roles": nil,
		"without":           {"platform-bootstrap:githubRepository": "", "platform-bootstrap:deployPolicyArns": ""},
	} {
		t.Run(name, func(t *testing.T) {
			findings := policy.Evaluate(runStackFile(t, overrides), policy.Options{Production: true})
			for _, f := range policy.Failures(findings) {
				t.Errorf("baseline: %s", f)
			}
			for _, id := range []string{"S10", "S24", "S26"} {
				var ours int
				for _, f := range findings {
					if f.ID == id && f.Status == policy.Pass && f.Resource != "" {
						ours++
					}
				}
				assert.Positive(t, ours, "%s judged none of the backend's resources", id)
			}
		})
	}
}

func TestGitHubRoles(t *testing.T) {
	res := runStackFile(t, nil)
	providers := res.OfType(oidcType)
	require.Len(t, providers, 1)
	assert.Equal(t, backend.GitHubOIDCURL, providers[0].String("url"))
	assert.Equal(t, []string{"sts.amazonaws.com"}, providers[0].Strings("clientIdLists"))
	providerARN := "arn:aws:iam::" + harness.MockAccount + ":oidc-provider/token.actions.githubusercontent.com"

	subjects := map[string]string{
		"platform-deploy-dev":     "repo:example-org/platform:environment:dev",
		"platform-deploy-staging": "repo:example-org/platform:environment:staging",
		"platform-deploy-prod":    "repo:example-org/platform:environment:prod",
		"platform-preview":        "repo:example-org/platform:pull_request",
	}
	keyNames := map[string]string{} // mock key ARN -> which key
	for _, k := range res.OfType(keyType) {
		keyNames["arn:aws:kms:eu-west-1:"+harness.MockAccount+":key/"+k.ID] = strings.TrimPrefix(k.Name, "backend-")
	}
	roles := res.OfType(roleType)
	require.Len(t, roles, len(subjects))
	for _, r := range roles {
		want, ok := subjects[r.String("name")]
		require.True(t, ok, "unexpected role %s", r.String("name"))
		t.Run(r.String("name"), func(t *testing.T) {
			sts := statements(t, r.String("assumeRolePolicy"))
			require.Len(t, sts, 1)
			st := sts[0]
			assert.Equal(t, providerARN, st.Principal["Federated"])
			assert.Equal(t, []string{"sts:AssumeRoleWithWebIdentity"}, st.Action)
			assert.Equal(t, map[string]map[string]any{"StringEquals": {
				"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
				"token.actions.githubusercontent.com:sub": want,
			}}, st.Condition, "exactly one repository subject, no wildcards")
			assert.Equal(t, float64(backend.MaxSessionSeconds), r.Number("maxSessionDuration"))

			var managed []string
			for _, a := range res.OfType(attachType) {
				if a.String("role") == r.String("name") {
					managed = append(managed, a.String("policyArn"))
				}
			}
			var inline []harness.Resource
			for _, p := range res.OfType(rolePolicy) {
				if p.String("role") == r.String("name") {
					inline = append(inline, p)
				}
			}
			require.Len(t, inline, 1, "state access")
			var writes, keys []string
			for _, st := range statements(t, inline[0].String("policy")) {
				if st.Effect == "Allow" && contains(st.Action, "s3:PutObject") {
					writes = append(writes, st.Resource...)
				}
				if contains(st.Action, "kms:Decrypt") {
					keys = append(keys, st.Resource...)
				}
			}
			var keyEnvs []string
			for _, k := range keys {
				keyEnvs = append(keyEnvs, keyNames[k])
			}
			switch {
			case strings.HasSuffix(want, ":pull_request"):
				// Any branch can assume it: never prod's secrets.
				assert.ElementsMatch(t, []string{"state", "secrets-dev", "secrets-staging"}, keyEnvs)
			default:
				env := want[strings.LastIndex(want, ":")+1:]
				assert.ElementsMatch(t, []string{"state", "secrets-" + env}, keyEnvs, "only its own environment's secrets")
			}
			if strings.HasSuffix(want, ":pull_request") {
				assert.Equal(t, []string{backend.ReadOnlyAccess}, managed, "a preview changes nothing")
				// pulumi preview takes no stack lock and writes no history:
				// TestPreviewRoleStateAccess evaluates what it may touch.
				assert.Empty(t, writes, "a preview writes nothing to the state bucket")
			} else {
				assert.Equal(t, []string{"arn:aws:iam::aws:policy/AdministratorAccess"}, managed)
				require.Len(t, writes, 1)
				assert.Equal(t, mockBucketARN(res.OfType(bucketType)[0])+"/*", writes[0], "state objects of this bucket only")
			}
		})
	}
	assert.Len(t, res.Outputs["deployRoleArns"].Value, 3)
}

func TestGitHubExistingProvider(t *testing.T) {
	arn := "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
	res := runStackFile(t, map[string]string{"platform-bootstrap:githubOidcProviderArn": arn})
	assert.Empty(t, res.OfType(oidcType), "an account holds one provider per issuer: reuse it")
	require.NotEmpty(t, res.OfType(roleType))
	for _, r := range res.OfType(roleType) {
		assert.Equal(t, arn, statements(t, r.String("assumeRolePolicy"))[0].Principal["Federated"])
	}
}

func TestWithoutGitHub(t *testing.T) {
	res := runStackFile(t, map[string]string{"platform-bootstrap:githubRepository": "", "platform-bootstrap:deployPolicyArns": ""})
	assert.Empty(t, res.OfType(roleType))
	assert.Empty(t, res.OfType(oidcType))
	assert.Len(t, res.OfType(bucketType), 1)
}

func TestInvalidConfig(t *testing.T) {
	cases := []struct {
		name      string
		overrides map[string]string
		want      []string // each must appear in the error
	}{
		{"no bucket", map[string]string{"platform-bootstrap:stateBucketName": ""}, []string{"stateBucketName is required"}},
		{"bucket name", map[string]string{"platform-bootstrap:stateBucketName": "My_Bucket"}, []string{`BucketName "My_Bucket"`, "lowercase"}},
		{"repository", map[string]string{"platform-bootstrap:githubRepository": "just-a-name"}, []string{`GitHubRepository "just-a-name"`, "org/repo"}},
		{"deploy policies", map[string]string{"platform-bootstrap:deployPolicyArns": ""}, []string{"DeployPolicyARNs", "at least one"}},
		{"policy arn", map[string]string{"platform-bootstrap:deployPolicyArns": `["AdministratorAccess"]`}, []string{`DeployPolicyARNs "AdministratorAccess"`, "IAM policy ARN"}},
		{"environment", map[string]string{"platform-bootstrap:environments": `["dev","dev","Prod"]`}, []string{`Environments "dev"`, `Environments "Prod"`, "unique"}},
		{"alias", map[string]string{"platform-bootstrap:secretsKeyAlias": "aws/mine"}, []string{`SecretsKeyAlias "aws/mine"`, "reserved"}},
		{"days", map[string]string{"platform-bootstrap:noncurrentVersionDays": "-1"}, []string{`NoncurrentVersionDays "-1"`, "1 or more"}},
		{"days not a number", map[string]string{"platform-bootstrap:noncurrentVersionDays": "ninety"}, []string{`noncurrentVersionDays "ninety"`, "whole number"}},
		{"provider arn", map[string]string{"platform-bootstrap:githubOidcProviderArn": "arn:aws:iam::1:oidc-provider/example.com"}, []string{"GitHubOIDCProviderARN", "token.actions.githubusercontent.com"}},
		{"region", map[string]string{"aws:region": ""}, []string{`aws:region ""`, "region of the aws partition"}},
	}
	sf, err := harness.LoadStackFile("..", stackFileName)
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := map[string]string{}
			for k, v := range sf.Config {
				cfg[k] = v
			}
			for k, v := range c.overrides {
				if v == "" {
					delete(cfg, k)
				} else {
					cfg[k] = v
				}
			}
			res, err := harness.Run(stackFileName, cfg, nil, backend.Run)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, res.OfType(bucketType), "nothing is registered from an invalid configuration")
		})
	}
}

// TestStackFileKeysKnown: a misspelt key would be silently ignored.
func TestStackFileKeysKnown(t *testing.T) {
	sf, err := harness.LoadStackFile("..", stackFileName)
	require.NoError(t, err)
	for k := range sf.Config {
		name, ok := strings.CutPrefix(k, backend.Project+":")
		if !ok {
			assert.True(t, strings.HasPrefix(k, "aws:"), "key %s belongs to neither the bootstrap nor aws", k)
			continue
		}
		assert.Contains(t, backend.KnownKeys, name)
	}
}

// mockBucketARN is the ARN the mocks give the bucket (from its logical name).
func mockBucketARN(b harness.Resource) string {
	return "arn:aws:s3:eu-west-1:" + harness.MockAccount + ":bucketv2/" + b.Name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
