package logging_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/harness"
)

// chartValues renders the values as Helm receives them.
func chartValues(t *testing.T, a logging.Args) map[string]any {
	t.Helper()
	r, err := logging.Render(&a)
	require.NoError(t, err)
	raw, err := json.Marshal(r.Values)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "at %q: not an object", k)
			v = m[k]
		case int:
			l, ok := v.([]any)
			require.True(t, ok && k < len(l), "at [%d]: not a long enough list", k)
			v = l[k]
		}
	}
	return v
}

func mounts(t *testing.T, vals map[string]any, key string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, m := range dig(t, vals, key).([]any) {
		mm := m.(map[string]any)
		out[mm["mountPath"].(string)] = mm
	}
	return out
}

func TestAgentPodsAreHardenedAndBounded(t *testing.T) {
	cases := []struct {
		agent       string
		mountsKey   string
		memoryLimit string
		probePath   string
	}{
		{logging.FluentBit, "daemonSetVolumeMounts", "100Mi", "/api/v1/health"},
		{logging.Fluentd, "volumeMounts", "512Mi", "/metrics"},
	}
	for _, tc := range cases {
		t.Run(tc.agent, func(t *testing.T) {
			a := baseArgs()
			a.Agent = tc.agent
			vals := chartValues(t, a)

			assert.Equal(t, []any{map[string]any{"operator": "Exists"}}, vals["tolerations"], "runs on every node whatever its taints")
			assert.Equal(t, "system-node-critical", vals["priorityClassName"])
			assert.Equal(t, "DaemonSet", vals["kind"])

			m := mounts(t, vals, tc.mountsKey)
			require.Contains(t, m, "/var/log")
			assert.Equal(t, true, m["/var/log"]["readOnly"], "/var/log is read-only")
			require.Contains(t, m, logging.DefaultBufferHostPath)
			assert.Nil(t, m[logging.DefaultBufferHostPath]["readOnly"], "the buffer directory is writable")
			assert.Len(t, m, 2, "nothing else of the host is mounted")

			sc := dig(t, vals, "securityContext").(map[string]any)
			assert.Equal(t, []any{"ALL"}, dig(t, sc, "capabilities", "drop"))
			assert.Equal(t, false, sc["allowPrivilegeEscalation"])
			assert.Equal(t, false, sc["privileged"])
			assert.Equal(t, "RuntimeDefault", dig(t, sc, "seccompProfile", "type"))

			assert.Equal(t, tc.memoryLimit, dig(t, vals, "resources", "limits", "memory"))
			assert.NotEmpty(t, dig(t, vals, "resources", "requests", "memory"))
			assert.NotEmpty(t, dig(t, vals, "resources", "requests", "cpu"))
			assert.Equal(t, tc.probePath, dig(t, vals, "readinessProbe", "httpGet", "path"))
			assert.NotNil(t, dig(t, vals, "livenessProbe", "httpGet", "path"))

			tag := dig(t, vals, "image", "tag").(string)
			assert.NotEmpty(t, tag)
			assert.NotEqual(t, "latest", tag)

			env := dig(t, vals, "env").([]any)
			require.Len(t, env, 1)
			assert.Equal(t, "LOGSCALE_INGEST_TOKEN", dig(t, env, 0, "name"))
			assert.Nil(t, dig(t, env, 0, "value"), "never a literal")
			assert.Equal(t, logging.IngestTokenSecretName, dig(t, env, 0, "valueFrom", "secretKeyRef", "name"))
		})
	}
}

func TestFluentBitReadsTheGeneratedConfig(t *testing.T) {
	vals := chartValues(t, baseArgs())
	assert.Equal(t, "fluent-bit-config", vals["existingConfigMap"])
	assert.Contains(t, vals["args"], "--config=/fluent-bit/etc/conf/fluent-bit.yaml", "the chart mounts the ConfigMap at /fluent-bit/etc/conf")
	assert.Equal(t, false, dig(t, vals, "serviceMonitor", "enabled"), "our own ServiceMonitor waits for the CRDs")
	assert.Equal(t, false, dig(t, vals, "testFramework", "enabled"), "the chart's test pod uses busybox:latest")
	assert.Equal(t, true, dig(t, vals, "securityContext", "readOnlyRootFilesystem"))
}

const token = "sekret-ingest-token-value"

func deploy(t *testing.T, args logging.Args) *harness.Result {
	t.Helper()
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		prov, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		mon, err := kubernetes.NewProvider(ctx, "stands-in-for-monitoring", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		args.IngestToken = pulumi.ToSecret(pulumi.String(token)).(pulumi.StringOutput)
		args.Monitoring = &logging.MonitoringArgs{DependsOn: []pulumi.Resource{mon}}
		_, err = logging.NewLogging(ctx, "logging", &args, pulumi.Provider(prov))
		return err
	})
	require.NoError(t, err)
	return res
}

func TestTokenLivesOnlyInASecret(t *testing.T) {
	for _, agent := range logging.Agents {
		t.Run(agent, func(t *testing.T) {
			a := baseArgs()
			a.Agent = agent
			res := deploy(t, a)
			secrets := res.OfType("kubernetes:core/v1:Secret")
			require.Len(t, secrets, 1)
			assert.Equal(t, token, secrets[0].String("stringData", "token"))
			assert.True(t, secrets[0].IsSecret("stringData", "token") || secrets[0].IsSecret("stringData"), "marked secret in state")
			for _, r := range res.Resources {
				if r.URN == secrets[0].URN {
					continue
				}
				assert.False(t, mentions(resource.NewProperty(r.Inputs), token), "%s carries the token", r.URN)
			}
		})
	}
}

