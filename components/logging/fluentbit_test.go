package logging_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/logging/agentspec"
)

func renderFluentBit(t *testing.T, args logging.Args) agentspec.PlainFluentBitConfig {
	t.Helper()
	r, err := logging.Render(&args)
	require.NoError(t, err)
	require.Equal(t, logging.FluentBit, r.Args.Agent)
	var doc agentspec.PlainFluentBitConfig
	require.NoError(t, yaml.UnmarshalStrict([]byte(r.Config), &doc), r.Config)
	return doc
}

// sizeBytes reads a Fluent Bit size such as 3600M. Fluent Bit's K, M and G
// are powers of 1000 (src/flb_utils.c, flb_utils_size_to_bytes).
func sizeBytes(t *testing.T, s string) int64 {
	t.Helper()
	units := map[string]int64{"K": 1000, "M": 1000_000, "G": 1000_000_000}
	for suffix, mult := range units {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			require.NoError(t, err, s)
			return v * mult
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err, s)
	return v
}

func only(t *testing.T, list []map[string]any, name string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, m := range list {
		if m["name"] == name {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "want exactly one %q plugin", name)
	return found[0]
}

func baseArgs() logging.Args {
	return logging.Args{
		LogScaleURL: "https://cloud.community.humio.com",
		Repository:  "platform-prod",
		ClusterName: "platform-prod",
	}
}

func TestFluentBitBufferHoldsTheOutageToSurvive(t *testing.T) {
	cases := []struct {
		name          string
		rateKiB       int
		outageMinutes int
		memoryMiB     int
	}{
		{"defaults", 0, 0, 0},
		{"busy prod node, two hours", 512, 120, 100},
		{"quiet dev node, half an hour", 128, 30, 64},
		{"one minute at a high rate", 4096, 1, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := baseArgs()
			a.LogRateKiBPerSecond, a.OutageMinutes, a.MemoryLimitMiB = tc.rateKiB, tc.outageMinutes, tc.memoryMiB
			rate, minutes, memory := tc.rateKiB, tc.outageMinutes, tc.memoryMiB
			if rate == 0 {
				rate, minutes, memory = 512, 60, 100 // documented defaults
			}
			doc := renderFluentBit(t, a)

			es := only(t, doc.Pipeline.Outputs, "es")
			buffer := sizeBytes(t, es["storage.total_limit_size"].(string))
			// Log bytes in the files, then what they take in the buffer
			// (measured by validation/logagent with the real agent).
			need := int64(rate) * 1024 * 60 * int64(minutes) * logging.BufferBytesPerLine / logging.SizingLineBytes
			assert.GreaterOrEqual(t, buffer, need, "the output buffer must hold %d minutes at %d KiB/s", minutes, rate)
			assert.Less(t, buffer, need+2<<20, "and not much more: it is disk on every node")

			// Memory: chunks up (about 2 MiB each) stay within a quarter of
			// the limit; the requests in flight need the rest (measured by
			// validation/logagent).
			chunksUp := int64(doc.Service["storage.max_chunks_up"].(float64))
			assert.Positive(t, chunksUp)
			assert.LessOrEqual(t, chunksUp*2<<20, int64(memory)<<20/4+8<<20,
				"%d chunks up would not fit a %d MiB limit", chunksUp, memory)
		})
	}
}

func TestFluentBitNeverDropsOnRetryOrRestart(t *testing.T) {
	a := baseArgs()
	a.BufferHostPath = "/var/lib/flb"
	a.StorageSyncFull = true
	doc := renderFluentBit(t, a)

	es := only(t, doc.Pipeline.Outputs, "es")
	assert.Equal(t, "no_limits", es["retry_limit"], "Fluent Bit's default (1 retry) loses chunks")

	tail := only(t, doc.Pipeline.Inputs, "tail")
	assert.Equal(t, "filesystem", tail["storage.type"], "memory buffering loses data on restart")
	assert.Equal(t, "/var/log/containers/*.log", tail["path"])
	assert.Contains(t, tail["multiline.parser"], "cri", "containerd splits long lines; the cri parser joins them")
	assert.True(t, strings.HasPrefix(tail["db"].(string), "/var/lib/flb/"), "file offsets survive restarts on the host")

	assert.True(t, strings.HasPrefix(doc.Service["storage.path"].(string), "/var/lib/flb/"), "chunks live on the hostPath")
	assert.Equal(t, "full", doc.Service["storage.sync"])
	assert.Equal(t, "normal", renderFluentBit(t, baseArgs()).Service["storage.sync"], "fsync per write only when asked")
}

