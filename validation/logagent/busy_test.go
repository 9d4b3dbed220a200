//go:build logagent

package logagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/logging/agentspec"
)

// A busy node (issue 23): the scale of these scenarios.
const (
	// rotation: one container at 10,000 lines/s for two minutes, its log
	// rotated as the kubelet rotates it (KubeletRotation).
	rotationRate     = 10000
	rotationDuration = 2 * time.Minute
	// rotation-outage: LogScale is down this long in the middle of it.
	rotationOutageAt     = 30 * time.Second
	rotationOutageLength = 45 * time.Second

	rejectionRate     = 500
	rejectionDuration = 10 * time.Second
	// rejectEvery-th document is refused inside a successful reply.
	rejectEvery = 10

	// too-large: a steady container beside one that bursts; requests
	// above tooLargeLimit bytes are refused with 413. Steady requests stay
	// far below it, the burst's chunks (up to 2 MB of records) above.
	tooLargeSteadyRate = 100
	tooLargeBurstRate  = 20000
	tooLargeBurst      = 2 * time.Second
	tooLargeLimit      = 1 << 20
	tooLargeLength     = 55 * time.Second

	killRate     = 1000
	killDuration = 25 * time.Second
	killAfter    = 8 * time.Second
	killDown     = 2 * time.Second
)

// rotatingWriter creates the pod in the API server and its log laid out as
// the kubelet lays it out, rotated as the kubelet rotates it.
func (r *run) rotatingWriter(c ContainerLog, labels map[string]string) *Writer {
	require.NoError(r.t, r.h.kube.Pod(c, labels, nil))
	w, err := NewRotatingWriter(r.logDir, filepath.Join(r.dir, "pods"), c, c.Namespace+"/"+c.Pod, int(agentspec.SizingLineBytes), KubeletRotation)
	require.NoError(r.t, err)
	return w
}

// rotation: kubelet-style rotation (rename at 10 MiB, checked every 10 s,
// the previous rotated file deleted at the next rotation) of one container
// writing 10,000 lines/s, with an outage of LogScale in the middle when
// outage is set. Every line must arrive once. Without the outage the agent
// gets only the CPU its request is sized for at this rate, and its CPU time
// per line is measured: it sizes that request.
func (h *harness) rotation(t *testing.T, s Stack, outage bool) {
	name := "rotation"
	if outage {
		name = "rotation-outage"
	}
	r, c, labels := h.newPodRun(t, name, s)
	w := r.rotatingWriter(c, labels)
	if !outage {
		// Only the CPU the sizing gives an agent for this rate
		// (logging.CPUMilliFor: CPUMicrosPerLine per line), as a CPU
		// limit of that size would: a busy node's agent gets about its
		// request, not idle cores.
		r.agent.CPUShare = float64(rotationRate) * agentspec.CPUMicrosPerLine / 1e6
		// To see what a smaller request loses (docs/logging.md), e.g.
		// LOGAGENT_ROTATION_CPU_SHARE=0.05 for the former 50m.
		if v := os.Getenv("LOGAGENT_ROTATION_CPU_SHARE"); v != "" {
			share, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, "LOGAGENT_ROTATION_CPU_SHARE")
			r.agent.CPUShare = share
		}
	}
	r.start()
	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background(), rotationRate, rotationDuration) }()
	var catchup time.Duration
	if outage {
		time.Sleep(rotationOutageAt)
		require.NoError(t, r.rcv.Down())
		time.Sleep(rotationOutageLength)
		require.NoError(t, r.rcv.Up())
	}
	require.NoError(t, <-done)
	end := time.Now()
	require.True(t, waitFor(3*time.Minute, r.allBelow(w, w.Written())),
		"not every line arrived within 3 minutes of the last write; %s", missingSummary(r, w))
	catchup = time.Since(end)
	r.settle(3 * time.Second)
	written, _, lost, dups := r.result(w, catchup)
	assert.InDelta(t, float64(rotationRate), float64(written)/end.Sub(began).Seconds(), rotationRate*0.05, "the writer kept the rate")
	assert.GreaterOrEqual(t, w.Rotations(), int64(rotationDuration/KubeletRotation.CheckEvery)-2, "the file was rotated about every %s", KubeletRotation.CheckEvery)
	assert.Zero(t, lost, "lines lost across rotations")
	assert.Zero(t, dups, "duplicates")
	r.checkMetadata(w, c, labels)
	cpu := r.agent.CPUSeconds()
	perLine := cpu / float64(written) * 1e6
	logMeasure(t, "%s rotations=%d cpu_share=%.2f cpu_s=%.1f cpu_us_per_line=%.1f (sizing: %d) peak_rss_mib=%.1f catchup_s=%.1f",
		name, w.Rotations(), r.agent.CPUShare, cpu, perLine, agentspec.CPUMicrosPerLine, r.agent.PeakRSSMiB(), catchup.Seconds())
	if !outage {
		assert.LessOrEqual(t, perLine, float64(agentspec.CPUMicrosPerLine),
			"the agent takes %.1f µs of CPU per line, more than the %d µs its CPU request is sized for (components/logging/agentspec CPUMicrosPerLine)", perLine, agentspec.CPUMicrosPerLine)
		// Machines differ (20-26 µs here, 30-38 in an independent run):
		// the sizing takes the slower, and only a third of it would say
		// the request is far too generous.
		assert.GreaterOrEqual(t, perLine, float64(agentspec.CPUMicrosPerLine)/3,
			"the agent takes %.1f µs of CPU per line, far less than the %d µs its CPU request is sized for: update CPUMicrosPerLine", perLine, agentspec.CPUMicrosPerLine)
	}
	assert.Less(t, r.agent.PeakRSSMiB(), float64(s.MemoryLimitMiB), "peak memory within the container's limit")
}

