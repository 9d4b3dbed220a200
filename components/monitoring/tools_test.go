package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// tool finds a pinned real tool: $PROMTOOL / $AMTOOL, else the repository's
// .tools/bin (installed by scripts/tools.sh). A missing tool fails the test:
// CI must never pass without running it.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p := os.Getenv(strings.ToUpper(name)); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", ".tools", "bin", name))
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found at %s: run ./scripts/tools.sh (or set $%s)", name, p, strings.ToUpper(name))
	}
	return p
}

func run(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return string(out)
}

// writeRules writes the rule file with default RuleArgs (the values the
// hand-written unit tests in testdata assume) next to copies of the tests.
func writeRules(t *testing.T) (dir string, testFiles []string) {
	t.Helper()
	dir = t.TempDir()
	rules, err := RulesYAML(RuleArgs{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "platform-rules.yaml"), rules, 0o644))
	matches, err := filepath.Glob(filepath.Join("testdata", "*.test.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, matches)
	for _, m := range matches {
		raw, err := os.ReadFile(m)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(m)), raw, 0o644))
		testFiles = append(testFiles, filepath.Base(m))
	}
	return dir, testFiles
}

func TestGeneratedRulesPassPromtoolCheck(t *testing.T) {
	promtool := tool(t, "promtool")
	for name, args := range map[string]RuleArgs{
		"defaults":          {},
		"custom objectives": {AvailabilityObjective: 0.995, LatencyObjective: 0.95, LatencyThresholdMs: 1000, GatewayNamespace: "edge"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rules, err := RulesYAML(args)
			require.NoError(t, err)
			path := filepath.Join(dir, "rules.yaml")
			require.NoError(t, os.WriteFile(path, rules, 0o644))
			out := run(t, dir, promtool, "check", "rules", path)
			assert.Contains(t, out, "SUCCESS")
		})
	}
}

func TestAlertRulesPassTheirPromtoolUnitTests(t *testing.T) {
	promtool := tool(t, "promtool")
	dir, files := writeRules(t)
	out := run(t, dir, promtool, append([]string{"test", "rules"}, files...)...)
	assert.NotContains(t, out, "FAILED")
}

// The unit tests are hand-written; this checks they cover every alert rule
// both ways: each (alert, severity) fires in some test, and each alert name
// is asserted silent on healthy input in some test.
func TestEveryAlertRuleHasFiringAndSilentUnitTests(t *testing.T) {
	type expAlert struct {
		Labels map[string]string `json:"exp_labels"`
	}
	type file struct {
		Tests []struct {
			Name       string `json:"name"`
			AlertTests []struct {
				Alertname string     `json:"alertname"`
				ExpAlerts []expAlert `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	matches, err := filepath.Glob(filepath.Join("testdata", "*.test.yaml"))
	require.NoError(t, err)
	for _, m := range matches {
		raw, err := os.ReadFile(m)
		require.NoError(t, err)
		var f file
		require.NoError(t, yaml.Unmarshal(raw, &f), m)
		for _, tc := range f.Tests {
			for _, at := range tc.AlertTests {
				if len(at.ExpAlerts) == 0 {
					silent[at.Alertname] = true
				}
				for _, a := range at.ExpAlerts {
					fires[at.Alertname+"/"+a.Labels["severity"]] = true
				}
			}
		}
	}
	var missing []string
	for _, g := range RuleGroups(RuleArgs{}) {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !fires[r.Alert+"/"+r.Labels["severity"]] {
				missing = append(missing, r.Alert+" ("+r.Labels["severity"]+") has no test where it fires")
			}
			if !silent[r.Alert] {
				missing = append(missing, r.Alert+" has no test where it stays silent")
			}
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing)
}

func allReceivers() RoutingArgs {
	return RoutingArgs{Slack: true, SlackChannel: "#alerts", PagerDuty: true, Webhook: true, Heartbeat: true}
}

func writeAlertmanagerConfig(t *testing.T, r RoutingArgs) string {
	t.Helper()
	raw, err := AlertmanagerConfigYAML(r)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "alertmanager.yaml")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	return path
}

func TestAlertmanagerConfigPassesAmtoolCheckConfig(t *testing.T) {
	amtool := tool(t, "amtool")
	for name, r := range map[string]RoutingArgs{
		"every receiver":      allReceivers(),
		"no receiver secrets": {},
		"slack only":          {Slack: true},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeAlertmanagerConfig(t, r)
			out := run(t, filepath.Dir(path), amtool, "check-config", path)
			assert.Contains(t, out, "SUCCESS")
		})
	}
}

func TestAlertmanagerRoutesEachSeverityToItsReceiver(t *testing.T) {
	amtool := tool(t, "amtool")
	full := writeAlertmanagerConfig(t, allReceivers())
	noHeartbeat := writeAlertmanagerConfig(t, RoutingArgs{Slack: true, PagerDuty: true})
	cases := []struct {
		name, config, want string
		labels             []string
	}{
		{"critical pages and copies to the webhook", full, "webhook,pager", []string{"alertname=GatewayErrorBudgetBurn", "severity=critical", "namespace=envoy-gateway-system"}},
		{"warning goes to chat and the webhook", full, "webhook,chat", []string{"alertname=NodeNotReady", "severity=warning", "node=ip-a"}},
		{"info is never sent", full, "null", []string{"alertname=LogOutputRetriesSustained", "severity=info"}},
		{"Watchdog feeds the dead-man's switch", full, "heartbeat", []string{"alertname=Watchdog", "severity=none"}},
		{"without a heartbeat URL Watchdog is dropped", noHeartbeat, "null", []string{"alertname=Watchdog", "severity=none"}},
		{"the chart's InfoInhibitor is never sent", full, "null", []string{"alertname=InfoInhibitor", "severity=none"}},
		{"an alert without severity still reaches chat", full, "chat", []string{"alertname=SomethingNew"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=" + c.config, "--verify.receivers=" + c.want}, c.labels...)
			out := run(t, filepath.Dir(c.config), amtool, args...)
			assert.Equal(t, c.want, strings.TrimSpace(out))
		})
	}
}
