package monitoring

import "sigs.k8s.io/yaml"

// GeneratedFiles returns the configuration files Prometheus and Alertmanager
// read, by relative path, for `cmd/plan -out` and the real-tool tests:
//
//	monitoring/rules/platform-rules.yaml       rule groups (promtool check rules)
//	monitoring/alertmanager/alertmanager.yaml  Alertmanager config (amtool check-config)
//	monitoring/alertmanager/secrets/...        placeholder secret files the config points at
//	monitoring/dashboards/*.json               Grafana dashboards
//
// The Alertmanager file reads receiver secrets from SecretsMountPath; the
// placeholder files carry no secret, so the output is safe to share.
// args is defaulted like NewMonitoring does; the receivers a stack configures
// are named by the booleans in args.Routing.
func GeneratedFiles(args Args) (map[string][]byte, error) {
	routing := args.Routing
	a := args.withDefaults()
	// GeneratedFiles runs without Pulumi secrets: keep the caller's choice
	// of receivers rather than the one derived from Secrets.
	routing.defaults()
	a.Routing = routing
	out := map[string][]byte{}
	rules, err := RulesYAML(a.Rules)
	if err != nil {
		return nil, err
	}
	out["monitoring/rules/platform-rules.yaml"] = rules
	am, err := yaml.Marshal(AlertmanagerConfig(a.Routing))
	if err != nil {
		return nil, err
	}
	out["monitoring/alertmanager/alertmanager.yaml"] = am
	for _, key := range []string{SecretKeySlackURL, SecretKeyPagerDutyKey, SecretKeyWebhookURL, SecretKeyHeartbeatURL} {
		out["monitoring/alertmanager/secrets/"+ReceiversSecretName+"/"+key] = []byte("placeholder: set with `pulumi config set --secret`\n")
	}
	boards, err := Dashboards(a.Rules)
	if err != nil {
		return nil, err
	}
	for name, b := range boards {
		out["monitoring/dashboards/"+name] = b
	}
	return out, nil
}
