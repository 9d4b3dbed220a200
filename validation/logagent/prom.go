package logagent

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/monitoring/promrule"
)

// Sample is one line of the Prometheus text exposition format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// ParseExposition reads the Prometheus text format the agent serves on
// /api/v2/metrics/prometheus (comments skipped, no timestamps).
func ParseExposition(text string) ([]Sample, error) {
	var out []Sample
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSampleLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %v", i+1, line, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSampleLine(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	rest := line
	end := strings.IndexAny(rest, "{ ")
	if end <= 0 {
		return s, fmt.Errorf("no metric name")
	}
	s.Name, rest = rest[:end], rest[end:]
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, ", ")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return s, fmt.Errorf("bad label set")
			}
			name := rest[:eq]
			rest = rest[eq+2:]
			var val strings.Builder
			for {
				if rest == "" {
					return s, fmt.Errorf("unterminated label value")
				}
				c := rest[0]
				rest = rest[1:]
				if c == '\\' && rest != "" {
					switch rest[0] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[0])
					}
					rest = rest[1:]
					continue
				}
				if c == '"' {
					break
				}
				val.WriteByte(c)
			}
			s.Labels[name] = val.String()
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, err
	}
	s.Value = v
	return s, nil
}

// Scrape is one scrape of the agent as Prometheus would take it: OK is
// false when the agent did not answer (up == 0).
type Scrape struct {
	At      time.Time
	OK      bool
	Samples []Sample
}

// metricSelector finds metric names in PromQL: an identifier followed by a
// label matcher. Every metric the platform's rules and dashboards use is
// written with matchers (at least the namespace).
var metricSelector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// MetricNames lists the metric names used in PromQL expressions.
func MetricNames(exprs ...string) []string {
	set := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricSelector.FindAllStringSubmatch(e, -1) {
			set[m[1]] = true
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LogRules returns the log pipeline's rule group of a rule file.
func LogRules(file []byte, group string) (promrule.Group, error) {
	var f promrule.File
	if err := yaml.Unmarshal(file, &f); err != nil {
		return promrule.Group{}, err
	}
	for _, g := range f.Groups {
		if g.Name == group {
			return g, nil
		}
	}
	return promrule.Group{}, fmt.Errorf("no rule group %q", group)
}

// WithoutAnnotations is the group with its alerts' annotations removed:
// they are text for the people paged and play no part in whether an alert
// fires, so a unit test over real series can name the alerts by labels.
func WithoutAnnotations(g promrule.Group) promrule.Group {
	out := promrule.Group{Name: g.Name}
	for _, r := range g.Rules {
		r.Annotations = nil
		out.Rules = append(out.Rules, r)
	}
	return out
}

// AlertNames lists the group's alerts once each.
func AlertNames(g promrule.Group) []string {
	set := map[string]bool{}
	var out []string
	for _, r := range g.Rules {
		if r.Alert != "" && !set[r.Alert] {
			set[r.Alert] = true
			out = append(out, r.Alert)
		}
	}
	return out
}

// Expectation is one promtool alert_rule_test: at minute At of the replay,
// exactly the alerts Firing (their labels) of Alert fire.
type Expectation struct {
	At     int
	Alert  string
	Firing []map[string]string
}

// PromtoolTest writes a promtool unit test (`promtool test rules`) that
// replays scrapes as input series, one scrape per minute of rule time:
// Prometheus scrapes every 30 s and the rules' windows and `for` are
// minutes, while a scenario of this test lasts tens of seconds and is
// scraped every second. target are the labels Prometheus adds to every
// series of the agent's target (job, namespace, pod, ...); only series of
// the metrics in names are replayed, plus `up`.
func PromtoolTest(ruleFile string, scrapes []Scrape, target map[string]string, names []string, exps []Expectation) ([]byte, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	type series struct {
		name   string
		labels map[string]string
		values []string
	}
	all := map[string]*series{}
	var keys []string
	get := func(name string, labels map[string]string) *series {
		merged := map[string]string{}
		for k, v := range labels {
			merged[k] = v
		}
		for k, v := range target {
			merged[k] = v
		}
		key := name + promLabels(merged)
		s := all[key]
		if s == nil {
			s = &series{name: name, labels: merged, values: make([]string, len(scrapes))}
			for i := range s.values {
				s.values[i] = "_"
			}
			all[key] = s
			keys = append(keys, key)
		}
		return s
	}
	for i, sc := range scrapes {
		up := 0.0
		if sc.OK {
			up = 1
		}
		get("up", nil).values[i] = formatValue(up)
		for _, s := range sc.Samples {
			if want[s.Name] {
				get(s.Name, s.Labels).values[i] = formatValue(s.Value)
			}
		}
	}
	sort.Strings(keys)
	var input []map[string]string
	for _, k := range keys {
		input = append(input, map[string]string{"series": k, "values": strings.Join(all[k].values, " ")})
	}
	var tests []map[string]any
	for _, e := range exps {
		firing := []map[string]any{}
		for _, l := range e.Firing {
			firing = append(firing, map[string]any{"exp_labels": l})
		}
		tests = append(tests, map[string]any{"eval_time": fmt.Sprintf("%dm", e.At), "alertname": e.Alert, "exp_alerts": firing})
	}
	doc := map[string]any{
		"rule_files":          []string{ruleFile},
		"evaluation_interval": "1m",
		"tests": []map[string]any{{
			"interval":        "1m",
			"input_series":    input,
			"alert_rule_test": tests,
		}},
	}
	return yaml.Marshal(doc)
}

func promLabels(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	var keys []string
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
