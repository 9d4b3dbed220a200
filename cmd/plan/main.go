// Command plan evaluates the platform program for one stack offline, with no
// cloud credentials and no network, through the same mocks harness the tests
// use, and prints what the stack declares.
//
//	go run ./cmd/plan -stack dev              # resource tree by component
//	go run ./cmd/plan -stack prod -json       # every resource, inputs and outputs
//	go run ./cmd/plan -stack prod -out DIR    # Kubernetes objects as YAML files,
//	                                          # each Helm release rendered under DIR/charts/<release>/
//	go run ./cmd/plan -stack prod -strict     # exit 1 on a failed baseline check
//	go run ./cmd/plan -stack prod -deploy     # also exit 1 on example values and on a per-region
//	                                          # quota the stacks sharing its account exceed (the deploy workflow)
//	go run ./cmd/plan -stack prod -deploy -quota-eips 10   # after AWS raised the Elastic IP quota
//
// Both outputs include the security baseline checks, the monthly cost
// estimate, the deploy-time estimate (critical path) and the cross-stack
// quota check: every stack file in the directory, grouped by account and
// region, against the Elastic IP and VPC quotas (package quota).
//
// Exit codes: 0 ok, 1 the program failed (or -strict and a check failed),
// 2 invalid configuration or usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/cmd/plan/planout"
	"github.com/cnplatform/platform/cost"
	"github.com/cnplatform/platform/deploytime"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/policy"
	"github.com/cnplatform/platform/quota"
	"github.com/cnplatform/platform/stacks"
	"github.com/cnplatform/platform/zonefailure"
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
	Stack          string           `json:"stack"`
	Resources      []planResource   `json:"resources"`
	Outputs        map[string]any   `json:"outputs"`
	Checks         []policy.Finding `json:"checks"`
	CostMonthlyUSD cost.Estimate    `json:"costMonthlyUSD"`
	CriticalPath   deploytime.Path  `json:"criticalPath"`
	// ZoneFailure has one report per availability zone (none for local).
	ZoneFailure []zonefailure.ZoneReport `json:"zoneFailure"`
	// Charts has one report per Helm release rendered (-charts).
	Charts []planout.ChartReport `json:"charts"`
	// Quotas is the cross-stack check of per-region quotas.
	Quotas QuotaReport `json:"quotas"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack name: reads Pulumi.<stack>.yaml (required)")
	dir := fs.String("dir", ".", "directory holding Pulumi.yaml and the stack files")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	out := fs.String("out", "", "write the declared Kubernetes objects as YAML under this directory")
	strict := fs.Bool("strict", false, "exit 1 when any security baseline check fails")
	charts := fs.String("charts", "", "static Helm chart repository (index.yaml and archives) -json and -out render the releases from; default $"+planout.ChartsDirEnv+" or DIR/../shared/charts when present")
	deploy := fs.Bool("deploy", false, "the stack is about to be deployed: exit 1 when it holds example values (documentation account ids, CIDR blocks, domains, zone ids) or the stacks sharing its account and region exceed a quota")
	quotaEIPs := fs.Int("quota-eips", quota.ElasticIPs.Default, "the Elastic IP quota per account and region ("+quota.ElasticIPs.Code+" \""+quota.ElasticIPs.Name+"\"): AWS's default, or what AWS raised it to")
	quotaVPCs := fs.Int("quota-vpcs", quota.VPCs.Default, "the VPC quota per account and region ("+quota.VPCs.Code+" \""+quota.VPCs.Name+"\"): AWS's default, or what AWS raised it to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stack == "" {
		fmt.Fprintln(stderr, "plan: -stack is required")
		fs.Usage()
		return 2
	}

	st, code := stackrun.RunForCommand("plan", *dir, *stack, stderr)
	if code != 0 {
		return code
	}

	res := st.Result
	checks := policy.Evaluate(res, policy.Options{Production: st.Config.Environment == stacks.Prod})
	estimate, err := cost.Monthly(res)
	if err != nil {
		fmt.Fprintf(stderr, "plan: stack %s: cost: %v\n", *stack, err)
		return 1
	}
	quotas := checkQuotas(*dir, *stack, st, quota.Limits{quota.ElasticIPs.Code: *quotaEIPs, quota.VPCs.Code: *quotaVPCs})
	rendered, code := renderForPlan(res, st.Config, *charts, *dir, *out != "" || *asJSON, stderr)
	if code != 0 {
		return code
	}
	if *out != "" {
		if err := writeCharts(rendered, *out); err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return 1
		}
		if err := writeObjects(res, st.Config, *out); err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		p := toPlan(res)
		p.Checks = checks
		p.CostMonthlyUSD = estimate
		p.Quotas = quotas
		p.CriticalPath = deploytime.CriticalPath(res)
		p.ZoneFailure = zonefailure.Simulate(res)
		p.Charts = chartReports(rendered)
		if p.ZoneFailure == nil {
			p.ZoneFailure = []zonefailure.ZoneReport{}
		}
		if err := enc.Encode(p); err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return 1
		}
	} else {
		printTree(stdout, res)
		printSummary(stdout, res, checks, estimate)
		printQuotas(stdout, quotas)
	}
	if failed := policy.Failures(checks); *strict && len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintf(stderr, "plan: check failed: %s\n", f)
		}
		code = 1
	}
	if examples := stacks.Placeholders(st.Config); *deploy && len(examples) > 0 {
		for _, e := range examples {
			fmt.Fprintf(stderr, "plan: stack %s is not ready to deploy: %s\n", *stack, e)
		}
		code = 1
	}
	if *deploy {
		for _, e := range quotas.excess {
			fmt.Fprintf(stderr, "plan: stack %s is not ready to deploy: %s\n", *stack, e)
			code = 1
		}
	}
	return code
}

// printSummary prints the baseline checks, the cost estimate and the
// deploy-time estimate.
func printSummary(w io.Writer, res *harness.Result, checks []policy.Finding, e cost.Estimate) {
	sum := policy.Summary(checks)
	fmt.Fprintf(w, "security baseline: %d pass, %d fail, %d exempt\n", sum[policy.Pass], sum[policy.Fail], sum[policy.Exempt])
	for _, f := range checks {
		if f.Status != policy.Pass {
			fmt.Fprintf(w, "  %s %s %s: %s\n", f.ID, f.Status, f.Resource, f.Message)
		}
	}
	fmt.Fprintf(w, "estimated cost: $%.2f/month (%s prices as of %s)\n", e.Total, e.Region, e.AsOf)
	for _, it := range e.Items {
		fmt.Fprintf(w, "  $%9.2f  %s\n", it.MonthlyUSD, it.Name)
	}
	for _, n := range e.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, z := range zonefailure.Simulate(res) {
		verdict := "survives"
		if !z.Survives {
			verdict = "DOES NOT survive"
		}
		fmt.Fprintf(w, "losing %s: %s\n", z.Zone, verdict)
		for _, c := range z.Checks {
			mark := "ok  "
			if !c.Survives {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "  %s %s: %s\n", mark, c.Capability, c.Detail)
		}
	}
	p := deploytime.CriticalPath(res)
	fmt.Fprintf(w, "estimated first deploy: %.1f minutes along the longest dependency chain:\n", p.Minutes)
	for _, s := range p.Chain {
		fmt.Fprintf(w, "  %5.1f min  %s\n", s.Minutes, s.Resource)
	}
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

// writeObjects writes each declared Kubernetes object to DIR/kubernetes/ and
// the configuration generated from Go (rules, Alertmanager config, log
// pipelines) beside it.
func writeObjects(res *harness.Result, cfg *stacks.Config, dir string) error {
	files, err := stacks.GeneratedFiles(cfg)
	if err != nil {
		return err
	}
	for path, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			return err
		}
	}
	kdir := filepath.Join(dir, planout.KubernetesSubdir)
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
