// Package quota counts what a stack's declared resources take from AWS's
// per-region quotas (Elastic IPs, VPCs) and adds up the stacks that share an
// account and a region, because the quotas are per account and region, not
// per stack: dev, staging and prod in one account each fit, together they may
// not. It reads only the resources the program declares (harness), so the
// plan command checks it offline against default or given quotas, and a
// deploy preflight can compare the same need with the quotas and usage AWS
// reports.
package quota

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cnplatform/platform/harness"
)

// Quota is one per-region AWS quota a plan can exceed: a Service Quotas
// code, and the resource type one unit of it is.
type Quota struct {
	// Code and ServiceCode identify it in Service Quotas
	// (`aws service-quotas get-service-quota --service-code S --quota-code C`).
	Code        string `json:"code"`
	ServiceCode string `json:"serviceCode"`
	Name        string `json:"name"`
	// ResourceType is the Pulumi type token of the resources counted.
	ResourceType string `json:"resourceType"`
	// Default is the quota of an account that never asked for more.
	Default int `json:"default"`
}

var (
	// ElasticIPs is "EC2-VPC Elastic IPs": 5 per region by default
	// (docs.aws.amazon.com/general/latest/gr/ec2-service.html, "Amazon EC2
	// endpoints and quotas"; docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html).
	// Each public NAT gateway holds one.
	ElasticIPs = Quota{Code: "L-0263D0A3", ServiceCode: "ec2", Name: "EC2-VPC Elastic IPs",
		ResourceType: "aws:ec2/eip:Eip", Default: 5}
	// VPCs is "VPCs per Region": 5 by default
	// (docs.aws.amazon.com/general/latest/gr/vpc-service.html, "Amazon
	// Virtual Private Cloud endpoints and quotas"). Internet gateways per
	// region follow it (AWS raises both together), so it covers them too.
	VPCs = Quota{Code: "L-F678F1CE", ServiceCode: "vpc", Name: "VPCs per Region",
		ResourceType: "aws:ec2/vpc:Vpc", Default: 5}
)

// Quotas are the per-region quotas a stack is checked against, in report
// order.
var Quotas = []Quota{ElasticIPs, VPCs}

// Count is how many units of q the resources in res take.
func Count(res *harness.Result, q Quota) int { return len(res.OfType(q.ResourceType)) }

// Need is what res takes from the Elastic IP and VPC quotas.
func Need(res *harness.Result) (eips, vpcs int) {
	return Count(res, ElasticIPs), Count(res, VPCs)
}

// Stack is what one stack takes from the quotas, and where.
type Stack struct {
	Name string `json:"name"`
	// Account is the account the stack deploys into, "" when it cannot be
	// told offline (AccountProblem says why; the stack is then counted on
	// its own).
	Account        string `json:"account"`
	AccountProblem string `json:"accountProblem,omitempty"`
	Region         string `json:"region"`
	EIPs           int    `json:"elasticIps"`
	VPCs           int    `json:"vpcs"`
}

// NewStack is a stack's need: its account from Account(allowedAccountIDs,
// adminRoleARNs), its counts from Need(res).
func NewStack(name, region string, allowedAccountIDs, adminRoleARNs []string, res *harness.Result) Stack {
	s := Stack{Name: name, Region: region}
	s.EIPs, s.VPCs = Need(res)
	account, err := Account(allowedAccountIDs, adminRoleARNs)
	if err != nil {
		s.AccountProblem = err.Error()
	}
	s.Account = account
	return s
}

// Need is the stack's count for q (0 for a quota it does not know).
func (s Stack) Need(q Quota) int {
	switch q.Code {
	case ElasticIPs.Code:
		return s.EIPs
	case VPCs.Code:
		return s.VPCs
	}
	return 0
}

// Declares reports whether the stack takes anything from any quota; a
// stack that does not (local: no AWS resources) has no place in a group.
func (s Stack) Declares() bool {
	for _, q := range Quotas {
		if s.Need(q) > 0 {
			return true
		}
	}
	return false
}

// Account derives, offline, the AWS account a stack deploys into: the one
// account in aws:allowedAccountIds (the AWS provider refuses to run in any
// other), else the one account all of platform:adminRoleArns are in (the
// roles that administer the cluster live in its account in the documented
// layout). Roles in several accounts, or none, cannot tell; the error says
// so and what to set.
func Account(allowedAccountIDs, adminRoleARNs []string) (string, error) {
	switch len(allowedAccountIDs) {
	case 0:
	case 1:
		return allowedAccountIDs[0], nil
	default:
		return "", fmt.Errorf("aws:allowedAccountIds %v lists several accounts: the stack's account cannot be told offline; list the one it deploys into", allowedAccountIDs)
	}
	accounts := map[string]bool{}
	for _, arn := range adminRoleARNs {
		// arn:PARTITION:iam::ACCOUNT:role/NAME
		if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[4] != "" {
			accounts[parts[4]] = true
		}
	}
	switch len(accounts) {
	case 0:
		return "", fmt.Errorf("platform:adminRoleArns names no account: the stack's account cannot be told offline; set aws:allowedAccountIds to the account it deploys into")
	case 1:
		for a := range accounts {
			return a, nil
		}
	}
	names := make([]string, 0, len(accounts))
	for a := range accounts {
		names = append(names, a)
	}
	sort.Strings(names)
	return "", fmt.Errorf("platform:adminRoleArns names accounts %s: the stack's account cannot be told offline; set aws:allowedAccountIds to the account it deploys into", strings.Join(names, ", "))
}

