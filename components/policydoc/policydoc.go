// Package policydoc builds IAM policy documents from Go values, so policies
// are typed, testable and never hand-written JSON strings.
package policydoc

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Document is an IAM policy document.
type Document struct {
	Version string `json:"Version"`
	// ID names the document (optional; SQS queue policies carry one).
	ID        string      `json:"Id,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal,omitempty"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource,omitempty"`
	// NotResource makes the statement apply to every resource but these:
	// with Deny, the exceptions to a denial (IAM User Guide, "IAM JSON
	// policy elements: NotResource").
	NotResource []string                     `json:"NotResource,omitempty"`
	Condition   map[string]map[string]string `json:"Condition,omitempty"`
	// ConditionLists are conditions whose key is compared with several
	// values (it matches when it matches any of them); they are rendered
	// into Condition beside the single-valued ones.
	ConditionLists map[string]map[string][]string `json:"-"`
}

// MarshalJSON renders Condition and ConditionLists as the one Condition
// element IAM reads.
func (s Statement) MarshalJSON() ([]byte, error) {
	type plain Statement
	out := struct {
		plain
		Condition map[string]map[string]any `json:"Condition,omitempty"`
	}{plain: plain(s)}
	add := func(op, key string, v any) {
		if out.Condition == nil {
			out.Condition = map[string]map[string]any{}
		}
		if out.Condition[op] == nil {
			out.Condition[op] = map[string]any{}
		}
		out.Condition[op][key] = v
	}
	for op, keys := range s.Condition {
		for k, v := range keys {
			add(op, k, v)
		}
	}
	for op, keys := range s.ConditionLists {
		for k, v := range keys {
			add(op, k, v)
		}
	}
	return json.Marshal(out)
}

// New returns a document with the current policy language version.
func New(statements ...Statement) Document {
	return Document{Version: "2012-10-17", Statement: statements}
}

// Allow returns an Allow statement for actions on resources.
func Allow(actions []string, resources ...string) Statement {
	return Statement{Effect: "Allow", Action: actions, Resource: resources}
}

// JSON renders the document.
func (d Document) JSON() string {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // only plain strings and maps: cannot fail
	}
	return string(b)
}

// ServiceTrust is the trust policy that lets an AWS service assume a role.
func ServiceTrust(service string) string {
	return New(Statement{
		Effect:    "Allow",
		Principal: map[string]any{"Service": service},
		Action:    []string{"sts:AssumeRole"},
	}).JSON()
}

// OnResource renders a document whose statements need a resource ARN that is
// only known once the resource exists.
func OnResource(arn pulumi.StringInput, build func(arn string) Document) pulumi.StringOutput {
	return arn.ToStringOutput().ApplyT(func(a string) string { return build(a).JSON() }).(pulumi.StringOutput)
}
