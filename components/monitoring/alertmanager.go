package monitoring

import (
	"path"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/contract"
)

// Receiver names. Routing is the same in every environment; a receiver whose
// secret is not configured simply has fewer integrations.
const (
	ReceiverPager     = "pager"     // critical: PagerDuty (and Slack, so the channel sees pages)
	ReceiverChat      = "chat"      // warning: Slack
	ReceiverWebhook   = "webhook"   // critical and warning copy to a generic webhook (ticketing, chat-ops)
	ReceiverHeartbeat = "heartbeat" // Watchdog: dead-man's-switch webhook
	ReceiverNull      = "null"      // info and the chart's InfoInhibitor: shown in the UI, never sent
)

// Keys of the receivers Secret (ReceiversSecretName).
const (
	SecretKeySlackURL      = "slack-webhook-url"
	SecretKeyPagerDutyKey  = "pagerduty-routing-key"
	SecretKeyWebhookURL    = "webhook-url"
	SecretKeyHeartbeatURL  = "heartbeat-url"
	secretKeyGrafanaUser   = "admin-user"
	secretKeyGrafanaPasswd = "admin-password"
)

// SecretFile is the path Alertmanager reads a receivers Secret key from.
func SecretFile(key string) string {
	return path.Join(SecretsMountPath, ReceiversSecretName, key)
}

// RoutingArgs is the typed input of the Alertmanager configuration. The
// booleans say which receiver secrets the stack configures; their values
// never reach this configuration.
type RoutingArgs struct {
	// Slack: a Slack incoming-webhook URL is configured. Default false.
	Slack bool
	// SlackChannel overrides the webhook's channel. Default "" (the webhook's own).
	SlackChannel string
	// PagerDuty: a PagerDuty Events API v2 routing key is configured. Default false.
	PagerDuty bool
	// Webhook: a generic webhook URL is configured. Default false.
	Webhook bool
	// Heartbeat: a dead-man's-switch URL is configured; without it Watchdog
	// goes to the null receiver. Default false.
	Heartbeat bool
	// GroupWait, GroupInterval: default [DefaultGroupWait] and
	// [DefaultGroupInterval].
	GroupWait, GroupInterval string
	// CriticalRepeatInterval (default [DefaultCriticalRepeatInterval]) and
	// WarningRepeatInterval (default [DefaultWarningRepeatInterval]): how often an unresolved alert is sent again.
	CriticalRepeatInterval, WarningRepeatInterval string
	// HeartbeatInterval: how often Watchdog is sent to the heartbeat URL;
	// default [DefaultHeartbeatInterval] (the dead-man's switch alerts after a few missed beats).
	HeartbeatInterval string
}

// Defaults of RoutingArgs.
const (
	DefaultGroupWait              = "30s"
	DefaultGroupInterval          = "5m"
	DefaultCriticalRepeatInterval = "1h"
	DefaultWarningRepeatInterval  = "12h"
	DefaultHeartbeatInterval      = "1m"
)

func (r *RoutingArgs) defaults() {
	contract.SetDefault(&r.GroupWait, DefaultGroupWait)
	contract.SetDefault(&r.GroupInterval, DefaultGroupInterval)
	contract.SetDefault(&r.CriticalRepeatInterval, DefaultCriticalRepeatInterval)
	contract.SetDefault(&r.WarningRepeatInterval, DefaultWarningRepeatInterval)
	contract.SetDefault(&r.HeartbeatInterval, DefaultHeartbeatInterval)
}

// Config is the Alertmanager configuration file (the fields we use).
type Config struct {
	Route        Route         `json:"route"`
	Receivers    []Receiver    `json:"receivers"`
	InhibitRules []InhibitRule `json:"inhibit_rules"`
}

// Route is a node of the routing tree.
type Route struct {
	Receiver       string   `json:"receiver"`
	GroupBy        []string `json:"group_by,omitempty"`
	Matchers       []string `json:"matchers,omitempty"`
	Continue       bool     `json:"continue,omitempty"`
	GroupWait      string   `json:"group_wait,omitempty"`
	GroupInterval  string   `json:"group_interval,omitempty"`
	RepeatInterval string   `json:"repeat_interval,omitempty"`
	Routes         []Route  `json:"routes,omitempty"`
}

// Receiver is a named set of integrations.
type Receiver struct {
	Name             string            `json:"name"`
	SlackConfigs     []SlackConfig     `json:"slack_configs,omitempty"`
	PagerdutyConfigs []PagerdutyConfig `json:"pagerduty_configs,omitempty"`
	WebhookConfigs   []WebhookConfig   `json:"webhook_configs,omitempty"`
}

// SlackConfig reads its webhook URL from a file.
type SlackConfig struct {
	APIURLFile   string `json:"api_url_file"`
	Channel      string `json:"channel,omitempty"`
	SendResolved bool   `json:"send_resolved"`
	Title        string `json:"title"`
	Text         string `json:"text"`
}

// PagerdutyConfig reads its Events API v2 routing key from a file.
type PagerdutyConfig struct {
	RoutingKeyFile string `json:"routing_key_file"`
	SendResolved   bool   `json:"send_resolved"`
	Description    string `json:"description"`
}

// WebhookConfig reads its URL from a file.
type WebhookConfig struct {
	URLFile      string `json:"url_file"`
	SendResolved bool   `json:"send_resolved"`
}

