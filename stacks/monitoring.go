package stacks

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/monitoring"
	"github.com/cnplatform/platform/components/routing"
)

// MonitoringConfig configures the monitoring layer (docs/monitoring.md):
// `platform:monitoring`, one object (monitoringKey), and the secrets named
// below, each a key of its own so `pulumi config set --secret` sets it.
// The fields hold the values after defaulting.
type MonitoringConfig struct {
	// Enabled (`enabled`): default true when platform:grafanaAdminPassword
	// is set, else false.
	Enabled bool
	// Prometheus (`prometheus`): replicas, retention, volume and the series
	// count it is sized for; defaults per environment.
	Prometheus PrometheusConfig
	// Alertmanager (`alertmanager`): replicas, volume, receivers, routing
	// intervals.
	Alertmanager AlertmanagerConfig
	// StorageClass (`storageClass`): default per environment (Defaults):
	// the gp3 class the cluster component makes, or "" (the cluster's
	// default class) in local.
	StorageClass string
	// SLO (`slo`): the gateway's objectives.
	SLO SLOConfig
	// Receiver secrets (`platform:alertSlackWebhookUrl`,
	// `platform:alertPagerdutyRoutingKey`, `platform:alertWebhookUrl`,
	// `platform:alertHeartbeatUrl`) and Grafana's admin password
	// (`platform:grafanaAdminPassword`): SecretSettings says which are
	// required.
	SlackWebhookURL, PagerDutyRoutingKey, WebhookURL, HeartbeatURL, GrafanaAdminPassword Secret

	// enabled is `enabled` as the stack file writes it (nil: unset).
	enabled *bool
}

// monitoringKey is `platform:monitoring` as written.
type monitoringKey struct {
	Enabled      *bool              `json:"enabled,omitempty"`
	Prometheus   PrometheusConfig   `json:"prometheus"`
	Alertmanager AlertmanagerConfig `json:"alertmanager"`
	StorageClass string             `json:"storageClass,omitempty"`
	SLO          SLOConfig          `json:"slo"`
}

// monitoringField is the key of a field of platform:monitoring.
func monitoringField(field string) string { return Key("monitoring") + "." + field }

// PrometheusConfig is `platform:monitoring.prometheus`.
type PrometheusConfig struct {
	// Replicas (at least 2 in prod), Retention, VolumeSizeGiB (the TSDB is
	// capped at 85 % of it) and ExpectedActiveSeries (memory and CPU follow
	// the sizing rule): defaults per environment (Defaults).
	Replicas             int    `json:"replicas,omitempty"`
	Retention            string `json:"retention,omitempty"`
	VolumeSizeGiB        int    `json:"volumeSizeGiB,omitempty"`
	ExpectedActiveSeries int    `json:"expectedActiveSeries,omitempty"`
	// ScrapeInterval: default monitoring.DefaultScrapeInterval.
	ScrapeInterval string `json:"scrapeInterval,omitempty"`
}

// AlertmanagerConfig is `platform:monitoring.alertmanager`.
type AlertmanagerConfig struct {
	// Replicas: default per environment (Defaults), at least 3 in prod.
	Replicas int `json:"replicas,omitempty"`
	// VolumeSizeGiB: default monitoring.DefaultAlertmanagerVolumeGiB.
	VolumeSizeGiB int `json:"volumeSizeGiB,omitempty"`
	// Receivers: where alerts go, any of pagerduty (critical alerts page),
	// slack (warnings, and pages too), webhook, heartbeat (Watchdog to a
	// dead man's switch). Each needs its secret (SecretSettings). Default
	// none: alerts stay in Alertmanager's UI.
	Receivers []string `json:"receivers,omitempty"`
	// SlackChannel: default "" (the webhook's own channel).
	SlackChannel string `json:"slackChannel,omitempty"`
	// CriticalRepeatInterval, WarningRepeatInterval: default
	// monitoring.DefaultCriticalRepeatInterval, DefaultWarningRepeatInterval.
	CriticalRepeatInterval string `json:"criticalRepeatInterval,omitempty"`
	WarningRepeatInterval  string `json:"warningRepeatInterval,omitempty"`
}

