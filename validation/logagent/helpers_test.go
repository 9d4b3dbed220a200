package logagent

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/logging/agentspec"
)

// The helpers the log-agent scenarios rely on, checked without the agent:
// they run with the validation module's tests (the scenarios need the
// `logagent` build tag, see scripts/log-agent-test).

func bulkBody(lines ...string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	_ = zw.Close()
	return b.Bytes()
}

func post(t *testing.T, r *Receiver, path, user, token string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+r.Addr()+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth(user, token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestReceiverTakesOnlyWhatLogScaleDocuments(t *testing.T) {
	r, err := NewReceiver("ingest", "tok", "repo")
	require.NoError(t, err)
	defer r.Close()
	r.SetReplyItemBytes(300)
	action := `{"create":{"_index":"repo"}}`
	doc := `{"seq":1,"src":"apps/p","msg":"hi","cluster":"c","kubernetes":{"namespace_name":"apps","pod_name":"p","container_name":"app","labels":{"a":"b"}}}`
	good := bulkBody(action, doc, action, strings.Replace(doc, `"seq":1`, `"seq":2`, 1))

	for _, path := range BulkPaths {
		code, reply := post(t, r, path, "ingest", "tok", good)
		require.Equal(t, 200, code, path)
		assert.Equal(t, false, reply["errors"])
		items, _ := reply["items"].([]any)
		assert.Len(t, items, 2, "one item per document")
	}
	u, d := r.Count("apps/p")
	assert.Equal(t, int64(2), u)
	assert.Equal(t, int64(2), d, "each document arrived twice (two paths)")
	s, ok := r.Sample("apps/p")
	require.True(t, ok)
	assert.Equal(t, Doc{Src: "apps/p", Seq: 1, Cluster: "c", Namespace: "apps", Pod: "p", Container: "app", PodLabels: map[string]string{"a": "b"}, HasMessage: true}, s)
	assert.GreaterOrEqual(t, r.Stats().MaxReplyBytes, 600, "items padded to the reply size asked for")
	assert.Empty(t, r.Stats().ProtocolErrors)

	bad := []struct {
		name, path, user, token string
		body                    []byte
		code                    int
	}{
		{"es output's path + /_bulk", "/api/v1/ingest/elastic-bulk/_bulk", "ingest", "tok", good, 404},
		{"wrong token", "/_bulk", "ingest", "other", good, 401},
		{"wrong user", "/_bulk", "elastic", "tok", good, 401},
		{"action without document", "/_bulk", "ingest", "tok", bulkBody(action), 400},
		{"mapping type", "/_bulk", "ingest", "tok", bulkBody(`{"create":{"_index":"repo","_type":"_doc"}}`, doc), 400},
		{"other index", "/_bulk", "ingest", "tok", bulkBody(`{"create":{"_index":"x"}}`, doc), 400},
		{"document not JSON", "/_bulk", "ingest", "tok", bulkBody(action, `{"seq":1`), 400},
		{"unmerged log line", "/_bulk", "ingest", "tok", bulkBody(action, `{"log":"{\"seq\":1}"}`), 400},
	}
	for _, b := range bad {
		code, _ := post(t, r, b.path, b.user, b.token, b.body)
		assert.Equal(t, b.code, code, b.name)
	}
	assert.Len(t, r.Stats().ProtocolErrors, len(bad), "every refusal is recorded")

	require.NoError(t, r.Down())
	_, err = http.Post("http://"+r.Addr()+"/_bulk", "application/x-ndjson", nil)
	assert.Error(t, err, "down: connections are refused")
	require.NoError(t, r.Up())
	code, _ := post(t, r, "/_bulk", "ingest", "tok", good)
	assert.Equal(t, 200, code, "back on the same address")
}

const sampleConfig = `service:
  flush: 1
  http_listen: 0.0.0.0
  http_port: 2020
  parsers_file: /fluent-bit/etc/parsers.conf
  storage.path: /var/lib/platform-logging/flb-storage/
  scheduler.cap: 15
  storage.max_chunks_up: 12
pipeline:
  inputs:
  - name: tail
    tag: kube.*
    path: /var/log/containers/*.log
    exclude_path: /var/log/containers/*_kube-system_*.log
    db: /var/lib/platform-logging/tail-containers.db
  filters:
  - name: kubernetes
    match: kube.*
    kube_tag_prefix: kube.var.log.containers.
  - name: modify
    match: kube.*
    add: cluster c
  outputs:
  - name: es
    match: kube.*
    host: logscale.example.com
    port: 443
    tls: true
    tls.verify: true
    http_user: ingest
    http_passwd: ${LOGSCALE_INGEST_TOKEN}
    index: repo
    storage.total_limit_size: 189M
`

func TestForTestRewritesOnlyPathsAndAddresses(t *testing.T) {
	out, changes, err := ForTest([]byte(sampleConfig), TestPaths{
		LogDir: "/tmp/x/containers", StoragePath: "/tmp/x/st/", DB: "/tmp/x/db", Parsers: "/p.conf",
		MetricsPort: 1, ReceiverPort: 2, KubeURL: "https://127.0.0.1:3", KubeCAFile: "/ca", KubeTokenFile: "/tok",
	})
	require.NoError(t, err)
	var keys []string
	for _, c := range changes {
		keys = append(keys, c.Key)
	}
	diff, err := Differences([]byte(sampleConfig), out)
	require.NoError(t, err)
	assert.ElementsMatch(t, keys, diff)
	assert.NotContains(t, diff, "es.index")
	var doc agentspec.PlainFluentBitConfig
	require.NoError(t, yaml.Unmarshal(out, &doc))
	assert.Equal(t, "kube.tmp.x.containers.", doc.Pipeline.Filters[0]["kube_tag_prefix"])
	assert.Equal(t, "/tmp/x/containers/*_kube-system_*.log", doc.Pipeline.Inputs[0]["exclude_path"])
	assert.Equal(t, false, doc.Pipeline.Outputs[0]["tls"])

	g, err := Inspect([]byte(sampleConfig))
	require.NoError(t, err)
	assert.Equal(t, Generated{Index: "repo", User: "ingest", PasswordEnv: "LOGSCALE_INGEST_TOKEN", ExcludedNamespaces: []string{"kube-system"},
		TotalLimitBytes: 189_000_000, MaxChunksUp: 12, SchedulerCap: 15}, g)

	_, _, err = ForTest([]byte(strings.Replace(sampleConfig, "  storage.path: /var/lib/platform-logging/flb-storage/\n", "", 1)), TestPaths{LogDir: "/x"})
	assert.ErrorContains(t, err, "service.storage.path is not in the generated configuration")
	_, _, err = ForTest([]byte(strings.Replace(sampleConfig, "kube.var.log.containers.", "kube.", 1)), TestPaths{LogDir: "/x"})
	assert.ErrorContains(t, err, "does not follow the tail path")
}

func TestExpositionAndMetricNames(t *testing.T) {
	s, err := ParseExposition("# HELP x\n# TYPE fluentbit_output_retries_total counter\nfluentbit_output_retries_total{name=\"es.0\"} 11\nfluentbit_storage_chunks 3\nfluentbit_build_info{hostname=\"vm\",version=\"5.0.9\",os=\"linux\"} 1.7e+09\n")
	require.NoError(t, err)
	assert.Equal(t, []Sample{
		{Name: "fluentbit_output_retries_total", Labels: map[string]string{"name": "es.0"}, Value: 11},
		{Name: "fluentbit_storage_chunks", Labels: map[string]string{}, Value: 3},
		{Name: "fluentbit_build_info", Labels: map[string]string{"hostname": "vm", "version": "5.0.9", "os": "linux"}, Value: 1.7e9},
	}, s)
	_, err = ParseExposition("broken{name=\"x} 1\n")
	assert.Error(t, err)

	assert.Equal(t, []string{"fluentbit_output_proc_records_total", "fluentbit_output_retries_total", "up"},
		MetricNames(`sum by (namespace, pod, name) (increase(fluentbit_output_retries_total{namespace="logging"}[5m])) > 0
unless sum by (namespace, pod, name) (rate(fluentbit_output_proc_records_total{namespace="logging"}[5m])) > 0`, `absent(up{job="fluent-bit"})`))
}
