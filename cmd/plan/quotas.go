package main

import (
	"fmt"
	"io"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/quota"
)

// QuotaReport is the cross-stack check: every stack file in the directory,
// grouped by (account, region), against the per-region quotas.
type QuotaReport struct {
	// Limits are the quota values checked against (-quota-eips, -quota-vpcs).
	Limits []QuotaLimit `json:"limits"`
	// Groups are the stacks that declare AWS resources counted by a quota,
	// by account and region, with each group's need per quota code.
	Groups []QuotaGroup `json:"groups"`
	// Exceeded has one message per group over a quota.
	Exceeded []string `json:"exceeded"`
	// Notes: stacks not counted (their file does not evaluate) or whose
	// account cannot be told offline.
	Notes []string `json:"notes"`

	// excess is the groups over a quota that hold the planned stack: with
	// -deploy they stop it.
	excess []string
}

// QuotaLimit is one quota and the value checked against.
type QuotaLimit struct {
	quota.Quota
	Limit int    `json:"limit"`
	Flag  string `json:"flag"`
}

// QuotaGroup is one (account, region) with its stacks and total need.
type QuotaGroup struct {
	quota.Group
	Need map[string]int `json:"need"`
}

// quotaFlags names the flag that sets each quota's limit.
var quotaFlags = map[string]string{quota.ElasticIPs.Code: "-quota-eips", quota.VPCs.Code: "-quota-vpcs"}

// checkQuotas evaluates every Pulumi.<stack>.yaml in dir (the planned
// stack's result is reused) and checks each (account, region) against the
// limits. A stack file that does not evaluate is noted, not counted: its
// own plan reports why.
func checkQuotas(dir, planned string, plannedStack *stackrun.Stack, limits quota.Limits) QuotaReport {
	r := QuotaReport{Limits: []QuotaLimit{}, Groups: []QuotaGroup{}, Exceeded: []string{}, Notes: []string{}}
	for _, q := range quota.Quotas {
		r.Limits = append(r.Limits, QuotaLimit{Quota: q, Limit: limits.Of(q), Flag: quotaFlags[q.Code]})
	}
	names, err := harness.StackNames(dir)
	if err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("stack files in %s not listed: %v", dir, err))
	}
	var stacks []quota.Stack
	for _, name := range names {
		st := plannedStack
		if name != planned {
			if st, err = stackrun.Run(dir, name); err != nil {
				r.Notes = append(r.Notes, fmt.Sprintf("stack %s not counted: %v", name, err))
				continue
			}
		}
		sf, err := harness.LoadStackFile(dir, name)
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("stack %s not counted: %v", name, err))
			continue
		}
		allowed, err := quota.AllowedAccountIDs(sf.Config)
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("stack %s: %v", name, err))
		}
		s := quota.NewStack(name, st.Config.Region, allowed, st.Config.Cluster.AdminRoleARNs, st.Result)
		if s.Declares() && s.AccountProblem != "" {
			r.Notes = append(r.Notes, fmt.Sprintf("stack %s: %s; counted on its own", name, s.AccountProblem))
		}
		stacks = append(stacks, s)
	}
	groups := quota.GroupByAccountRegion(stacks)
	for _, g := range groups {
		need := map[string]int{}
		for _, q := range quota.Quotas {
			need[q.Code] = g.Need(q)
		}
		r.Groups = append(r.Groups, QuotaGroup{Group: g, Need: need})
	}
	for _, e := range quota.Check(groups, limits) {
		msg := fmt.Sprintf("%s, then pass the raised quota to the plan (%s %d)", e.Error(), quotaFlags[e.Quota.Code], e.Need)
		r.Exceeded = append(r.Exceeded, msg)
		if e.Group.Has(planned) {
			r.excess = append(r.excess, msg)
		}
	}
	return r
}

// printQuotas prints the cross-stack check in the human output.
func printQuotas(w io.Writer, r QuotaReport) {
	fmt.Fprintln(w, "per-region quotas over every stack file, by account and region:")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "  %s:\n", g.Where())
		for _, l := range r.Limits {
			mark := "ok  "
			if g.Need[l.Code] > l.Limit {
				mark = "OVER"
			}
			detail := ""
			for i, s := range g.Stacks {
				if i > 0 {
					detail += ", "
				}
				detail += fmt.Sprintf("%s %d", s.Name, s.Need(l.Quota))
			}
			fmt.Fprintf(w, "    %s %d of %d %s (%s; %s)\n", mark, g.Need[l.Code], l.Limit, l.Name, l.Code, detail)
		}
	}
	for _, e := range r.Exceeded {
		fmt.Fprintf(w, "  over quota: %s\n", e)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}
