package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/stacks"
)

// The Pulumi CLI decrypts every `secure:` value of a stack file with the
// stack's secrets provider before the program runs (pulumi v3.274.1,
// sdk/go/common/resource/config/crypt.go: a value that is not ciphertext of
// that provider is "bad value" for the passphrase provider, "invalid
// ciphertext" for the service), and a file with no `secretsprovider` falls
// back to the passphrase provider. So a committed stack file may hold no
// `secure:` value and no secrets-provider state of ours: the user's
// `pulumi stack init --secrets-provider ...` and `pulumi config set
// --secret` write those.
func TestCommittedStackFilesHoldNoCiphertext(t *testing.T) {
	names, err := harness.StackNames(repoRoot)
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi."+name+".yaml"))
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &doc), name)
		for _, k := range []string{"secretsprovider", "encryptedkey", "encryptionsalt"} {
			assert.NotContains(t, doc, k, "%s: %s belongs to a user's own stack", name, k)
		}
		cfg, _ := doc["config"].(map[string]any)
		require.NotEmpty(t, cfg, name)
		for key, v := range cfg {
			if m, ok := v.(map[string]any); ok {
				assert.NotContains(t, m, "secure", "%s: %s holds a secure value the CLI would try to decrypt", name, key)
			}
		}
	}
}

// setSecretComment is a `pulumi config set --secret` line in a stack file's
// comments.
var setSecretComment = regexp.MustCompile(`#\s+(pulumi config set --secret \S+ \S+) -s (\S+)`)

// A stack file opened with no secret set: cloud stacks stop with the
// program's own error listing exactly the commands the file's comments
// give (so the comments are the truth), local loads with logging waiting
// for its token.
func TestMissingSecretsGiveTheCommandsThatSetThem(t *testing.T) {
	names, err := harness.StackNames(repoRoot)
	require.NoError(t, err)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi."+name+".yaml"))
			require.NoError(t, err)
			var documented []string
			for _, m := range setSecretComment.FindAllStringSubmatch(string(raw), -1) {
				assert.Equal(t, name, m[2], "the comment's -s names this stack")
				documented = append(documented, m[1])
			}
			sort.Strings(documented)
			sf, err := harness.LoadStackFile(repoRoot, name)
			require.NoError(t, err)
			require.Empty(t, sf.SecretKeys, "committed stack files set no secret")
			cfg, err := stacks.Load(stacks.StaticSource{Values: sf.Config})
			if sf.Config["platform:environment"] == string(stacks.Local) {
				require.NoError(t, err, "local must preview on a fresh checkout with nothing but a passphrase")
				assert.False(t, cfg.Logging.Enabled, "logging waits for its token")
				assert.True(t, cfg.Monitoring.Enabled, "Grafana's chart generates a password")
				require.Len(t, cfg.Notices, 1)
				assert.Contains(t, cfg.Notices[0], "pulumi config set --secret platform:logScaleIngestToken")
				require.NotEmpty(t, documented, "local's comments say how to set its optional secrets")
				return
			}
			var verr *stacks.ValidationError
			require.ErrorAs(t, err, &verr)
			got := append([]string(nil), verr.SecretCommands...)
			sort.Strings(got)
			require.NotEmpty(t, got)
			assert.Equal(t, documented, got, "the stack file's comments list exactly the secrets the program asks for")
			for _, p := range verr.Problems {
				assert.Contains(t, p, "is not set", "only secrets are missing: %s", p)
			}
			assert.Contains(t, verr.Error(), "pulumi config set --secret")
		})
	}
}

// A receiver's secret set without listing the receiver is an error rather
// than a silently unused secret, and a listed receiver needs its secret.
func TestReceiverSecretsFollowTheReceiversList(t *testing.T) {
	sf, err := harness.LoadStackFile(repoRoot, "prod")
	require.NoError(t, err)
	values := map[string]string{}
	for k, v := range sf.Config {
		values[k] = v
	}
	secrets := []string{}
	for _, k := range stacks.SecretKeys(stacks.StaticSource{Values: values}) {
		values[k] = "s3cret"
		secrets = append(secrets, k)
	}
	_, err = stacks.Load(stacks.StaticSource{Values: values, SecretKeys: secrets})
	require.NoError(t, err, "every secret the prod file asks for, set")

	values["platform:alertWebhookUrl"] = "https://hooks.example.net/x"
	_, err = stacks.Load(stacks.StaticSource{Values: values, SecretKeys: append(secrets, "platform:alertWebhookUrl")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `platform:alertWebhookUrl: is set but the webhook receiver is not used: add "webhook" to platform:monitoring.alertmanager.receivers`)

	delete(values, "platform:alertWebhookUrl")
	delete(values, "platform:alertPagerdutyRoutingKey")
	_, err = stacks.Load(stacks.StaticSource{Values: values, SecretKeys: secrets})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "platform:alertPagerdutyRoutingKey: is not set; it is the pagerduty receiver")
	assert.True(t, strings.Contains(err.Error(), "pulumi config set --secret platform:alertPagerdutyRoutingKey <pagerduty-events-v2-routing-key>"))
}