// AllowedAccountIDs reads the AWS provider's aws:allowedAccountIds as the
// stack file gives it to the program (a JSON list; account ids written
// without quotes arrive as numbers). Empty when unset.
func AllowedAccountIDs(config map[string]string) ([]string, error) {
	raw, ok := config["aws:allowedAccountIds"]
	if !ok || raw == "" {
		return nil, nil
	}
	var list []json.Number
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		var strs []string
		if err2 := json.Unmarshal([]byte(raw), &strs); err2 != nil {
			return nil, fmt.Errorf("aws:allowedAccountIds %s: must be a list of 12-digit account ids", raw)
		}
		return strs, nil
	}
	out := make([]string, len(list))
	for i, n := range list {
		out[i] = n.String()
	}
	return out, nil
}

// Group is the stacks that share an account and a region, and so its
// quotas.
type Group struct {
	Account string  `json:"account"`
	Region  string  `json:"region"`
	Stacks  []Stack `json:"stacks"`
}

// Need is the group's total for q.
func (g Group) Need(q Quota) int {
	n := 0
	for _, s := range g.Stacks {
		n += s.Need(q)
	}
	return n
}

// Has reports whether the stack named is in the group.
func (g Group) Has(stack string) bool {
	for _, s := range g.Stacks {
		if s.Name == stack {
			return true
		}
	}
	return false
}

// Where names the group: its account (or why it is unknown) and region.
func (g Group) Where() string {
	if g.Account == "" {
		return fmt.Sprintf("stack %s (account unknown: %s), region %s", g.Stacks[0].Name, g.Stacks[0].AccountProblem, g.Region)
	}
	return fmt.Sprintf("account %s, region %s", g.Account, g.Region)
}

// GroupByAccountRegion puts the stacks that declare something (Declares)
// into one group per (account, region), in the order of stacks. A stack
// whose account is unknown is a group of its own: it is still checked on
// its own, but adds to no other.
func GroupByAccountRegion(stacks []Stack) []Group {
	var groups []Group
	index := map[[2]string]int{}
	for _, s := range stacks {
		if !s.Declares() {
			continue
		}
		key := [2]string{s.Account, s.Region}
		if i, ok := index[key]; ok && s.Account != "" {
			groups[i].Stacks = append(groups[i].Stacks, s)
			continue
		}
		index[key] = len(groups)
		groups = append(groups, Group{Account: s.Account, Region: s.Region, Stacks: []Stack{s}})
	}
	return groups
}

// Limits are the quota values to check against, by quota code; a code not
// given has its Default.
type Limits map[string]int

// Of is the limit for q.
func (l Limits) Of(q Quota) int {
	if v, ok := l[q.Code]; ok {
		return v
	}
	return q.Default
}

// Excess is one group over one quota.
type Excess struct {
	Quota Quota `json:"quota"`
	Group Group `json:"group"`
	Need  int   `json:"need"`
	Limit int   `json:"limit"`
}

// Error says where, which stacks take how much, the quota and its code, and
// the two ways out.
func (e Excess) Error() string {
	counts := make([]string, 0, len(e.Group.Stacks))
	names := make([]string, 0, len(e.Group.Stacks))
	for _, s := range e.Group.Stacks {
		counts = append(counts, fmt.Sprintf("%s %d", s.Name, s.Need(e.Quota)))
		names = append(names, s.Name)
	}
	return fmt.Sprintf("%s: stacks %s need %d %s (%s), over the quota of %d (Service Quotas %s %s %q): deploy them into separate accounts, or request an increase "+
		"(aws service-quotas request-service-quota-increase --service-code %s --quota-code %s --desired-value %d --region %s)",
		e.Group.Where(), strings.Join(names, ", "), e.Need, e.Quota.Name, strings.Join(counts, ", "), e.Limit,
		e.Quota.ServiceCode, e.Quota.Code, e.Quota.Name,
		e.Quota.ServiceCode, e.Quota.Code, e.Need, e.Group.Region)
}

// Check compares each group's need with the limits: every group over every
// quota, in group order then Quotas order.
func Check(groups []Group, limits Limits) []Excess {
	var out []Excess
	for _, g := range groups {
		for _, q := range Quotas {
			if need, limit := g.Need(q), limits.Of(q); need > limit {
				out = append(out, Excess{Quota: q, Group: g, Need: need, Limit: limit})
			}
		}
	}
	return out
}
