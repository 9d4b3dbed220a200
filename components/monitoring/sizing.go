package monitoring

import (
	"fmt"
	"math"

	"github.com/cnplatform/platform/components/podvalues"
)

// Sizing rule (docs/monitoring.md, "Sizing"): Prometheus needs about 2 GiB of
// memory per million active series (reliability-and-cost.md), plus a fixed
// base for the process, WAL replay and queries. The limit leaves 50 % head
// room for compaction and query spikes, because an OOM-killed Prometheus
// replays its WAL and is blind for minutes. Disk: 1-2 bytes per sample; we
// assume 2 bytes at the scrape interval.
const (
	mib                    = 1024 * 1024
	gib                    = 1024 * mib
	memoryPerMillionSeries = 2 * gib
	memoryBase             = 256 * mib
	memoryStep             = 256 * mib
	cpuBaseMillis          = 100
	cpuPerMillionMillis    = 500
	bytesPerSample         = 2
)

// PrometheusMemoryBytes is the memory request for expectedSeries active
// series: 256 MiB + 2 GiB per million series, rounded up to 256 MiB.
func PrometheusMemoryBytes(expectedSeries int) int64 {
	if expectedSeries < 0 {
		expectedSeries = 0
	}
	raw := float64(memoryBase) + float64(memoryPerMillionSeries)*float64(expectedSeries)/1e6
	return int64(math.Ceil(raw/memoryStep)) * memoryStep
}

// PrometheusResources applies the sizing rule: request = PrometheusMemoryBytes,
// limit = 1.5 x request (rounded up to 256 MiB), CPU request 100m + 500m per
// million series. No CPU limit: throttling a Prometheus delays rule
// evaluation, and the CPU request already reserves its share.
func PrometheusResources(expectedSeries int) podvalues.Resources {
	req := PrometheusMemoryBytes(expectedSeries)
	limit := int64(math.Ceil(float64(req)*1.5/memoryStep)) * memoryStep
	cpu := cpuBaseMillis + int(math.Ceil(float64(cpuPerMillionMillis)*float64(max(expectedSeries, 0))/1e6))
	return podvalues.Resources{
		Requests: podvalues.ResourceList{CPU: fmt.Sprintf("%dm", cpu), Memory: fmt.Sprintf("%dMi", req/mib)},
		Limits:   podvalues.ResourceList{Memory: fmt.Sprintf("%dMi", limit/mib)},
	}
}

// DiskBytesPerDay estimates the TSDB growth per day for expectedSeries
// scraped every scrapeIntervalSeconds, at 2 bytes per sample.
func DiskBytesPerDay(expectedSeries, scrapeIntervalSeconds int) int64 {
	if scrapeIntervalSeconds <= 0 {
		return 0
	}
	return int64(expectedSeries) * int64(86400/scrapeIntervalSeconds) * bytesPerSample
}

// RetentionSizeBytes is the TSDB size cap for a volume: 85 % of it, so
// compaction and the WAL never fill the disk (reliability-and-cost.md).
func RetentionSizeBytes(volumeBytes int64) int64 {
	return volumeBytes * 85 / 100
}
