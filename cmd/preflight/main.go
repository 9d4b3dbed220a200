// Command preflight checks, before `pulumi up`, that the AWS account can
// take a stack: it evaluates the stack offline like cmd/plan to learn what
// the stack will need, then makes read-only AWS calls (a few seconds) with
// the default credential chain in the stack's aws:region.
//
//	go run ./cmd/preflight -stack dev
//
// It checks that the caller is in platform:adminRoleArns, that every managed
// policy the program attaches exists, that the Elastic IP and VPC quotas
// leave room, and that the pinned EKS add-on versions are offered for the
// cluster's Kubernetes version (package preflight).
//
// Exit codes: 0 ready to deploy, 1 one line per problem on stderr (a check
// whose call failed is a problem too), 2 invalid configuration or usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/preflight"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("preflight", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack name: reads Pulumi.<stack>.yaml (required)")
	dir := fs.String("dir", ".", "directory holding Pulumi.yaml and the stack files")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up on the AWS calls after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stack == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "preflight: -stack is required, and takes no arguments")
		fs.Usage()
		return 2
	}

	st, code := stackrun.RunForCommand("preflight", *dir, *stack, stderr)
	if code != 0 {
		return code
	}
	need, err := preflight.NeedOf(st)
	if err != nil {
		fmt.Fprintf(stderr, "preflight: stack %s: %v\n", *stack, err)
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(need.Region))
	if err != nil {
		fmt.Fprintf(stderr, "preflight: AWS configuration: %v\n", err)
		return 2
	}
	report := preflight.Check(ctx, preflight.NewClients(cfg), need)
	for _, p := range report.Passed {
		fmt.Fprintf(stdout, "preflight: stack %s: ok: %s\n", *stack, p)
	}
	for _, p := range report.Problems {
		fmt.Fprintf(stderr, "preflight: stack %s: %s\n", *stack, p)
	}
	if len(report.Problems) > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "preflight: stack %s: ready to deploy in %s\n", *stack, need.Region)
	return 0
}
