// Package stackrun evaluates this repository's program (stacks.Run, the
// function main.go runs) for a stack file, through the mocks harness.
package stackrun

import (
	"github.com/cnplatform/platform/stacks"
	"github.com/cnplatform/platform/tests/harness"
)

// Stack is an evaluated stack: its configuration and what it declared.
type Stack struct {
	Config *stacks.Config
	Result *harness.Result
}

// Run evaluates Pulumi.<stack>.yaml in dir. Invalid configuration (unknown
// keys included) is returned as a *stacks.ValidationError, and nothing is
// registered.
func Run(dir, stack string) (*Stack, error) {
	sf, err := harness.LoadStackFile(dir, stack)
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
