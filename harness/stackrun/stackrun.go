// Package stackrun evaluates this repository's program (stacks.Run, the
// function main.go runs) for a stack file, through the mocks harness.
package stackrun

import (
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/stacks"
)

// Stack is an evaluated stack: its configuration and what it declared.
type Stack struct {
	Config *stacks.Config
	Result *harness.Result
}

// LoadStackFile reads Pulumi.<stack>.yaml in dir and gives every secret
// its configuration uses (stacks.SecretKeys) a marked placeholder when the
// file does not set it: stack files hold no secrets, which a user sets with
// `pulumi config set --secret` into their own stack file. So the offline
// plan shows a stack as it deploys once its secrets are set.
func LoadStackFile(dir, stack string) (*harness.StackFile, error) {
	sf, err := harness.LoadStackFile(dir, stack)
	if err != nil {
		return nil, err
	}
	sf.AddSecretPlaceholders(stacks.SecretKeys(stacks.StaticSource{Values: sf.Config, SecretKeys: sf.SecretKeys}))
	return sf, nil
}

// Run evaluates Pulumi.<stack>.yaml in dir, with placeholders for the
// secrets it uses (LoadStackFile). Invalid configuration (unknown keys
// included) is returned as a *stacks.ValidationError, and nothing is
// registered.
func Run(dir, stack string) (*Stack, error) {
	sf, err := LoadStackFile(dir, stack)
	if err != nil {
		return nil, err
	}
	if unknown := stacks.UnknownKeys(sf.Keys()); len(unknown) > 0 {
		return nil, &stacks.ValidationError{Problems: unknown}
	}
	cfg, err := stacks.Load(stacks.StaticSource{Values: sf.Config, SecretKeys: sf.SecretKeys})
	if err != nil {
		return nil, err
	}
	res, err := harness.Run(stack, sf.Config, sf.SecretKeys, stacks.Run)
	if err != nil {
		return nil, err
	}
	return &Stack{Config: cfg, Result: res}, nil
}
