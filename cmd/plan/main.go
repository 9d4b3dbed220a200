// Command plan evaluates the platform program for one stack offline, with no
// cloud credentials and no network, through the same mocks harness the tests
// use, and prints what the stack declares.
//
//	go run ./cmd/plan -stack dev              # resource tree by component
//	go run ./cmd/plan -stack prod -json       # every resource, inputs and outputs
//	go run ./cmd/plan -stack prod -out DIR    # Kubernetes objects as YAML files
//
// Exit codes: 0 ok, 1 the program failed, 2 invalid configuration or usage.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/stacks"
	"github.com/cnplatform/platform/tests/harness"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// planResource is one resource in the JSON plan.
type planResource struct {
	URN       string         `json:"urn"`
	Type      string         `json:"type"`
	Name      string         `json:"name"`
	Parent    string         `json:"parent"`
	Inputs    map[string]any `json:"inputs"`
	DependsOn []string       `json:"dependsOn"`
	Protect   bool           `json:"protect"`
}

// Plan is the JSON document printed by -json.
type Plan struct {
	Stack     string         `json:"stack"`
	Resources []planResource `json:"resources"`
	Outputs   map[string]any `json:"outputs"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack name: reads Pulumi.<stack>.yaml (required)")
	dir := fs.String("dir", ".", "directory holding Pulumi.yaml and the stack files")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	out := fs.String("out", "", "write the declared Kubernetes objects as YAML under this directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stack == "" {
		fmt.Fprintln(stderr, "plan: -stack is required")
		fs.Usage()
		return 2
	}

	res, err := harness.RunStack(*dir, *stack)
	var invalid *stacks.ValidationError
	switch {
	case errors.As(err, &invalid):
		fmt.Fprintf(stderr, "plan: stack %s: %s\n", *stack, invalid.Error())
		return 2
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "plan: stack %s: %v\n", *stack, err)
		return 1
	}

	if *out != "" {
		if err := writeObjects(res, *out); err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(toPlan(res)); err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return 1
		}
		return 0
	}
	printTree(stdout, res)
	return 0
}

func toPlan(res *harness.Result) Plan {
	p := Plan{Stack: res.Stack, Outputs: map[string]any{}, Resources: []planResource{}}
	for _, r := range res.Resources {
		deps := r.DependsOn
		if deps == nil {
			deps = []string{}
		}
		p.Resources = append(p.Resources, planResource{
			URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent,
			Inputs: r.PlainInputs(), DependsOn: deps, Protect: r.Protect,
		})
	}
	for k, o := range res.Outputs {
		if o.Secret {
			p.Outputs[k] = "[secret]"
		} else {
			p.Outputs[k] = o.Value
		}
	}
	return p
}

// printTree prints components with the number of resources under each and
// the count of each resource type directly inside them.
func printTree(w io.Writer, res *harness.Result) {
	children := map[string][]harness.Resource{}
	for _, r := range res.Resources {
		children[r.Parent] = append(children[r.Parent], r)
	}
	var total func(urn string) int
	total = func(urn string) int {
		n := 0
		for _, c := range children[urn] {
			n += 1 + total(c.URN)
		}
		return n
	}
	var walk func(urn string, depth int)
	walk = func(urn string, depth int) {
		indent := strings.Repeat("  ", depth)
		counts := map[string]int{}
		var components []harness.Resource
		for _, c := range children[urn] {
			if c.Custom {
				counts[c.Type]++
			} else {
				components = append(components, c)
			}
		}
		types := make([]string, 0, len(counts))
		for t := range counts {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			fmt.Fprintf(w, "%s%3d  %s\n", indent, counts[t], t)
		}
		for _, c := range components {
			fmt.Fprintf(w, "%s%s %s (%d resources)\n", indent, c.Type, c.Name, total(c.URN))
			walk(c.URN, depth+1)
		}
	}
	fmt.Fprintf(w, "stack %s: %d resources\n", res.Stack, len(res.Resources))
	walk(res.StackURN, 1)

	fmt.Fprintln(w, "outputs:")
	keys := make([]string, 0, len(res.Outputs))
	for k := range res.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := res.Outputs[k]
		v := any(o.Value)
		if o.Secret {
			v = "[secret]"
		}
		fmt.Fprintf(w, "  %s: %v\n", k, v)
	}
}

// writeObjects writes each declared Kubernetes object to DIR/kubernetes/.
func writeObjects(res *harness.Result, dir string) error {
	kdir := filepath.Join(dir, "kubernetes")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return err
	}
	for _, o := range res.KubernetesObjects() {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", o.URN, err)
		}
		if err := os.WriteFile(filepath.Join(kdir, o.FileName()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
