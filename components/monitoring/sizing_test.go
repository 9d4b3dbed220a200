package monitoring

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSizingRuleTwoGiBPerMillionSeries(t *testing.T) {
	cases := []struct {
		series              int
		cpu, request, limit string
		why                 string
	}{
		{0, "100m", "256Mi", "512Mi", "the base alone; 384 MiB limit rounds up to 512"},
		{300000, "250m", "1024Mi", "1536Mi", "256 + 614.4 MiB rounds up to 1 GiB"},
		{500000, "350m", "1280Mi", "2048Mi", "256 MiB + 1 GiB; 1920 rounds up to 2048"},
		{1000000, "600m", "2304Mi", "3584Mi", "256 MiB + 2 GiB; 1.5x = 3456 rounds up to 3584"},
		{4000000, "2100m", "8448Mi", "12800Mi", "256 MiB + 8 GiB; 12672 rounds up to 12800"},
	}
	for _, c := range cases {
		r := PrometheusResources(c.series)
		assert.Equal(t, c.cpu, r.Requests.CPU, c.why)
		assert.Equal(t, c.request, r.Requests.Memory, c.why)
		assert.Equal(t, c.limit, r.Limits.Memory, c.why)
		assert.Empty(t, r.Limits.CPU, "no CPU limit: throttling delays rule evaluation")
	}
}

func TestRetentionSizeIsEightyFivePercentOfTheVolume(t *testing.T) {
	assert.Equal(t, "87040MB", RetentionSize(100), "85 % of 100 GiB = 87040 MiB (Prometheus MB are MiB)")
	assert.Equal(t, "8704MB", RetentionSize(10))
	assert.Equal(t, int64(85), RetentionSizeBytes(100))
}

func TestDiskPerDayAtTwoBytesPerSample(t *testing.T) {
	// 1M series every 30s = 2880 samples per series per day, 2 bytes each.
	assert.Equal(t, int64(5_760_000_000), DiskBytesPerDay(1_000_000, 30))
	assert.Equal(t, int64(0), DiskBytesPerDay(1_000_000, 0))
}
