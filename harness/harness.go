// Package harness runs the platform program offline under the Pulumi Go SDK's
// mocks and records everything it declares: every resource's type, name,
// parent, inputs, dependencies and options, and the stack outputs. The tests,
// the plan command and the policy checks all read these records, so they see
// exactly what `pulumi preview` would send to the engine.
package harness

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Project is the Pulumi project name (Pulumi.yaml).
const Project = "platform"

// MockAccount is the AWS account id the mocks put into ARNs.
const MockAccount = "123456789012"

// Resource is one registered resource as the engine would receive it.
type Resource struct {
	URN    string
	ID     string // the mock's physical id, <kind>-<name>, for custom resources
	Type   string
	Name   string
	Parent string // URN of the parent; the stack's URN for top-level resources
	Custom bool   // false for component resources
	// Provider is the provider reference (URN::id) for custom resources that
	// name one explicitly.
	Provider string
	Inputs   resource.PropertyMap
	// DependsOn holds the URNs this resource depends on, explicit and implied
	// by its inputs.
	DependsOn     []string
	Protect       bool
	IgnoreChanges []string
	// Aliases are the names (or URNs) the resource was known by before: the
	// engine moves state recorded under one of them instead of replacing.
	Aliases []string
}

// Output is one resolved stack output.
type Output struct {
	Value  any
	Secret bool
	Known  bool
}

// Result is everything one run of a program declared.
type Result struct {
	Stack     string
	StackURN  string
	Resources []Resource
	Outputs   map[string]Output
}

// mocks records registrations and answers with plausible computed outputs.
type mocks struct {
	mu        sync.Mutex
	stack     string
	region    string
	resources []Resource
	stackRefs map[string]map[string]any
}

func (m *mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(Project), parentType, tokens.Type(typ), name))
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if args.TypeToken == "pulumi:pulumi:StackReference" {
		outputs, ok := m.stackRefs[args.ID]
		if !ok {
			return "", nil, fmt.Errorf("stack reference %q: no outputs given to the harness (Options.StackReferences)", args.ID)
		}
		return args.ID, resource.PropertyMap{
			"name":    resource.NewProperty(args.ID),
			"outputs": resource.NewProperty(resource.NewPropertyMapFromMap(outputs)),
		}, nil
	}
	rpc := args.RegisterRPC
	r := Resource{
		Type:     args.TypeToken,
		Name:     args.Name,
		Custom:   args.Custom,
		Provider: args.Provider,
		Inputs:   args.Inputs,
	}
	if rpc != nil {
		r.URN = m.urn(rpc.GetParent(), args.TypeToken, args.Name)
		r.Parent = rpc.GetParent()
		r.DependsOn = append([]string(nil), rpc.GetDependencies()...)
		sort.Strings(r.DependsOn)
		r.Protect = rpc.GetProtect()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.Aliases = append(r.Aliases, rpc.GetAliasURNs()...)
		for _, a := range rpc.GetAliases() {
			if u := a.GetUrn(); u != "" {
				r.Aliases = append(r.Aliases, u)
			} else if n := a.GetSpec().GetName(); n != "" {
				r.Aliases = append(r.Aliases, n)
			}
		}
	}
	if args.Custom {
		// Like real ids, mock ids name their kind, so a NAT gateway and its
		// elastic IP of the same logical name get different ids.
		kind := args.TypeToken[strings.LastIndex(args.TypeToken, ":")+1:]
		r.ID = strings.ToLower(kind) + "-" + args.Name
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()

	if !args.Custom {
		return "", resource.PropertyMap{}, nil
	}
	id := r.ID
	return id, m.computed(args.TypeToken, args.Name, id, args.Inputs), nil
}

// Call answers invokes. The program looks nothing up, so previews do not
// depend on the account they run against; any invoke is a bug.
func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected data-source call %s: the program must not look anything up", args.Token)
}

