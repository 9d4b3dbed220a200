package tests

import (
	"bufio"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/logging/agentspec"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/stacks"
)

const (
	releaseType   = "kubernetes:helm.sh/v3:Release"
	configMapType = "kubernetes:core/v1:ConfigMap"
	secretType    = "kubernetes:core/v1:Secret"
	ingestKey     = "platform:logScaleIngestToken"
)

// logAgent returns the log agent's Helm release of a stack.
func logAgent(t *testing.T, res *harness.Result, cfg *stacks.Config) harness.Resource {
	t.Helper()
	var found []harness.Resource
	for _, r := range res.OfType(releaseType) {
		if r.String("chart") == cfg.Logging.Agent {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "one %s release", cfg.Logging.Agent)
	return found[0]
}

func loggingOn(t *testing.T, fn func(t *testing.T, res *harness.Result, cfg *stacks.Config)) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		require.True(t, cfg.Logging.Enabled, "every stack file ships its logs to LogScale")
		fn(t, res, cfg)
	})
}

func TestLogAgentRunsOnEveryNodeWithinItsBudget(t *testing.T) {
	loggingOn(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		rel := logAgent(t, res, cfg)
		assert.Regexp(t, `^\d+\.\d+\.\d+$`, rel.String("version"), "chart pinned to an exact version")
		assert.Equal(t, "https://fluent.github.io/helm-charts", rel.String("repositoryOpts", "repo"))
		assert.Equal(t, "logging", rel.String("namespace"))

		assert.Equal(t, "DaemonSet", rel.String("values", "kind"))
		assert.Equal(t, "Exists", rel.String("values", "tolerations", "0", "operator"), "tolerates every taint")
		assert.Empty(t, rel.String("values", "tolerations", "0", "key"), "every key, not one")
		assert.Equal(t, "system-node-critical", rel.String("values", "priorityClassName"))
		assert.Equal(t, fmt.Sprintf("%dMi", cfg.Logging.MemoryLimitMiB), rel.String("values", "resources", "limits", "memory"))
		assert.LessOrEqual(t, cfg.Logging.MemoryLimitMiB, 100, "Fluent Bit's default budget")
		tag := rel.String("values", "image", "tag")
		assert.Regexp(t, `^v?\d+\.\d+\.\d+`, tag, "image pinned to a version")

		readOnly := map[string]bool{}
		for _, m := range rel.Array("values", "daemonSetVolumeMounts") {
			mm := m.ObjectValue()
			readOnly[mm["mountPath"].StringValue()] = mm["readOnly"].IsBool() && mm["readOnly"].BoolValue()
		}
		assert.Equal(t, map[string]bool{"/var/log": true, logging.DefaultBufferHostPath: false}, readOnly,
			"/var/log read-only, only the buffer writable")
		assert.Equal(t, []string{"ALL"}, rel.Strings("values", "securityContext", "capabilities", "drop"))
	})
}

// walk calls fn for every string in v with its path; secret reports
// whether a secret marker was crossed on the way.
func walk(v resource.PropertyValue, path string, secret bool, fn func(path, s string, secret bool)) {
	switch {
	case v.IsSecret():
		walk(v.SecretValue().Element, path, true, fn)
	case v.IsOutput():
		walk(v.OutputValue().Element, path, secret || v.OutputValue().Secret, fn)
	case v.IsString():
		fn(path, v.StringValue(), secret)
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			fn(path+"."+string(k)+"(key)", string(k), secret)
			walk(e, path+"."+string(k), secret, fn)
		}
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			walk(e, fmt.Sprintf("%s[%d]", path, i), secret, fn)
		}
	}
}

func TestIngestTokenIsOnlyInAKubernetesSecret(t *testing.T) {
	token := harness.SecretPlaceholder(ingestKey)
	loggingOn(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		var inSecrets int
		for _, r := range res.Resources {
			walk(resource.NewProperty(r.Inputs), "", false, func(path, s string, secret bool) {
				if !strings.Contains(s, token) {
					return
				}
				if r.Type == secretType && path == ".stringData.token" {
					inSecrets++
					assert.True(t, secret, "%s: the token is marked secret in state", r.URN)
					assert.True(t, r.IsSecret("stringData", "token") || r.IsSecret("stringData"), r.URN)
					return
				}
				t.Errorf("the ingest token appears in %s at %s", r.URN, path)
			})
		}
		assert.Equal(t, 1, inSecrets, "exactly one Secret holds the token")
		for k, o := range res.Outputs {
			assert.NotContains(t, fmt.Sprint(o.Value), token, "stack output %s", k)
		}

		rel := logAgent(t, res, cfg)
		ref := rel.Get("values", "env", "0")
		require.True(t, ref.IsObject())
		assert.Equal(t, "LOGSCALE_INGEST_TOKEN", rel.String("values", "env", "0", "name"))
		assert.True(t, rel.Get("values", "env", "0", "value").IsNull(), "never an env literal")
		secretName := rel.String("values", "env", "0", "valueFrom", "secretKeyRef", "name")
		var secret harness.Resource
		for _, s := range res.OfType(secretType) {
			if s.String("metadata", "name") == secretName && s.String("metadata", "namespace") == "logging" {
				secret = s
			}
		}
		require.NotEmpty(t, secret.URN, "the env var points at the Secret we declare")
		assert.Contains(t, secret.Get("stringData").ObjectValue(), resource.PropertyKey(rel.String("values", "env", "0", "valueFrom", "secretKeyRef", "key")))
		assert.True(t, rel.DependsOnURN(secret.URN), "the agent starts after its Secret exists")
	})
}

