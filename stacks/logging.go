package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LoggingConfig configures the logging layer.
type LoggingConfig struct{}

// loadLogging reads the logging keys (read every key unconditionally, so
// KnownKeys lists them).
func loadLogging(r *reader, c *Config) {}

// defaultLogging fills what the stack file left out, per environment.
func defaultLogging(c *Config) {}

// validateLogging adds a problem for every bad value.
func validateLogging(p *problems, c *Config) {}

// deployLogging builds the logging component onto p.Provider.
func deployLogging(ctx *pulumi.Context, cfg *Config, p *Platform) error { return nil }