// SLOConfig is `platform:monitoring.slo`.
type SLOConfig struct {
	// Availability: share of gateway requests that must not be 5xx; default
	// monitoring.DefaultAvailabilityObjective.
	Availability float64 `json:"availability,omitempty"`
	// Latency: share of requests faster than LatencyThresholdMs; default
	// monitoring.DefaultLatencyObjective.
	Latency float64 `json:"latency,omitempty"`
	// LatencyThresholdMs: an Envoy bucket bound; default
	// monitoring.DefaultLatencyThresholdMs.
	LatencyThresholdMs int `json:"latencyThresholdMs,omitempty"`
}

// loadMonitoring reads `platform:monitoring` and the monitoring secrets.
func loadMonitoring(r *reader, c *Config) {
	m := &c.Monitoring
	var k monitoringKey
	r.object("monitoring", &k, "must be an object with enabled, prometheus, alertmanager, storageClass, slo")
	m.enabled, m.Prometheus, m.Alertmanager, m.StorageClass, m.SLO = k.Enabled, k.Prometheus, k.Alertmanager, k.StorageClass, k.SLO
	r.secret("alertSlackWebhookUrl", &m.SlackWebhookURL)
	r.secret("alertPagerdutyRoutingKey", &m.PagerDutyRoutingKey)
	r.secret("alertWebhookUrl", &m.WebhookURL)
	r.secret("alertHeartbeatUrl", &m.HeartbeatURL)
	r.secret("grafanaAdminPassword", &m.GrafanaAdminPassword)
}

// defaultMonitoring fills what the stack file left out, per environment.
func defaultMonitoring(c *Config) {
	m := &c.Monitoring
	m.Enabled = valueOr(m.enabled, m.GrafanaAdminPassword.IsSet())
	d, ok := Defaults[c.Environment]
	if !ok {
		return
	}
	p := &m.Prometheus
	contract.SetDefault(&p.Replicas, d.PrometheusReplicas)
	contract.SetDefault(&p.VolumeSizeGiB, d.PrometheusVolumeGiB)
	contract.SetDefault(&p.ExpectedActiveSeries, d.ExpectedActiveSeries)
	contract.SetDefault(&p.Retention, d.Retention)
	contract.SetDefault(&p.ScrapeInterval, monitoring.DefaultScrapeInterval)
	a := &m.Alertmanager
	contract.SetDefault(&a.Replicas, d.AlertmanagerReplicas)
	contract.SetDefault(&a.VolumeSizeGiB, monitoring.DefaultAlertmanagerVolumeGiB)
	contract.SetDefault(&a.CriticalRepeatInterval, monitoring.DefaultCriticalRepeatInterval)
	contract.SetDefault(&a.WarningRepeatInterval, monitoring.DefaultWarningRepeatInterval)
	contract.SetDefault(&m.StorageClass, d.StorageClass)
	contract.SetDefault(&m.SLO.Availability, monitoring.DefaultAvailabilityObjective)
	contract.SetDefault(&m.SLO.Latency, monitoring.DefaultLatencyObjective)
	contract.SetDefault(&m.SLO.LatencyThresholdMs, monitoring.DefaultLatencyThresholdMs)
}

