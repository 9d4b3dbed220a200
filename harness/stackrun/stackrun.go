// Package stackrun evaluates this repository's program (stacks.Run, the
// function main.go runs) for a stack file, through the mocks harness.
package stackrun

import (
	"errors"
	"fmt"
	"io"
	"os"

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

// RunForCommand is Run for a command named prog: it writes why the stack
// could not be evaluated to stderr and returns the command's exit code, 2
// for invalid configuration or a missing stack file, 1 when the program
// failed; st is nil unless the code is 0.
func RunForCommand(prog, dir, stack string, stderr io.Writer) (st *Stack, code int) {
	st, err := Run(dir, stack)
	var invalid *stacks.ValidationError
	switch {
	case err == nil:
		return st, 0
	case errors.As(err, &invalid):
		fmt.Fprintf(stderr, "%s: stack %s: %s\n", prog, stack, invalid.Error())
		return nil, 2
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return nil, 2
	default:
		fmt.Fprintf(stderr, "%s: stack %s: %v\n", prog, stack, err)
		return nil, 1
	}
}
