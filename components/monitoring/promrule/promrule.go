// Package promrule is the Prometheus rule file: rule groups of recording
// and alerting rules, as Prometheus, promtool and the PrometheusRule spec
// read them. It imports only the standard library, so the validation
// module reads the platform's rule files with these types without pulling
// in the monitoring component and the Pulumi SDK.
package promrule

// File is the rule file promtool and Prometheus read.
type File struct {
	Groups []Group `json:"groups"`
}

// Group is a rule group (rule file and PrometheusRule spec).
type Group struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is a recording or alerting rule.
type Rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}