func TestDeclaresTheAgentAndItsSurroundings(t *testing.T) {
	a := baseArgs()
	api := namespace.AnyAPIServer(6443)
	a.APIServer = &api
	res := deploy(t, a)

	releases := res.OfType("kubernetes:helm.sh/v3:Release")
	require.Len(t, releases, 1)
	rel := releases[0]
	assert.Equal(t, "fluent-bit", rel.String("chart"))
	assert.Regexp(t, `^\d+\.\d+\.\d+$`, rel.String("version"), "chart pinned to an exact version")
	assert.Equal(t, "logging", rel.String("namespace"))

	cms := res.OfType("kubernetes:core/v1:ConfigMap")
	require.Len(t, cms, 1)
	conf := cms[0].String("data", "fluent-bit.yaml")
	rendered, err := logging.Render(&a)
	require.NoError(t, err)
	assert.Equal(t, rendered.Config, conf, "the ConfigMap holds the generated pipeline")
	for _, dep := range []string{cms[0].URN, res.OfType("kubernetes:core/v1:Secret")[0].URN} {
		assert.True(t, rel.DependsOnURN(dep), "the release waits for %s", dep)
	}

	nss := res.OfType("kubernetes:core/v1:Namespace")
	require.Len(t, nss, 1)
	assert.Equal(t, "privileged", nss[0].String("metadata", "labels", "pod-security.kubernetes.io/enforce"))
	assert.Contains(t, nss[0].String("metadata", "annotations", "platform/pod-security-reason"), "host paths")

	sms := res.OfType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
	require.Len(t, sms, 1)
	sm := sms[0]
	assert.Equal(t, "/api/v2/metrics/prometheus", sm.String("spec", "endpoints", "0", "path"))
	assert.Equal(t, "http", sm.String("spec", "endpoints", "0", "port"))
	assert.Equal(t, "fluent-bit", sm.String("spec", "selector", "matchLabels", "app.kubernetes.io/instance"))
	assert.Equal(t, "platform", sm.String("metadata", "labels", "app.kubernetes.io/part-of"))
	mon := res.OfType("pulumi:providers:kubernetes")
	var monURN string
	for _, m := range mon {
		if m.Name == "stands-in-for-monitoring" {
			monURN = m.URN
		}
	}
	assert.True(t, sm.DependsOnURN(monURN), "the ServiceMonitor waits for the monitoring component (CRDs)")

	policies := map[string]harness.Resource{}
	for _, p := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		policies[p.String("metadata", "name")] = p
	}
	egress := policies["allow-logscale-and-apiserver"]
	require.NotEmpty(t, egress.URN)
	assert.Equal(t, float64(443), egress.Number("spec", "egress", "0", "ports", "0", "port"), "LogScale")
	assert.Equal(t, "0.0.0.0/0", egress.String("spec", "egress", "1", "to", "0", "ipBlock", "cidr"), "the API server rule")
	var ports []float64
	for i := range 2 {
		ports = append(ports, egress.Number("spec", "egress", "1", "ports", string(rune('0'+i)), "port"))
	}
	assert.ElementsMatch(t, []float64{443, 6443}, ports)
	scrape := policies["allow-metrics-scrape"]
	assert.Equal(t, "monitoring", scrape.String("spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
	assert.Equal(t, float64(2020), scrape.Number("spec", "ingress", "0", "ports", "0", "port"))
	assert.Contains(t, policies, "default-deny")

	for _, r := range res.Resources {
		if r.Custom && strings.HasPrefix(r.Type, "kubernetes:") {
			assert.NotEmpty(t, r.Provider, "%s uses the given provider", r.URN)
		}
	}
}

func TestNewLoggingNeedsAToken(t *testing.T) {
	_, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		a := baseArgs()
		_, err := logging.NewLogging(ctx, "logging", &a)
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "IngestToken")
}

// Invalid Args and no token: one error naming the component and every
// problem, and nothing registered (the constructor must not read the
// Render result it did not get).
func TestNewLoggingReportsEveryProblemBeforeRegistering(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		a := baseArgs()
		a.Agent = "syslog"
		_, err := logging.NewLogging(ctx, "logging", &a)
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `platform:logging:Logging "logging": `)
	assert.Contains(t, err.Error(), `"syslog"`)
	assert.Contains(t, err.Error(), "IngestToken is required")
	if res != nil {
		assert.Empty(t, res.Resources)
	}
}

// mentions reports whether s occurs in any string inside v, secrets opened.
func mentions(v resource.PropertyValue, s string) bool {
	switch {
	case v.IsSecret():
		return mentions(v.SecretValue().Element, s)
	case v.IsOutput():
		return mentions(v.OutputValue().Element, s)
	case v.IsString():
		return strings.Contains(v.StringValue(), s)
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			if strings.Contains(string(k), s) || mentions(e, s) {
				return true
			}
		}
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			if mentions(e, s) {
				return true
			}
		}
	}
	return false
}

// Without monitoring (allowed outside prod) the Prometheus Operator CRDs do
// not exist: no ServiceMonitor may be declared, or it fails to apply.
func TestNoServiceMonitorWithoutMonitoring(t *testing.T) {
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		prov, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		a := baseArgs()
		a.IngestToken = pulumi.ToSecret(pulumi.String(token)).(pulumi.StringOutput)
		_, err = logging.NewLogging(ctx, "logging", &a, pulumi.Provider(prov))
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, res.OfType("kubernetes:helm.sh/v3:Release"))
	assert.Empty(t, res.OfType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor"))
}