func TestFluentBitShipsToLogScaleOverVerifiedTLS(t *testing.T) {
	cases := []struct {
		url  string
		host string
		port float64
	}{
		{"https://cloud.community.humio.com", "cloud.community.humio.com", 443},
		{"https://logscale.internal.example.com:8443/", "logscale.internal.example.com", 8443},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			a := baseArgs()
			a.LogScaleURL = tc.url
			doc := renderFluentBit(t, a)
			es := only(t, doc.Pipeline.Outputs, "es")
			assert.Equal(t, tc.host, es["host"])
			assert.Equal(t, tc.port, es["port"])
			// The es output posts to path + "/_bulk": without a path that is
			// /_bulk, an Elastic Bulk endpoint LogScale documents; with the
			// other one as path it would be /api/v1/ingest/elastic-bulk/_bulk.
			_, hasPath := es["path"]
			assert.False(t, hasPath, "no path: requests go to %s", logging.BulkPath)
			assert.Equal(t, true, es["tls"])
			assert.Equal(t, true, es["tls.verify"])
			assert.Equal(t, "ingest", es["http_user"])
			assert.Equal(t, "${LOGSCALE_INGEST_TOKEN}", es["http_passwd"], "the token comes from the environment, never the file")
			assert.Equal(t, "kube.*", es["match"])
			assert.Equal(t, "platform-prod", es["index"])
		})
	}
}

func TestFluentBitReadsWholeBulkReplies(t *testing.T) {
	// A bulk reply has one item per document; a reply larger than
	// buffer_size fails a delivered request, which is then sent again
	// forever (duplicates). "false" lifts the limit.
	es := only(t, renderFluentBit(t, baseArgs()).Pipeline.Outputs, "es")
	assert.Equal(t, "false", es["buffer_size"])
	assert.Equal(t, true, es["suppress_type_name"], "no mapping type in the bulk actions")
	assert.Equal(t, float64(1), es["workers"], "one worker: two doubled the requests in flight and their memory")
}

func TestFluentBitRetryBackOffFollowsTheOutage(t *testing.T) {
	cases := []struct {
		outageMinutes, wantCap int
	}{
		{1, 10}, {15, 10}, {30, 10}, {60, 15}, {120, 30}, {240, 30}, {10000, 30},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.outageMinutes), func(t *testing.T) {
			a := baseArgs()
			a.OutageMinutes = tc.outageMinutes
			a.BufferMiB = 1 << 20 // not under test here
			doc := renderFluentBit(t, a)
			assert.Equal(t, float64(tc.wantCap), doc.Service["scheduler.cap"])
			assert.Equal(t, float64(2), doc.Service["scheduler.base"])
			// Once LogScale is back every chunk is tried within the cap:
			// an outage of a minute or more is caught up in less time.
			assert.LessOrEqual(t, tc.wantCap, 30)
		})
	}
}

func TestFluentBitAddsKubernetesMetadataAndHonoursExclusions(t *testing.T) {
	a := baseArgs()
	a.ExcludeNamespaces = []string{"kube-system", "local-path-storage"}
	doc := renderFluentBit(t, a)

	k8s := only(t, doc.Pipeline.Filters, "kubernetes")
	assert.Equal(t, "kube.*", k8s["match"])
	assert.Equal(t, true, k8s["merge_log"], "JSON logs become fields")
	assert.Equal(t, true, k8s["labels"], "pod labels are attached")
	assert.Equal(t, true, k8s["k8s-logging.exclude"], "pods opt out with fluentbit.io/exclude")

	modify := only(t, doc.Pipeline.Filters, "modify")
	assert.Equal(t, "cluster platform-prod", modify["add"], "events say which cluster they come from")

	tail := only(t, doc.Pipeline.Inputs, "tail")
	excluded := strings.Split(tail["exclude_path"].(string), ",")
	assert.ElementsMatch(t, []string{"/var/log/containers/*_kube-system_*.log", "/var/log/containers/*_local-path-storage_*.log"}, excluded)
	_, hasExclude := only(t, renderFluentBit(t, baseArgs()).Pipeline.Inputs, "tail")["exclude_path"]
	assert.False(t, hasExclude, "nothing excluded unless asked")
}

