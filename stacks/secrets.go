package stacks

import (
	"fmt"
	"slices"
)

// The stack files in this repository hold no secret values and no
// ciphertext: the Pulumi CLI decrypts every `secure:` value with the stack's
// secrets provider before the program runs, so a committed placeholder
// ciphertext stops `pulumi preview` before any of our code runs ("bad
// value" from the passphrase provider, "invalid ciphertext" from others). A
// stack file says which features it uses in plain keys (logging on,
// `platform:monitoring.alertmanager.receivers`); SecretSettings derives the secrets
// those features need, Load reports the missing ones with the command that
// sets each, and the offline harness (tests, cmd/plan) fills exactly these
// keys with marked placeholders.

// SecretSetting is one secret a stack's configuration uses.
type SecretSetting struct {
	// Key is the full config key, e.g. platform:logScaleIngestToken.
	Key string
	// Value names what to set, for the command: <token>, <password>, <url>.
	Value string
	// Purpose says which setting needs it.
	Purpose string
	// Optional secrets may stay unset: the feature degrades as the purpose
	// says (only in the local environment).
	Optional bool
}

// Command is the CLI command that sets the secret.
func (s SecretSetting) Command() string {
	return fmt.Sprintf("pulumi config set --secret %s %s", s.Key, s.Value)
}

// Alertmanager receivers a stack can list in platform:monitoring.alertmanager.receivers,
// each with the secret that configures it.
const (
	ReceiverSlack     = "slack"
	ReceiverPagerDuty = "pagerduty"
	ReceiverWebhook   = "webhook"
	ReceiverHeartbeat = "heartbeat"
)

// receiverSecrets maps a receiver to its secret key and value name.
var receiverSecrets = map[string][2]string{
	ReceiverSlack:     {"alertSlackWebhookUrl", "<slack-incoming-webhook-url>"},
	ReceiverPagerDuty: {"alertPagerdutyRoutingKey", "<pagerduty-events-v2-routing-key>"},
	ReceiverWebhook:   {"alertWebhookUrl", "<webhook-url>"},
	ReceiverHeartbeat: {"alertHeartbeatUrl", "<dead-mans-switch-url>"},
}

// Receivers lists the allowed receiver names.
var Receivers = []string{ReceiverPagerDuty, ReceiverSlack, ReceiverWebhook, ReceiverHeartbeat}

// SecretSettings lists the secrets a defaulted configuration uses, in a
// stable order.
func (c *Config) SecretSettings() []SecretSetting {
	local := c.Environment == Local
	var out []SecretSetting
	if c.Logging.Enabled || (local && c.Logging.LogScaleURL != "" && c.Logging.key.Enabled == nil) {
		out = append(out, SecretSetting{
			Key: Key("logScaleIngestToken"), Value: "<ingest-token>", Optional: local && c.Logging.key.Enabled == nil,
			Purpose: "the LogScale repository's ingest token, used when logging is on (platform:logging); in local, logging stays off until it is set",
		})
	}
	if c.Monitoring.Enabled {
		out = append(out, SecretSetting{
			Key: Key("grafanaAdminPassword"), Value: "<password>", Optional: local,
			Purpose: "Grafana's admin password, used when monitoring is on (platform:monitoring); in local, unset, the Grafana chart generates one into its own Secret",
		})
		for _, r := range Receivers {
			if slices.Contains(c.Monitoring.Alertmanager.Receivers, r) {
				s := receiverSecrets[r]
				out = append(out, SecretSetting{
					Key: Key(s[0]), Value: s[1],
					Purpose: fmt.Sprintf("the %s receiver, listed in platform:monitoring.alertmanager.receivers", r),
				})
			}
		}
	}
	return out
}

// SecretKeys loads src (whose secrets may be missing) and lists the secret
// keys its configuration uses, optional ones included. The offline harness
// fills these with placeholders, so a plan shows a stack as it deploys once
// its secrets are set.
func SecretKeys(src Source) []string {
	r := newReader(src)
	c := &Config{}
	loadAll(r, c)
	applyDefaults(c)
	var keys []string
	for _, s := range c.SecretSettings() {
		keys = append(keys, s.Key)
	}
	return keys
}

// validateSecrets reports a missing secret with the command that sets it,
// and a receiver secret set for a receiver the stack does not list (with
// monitoring on).
func validateSecrets(p *problems, c *Config) {
	for _, s := range c.SecretSettings() {
		if !s.Optional && !c.secretSet(s.Key) {
			*p = append(*p, fmt.Sprintf("%s: is not set; it is %s. Set it with `%s`", s.Key, s.Purpose, s.Command()))
			c.missingSecrets = append(c.missingSecrets, s.Command())
		}
	}
	for _, r := range Receivers {
		key := Key(receiverSecrets[r][0])
		// With monitoring off the secret waits for it to come back on: a
		// layer switched off for a while keeps its configuration.
		if c.secretSet(key) && c.Monitoring.Enabled && !slices.Contains(c.Monitoring.Alertmanager.Receivers, r) {
			*p = append(*p, fmt.Sprintf("%s: is set but the %s receiver is not used: add %q to platform:monitoring.alertmanager.receivers, or remove the secret with `pulumi config rm %s`", key, r, r, key))
		}
	}
}

// secretSet reports whether the stack sets the secret key.
func (c *Config) secretSet(key string) bool {
	m := c.Monitoring
	for _, s := range []Secret{c.Logging.IngestToken, m.GrafanaAdminPassword, m.SlackWebhookURL, m.PagerDutyRoutingKey, m.WebhookURL, m.HeartbeatURL} {
		if s.Key() == key {
			return s.IsSet()
		}
	}
	return false
}
