// Package policy checks recorded resources against the platform's security
// baseline (shared/reference/security-baseline.md: S1-S26, mapped to the CIS
// EKS Benchmark, Checkov and Trivy ids). It reads what the mocks harness
// recorded, so it runs offline on every stack, and any other Pulumi program
// can run it in its own tests:
//
//	res, _ := harness.Run("dev", cfg, nil, myProgram)
//	for _, f := range policy.Failures(policy.Evaluate(res, policy.Options{})) { t.Error(f) }
//
// A check reports pass, fail or exempt (a documented exception) per
// resource it applies to, or one pass saying there was nothing to check.
package policy

import (
	"fmt"
	"sort"
	"time"

	"github.com/cnplatform/platform/harness"
)

// Status of one finding.
type Status string

// Statuses.
const (
	Pass   Status = "pass"
	Fail   Status = "fail"
	Exempt Status = "exempt"
)

// Finding is the result of one check on one resource.
type Finding struct {
	ID       string `json:"id"`
	Status   Status `json:"status"`
	Resource string `json:"resource"`
	Message  string `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s: %s", f.ID, f.Status, f.Resource, f.Message)
}

// Options tune the checks to the stack being checked.
type Options struct {
	// Production turns on the checks that apply to prod only: resource
	// protection (S24) and load balancer deletion protection (S13).
	Production bool
	// Now is the day Kubernetes support (S16) is judged on. Default: today.
	Now time.Time
}

// Check is one baseline control.
type Check struct {
	ID    string
	Title string
	run   func(in *input) []Finding
}

// Checks are every control of the baseline that can be read from declared
// resources, in baseline order.
var Checks = []Check{
	{"S1", "EKS secrets encrypted with a customer KMS key", checkSecretsEncryption},
	{"S2", "all 5 control-plane log types enabled", checkControlPlaneLogs},
	{"S3", "private endpoint on; public endpoint off or behind an allow-list", checkEndpointAccess},
	{"S4", "nodes in private subnets, no public IP", checkNodesPrivate},
	{"S5", "IMDSv2 required, hop limit 1", checkIMDS},
	{"S6", "no SSH to nodes; no 0.0.0.0/0 ingress on 22/3389", checkNoSSH},
	{"S7", "every security-group rule has a description", checkRuleDescriptions},
	{"S8", "the VPC's default security group allows nothing", checkDefaultSecurityGroup},
	{"S9", "VPC flow logs enabled", checkFlowLogs},
	{"S10", "KMS keys rotate; no * principal", checkKMS},
	{"S11", "IAM: no * actions or resources; node role minimal; workload roles scoped", checkIAM},
	{"S12", "load balancer listeners: TLS 1.2+; HTTP only redirects", checkListeners},
	{"S13", "load balancer access logs; deletion protection in prod", checkLoadBalancerAttributes},
	{"S14", "node volumes encrypted", checkVolumeEncryption},
	{"S15", "log groups have retention", checkLogRetention},
	{"S16", "Kubernetes version in EKS standard support", checkKubernetesSupport},
	{"S17", "no plaintext secrets", checkSecrets},
	{"S18", "our pods run restricted", checkPodSecurity},
	{"S19", "requests and memory limits on our containers", checkResources},
	{"S20", "default-deny NetworkPolicy in platform namespaces", checkDefaultDeny},
	{"S21", "no token automount unless needed; nothing in default", checkServiceAccounts},
	{"S22", "cluster access through access entries", checkAccessEntries},
	{"S23", "Pod Security Admission labels on platform namespaces", checkPodSecurityLabels},
	{"S24", "stateful and costly prod resources protected", checkProtection},
	{"S25", "images and charts pinned", checkPinned},
	{"S26", "state backend encrypted, versioned, private", checkStateBackend},
}

// Evaluate runs every check over res.
func Evaluate(res *harness.Result, opts Options) []Finding {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	in := newInput(res, opts)
	var out []Finding
	for _, c := range Checks {
		findings := c.run(in)
		if len(findings) == 0 {
			findings = []Finding{{Status: Pass, Message: "nothing of this kind is declared"}}
		}
		for _, f := range findings {
			f.ID = c.ID
			out = append(out, f)
		}
	}
	return out
}

// Failures returns the failed findings.
func Failures(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Status == Fail {
			out = append(out, f)
		}
	}
	return out
}

// Summary counts findings per status.
func Summary(findings []Finding) map[Status]int {
	m := map[Status]int{}
	for _, f := range findings {
		m[f.Status]++
	}
	return m
}

// input is what checks read: the recorded resources and helpers over them.
type input struct {
	res     *harness.Result
	opts    Options
	objects []harness.KubernetesObject
}

func newInput(res *harness.Result, opts Options) *input {
	objs := res.KubernetesObjects()
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].URN < objs[j].URN })
	return &input{res: res, opts: opts, objects: objs}
}

func pass(urn, format string, args ...any) Finding {
	return Finding{Status: Pass, Resource: urn, Message: fmt.Sprintf(format, args...)}
}

func fail(urn, format string, args ...any) Finding {
	return Finding{Status: Fail, Resource: urn, Message: fmt.Sprintf(format, args...)}
}

func exempt(urn, format string, args ...any) Finding {
	return Finding{Status: Exempt, Resource: urn, Message: fmt.Sprintf(format, args...)}
}

// verdict passes when problems is empty and fails with the problems otherwise.
// each checks every resource of type typ: one finding per resource, which
// passes with ok when check lists no problem.
func each(in *input, typ, ok string, check func(r harness.Resource) []string) []Finding {
	var out []Finding
	for _, r := range in.res.OfType(typ) {
		out = append(out, verdict(r.URN, ok, check(r)))
	}
	return out
}

func verdict(urn string, ok string, problems []string) Finding {
	if len(problems) == 0 {
		return pass(urn, "%s", ok)
	}
	return fail(urn, "%s", join(problems))
}

func join(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}