// computed returns the inputs plus the outputs the cloud would compute and
// the program reads (ARNs, endpoints, issuer URLs).
func (m *mocks) computed(typ, name, id string, inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	set := func(k string, v resource.PropertyValue) {
		if _, ok := out[resource.PropertyKey(k)]; !ok {
			out[resource.PropertyKey(k)] = v
		}
	}
	str := func(k string) string {
		if v, ok := inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	physical := str("name")
	if physical == "" {
		physical = name
	}
	switch typ {
	case "aws:eks/cluster:Cluster":
		set("endpoint", resource.NewProperty(fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(physical), m.region)))
		set("certificateAuthority", resource.NewProperty(resource.PropertyMap{
			"data": resource.NewProperty("bW9jay1jbHVzdGVyLWNh"), // base64("mock-cluster-ca")
		}))
		set("identities", resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
			"oidcs": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
				"issuer": resource.NewProperty(fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/MOCK%s", m.region, strings.ToUpper(physical))),
			})}),
		})}))
		set("arn", resource.NewProperty(fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", m.region, MockAccount, physical)))
		// EKS creates the cluster security group and names it in vpcConfig.
		if vpc, ok := out["vpcConfig"]; ok && vpc.IsObject() {
			v := vpc.ObjectValue().Copy()
			v["clusterSecurityGroupId"] = resource.NewProperty("sg-0mock" + strings.ToLower(physical))
			out["vpcConfig"] = resource.NewProperty(v)
		}
	case "aws:sqs/queue:Queue":
		set("arn", resource.NewProperty(fmt.Sprintf("arn:aws:sqs:%s:%s:%s", m.region, MockAccount, physical)))
		set("url", resource.NewProperty(fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", m.region, MockAccount, physical)))
	case "aws:iam/role:Role":
		set("arn", resource.NewProperty(fmt.Sprintf("arn:aws:iam::%s:role/%s", MockAccount, physical)))
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		set("arn", resource.NewProperty(fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", MockAccount, strings.TrimPrefix(str("url"), "https://"))))
	case "aws:kms/key:Key":
		set("keyId", resource.NewProperty(id))
		set("arn", resource.NewProperty(fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", m.region, MockAccount, id)))
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", resource.NewProperty(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", m.region, MockAccount, physical)))
	case "aws:ec2/launchTemplate:LaunchTemplate":
		set("latestVersion", resource.NewProperty(1.0))
	}
	service := strings.SplitN(strings.TrimPrefix(typ, "aws:"), "/", 2)[0]
	set("arn", resource.NewProperty(fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", service, m.region, MockAccount, strings.ToLower(typ[strings.LastIndex(typ, ":")+1:]), physical)))
	set("name", resource.NewProperty(physical))
	return out
}

// withConfig is a RunOption that supplies the stack's configuration, the way
// the Pulumi engine does for a real run.
func withConfig(config map[string]string, secretKeys []string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secretKeys
	}
}

// Options are the less common inputs of a run.
type Options struct {
	// StackReferences gives the outputs of the stacks the program reads with
	// pulumi.NewStackReference, by stack name (org/project/stack).
	StackReferences map[string]map[string]any
}

// Run evaluates program for a stack with the given configuration.
func Run(stack string, config map[string]string, secretKeys []string, program pulumi.RunFunc) (*Result, error) {
	return RunWithOptions(stack, config, secretKeys, program, Options{})
}

// RunWithOptions is Run with Options.
func RunWithOptions(stack string, config map[string]string, secretKeys []string, program pulumi.RunFunc, opts Options) (*Result, error) {
	region := config["aws:region"]
	if region == "" {
		region = "eu-west-1"
	}
	m := &mocks{stack: stack, region: region, stackRefs: opts.StackReferences}
	res := &Result{Stack: stack, Outputs: map[string]Output{}}
	res.StackURN = m.urn("", string(resource.RootStackType), Project+"-"+stack)

	var awaitErr error
	body := func(ctx *pulumi.Context) error {
		if err := program(ctx); err != nil {
			return err
		}
		for k, v := range ctx.GetCurrentExportMap() {
			r, err := internals.UnsafeAwaitOutput(context.Background(), pulumi.ToOutput(v))
			if err != nil {
				awaitErr = errors.Join(awaitErr, fmt.Errorf("output %s: %w", k, err))
				continue
			}
			res.Outputs[k] = Output{Value: r.Value, Secret: r.Secret, Known: r.Known}
		}
		return nil
	}
	err := pulumi.RunErr(body, pulumi.WithMocks(Project, stack, m), withConfig(config, secretKeys))
	if err == nil {
		err = awaitErr
	}
	m.mu.Lock()
	res.Resources = m.resources
	m.mu.Unlock()
	sort.SliceStable(res.Resources, func(i, j int) bool { return res.Resources[i].URN < res.Resources[j].URN })
	return res, err
}
