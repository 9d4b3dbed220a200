package logging_test

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/logging"
)

// section is a Fluentd directive read back from the generated text with
// Fluentd's syntax rules (written here, independently of the renderer).
type section struct {
	name, arg string
	params    map[string]string
	children  []*section
}

func parseFluentd(t *testing.T, text string) []*section {
	t.Helper()
	root := &section{}
	stack := []*section{root}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		top := stack[len(stack)-1]
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "</"):
			name := strings.TrimSuffix(strings.TrimPrefix(line, "</"), ">")
			require.Equal(t, top.name, name, "line %d closes <%s> inside <%s>", n, name, top.name)
			stack = stack[:len(stack)-1]
		case strings.HasPrefix(line, "<"):
			require.True(t, strings.HasSuffix(line, ">"), "line %d: %q", n, line)
			name, arg, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(line, "<"), ">"), " ")
			s := &section{name: name, arg: arg, params: map[string]string{}}
			top.children = append(top.children, s)
			stack = append(stack, s)
		default:
			require.Greater(t, len(stack), 1, "line %d: parameter outside a section", n)
			key, value, _ := strings.Cut(line, " ")
			value = strings.TrimSpace(value)
			if strings.HasPrefix(value, `"`) {
				unq, err := strconv.Unquote(value)
				require.NoError(t, err, "line %d", n)
				value = unq
			}
			_, dup := top.params[key]
			require.False(t, dup, "line %d: %s set twice", n, key)
			top.params[key] = value
		}
	}
	require.Len(t, stack, 1, "unclosed section")
	return root.children
}

func find(list []*section, name, typ string) []*section {
	var out []*section
	for _, s := range list {
		if s.name == name && (typ == "" || s.params["@type"] == typ) {
			out = append(out, s)
		}
	}
	return out
}

func renderFluentd(t *testing.T, a logging.Args) []*section {
	t.Helper()
	a.Agent = logging.Fluentd
	r, err := logging.Render(&a)
	require.NoError(t, err)
	assert.Equal(t, "fluentd", r.Chart.Name)
	return parseFluentd(t, r.Config)
}

func TestFluentdShipsToLogScaleThroughAFileBufferThatNeverGivesUp(t *testing.T) {
	a := baseArgs()
	a.LogRateKiBPerSecond, a.OutageMinutes = 256, 90
	a.BufferHostPath = "/var/lib/fluentd"
	doc := renderFluentd(t, a)

	outs := find(doc, "match", "elasticsearch")
	require.Len(t, outs, 1)
	es := outs[0]
	assert.Equal(t, "cloud.community.humio.com", es.params["host"])
	assert.Equal(t, "443", es.params["port"])
	assert.Equal(t, "https", es.params["scheme"])
	assert.Equal(t, "true", es.params["ssl_verify"])
	assert.NotContains(t, es.params, "path", "posts to /_bulk")
	assert.Equal(t, "ingest", es.params["user"])
	assert.Equal(t, "#{ENV['LOGSCALE_INGEST_TOKEN']}", es.params["password"], "the token comes from the environment")
	assert.Equal(t, "false", es.params["verify_es_version_at_startup"], "LogScale is not Elasticsearch")

	require.Len(t, es.children, 1)
	buf := es.children[0]
	assert.Equal(t, "buffer", buf.name)
	assert.Equal(t, "file", buf.params["@type"], "a memory buffer loses data on restart")
	assert.True(t, strings.HasPrefix(buf.params["path"], "/var/lib/fluentd/"))
	assert.Equal(t, "true", buf.params["retry_forever"])
	assert.Equal(t, "block", buf.params["overflow_action"], "a full buffer pauses reading instead of dropping")
	assert.NotEmpty(t, buf.params["chunk_limit_size"])

	var mb int64
	_, err := fmt.Sscanf(buf.params["total_limit_size"], "%dMB", &mb)
	require.NoError(t, err, buf.params["total_limit_size"])
	assert.GreaterOrEqual(t, mb<<20, int64(256)*1024*60*90, "90 minutes at 256 KiB/s")
}

func TestFluentdTailsContainerLogsWithMetadataAndExclusions(t *testing.T) {
	a := baseArgs()
	a.ExcludeNamespaces = []string{"kube-system"}
	doc := renderFluentd(t, a)

	tails := find(doc, "source", "tail")
	require.Len(t, tails, 1)
	tail := tails[0]
	assert.Equal(t, "/var/log/containers/*.log", tail.params["path"])
	assert.Contains(t, tail.params["exclude_path"], "/var/log/containers/*_kube-system_*.log")
	assert.False(t, strings.HasPrefix(tail.params["pos_file"], "/var/log/"), "/var/log is read-only; positions live in the buffer directory")

	meta := find(doc, "filter", "kubernetes_metadata")
	require.Len(t, meta, 1)
	assert.Equal(t, "false", meta[0].params["skip_labels"])

	grep := find(doc, "filter", "grep")
	require.Len(t, grep, 1)
	require.Len(t, grep[0].children, 1)
	assert.Equal(t, "exclude", grep[0].children[0].name)
	assert.Contains(t, grep[0].children[0].params["key"], "fluentbit.io/exclude", "pods opt out with the same annotation as under Fluent Bit")

	prom := find(doc, "source", "prometheus")
	require.Len(t, prom, 1)
	assert.Equal(t, "24231", prom[0].params["port"])
}