func plugin(t *testing.T, list []map[string]any, name string) map[string]any {
	t.Helper()
	for _, m := range list {
		if m["name"] == name {
			return m
		}
	}
	t.Fatalf("no %s plugin", name)
	return nil
}

// fluentBitBytes reads a Fluent Bit size; its K/M/G are powers of 1000.
func fluentBitBytes(t *testing.T, s string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)([KMG]?)$`).FindStringSubmatch(s)
	require.NotNil(t, m, "size %q", s)
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n * map[string]int64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[m[2]]
}

func TestGeneratedFluentBitConfigOnEveryStack(t *testing.T) {
	loggingOn(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		require.Equal(t, logging.FluentBit, cfg.Logging.Agent)
		rel := logAgent(t, res, cfg)
		var text string
		for _, cm := range res.OfType(configMapType) {
			if cm.String("metadata", "name") == rel.String("values", "existingConfigMap") {
				text = cm.String("data", "fluent-bit.yaml")
			}
		}
		require.NotEmpty(t, text, "the chart reads our ConfigMap")
		var doc agentspec.PlainFluentBitConfig
		require.NoError(t, yaml.UnmarshalStrict([]byte(text), &doc))

		u, err := url.Parse(cfg.Logging.LogScaleURL)
		require.NoError(t, err)
		es := plugin(t, doc.Pipeline.Outputs, "es")
		assert.Equal(t, u.Hostname(), es["host"])
		assert.Equal(t, float64(443), es["port"])
		// No path: the es output posts to path + "/_bulk", and /_bulk is
		// an Elastic Bulk endpoint LogScale documents.
		assert.NotContains(t, es, "path")
		assert.Equal(t, true, es["tls"])
		assert.Equal(t, true, es["tls.verify"])
		assert.Equal(t, "ingest", es["http_user"])
		assert.Equal(t, "${LOGSCALE_INGEST_TOKEN}", es["http_passwd"])
		assert.Equal(t, "no_limits", es["retry_limit"])

		// Buffering math: the buffer holds the configured outage at the
		// configured per-node rate, and one minute at the very least.
		buffer := fluentBitBytes(t, es["storage.total_limit_size"].(string))
		perMinute := int64(cfg.Logging.LogRateKiBPerNode) * 1024 * 60
		assert.GreaterOrEqual(t, buffer, perMinute*int64(cfg.Logging.OutageMinutes))
		assert.GreaterOrEqual(t, buffer, perMinute)
		chunksUp := doc.Service["storage.max_chunks_up"].(float64)
		assert.LessOrEqual(t, chunksUp*2, float64(cfg.Logging.MemoryLimitMiB), "chunks in memory (~2 MiB each) fit the memory limit")

		tail := plugin(t, doc.Pipeline.Inputs, "tail")
		assert.Equal(t, "/var/log/containers/*.log", tail["path"])
		assert.Equal(t, "filesystem", tail["storage.type"])
		assert.Contains(t, tail["multiline.parser"], "cri")
		for _, ns := range cfg.Logging.ExcludeNamespaces {
			assert.Contains(t, tail["exclude_path"], "_"+ns+"_", "namespace %s excluded", ns)
		}
		assert.True(t, strings.HasPrefix(doc.Service["storage.path"].(string), logging.DefaultBufferHostPath))
		wantSync := "normal"
		if cfg.Environment == stacks.Prod {
			wantSync = "full"
		}
		assert.Equal(t, wantSync, doc.Service["storage.sync"])

		k8s := plugin(t, doc.Pipeline.Filters, "kubernetes")
		assert.Equal(t, true, k8s["merge_log"])
		assert.Equal(t, true, k8s["labels"])
		assert.Equal(t, true, k8s["k8s-logging.exclude"])
		assert.Equal(t, true, doc.Service["http_server"])
		assert.Equal(t, true, doc.Service["health_check"])
	})
}

// fluentdParams reads `key value` lines of the Fluentd sections named
// `<name ...>` whose @type is typ.
func fluentdParams(t *testing.T, text, name, typ string) []map[string]string {
	t.Helper()
	var out []map[string]string
	var stack []map[string]string
	var names []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "</"):
			require.NotEmpty(t, stack, "unbalanced %q", line)
			top, n := stack[len(stack)-1], names[len(names)-1]
			stack, names = stack[:len(stack)-1], names[:len(names)-1]
			if n == name && top["@type"] == typ {
				out = append(out, top)
			}
		case strings.HasPrefix(line, "<"):
			n, _, _ := strings.Cut(strings.Trim(line, "<>"), " ")
			stack, names = append(stack, map[string]string{}), append(names, n)
		default:
			require.NotEmpty(t, stack, "parameter outside a section: %q", line)
			k, v, _ := strings.Cut(line, " ")
			stack[len(stack)-1][k] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	require.Empty(t, stack, "unclosed section")
	return out
}

func TestFluentdAlternativeOnEveryStack(t *testing.T) {
	loggingOn(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		args := stacks.LoggingArgs(cfg)
		args.Agent = logging.Fluentd
		args.MemoryLimitMiB = 0 // Fluentd's own default
		r, err := logging.Render(args)
		require.NoError(t, err)
		assert.Equal(t, "fluentd", r.Chart.Name)
		assert.Regexp(t, `^\d+\.\d+\.\d+$`, r.Chart.Version)

		es := fluentdParams(t, r.Config, "match", "elasticsearch")
		require.Len(t, es, 1)
		u, _ := url.Parse(cfg.Logging.LogScaleURL)
		assert.Equal(t, u.Hostname(), es[0]["host"])
		assert.Equal(t, "https", es[0]["scheme"])
		assert.NotContains(t, es[0], "path", "the plugin appends /_bulk to its path: none reaches LogScale's documented /_bulk")
		assert.Equal(t, "ingest", es[0]["user"])
		assert.Equal(t, "#{ENV['LOGSCALE_INGEST_TOKEN']}", es[0]["password"])

		buf := fluentdParams(t, r.Config, "buffer", "file")
		require.Len(t, buf, 1)
		assert.Equal(t, "true", buf[0]["retry_forever"])
		assert.Equal(t, "block", buf[0]["overflow_action"])
		var mb int64
		_, err = fmt.Sscanf(buf[0]["total_limit_size"], "%dMB", &mb)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, mb*1024, int64(cfg.Logging.LogRateKiBPerNode)*60*int64(cfg.Logging.OutageMinutes))
		assert.NotContains(t, r.Config, harness.SecretPlaceholder(ingestKey))
	})
}

func TestLogAgentMetricsAreScraped(t *testing.T) {
	loggingOn(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		sms := res.OfType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
		var sm harness.Resource
		for _, s := range sms {
			if s.String("metadata", "namespace") == "logging" {
				sm = s
			}
		}
		require.NotEmpty(t, sm.URN, "a ServiceMonitor for the agent")
		assert.Equal(t, "/api/v2/metrics/prometheus", sm.String("spec", "endpoints", "0", "path"))
		assert.Equal(t, "platform", sm.String("metadata", "labels", "app.kubernetes.io/part-of"), "selected by label, not by Helm release")
		// Depending on the monitoring component is recorded as depending on
		// its children: the chart release that installs the CRDs among them.
		releases := 0
		for _, rel := range res.OfType("kubernetes:helm.sh/v3:Release") {
			if rel.String("chart") == "kube-prometheus-stack" {
				releases++
				assert.True(t, sm.DependsOnURN(rel.URN), "waits for the Prometheus Operator CRDs")
			}
		}
		assert.Equal(t, 1, releases, "the monitoring chart is deployed with the log agent")

		scrapeAllowed := false
		for _, p := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			if p.String("metadata", "namespace") == "logging" && p.String("metadata", "name") == "allow-metrics-scrape" {
				scrapeAllowed = p.Number("spec", "ingress", "0", "ports", "0", "port") == float64(logging.FluentBitMetricsPort)
			}
		}
		assert.True(t, scrapeAllowed, "the monitoring namespace may scrape port 2020")
	})
}

func TestLocalLogAgentIsTheSameDaemonSet(t *testing.T) {
	forEachStack(t, func(t *testing.T, res *harness.Result, cfg *stacks.Config) {
		rel := logAgent(t, res, cfg)
		assert.Equal(t, "fluent-bit", rel.String("chart"))
		var ports []float64
		for _, p := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			if p.String("metadata", "name") == "allow-logscale-and-apiserver" {
				for i := range p.Array("spec", "egress") {
					for _, port := range p.Array("spec", "egress", strconv.Itoa(i), "ports") {
						ports = append(ports, port.ObjectValue()["port"].NumberValue())
					}
				}
			}
		}
		assert.Contains(t, ports, float64(6443), "kind's API server port")
		assert.Contains(t, ports, float64(443), "LogScale")
	}, stacks.Local)
}