// validateMonitoring adds a problem for every bad value.
func validateMonitoring(p *problems, c *Config) {
	m := c.Monitoring
	if !m.Enabled {
		return
	}
	for i, r := range m.Alertmanager.Receivers {
		if !slices.Contains(Receivers, r) || slices.Index(m.Alertmanager.Receivers, r) != i {
			p.add(fmt.Sprintf("%s.receivers[%d]", monitoringField("alertmanager"), i), r, "must be one of %v, each listed once", Receivers)
		}
	}
	pk := func(f string) string { return monitoringField("prometheus") + "." + f }
	ak := func(f string) string { return monitoringField("alertmanager") + "." + f }
	pr, am := m.Prometheus, m.Alertmanager
	minProm, minAM := 1, 1
	if c.Environment == Prod {
		minProm, minAM = 2, 3
	}
	if pr.Replicas < minProm || pr.Replicas > monitoring.MaxReplicas {
		p.add(pk("replicas"), pr.Replicas, "must be between %d and %d in %s (prod runs 2+ for high availability)", minProm, monitoring.MaxReplicas, c.Environment)
	}
	if am.Replicas < minAM || am.Replicas > monitoring.MaxReplicas {
		p.add(ak("replicas"), am.Replicas, "must be between %d and %d in %s (prod runs 3 so a zone loss keeps a quorum)", minAM, monitoring.MaxReplicas, c.Environment)
	}
	durations := []struct{ key, value string }{
		{pk("retention"), pr.Retention}, {pk("scrapeInterval"), pr.ScrapeInterval},
		{ak("criticalRepeatInterval"), am.CriticalRepeatInterval}, {ak("warningRepeatInterval"), am.WarningRepeatInterval},
	}
	durationsOK := true
	for _, d := range durations {
		if err := monitoring.CheckDuration(d.value); err != nil {
			p.add(d.key, d.value, "%v", err)
			durationsOK = false
		}
	}
	if pr.VolumeSizeGiB < 5 || pr.VolumeSizeGiB > 16384 {
		p.add(pk("volumeSizeGiB"), pr.VolumeSizeGiB, "must be between 5 and 16384 GiB")
	}
	if am.VolumeSizeGiB < 1 || am.VolumeSizeGiB > 100 {
		p.add(ak("volumeSizeGiB"), am.VolumeSizeGiB, "must be between 1 and 100 GiB")
	}
	if err := monitoring.CheckExpectedSeries(pr.ExpectedActiveSeries); err != nil {
		p.add(pk("expectedActiveSeries"), pr.ExpectedActiveSeries, "%v", err)
	}
	if durationsOK && pr.VolumeSizeGiB >= 5 && pr.ExpectedActiveSeries >= 1000 {
		interval := int(monitoring.DurationSeconds(pr.ScrapeInterval))
		need := float64(monitoring.DiskBytesPerDay(pr.ExpectedActiveSeries, max(interval, 1))) * monitoring.DurationSeconds(pr.Retention) / 86400
		capBytes := float64(monitoring.RetentionSizeBytes(int64(pr.VolumeSizeGiB) << 30))
		if need > capBytes {
			p.add(pk("volumeSizeGiB"), pr.VolumeSizeGiB, "is too small for %s of %d series at %s (about %.0f GiB at 2 bytes per sample, and the TSDB may use only 85%% of the volume): raise it to at least %d",
				pr.Retention, pr.ExpectedActiveSeries, pr.ScrapeInterval, need/(1<<30), int(need/0.85/(1<<30))+1)
		}
	}
	if err := monitoring.CheckStorageClass(m.StorageClass); m.StorageClass != "" && err != nil {
		p.add(monitoringField("storageClass"), m.StorageClass, "%v", err)
	}
	for key, v := range map[string]float64{"availability": m.SLO.Availability, "latency": m.SLO.Latency} {
		if err := monitoring.CheckObjective(v); err != nil {
			p.add(monitoringField("slo")+"."+key, v, "%v", err)
		}
	}
	if err := monitoring.CheckLatencyThreshold(m.SLO.LatencyThresholdMs); err != nil {
		p.add(monitoringField("slo")+".latencyThresholdMs", m.SLO.LatencyThresholdMs, "%v", err)
	}
}

func secretInput(s Secret) pulumi.StringInput {
	if !s.IsSet() {
		return nil
	}
	return s.Output()
}