// InhibitRule mutes target alerts while a source alert fires.
type InhibitRule struct {
	SourceMatchers []string `json:"source_matchers"`
	TargetMatchers []string `json:"target_matchers"`
	Equal          []string `json:"equal"`
}

// inhibitEqual: what "the same alert on the same target" means. A label
// missing on both sides counts as equal, so one list serves every alert.
var inhibitEqual = []string{"alertname", "cluster", "namespace", "service", "job", "instance", "pod", "node", "zone", "name"}

const (
	slackTitle = `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})`
	slackText  = `{{ range .Alerts }}*{{ .Annotations.summary }}*
{{ .Annotations.description }}
Runbook: {{ .Annotations.runbook_url }}
{{ end }}`
	pagerdutyDescription = `{{ .CommonLabels.alertname }}: {{ .CommonAnnotations.summary }}`
)

// AlertmanagerConfig builds the routing tree, receivers and inhibitions.
// Severity decides the channel: critical pages, warning goes to chat, info is
// never sent. Watchdog (always firing, from the chart's rules) goes to the
// heartbeat receiver, so a silent Alertmanager or Prometheus is noticed by
// an outside dead-man's switch.
func AlertmanagerConfig(r RoutingArgs) *Config {
	r.defaults()
	slack := func() []SlackConfig {
		if !r.Slack {
			return nil
		}
		return []SlackConfig{{APIURLFile: SecretFile(SecretKeySlackURL), Channel: r.SlackChannel, SendResolved: true, Title: slackTitle, Text: slackText}}
	}
	var pager Receiver
	pager.Name = ReceiverPager
	if r.PagerDuty {
		pager.PagerdutyConfigs = []PagerdutyConfig{{RoutingKeyFile: SecretFile(SecretKeyPagerDutyKey), SendResolved: true, Description: pagerdutyDescription}}
	}
	pager.SlackConfigs = slack()
	webhook := Receiver{Name: ReceiverWebhook}
	if r.Webhook {
		webhook.WebhookConfigs = []WebhookConfig{{URLFile: SecretFile(SecretKeyWebhookURL), SendResolved: true}}
	}
	heartbeat := Receiver{Name: ReceiverHeartbeat}
	if r.Heartbeat {
		heartbeat.WebhookConfigs = []WebhookConfig{{URLFile: SecretFile(SecretKeyHeartbeatURL), SendResolved: false}}
	}
	heartbeatReceiver := ReceiverHeartbeat
	if !r.Heartbeat {
		heartbeatReceiver = ReceiverNull
	}

	return &Config{
		Route: Route{
			// Anything without a known severity still reaches people.
			Receiver:       ReceiverChat,
			GroupBy:        []string{"alertname", "cluster", "namespace", "severity"},
			GroupWait:      r.GroupWait,
			GroupInterval:  r.GroupInterval,
			RepeatInterval: r.WarningRepeatInterval,
			Routes: []Route{
				{
					Receiver: heartbeatReceiver, Matchers: []string{`alertname="Watchdog"`},
					GroupWait: "0s", GroupInterval: r.HeartbeatInterval, RepeatInterval: r.HeartbeatInterval,
				},
				{Receiver: ReceiverNull, Matchers: []string{`alertname="InfoInhibitor"`}},
				// A copy of everything actionable to the generic webhook.
				{Receiver: ReceiverWebhook, Matchers: []string{`severity=~"critical|warning"`}, Continue: true},
				{Receiver: ReceiverPager, Matchers: []string{`severity="critical"`}, RepeatInterval: r.CriticalRepeatInterval},
				{Receiver: ReceiverChat, Matchers: []string{`severity="warning"`}, RepeatInterval: r.WarningRepeatInterval},
				{Receiver: ReceiverNull, Matchers: []string{`severity=~"info|none"`}},
			},
		},
		Receivers: []Receiver{
			pager,
			{Name: ReceiverChat, SlackConfigs: slack()},
			webhook,
			heartbeat,
			{Name: ReceiverNull},
		},
		InhibitRules: []InhibitRule{
			// A page already covers the warning of the same problem (the
			// slow-burn twin of a fast burn, a certificate at 3 days that
			// was at 14).
			{SourceMatchers: []string{`severity="critical"`}, TargetMatchers: []string{`severity="warning"`}, Equal: inhibitEqual},
			{SourceMatchers: []string{`severity=~"critical|warning"`}, TargetMatchers: []string{`severity="info"`}, Equal: inhibitEqual},
			// A zone without Ready nodes explains every NotReady node in it.
			{SourceMatchers: []string{`alertname="ZoneNoReadyNodes"`}, TargetMatchers: []string{`alertname="NodeNotReady"`}, Equal: []string{"cluster", "zone"}},
			// With no agent running at all, per-agent alerts add nothing.
			{SourceMatchers: []string{`alertname="LogAgentAbsent"`}, TargetMatchers: []string{`alertname=~"LogAgentDown|LogDaemonSetNotScheduled"`}, Equal: []string{"cluster", "namespace"}},
		},
	}
}

// AlertmanagerConfigYAML renders the configuration file.
func AlertmanagerConfigYAML(r RoutingArgs) ([]byte, error) {
	return yaml.Marshal(AlertmanagerConfig(r))
}
