package monitoring

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/cnplatform/platform/components/contract"
)

// The shapes of monitoring's fields, written once: Args.validate and the
// stack configuration (stacks) both check with these.
var (
	duration     = contract.NewShape(`^([0-9]+(ms|s|m|h|d|w|y))+$`, "must be a Prometheus duration such as 15d, 12h or 30s")
	durationPart = regexp.MustCompile(`([0-9]+)(ms|s|m|h|d|w|y)`)
	storageClass = contract.NewShape(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`, "must be a StorageClass name such as gp3")
)

// CheckDuration says whether s is a Prometheus duration (retention, scrape
// and Alertmanager intervals).
func CheckDuration(s string) error { return duration.Check(s) }

// DurationSeconds is a Prometheus duration in seconds; 0 for anything
// CheckDuration refuses.
func DurationSeconds(s string) float64 {
	if CheckDuration(s) != nil {
		return 0
	}
	unit := map[string]float64{"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
	total := 0.0
	for _, m := range durationPart.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		total += float64(n) * unit[m[2]]
	}
	return total
}

// CheckObjective says whether v can be an SLO objective: a share between
// 0.5 and 1, both excluded.
func CheckObjective(v float64) error {
	if v <= 0.5 || v >= 1 {
		return errors.New("must be a share between 0.5 and 1 (exclusive), such as 0.999")
	}
	return nil
}

// CheckLatencyThreshold says whether ms is one of Envoy's histogram bucket
// bounds, the only thresholds the latency SLI can count against.
func CheckLatencyThreshold(ms int) error {
	if !slices.Contains(envoyLatencyBuckets, ms) {
		return fmt.Errorf("must be one of Envoy's histogram bucket bounds in ms: %v", envoyLatencyBuckets)
	}
	return nil
}

// CheckExpectedSeries says whether n active series fit one Prometheus.
func CheckExpectedSeries(n int) error {
	if n < MinExpectedSeries || n > MaxExpectedSeries {
		return fmt.Errorf("must be between %d and %d (one Prometheus beyond that needs sharding)", MinExpectedSeries, MaxExpectedSeries)
	}
	return nil
}

// CheckStorageClass says whether s can name a StorageClass (a DNS
// subdomain).
func CheckStorageClass(s string) error { return storageClass.Check(s) }
