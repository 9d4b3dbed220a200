package stacks

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tokenKey = "platform:logScaleIngestToken"

// withLogging is validProd() shipping logs to LogScale, the token a secret.
func withLogging(changes map[string]string) StaticSource {
	base := with(validProd(), map[string]string{
		"platform:logging.logScaleUrl": "https://cloud.community.humio.com",
		"platform:logging.repository":  "platform-prod",
		tokenKey:                       "a-token",
	})
	src := StaticSource{Values: with(base, changes), SecretKeys: []string{tokenKey}}
	return src
}

func TestLoadRejectsBadLoggingConfig(t *testing.T) {
	cases := []struct {
		name    string
		src     Source
		key     string
		value   string
		allowed string
	}{
		{"plain http URL", withLogging(map[string]string{"platform:logging.logScaleUrl": "http://cloud.community.humio.com"}),
			"platform:logging.logScaleUrl", `"http://cloud.community.humio.com"`, "must be an https URL"},
		{"URL with the ingest path", withLogging(map[string]string{"platform:logging.logScaleUrl": "https://cloud.community.humio.com/api/v1/ingest/elastic-bulk"}),
			"platform:logging.logScaleUrl", `"https://cloud.community.humio.com/api/v1/ingest/elastic-bulk"`, "base URL only"},
		{"missing token", withLogging(map[string]string{tokenKey: "<unset>"}),
			tokenKey, "", "is not set; it is the LogScale repository's ingest token, used when logging is on (platform:logging)"},
		{"missing URL with logging on", withLogging(map[string]string{"platform:logging.logScaleUrl": "<unset>", "platform:logging.enabled": "true"}),
			"platform:logging.logScaleUrl", `""`, "is required when logging is on"},
		{"missing repository", withLogging(map[string]string{"platform:logging.repository": "<unset>"}),
			"platform:logging.repository", `""`, "is required when logging is on"},
		{"unknown agent", withLogging(map[string]string{"platform:logging.agent": "vector"}),
			"platform:logging.agent", `"vector"`, "fluent-bit, fluentd"},
		{"buffer below one minute of logs", withLogging(map[string]string{"platform:logging.rateKiBPerNode": "1024", "platform:logging.bufferMiB": "20"}),
			"platform:logging.bufferMiB", "20", "below one minute of logs at 1024 KiB/s per node: at least 192 MiB"},
		{"no outage to survive", withLogging(map[string]string{"platform:logging.outageMinutes": "0"}),
			"platform:logging.outageMinutes", "0", "at least one minute of logs"},
		{"buffer larger than the node disk allows", withLogging(map[string]string{"platform:logging.outageMinutes": "1440"}),
			"platform:logging.bufferMiB", "138240", "quarter of the node disk"},
		{"memory limit too small", withLogging(map[string]string{"platform:logging.memoryLimitMiB": "16"}),
			"platform:logging.memoryLimitMiB", "16", "between 32 and 1024 MiB for fluent-bit"},
		{"excluding the agent's namespace", withLogging(map[string]string{"platform:logging.excludeNamespaces": `["kube-system","logging"]`}),
			"platform:logging.excludeNamespaces[1]", `"logging"`, "cannot be excluded"},
		{"bad namespace name", withLogging(map[string]string{"platform:logging.excludeNamespaces": `["Kube_System"]`}),
			"platform:logging.excludeNamespaces[0]", `"Kube_System"`, "Kubernetes namespace name"},
		{"explicit zero buffer", withLogging(map[string]string{"platform:logging.bufferMiB": "0"}),
			"platform:logging.bufferMiB", "0", "below one minute of logs"},
		{"rate not a number", withLogging(map[string]string{"platform:logging.rateKiBPerNode": "lots"}),
			"platform:logging.rateKiBPerNode", `"lots"`, "whole number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(tc.src)
			require.Error(t, err)
			assert.Nil(t, cfg)
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "want a *ValidationError, got %T", err)
			found := false
			for _, p := range verr.Problems {
				if strings.HasPrefix(p, tc.key+": ") && strings.Contains(p, tc.value) && strings.Contains(p, tc.allowed) {
					found = true
				}
			}
			assert.True(t, found, "want a problem naming %s, quoting %s and saying %q; got:\n%s", tc.key, tc.value, tc.allowed, err.Error())
		})
	}
}

func TestPlaintextIngestTokenIsRefused(t *testing.T) {
	src := withLogging(nil)
	src.SecretKeys = nil
	_, err := Load(src)
	require.Error(t, err)
	assert.Contains(t, err.Error(), tokenKey+": a plaintext value is invalid")
	assert.NotContains(t, err.Error(), "a-token", "the value is never repeated")
}

func TestLoggingDefaultsPerEnvironment(t *testing.T) {
	load := func(env string) LoggingConfig {
		t.Helper()
		cfg, err := Load(withLogging(map[string]string{"platform:environment": env}))
		require.NoError(t, err)
		return cfg.Logging
	}
	dev, staging, prod := load("dev"), load("staging"), load("prod")
	for name, l := range map[string]LoggingConfig{"dev": dev, "staging": staging, "prod": prod} {
		assert.True(t, l.Enabled, "%s: configuring LogScale turns shipping on", name)
		assert.Equal(t, "fluent-bit", l.Agent, name)
		assert.Equal(t, 100, l.MemoryLimitMiB, "%s: Fluent Bit stays within 100 MiB", name)
		// The buffer covers the outage at the expected rate, computed here.
		assert.GreaterOrEqual(t, l.BufferMiB*1024, l.LogRateKiBPerNode*60*l.OutageMinutes, name)
	}
	assert.Less(t, dev.BufferMiB, staging.BufferMiB)
	assert.Less(t, staging.BufferMiB, prod.BufferMiB, "prod survives the longest outage")
	assert.GreaterOrEqual(t, prod.OutageMinutes, 60, "prod rides out at least an hour of LogScale outage")
	assert.True(t, prod.StorageSyncFull, "prod fsyncs its buffer")
	assert.False(t, dev.StorageSyncFull)

	fluentd, err := Load(withLogging(map[string]string{"platform:logging.agent": "fluentd"}))
	require.NoError(t, err)
	assert.Equal(t, 512, fluentd.Logging.MemoryLimitMiB, "Fluentd needs more memory")

	off, err := Load(with(validProd(), nil))
	require.NoError(t, err)
	assert.False(t, off.Logging.Enabled, "no LogScale configured: no agent")

	explicit, err := Load(withLogging(map[string]string{"platform:environment": "staging", "platform:logging.enabled": "false", tokenKey: "<unset>"}))
	require.NoError(t, err, "logging off needs no token")
	assert.False(t, explicit.Logging.Enabled)
}

func TestUserLoggingValuesWin(t *testing.T) {
	cfg, err := Load(withLogging(map[string]string{
		"platform:logging.rateKiBPerNode":    "100",
		"platform:logging.outageMinutes":     "10",
		"platform:logging.bufferMiB":         "5000",
		"platform:logging.memoryLimitMiB":    "64",
		"platform:logging.excludeNamespaces": `["kube-system"]`,
	}))
	require.NoError(t, err)
	l := cfg.Logging
	assert.Equal(t, 5000, l.BufferMiB, "an explicit buffer is kept")
	assert.Equal(t, 64, l.MemoryLimitMiB)
	assert.Equal(t, []string{"kube-system"}, l.ExcludeNamespaces)

	args := LoggingArgs(cfg)
	assert.Equal(t, 5000, args.BufferMiB)
	assert.Equal(t, "platform-prod", args.ClusterName)
}