// MonitoringArgs turns the configuration into the component's Args (also
// used by cmd/plan to write the generated files).
func MonitoringArgs(cfg *Config) *monitoring.Args {
	m := cfg.Monitoring
	cluster := cfg.Cluster.Name
	if cfg.Environment == Local {
		cluster = cfg.Local.KubeconfigContext
	}
	args := &monitoring.Args{
		ClusterName: cluster,
		Environment: string(cfg.Environment),
		EKS:         cfg.Environment != Local,
		// EKS nodes always carry their zone; a local cluster's only when
		// it asks for highAvailability.
		ZoneSpread:   cfg.Environment != Local || cfg.HighAvailability,
		StorageClass: m.StorageClass,
		// prod keeps its TSDB through a mistaken delete (docs/operations.md).
		RetainVolumes: cfg.Protect,
		Prometheus: monitoring.PrometheusArgs{
			Replicas: m.Prometheus.Replicas, Retention: m.Prometheus.Retention, VolumeSizeGiB: m.Prometheus.VolumeSizeGiB,
			ExpectedSeries: m.Prometheus.ExpectedActiveSeries, ScrapeInterval: m.Prometheus.ScrapeInterval,
		},
		Alertmanager: monitoring.AlertmanagerArgs{Replicas: m.Alertmanager.Replicas, VolumeSizeGiB: m.Alertmanager.VolumeSizeGiB},
		Routing: monitoring.RoutingArgs{
			SlackChannel:           m.Alertmanager.SlackChannel,
			CriticalRepeatInterval: m.Alertmanager.CriticalRepeatInterval,
			WarningRepeatInterval:  m.Alertmanager.WarningRepeatInterval,
			// Which receivers exist; NewMonitoring derives the same from
			// Secrets, GeneratedFiles reads these.
			Slack:     slices.Contains(m.Alertmanager.Receivers, ReceiverSlack),
			PagerDuty: slices.Contains(m.Alertmanager.Receivers, ReceiverPagerDuty),
			Webhook:   slices.Contains(m.Alertmanager.Receivers, ReceiverWebhook),
			Heartbeat: slices.Contains(m.Alertmanager.Receivers, ReceiverHeartbeat),
		},
		Rules: monitoring.RuleArgs{
			GatewayNamespace:      routing.EnvoyGatewayNamespace,
			AvailabilityObjective: m.SLO.Availability,
			LatencyObjective:      m.SLO.Latency,
			LatencyThresholdMs:    m.SLO.LatencyThresholdMs,
			LogAgentJob:           cfg.Logging.Agent,
			LogAgentDaemonSet:     cfg.Logging.Agent,
		},
		Secrets: monitoring.ReceiverSecrets{
			SlackWebhookURL:     secretInput(m.SlackWebhookURL),
			PagerDutyRoutingKey: secretInput(m.PagerDutyRoutingKey),
			WebhookURL:          secretInput(m.WebhookURL),
			HeartbeatURL:        secretInput(m.HeartbeatURL),
		},
		GrafanaAdminPassword: secretInput(m.GrafanaAdminPassword),
	}
	args.APIServer = cfg.APIServer()
	if cfg.Environment != Local && cfg.Network.VpcCIDR != "" {
		// On EKS every node sits in the VPC.
		args.ScrapeCIDRs = []string{cfg.Network.VpcCIDR}
	}
	return args
}

// deployMonitoring builds the monitoring component onto p.Provider. In
// local there is no AWS: the default StorageClass and no zone spreading.
func deployMonitoring(ctx *pulumi.Context, cfg *Config, p *Platform) error {
	if !cfg.Monitoring.Enabled {
		return nil
	}
	args := MonitoringArgs(cfg)
	if p.Cluster != nil {
		// The gp3 StorageClass and the add-ons on the nodes (EBS CSI).
		args.DependsOn = p.Cluster.Ready
	}
	comp, err := monitoring.NewMonitoring(ctx, "monitoring", args, pulumi.Provider(p.Provider), cfg.Charts.Source.Option())
	if err != nil {
		return fmt.Errorf("monitoring: %w", err)
	}
	p.Monitoring = comp
	return nil
}

// MonitoringFiles returns the rule file, the Alertmanager configuration (its
// receiver secrets as file paths plus placeholder files) and the dashboards
// a stack deploys, by relative path, for `cmd/plan -out`. Nil when
// monitoring is off. No secret value is read.
func MonitoringFiles(cfg *Config) (map[string][]byte, error) {
	if !cfg.Monitoring.Enabled {
		return nil, nil
	}
	a := MonitoringArgs(cfg)
	a.Secrets, a.GrafanaAdminPassword = monitoring.ReceiverSecrets{}, nil
	return monitoring.GeneratedFiles(*a)
}
