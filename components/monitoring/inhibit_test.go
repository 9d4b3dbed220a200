package monitoring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startAlertmanager runs the pinned Alertmanager with the generated config
// and returns its base URL. Notifications fail (the secret files do not
// exist here), which does not matter: inhibition is computed on the API.
func startAlertmanager(t *testing.T, configPath string) string {
	t.Helper()
	bin := tool(t, "alertmanager")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	cmd := exec.Command(bin,
		"--config.file="+configPath,
		"--storage.path="+t.TempDir(),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager did not become ready:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type apiAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status,omitempty"`
}

func postAlerts(t *testing.T, base string, alerts []map[string]string) {
	t.Helper()
	var body []map[string]any
	for _, l := range alerts {
		body = append(body, map[string]any{"labels": l, "startsAt": time.Now().Add(-time.Minute).Format(time.RFC3339)})
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(raw))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// inhibited returns, per alert (alertname/severity/extra), whether
// Alertmanager reports it suppressed by an inhibition.
func inhibited(t *testing.T, base string) map[string]bool {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	require.NoError(t, err)
	defer resp.Body.Close()
	var alerts []apiAlert
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&alerts))
	out := map[string]bool{}
	for _, a := range alerts {
		key := fmt.Sprintf("%s/%s/%s", a.Labels["alertname"], a.Labels["severity"], a.Labels["case"])
		out[key] = len(a.Status.InhibitedBy) > 0
	}
	return out
}

// TestInhibitRulesInTheRealAlertmanager feeds alert pairs to the pinned
// Alertmanager and reads back which ones it suppresses. amtool cannot test
// inhibition, so this runs Alertmanager's own implementation.
func TestInhibitRulesInTheRealAlertmanager(t *testing.T) {
	path := writeAlertmanagerConfig(t, allReceivers())
	base := startAlertmanager(t, path)
	gw := map[string]string{"namespace": "envoy-gateway-system", "cluster": "platform-prod"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	postAlerts(t, base, []map[string]string{
		// The fast and slow burn of the same gateway: the page wins.
		with(gw, "alertname", "GatewayErrorBudgetBurn", "severity", "critical", "case", "same-target"),
		with(gw, "alertname", "GatewayErrorBudgetBurn", "severity", "warning", "case", "same-target"),
		// A warning of the same alert on another namespace stays.
		with(gw, "alertname", "GatewayLatencyBudgetBurn", "severity", "critical", "case", "other-target", "namespace", "edge-a"),
		with(gw, "alertname", "GatewayLatencyBudgetBurn", "severity", "warning", "case", "other-target", "namespace", "edge-b"),
		// A different alert on the same target stays.
		with(gw, "alertname", "CertificateNotReady", "severity", "warning", "case", "other-alert"),
		// A zone down explains its NotReady nodes, not those of other zones.
		{"alertname": "ZoneNoReadyNodes", "severity": "critical", "zone": "eu-west-1a", "cluster": "platform-prod", "case": "zone"},
		{"alertname": "NodeNotReady", "severity": "warning", "zone": "eu-west-1a", "node": "ip-a", "cluster": "platform-prod", "case": "zone"},
		{"alertname": "NodeNotReady", "severity": "warning", "zone": "eu-west-1b", "node": "ip-c", "cluster": "platform-prod", "case": "other-zone"},
		// No agent at all explains single agents down.
		{"alertname": "LogAgentAbsent", "severity": "critical", "namespace": "logging", "job": "fluent-bit", "case": "agents"},
		{"alertname": "LogAgentDown", "severity": "warning", "namespace": "logging", "job": "fluent-bit", "pod": "fluent-bit-a", "case": "agents"},
		// A warning inhibits the info twin of the same alert.
		{"alertname": "LogBufferFilling", "severity": "warning", "namespace": "logging", "pod": "fluent-bit-a", "name": "es.0", "case": "info"},
		{"alertname": "LogBufferFilling", "severity": "info", "namespace": "logging", "pod": "fluent-bit-a", "name": "es.0", "case": "info"},
	})
	want := map[string]bool{
		"GatewayErrorBudgetBurn/critical/same-target":    false,
		"GatewayErrorBudgetBurn/warning/same-target":     true,
		"GatewayLatencyBudgetBurn/critical/other-target": false,
		"GatewayLatencyBudgetBurn/warning/other-target":  false,
		"CertificateNotReady/warning/other-alert":        false,
		"ZoneNoReadyNodes/critical/zone":                 false,
		"NodeNotReady/warning/zone":                      true,
		"NodeNotReady/warning/other-zone":                false,
		"LogAgentAbsent/critical/agents":                 false,
		"LogAgentDown/warning/agents":                    true,
		"LogBufferFilling/warning/info":                  false,
		"LogBufferFilling/info/info":                     true,
	}
	// Alertmanager's inhibitor learns of source alerts asynchronously, so
	// the marks settle shortly after the alerts are accepted.
	var got map[string]bool
	assert.Eventually(t, func() bool {
		got = inhibited(t, base)
		return reflect.DeepEqual(want, got)
	}, 30*time.Second, 200*time.Millisecond)
	assert.Equal(t, want, got)
}