// missingSummary says which lines are missing: how many, and the first and
// last, to tell a rotation's loss from a tail that is still arriving.
func missingSummary(r *run, w *Writer) string {
	m := r.rcv.Missing(w.Src, w.Written())
	if len(m) == 0 {
		return "none missing"
	}
	return fmt.Sprintf("missing %d of %d, first %d, last %d", len(m), w.Written(), m[0], m[len(m)-1])
}

// deliveryWarning matches a line of the agent's log at warn or error level
// from the output or the engine (which logs retries).
var deliveryWarning = regexp.MustCompile(`(?m)^.*\] \[ *(warn|error)\] \[(output:es|engine)\b.*$`)

// partialRejection: LogScale-like replies of HTTP 200 with "errors": true
// and every tenth item refused with 429 or 503, as Elasticsearch answers a
// partial failure. Fluent Bit 5.0.9 counts such a request as delivered
// when one item was created (plugins/out_es/es.c, elasticsearch_error_check
// and cb_es_flush): the refused lines are lost without a retry, a metric
// or a log line above debug. Fixed upstream after 5.1.1 (fluent/fluent-bit
// PRs #12321, retry the refused items only, and #12358, count and log
// them). This scenario pins today's behaviour: when an agent upgrade
// retries the refused items, it fails, and docs/logging.md ("Refused
// items") must be updated with it.
func (h *harness) partialRejection(t *testing.T, s Stack) {
	r := h.newRun(t, "partial-rejection", s)
	r.rcv.RejectItems(rejectEvery, 429, 503)
	c := ContainerLog{Pod: "loggen-rejection", Namespace: appNS, Container: "app"}
	w := r.writer(c, podLabels("rejection"), nil)
	r.start()
	require.NoError(t, w.Run(context.Background(), rejectionRate, rejectionDuration))
	end := time.Now()
	// Everything not refused arrives.
	require.True(t, waitFor(60*time.Second, func() bool {
		unique, _ := r.rcv.Count(w.Src)
		return unique+r.rcv.RejectedCount(w.Src) >= w.Written()
	}), "lines neither received nor refused")
	catchup := time.Since(end)
	r.settle(10 * time.Second) // a retry would come within scheduler.cap
	_, _, lost, dups := r.result(w, catchup)
	rejected := r.rcv.RejectedCount(w.Src)
	sc := r.fresh()
	retries, _ := metric(sc, "fluentbit_output_retries_total", map[string]string{"name": "es.0"})
	errs, _ := metric(sc, "fluentbit_output_errors_total", map[string]string{"name": "es.0"})
	dropped, _ := metric(sc, "fluentbit_output_dropped_records_total", map[string]string{"name": "es.0"})
	agentLog, err := os.ReadFile(r.agent.LogPath)
	require.NoError(t, err)
	warnings := deliveryWarning.FindAllString(string(agentLog), -1)
	logMeasure(t, "partial-rejection refused_items=%d lost=%d retries_metric=%.0f errors_metric=%.0f dropped_metric=%.0f output_warnings_or_errors=%d",
		rejected, lost, retries, errs, dropped, len(warnings))
	require.Positive(t, rejected, "the receiver refused items")
	assert.Zero(t, dups)
	const upgrade = "Fluent Bit now handles refused items of a successful bulk reply (upstream PRs #12321, #12358): update docs/logging.md \"Refused items\" and this scenario"
	assert.Equal(t, rejected, lost, "every refused line is lost, none retried: Fluent Bit 5.0.9's behaviour. "+upgrade)
	assert.Zero(t, retries, "no retry: "+upgrade)
	assert.Zero(t, errs, "no error counted: "+upgrade)
	assert.Zero(t, dropped, "no drop counted: "+upgrade)
	assert.Empty(t, warnings, "the output logs nothing above info: "+upgrade)
}

