package stacks

import (
	"fmt"

	"github.com/cnplatform/platform/components/logging"
)

// GeneratedFiles returns the configuration the stack generates from Go, by
// path: Prometheus rules, the Alertmanager config and dashboards
// (monitoring/), and the log agents' pipelines (logging/: both agents, so a
// team can compare them before switching). Secrets are placeholders; no
// secret value is read. cmd/plan -out writes these files.
func GeneratedFiles(cfg *Config) (map[string][]byte, error) {
	files, err := MonitoringFiles(cfg)
	if err != nil {
		return nil, err
	}
	if files == nil {
		files = map[string][]byte{}
	}
	if !cfg.Logging.Enabled {
		return files, nil
	}
	for _, agent := range []string{logging.FluentBit, logging.Fluentd} {
		args := LoggingArgs(cfg)
		if agent != args.Agent {
			args.MemoryLimitMiB = 0 // the other agent's own default
		}
		args.Agent = agent
		r, err := logging.Render(args)
		if err != nil {
			return nil, fmt.Errorf("rendering the %s pipeline: %w", agent, err)
		}
		files["logging/"+agent+"/"+r.ConfigFile] = []byte(r.Config)
	}
	return files, nil
}
