package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MonitoringConfig configures the monitoring layer.
type MonitoringConfig struct{}

// loadMonitoring reads the monitoring keys (read every key unconditionally, so
// KnownKeys lists them).
func loadMonitoring(r *reader, c *Config) {}

// defaultMonitoring fills what the stack file left out, per environment.
func defaultMonitoring(c *Config) {}

// validateMonitoring adds a problem for every bad value.
func validateMonitoring(p *problems, c *Config) {}

// deployMonitoring builds the monitoring component onto p.Provider.
func deployMonitoring(ctx *pulumi.Context, cfg *Config, p *Platform) error { return nil }