func TestFluentBitServesMetricsAndHealth(t *testing.T) {
	doc := renderFluentBit(t, baseArgs())
	assert.Equal(t, true, doc.Service["http_server"])
	assert.Equal(t, float64(2020), doc.Service["http_port"])
	assert.Equal(t, true, doc.Service["health_check"])
	assert.Equal(t, true, doc.Service["storage.metrics"], "buffer metrics are exported")
}

func TestRenderRejectsBadArgs(t *testing.T) {
	cases := []struct {
		name   string
		change func(*logging.Args)
		want   string
	}{
		{"plain http", func(a *logging.Args) { a.LogScaleURL = "http://cloud.community.humio.com" }, "https"},
		{"URL with the ingest path", func(a *logging.Args) { a.LogScaleURL = "https://h.example.com/api/v1/ingest/elastic-bulk" }, "base URL only"},
		{"token in the URL", func(a *logging.Args) { a.LogScaleURL = "https://ingest:secret@h.example.com" }, "credentials"},
		{"unknown agent", func(a *logging.Args) { a.Agent = "vector" }, `Agent "vector"`},
		{"buffer under a minute", func(a *logging.Args) { a.LogRateKiBPerSecond, a.BufferMiB = 1024, 10 }, "less than one minute"},
		{"buffer under /var/log", func(a *logging.Args) { a.BufferHostPath = "/var/log/flb" }, "outside /var/log"},
		{"no repository", func(a *logging.Args) { a.Repository = "" }, "Repository"},
		{"starved agent", func(a *logging.Args) { a.MemoryLimitMiB = 16 }, "MemoryLimitMiB 16"},
		{"excluding itself", func(a *logging.Args) { a.ExcludeNamespaces = []string{"logging"} }, "own namespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := baseArgs()
			tc.change(&a)
			_, err := logging.Render(&a)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestBufferMath(t *testing.T) {
	// 0.5 MB/s of log files for 68 minutes is 2040 MiB of files; the
	// buffer holds them as records, BufferBytesPerLine per SizingLineBytes.
	perFileByte := float64(logging.BufferBytesPerLine) / logging.SizingLineBytes
	assert.InDelta(t, 2040*perFileByte, logging.BufferMiBFor(512, 68), 1)
	assert.Equal(t, 1, logging.BufferMiBFor(1, 1), "rounded up, never down")
	assert.InDelta(t, 68, logging.MinutesBuffered(logging.BufferMiBFor(512, 68), 512), 0.05)
	assert.GreaterOrEqual(t, logging.BufferBytesPerLine, logging.SizingLineBytes, "a buffered line is never smaller than its file line")
}

// The CPU request keeps up with the log rate at the cost of a line the
// real agent was measured at (validation/logagent, scenario rotation,
// fails when a line costs more than CPUMicrosPerLine).
func TestCPURequestKeepsUpWithTheLogRate(t *testing.T) {
	for _, rateKiB := range []int{1, 64, 128, 256, 512, 1024, 4096} {
		milli := logging.CPUMilliFor(rateKiB)
		linesPerSecond := float64(rateKiB) * 1024 / logging.SizingLineBytes
		assert.GreaterOrEqual(t, float64(milli)*1000, linesPerSecond*logging.CPUMicrosPerLine,
			"%d KiB/s is %.0f lines/s of %d bytes: %dm of CPU is less than %d µs each", rateKiB, linesPerSecond, logging.SizingLineBytes, milli, logging.CPUMicrosPerLine)
		assert.Less(t, float64(milli-1)*1000, max(linesPerSecond*logging.CPUMicrosPerLine, logging.DefaultFluentBitCPUMilli*1000), "and not more than it needs")
		assert.GreaterOrEqual(t, milli, logging.DefaultFluentBitCPUMilli)
	}
}
