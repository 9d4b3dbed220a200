package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/stacks"
)

// TestMissingSecretThroughTheEngine previews the committed dev stack with
// none of its secrets set: the program's own configuration error must
// reach the user (the key, why it is needed and the command that sets it),
// not a decryption error from the engine. Nothing is registered, so the
// AWS provider, which this machine cannot obtain, is never loaded.
func TestMissingSecretThroughTheEngine(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, filepath.Join(t.TempDir(), "no-kubeconfig"))
	dev, err := env.NewProject(ctx, repoRoot, "dev", stacks.Run)
	require.NoError(t, err)
	_, err = dev.Preview(ctx)
	require.Error(t, err, "a preview of dev with no secret set must fail")
	out := readLog(t, dev.Log) + err.Error()
	assert.Contains(t, out, "platform:logScaleIngestToken")
	assert.Contains(t, out, "pulumi config set --secret platform:logScaleIngestToken")
	for _, engineError := range []string{"decrypt", "passphrase", "incorrect passphrase"} {
		assert.NotContains(t, out, engineError, "the program's error, not the engine's")
	}
}

// TestUnreachableContextThroughTheEngine runs `up` of the local stack with
// a kubeconfig context that does not exist: the error names the context.
func TestUnreachableContextThroughTheEngine(t *testing.T) {
	ctx := context.Background()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: elsewhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: elsewhere, user: {token: none}}]
contexts: [{name: elsewhere, context: {cluster: elsewhere, user: elsewhere}}]
current-context: elsewhere
`), 0o600))
	env := newEnv(t, kubeconfig)
	local, err := env.NewProject(ctx, repoRoot, "local", stacks.Run)
	require.NoError(t, err)
	require.NoError(t, local.Set(ctx, "platform:kubeconfigContext", "no-such-context", false))
	_, err = local.Up(ctx)
	require.Error(t, err, "up against a context that does not exist must fail")
	out := readLog(t, local.Log) + err.Error()
	assert.Contains(t, out, `"no-such-context"`, "the error names the context")
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