// tooLarge: LogScale refuses requests above its size limit with 413.
// Fluent Bit 5.0.9 retries such a chunk for ever (retry_limit no_limits):
// the lines in it never arrive, the error and drop counters stay 0 and the
// health endpoint answers 200; only the retry counter moves, while the
// other chunks are delivered. LogChunkStuck must page on those metrics.
// The generated configuration never sends such a request to LogScale (its
// limit is agentspec.LogScaleMaxRequestBytes; the largest request of every
// scenario is checked against it, maxRequest); the receiver here refuses
// far smaller ones to make a chunk stick.
func (h *harness) tooLarge(t *testing.T, s Stack) {
	r := h.newRun(t, "too-large", s)
	r.rcv.RefuseAbove(tooLargeLimit)
	steady := ContainerLog{Pod: "loggen-steady-small", Namespace: appNS, Container: "app"}
	burst := ContainerLog{Pod: "loggen-burst-large", Namespace: appNS, Container: "app"}
	ws := r.writer(steady, podLabels("too-large-steady"), nil)
	wb := r.writer(burst, podLabels("too-large-burst"), nil)
	r.start()
	require.True(t, waitFor(10*time.Second, func() bool { return r.mark() >= 1 }), "the agent's metrics are scraped")
	beforeStuck := r.mark()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); assert.NoError(t, ws.Run(ctx, tooLargeSteadyRate, tooLargeLength)) }()
	time.Sleep(3 * time.Second)
	require.NoError(t, wb.Run(ctx, tooLargeBurstRate, tooLargeBurst))
	wg.Wait()
	stuck := r.mark()
	require.True(t, waitFor(30*time.Second, r.allBelow(ws, ws.Written())), "the steady container's lines all arrive beside the stuck chunk")
	_, _, lost, dups := r.result(ws, 0)
	assert.Zero(t, lost)
	assert.Zero(t, dups)
	burstGot, _ := r.rcv.Count(wb.Src)
	st := r.rcv.Stats()
	sc := r.fresh()
	retries, _ := metric(sc, "fluentbit_output_retries_total", map[string]string{"name": "es.0"})
	errs, _ := metric(sc, "fluentbit_output_errors_total", map[string]string{"name": "es.0"})
	dropped, _ := metric(sc, "fluentbit_output_dropped_records_total", map[string]string{"name": "es.0"})
	health := r.healthCodes()
	logMeasure(t, "too-large refused_requests=%d burst_lines=%d burst_received=%d retries_metric=%.0f errors_metric=%.0f dropped_metric=%.0f health_codes=%v",
		st.TooLarge, wb.Written(), burstGot, retries, errs, dropped, health)
	require.Positive(t, st.TooLarge, "the burst made requests above %d bytes", tooLargeLimit)
	assert.Less(t, burstGot, wb.Written(), "the refused chunk's lines do not arrive")
	assert.Positive(t, retries, "the refused chunk is retried")
	assert.Zero(t, errs, "a 413 is not counted as an error by Fluent Bit 5.0.9")
	assert.Zero(t, dropped, "nor as a drop")
	assert.Equal(t, map[int]int{200: health[200]}, health, "the health endpoint answers 200 throughout")
	r.stopScraping()
	exps := r.silentAt(beforeStuck)
	exps = append(exps,
		r.firing(stuck, "LogChunkStuck", "critical"),
		Expectation{At: stuck, Alert: "LogOutputStalled"},
		Expectation{At: stuck, Alert: "LogRecordsDropped"},
		Expectation{At: stuck, Alert: "LogOutputErrors"},
	)
	r.alerts(exps)
}

// kill: the agent is killed (SIGKILL, as the OOM killer or a node crash
// does) in the middle of a stream and started again on the same buffer and
// tail database. Delivery is at least once: nothing may be lost; the lines
// read but not yet acknowledged are sent again, counted as duplicates.
func (h *harness) kill(t *testing.T, s Stack) {
	r, c, labels := h.newPodRun(t, "kill", s)
	w := r.writer(c, labels, nil)
	r.start()
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background(), killRate, killDuration) }()
	time.Sleep(killAfter)
	r.agent.Kill()
	time.Sleep(killDown)
	require.NoError(t, r.agent.Start(), "the agent starts again on the same buffer and database after SIGKILL")
	require.NoError(t, <-done)
	end := time.Now()
	require.True(t, waitFor(60*time.Second, r.allBelow(w, w.Written())), "not every line arrived after the kill; %s", missingSummary(r, w))
	catchup := time.Since(end)
	r.settle(5 * time.Second)
	written, _, lost, dups := r.result(w, catchup)
	assert.Zero(t, lost, "lines lost across SIGKILL")
	logMeasure(t, "kill duplicates=%d of %d written (%.2f%%): at-least-once delivery resends what was read but not acknowledged", dups, written, 100*float64(dups)/float64(written))
	r.checkMetadata(w, c, labels)
}

// maxRequest: the largest request any scenario sent, decompressed, is
// below LogScale's documented limit.
func maxRequest(t *testing.T, largest int) {
	assert.Less(t, largest, agentspec.LogScaleMaxRequestBytes,
		"a request of %d bytes (decompressed) is above LogScale's limit of %d: it would be refused with 413 and retried for ever", largest, agentspec.LogScaleMaxRequestBytes)
	logMeasure(t, "largest_request_bytes=%d logscale_limit_bytes=%d", largest, agentspec.LogScaleMaxRequestBytes)
}
