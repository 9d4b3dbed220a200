// Package iamref checks IAM policy documents and AWS managed-policy ARNs
// against the offline AWS reference data in ../shared/reference/aws (the
// Service Authorization Reference's actions, resource types and condition
// keys, and every AWS managed policy; see its README for sources and dates).
// It is how tests take the truth about AWS from upstream data instead of
// from our own code: a misspelt action, a condition key the action does not
// support, an ARN of the wrong service or a managed policy at a path where
// AWS does not publish it each fail here, offline, instead of at
// `pulumi up`. It imports only the standard library.
package iamref

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// DirEnv names the reference directory when it is not beside the
// repository (../shared/reference/aws).
const DirEnv = "PLATFORM_AWS_REFERENCE_DIR"

// Dir is the reference data for the repository at repoRoot: $DirEnv when
// set, else ../shared/reference/aws beside the repository.
func Dir(repoRoot string) string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	return filepath.Join(repoRoot, "..", "shared", "reference", "aws")
}

// Reference is the loaded data.
type Reference struct {
	// actions by lower-case "prefix:action".
	actions map[string]*action
	// byPrefix lists each prefix's actions (lower-case prefix).
	byPrefix map[string][]*action
	// arnService is the ARN service of each resource type, by
	// "prefix/type" (lower-case): arn:${Partition}:<service>:...
	arnService map[string]string
	// prefixServices are the ARN services of all of a prefix's resource types.
	prefixServices map[string][]string
	globalKeys     []string // spelled as upstream (aws:RequestTag/tag-key)
	managed        map[string]ManagedPolicy
	managedByName  map[string]ManagedPolicy
	deprecated     map[string]ManagedPolicy

	mu       sync.Mutex
	patterns map[string]*regexp.Regexp
}

type action struct {
	name          string // as the SAR spells it
	resourceTypes []string
	conditionKeys []string
}

// ManagedPolicy is one row of managed-policies.tsv (or -deprecated.tsv).
type ManagedPolicy struct {
	ARN, Name, Path, DefaultVersion, Updated string
}

// Load reads the reference data in dir. Every file must be there: a test
// without its upstream truth fails rather than passes.
func Load(dir string) (*Reference, error) {
	r := &Reference{
		actions:        map[string]*action{},
		byPrefix:       map[string][]*action{},
		arnService:     map[string]string{},
		prefixServices: map[string][]string{},
		managed:        map[string]ManagedPolicy{},
		managedByName:  map[string]ManagedPolicy{},
		deprecated:     map[string]ManagedPolicy{},
		patterns:       map[string]*regexp.Regexp{},
	}
	err := errors.Join(
		readTSV(dir, "iam-actions.tsv", []string{"action", "access_level", "resource_types", "condition_keys"}, func(row []string) {
			a := &action{name: row[0], resourceTypes: split(row[2]), conditionKeys: split(row[3])}
			r.actions[strings.ToLower(a.name)] = a
			prefix := strings.ToLower(a.name[:strings.Index(a.name, ":")])
			r.byPrefix[prefix] = append(r.byPrefix[prefix], a)
		}),
		readTSV(dir, "resource-types.tsv", []string{"service_prefix", "resource_type", "arn_format"}, func(row []string) {
			parts := strings.SplitN(row[2], ":", 6)
			if len(parts) < 3 {
				return
			}
			prefix := strings.ToLower(row[0])
			r.arnService[prefix+"/"+strings.ToLower(row[1])] = parts[2]
			if !contains(r.prefixServices[prefix], parts[2]) {
				r.prefixServices[prefix] = append(r.prefixServices[prefix], parts[2])
			}
		}),
		readTSV(dir, "condition-keys.tsv", []string{"service_prefix", "condition_key", "type", "scope"}, func(row []string) {
			if row[3] == "global" {
				r.globalKeys = append(r.globalKeys, row[1])
			}
		}),
		readTSV(dir, "managed-policies.tsv", []string{"arn", "name", "path", "default_version", "updated"}, func(row []string) {
			p := ManagedPolicy{row[0], row[1], row[2], row[3], row[4]}
			r.managed[p.ARN] = p
			r.managedByName[p.Name] = p
		}),
		readTSV(dir, "managed-policies-deprecated.tsv", []string{"arn", "name", "path", "default_version", "updated"}, func(row []string) {
			r.deprecated[row[0]] = ManagedPolicy{row[0], row[1], row[2], row[3], row[4]}
		}),
	)
	if err != nil {
		return nil, err
	}
	if len(r.actions) == 0 || len(r.globalKeys) == 0 || len(r.managed) == 0 || len(r.arnService) == 0 {
		return nil, fmt.Errorf("AWS reference data in %s is incomplete: %d actions, %d global keys, %d managed policies, %d resource types",
			dir, len(r.actions), len(r.globalKeys), len(r.managed), len(r.arnService))
	}
	return r, nil
}

func readTSV(dir, name string, header []string, row func([]string)) error {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("AWS reference data: %w (set %s to the directory holding %s)", err, DirEnv, name)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		cols := strings.Split(sc.Text(), "\t")
		if line == 1 {
			if len(cols) < len(header) || strings.Join(cols[:len(header)], "\t") != strings.Join(header, "\t") {
				return fmt.Errorf("%s: header %q, want columns %q first", path, cols, header)
			}
			continue
		}
		if len(cols) < len(header) {
			return fmt.Errorf("%s:%d: %d columns, want at least %d", path, line, len(cols), len(header))
		}
		row(cols)
	}
	return sc.Err()
}

func split(cell string) []string {
	if cell == "" {
		return nil
	}
	return strings.Split(cell, ",")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Kind is what a policy document is attached as; it decides whether
// statements must or must not name a Principal.
type Kind int

// Kinds of policy documents.
const (
	// Identity policies (role inline policies, customer managed policies)
	// have no Principal.
	Identity Kind = iota
	// Trust policies (a role's assumeRolePolicy) name a Principal and grant
	// only sts:AssumeRole* and sts:TagSession.
	Trust
	// Resource policies (bucket, key, queue policies) name a Principal.
	Resource
)

func (k Kind) String() string {
	return [...]string{"identity policy", "trust policy", "resource policy"}[k]
}

// Rule names what a Problem breaks.
type Rule string

// Rules.
const (
	RuleDocument      Rule = "document"
	RuleAction        Rule = "action"
	RuleStarAction    Rule = "star-action"
	RuleConditionKey  Rule = "condition-key"
	RuleResource      Rule = "resource"
	RulePrincipal     Rule = "principal"
	RuleManagedPolicy Rule = "managed-policy"
)

// Problem is one finding in a policy document.
type Problem struct {
	// Statement is the statement's index; -1 for the whole document.
	Statement int
	Sid       string
	Rule      Rule
	Message   string
}

func (p Problem) String() string {
	where := "document"
	if p.Statement >= 0 {
		where = fmt.Sprintf("statement %d", p.Statement)
		if p.Sid != "" {
			where += fmt.Sprintf(" (Sid %s)", p.Sid)
		}
	}
	return fmt.Sprintf("%s: %s: %s", where, p.Rule, p.Message)
}

type statement struct {
	Sid                     string
	Effect                  string
	Principal, NotPrincipal any
	Action, NotAction       any
	Resource, NotResource   any
	Condition               map[string]map[string]any
}

// CheckDocument checks an IAM JSON policy document of the given kind: every
// action exists (a wildcard matches at least one; "*" alone is reported as
// RuleStarAction so callers list where they grant it deliberately), every
// condition key is a global key or one the SAR lists for each action, every
// resource ARN belongs to the service of the action's resource types, and the
// Principal fits the kind.
func (r *Reference) CheckDocument(kind Kind, doc string) []Problem {
	var d struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return []Problem{{Statement: -1, Rule: RuleDocument, Message: fmt.Sprintf("not a JSON policy document: %v", err)}}
	}
	var statements []statement
	if err := json.Unmarshal(d.Statement, &statements); err != nil {
		var one statement
		if err2 := json.Unmarshal(d.Statement, &one); err2 != nil {
			return []Problem{{Statement: -1, Rule: RuleDocument, Message: fmt.Sprintf("Statement is neither a list nor one statement: %v", err)}}
		}
		statements = []statement{one}
	}
	var out []Problem
	if d.Version != "2012-10-17" {
		out = append(out, Problem{Statement: -1, Rule: RuleDocument, Message: fmt.Sprintf("Version %q: want \"2012-10-17\" (without it, policy variables such as ${aws:username} are literal text)", d.Version)})
	}
	if len(statements) == 0 {
		out = append(out, Problem{Statement: -1, Rule: RuleDocument, Message: "no statements"})
	}
	for i, s := range statements {
		for _, msg := range r.checkStatement(kind, s) {
			msg.Statement, msg.Sid = i, s.Sid
			out = append(out, msg)
		}
	}
	return out
}

func problem(rule Rule, format string, args ...any) Problem {
	return Problem{Rule: rule, Message: fmt.Sprintf(format, args...)}
}

func (r *Reference) checkStatement(kind Kind, s statement) []Problem {
	var out []Problem
	if s.Effect != "Allow" && s.Effect != "Deny" {
		out = append(out, problem(RuleDocument, "Effect %q: want Allow or Deny", s.Effect))
	}
	actions, errA := stringList(s.Action)
	notActions, errN := stringList(s.NotAction)
	resources, errR := stringList(s.Resource)
	notResources, errNR := stringList(s.NotResource)
	for _, err := range []error{errA, errN, errR, errNR} {
		if err != nil {
			out = append(out, problem(RuleDocument, "%v", err))
		}
	}
	if (len(actions) == 0) == (len(notActions) == 0) {
		out = append(out, problem(RuleDocument, "exactly one of Action and NotAction must be set"))
	}
	hasPrincipal := s.Principal != nil || s.NotPrincipal != nil
	switch kind {
	case Identity:
		if hasPrincipal {
			out = append(out, problem(RulePrincipal, "an identity policy names no Principal"))
		}
	case Trust, Resource:
		if !hasPrincipal {
			out = append(out, problem(RulePrincipal, "a %s needs a Principal", kind))
		}
	}
	if kind == Trust {
		// The actions a trust policy may grant to its principals (IAM User
		// Guide, "Role trust policies": sts:AssumeRole,
		// AssumeRoleWithSAML, AssumeRoleWithWebIdentity, and the session
		// actions TagSession, SetSourceIdentity, SetContext).
		for _, a := range append(append([]string{}, actions...), notActions...) {
			l := strings.ToLower(a)
			if !strings.HasPrefix(l, "sts:assumerole") && l != "sts:tagsession" && l != "sts:setsourceidentity" && l != "sts:setcontext" {
				out = append(out, problem(RuleAction, "%s in a trust policy: only sts:AssumeRole*, sts:TagSession, sts:SetSourceIdentity and sts:SetContext belong there", a))
			}
		}
	} else if len(resources) == 0 && len(notResources) == 0 {
		out = append(out, problem(RuleDocument, "no Resource or NotResource"))
	}

	// Each action pattern expands to the SAR actions it grants.
	for _, a := range append(append([]string{}, actions...), notActions...) {
		if a == "*" {
			out = append(out, problem(RuleStarAction, "Action \"*\" grants every action of every service"))
			continue
		}
		m, p := r.expand(a)
		if p != "" {
			out = append(out, problem(RuleAction, "%s", p))
			continue
		}
		wildcard := strings.ContainsAny(a, "*?")
		// Condition keys: an exact action must support every key (a
		// StringEquals on a key the request never carries denies it);
		// a wildcard must match at least one action that does.
		for op, keys := range s.Condition {
			for key := range keys {
				if r.globalKey(key) || providerKey(key, s.Principal) {
					continue
				}
				ok := false
				for _, x := range m {
					ok = ok || r.actionKey(x, key)
				}
				switch {
				case wildcard && !ok:
					out = append(out, problem(RuleConditionKey, "%s %s: no action %s matches supports it (not a global key either)", op, key, a))
				case !wildcard && !ok:
					out = append(out, problem(RuleConditionKey, "%s %s: %s does not support it (its keys: %s; not a global key either)", op, key, m[0].name, keyList(m[0])))
				}
			}
		}
		// Resources: each ARN belongs to a service of the action's
		// resource types; an action without resource types is granted
		// only on "*".
		for _, res := range resources {
			if p := r.checkResource(a, m, wildcard, res); p != "" {
				out = append(out, problem(RuleResource, "%s", p))
			}
		}
	}
	for _, res := range append(append([]string{}, resources...), notResources...) {
		if res == "*" {
			continue
		}
		if _, _, err := parseARN(res); err != nil {
			out = append(out, problem(RuleResource, "%v", err))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return dedupe(out)
}

func dedupe(in []Problem) []Problem {
	seen := map[Problem]bool{}
	var out []Problem
	for _, p := range in {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func keyList(a *action) string {
	if len(a.conditionKeys) == 0 {
		return "none"
	}
	return strings.Join(a.conditionKeys, ", ")
}

// expand returns the SAR actions a pattern matches, or why it matches none.
func (r *Reference) expand(pattern string) ([]*action, string) {
	i := strings.Index(pattern, ":")
	if i <= 0 || i == len(pattern)-1 {
		return nil, fmt.Sprintf("%q is not service:action", pattern)
	}
	prefix := strings.ToLower(pattern[:i])
	all, ok := r.byPrefix[prefix]
	if !ok {
		return nil, fmt.Sprintf("%s: no service prefix %q in the Service Authorization Reference", pattern, pattern[:i])
	}
	if !strings.ContainsAny(pattern, "*?") {
		if a, ok := r.actions[strings.ToLower(pattern)]; ok {
			return []*action{a}, ""
		}
		return nil, fmt.Sprintf("%s: no such action in the Service Authorization Reference%s", pattern, r.suggest(prefix, pattern))
	}
	re := r.pattern("action\x00"+pattern, globRegexp(pattern))
	var out []*action
	for _, a := range all {
		if re.MatchString(a.name) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("%s matches no action of %s", pattern, prefix)
	}
	return out, ""
}

// suggest names an action of the same prefix that differs only in case or
// by a small edit, to make a typo obvious.
func (r *Reference) suggest(prefix, pattern string) string {
	want := strings.ToLower(pattern)
	best, bestD := "", 4
	for _, a := range r.byPrefix[prefix] {
		if d := distance(strings.ToLower(a.name), want); d < bestD {
			best, bestD = a.name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// distance is the Levenshtein distance, cut off early for long differences.
func distance(a, b string) int {
	if d := len(a) - len(b); d > 3 || d < -3 {
		return 4
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func globRegexp(p string) string {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	return "(?i)^" + q + "$"
}

func (r *Reference) pattern(cacheKey, expr string) *regexp.Regexp {
	r.mu.Lock()
	defer r.mu.Unlock()
	if re, ok := r.patterns[cacheKey]; ok {
		return re
	}
	re := regexp.MustCompile(expr)
	r.patterns[cacheKey] = re
	return re
}

// placeholder matches the SAR's variable parts of a condition key:
// ${TagKey}, <key> and, in the global list, tag-key after a slash.
var placeholder = regexp.MustCompile(`\\\$\\\{[^}]*\\\}|<[^>]*>|/tag-key$`)

// keyMatches reports whether key (as written in a policy) is an instance of
// the SAR's spelling: aws:RequestTag/elbv2.k8s.aws/cluster is an instance
// of aws:RequestTag/${TagKey} and of aws:RequestTag/tag-key. Condition key
// names are case-insensitive (IAM User Guide, "IAM JSON policy elements:
// Condition").
func (r *Reference) keyMatches(spelled, key string) bool {
	if strings.EqualFold(spelled, key) {
		return true
	}
	if !strings.ContainsAny(spelled, "$<") && !strings.HasSuffix(spelled, "/tag-key") {
		return false
	}
	re := r.pattern("key\x00"+spelled, func() string {
		q := regexp.QuoteMeta(spelled)
		q = placeholder.ReplaceAllStringFunc(q, func(m string) string {
			if strings.HasPrefix(m, "/") {
				return "/.+"
			}
			return ".+"
		})
		return "(?i)^" + q + "$"
	}())
	return re.MatchString(key)
}

func (r *Reference) globalKey(key string) bool {
	for _, g := range r.globalKeys {
		if r.keyMatches(g, key) {
			return true
		}
	}
	return false
}

func (r *Reference) actionKey(a *action, key string) bool {
	for _, k := range a.conditionKeys {
		if r.keyMatches(k, key) {
			return true
		}
	}
	return false
}

// oidcProviderKey is the shape of the keys an OIDC identity provider's
// token adds to sts:AssumeRoleWithWebIdentity: <issuer>:sub and
// <issuer>:aud, where <issuer> is the provider's URL without https:// (IAM
// User Guide, "Available keys for AWS web identity federation" / "IAM and
// AWS STS condition context keys": oidc-provider:aud, oidc-provider:sub).
// The SAR lists only a few well-known issuers (GitHub, GitLab, Google);
// an EKS cluster's issuer (oidc.eks.<region>.amazonaws.com/id/<id>) is per
// cluster, so no table can hold it. They are allowed exactly when the
// statement's Principal is that issuer's OIDC provider, and only sub/aud.
var oidcProviderKey = regexp.MustCompile(`^([a-z0-9.-]+(?:/[A-Za-z0-9._-]+)*):(sub|aud)$`)

func providerKey(key string, principal any) bool {
	m := oidcProviderKey.FindStringSubmatch(key)
	if m == nil {
		return false
	}
	p, ok := principal.(map[string]any)
	if !ok {
		return false
	}
	federated, _ := stringList(p["Federated"])
	for _, f := range federated {
		if _, res, err := parseARN(f); err == nil && strings.HasSuffix(f, ":oidc-provider/"+m[1]) && strings.HasPrefix(res, "oidc-provider/") {
			return true
		}
	}
	return false
}

func parseARN(s string) (service, resource string, err error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return "", "", fmt.Errorf("%q is not an ARN (arn:partition:service:region:account:resource) or \"*\"", s)
	}
	if parts[1] != "*" && !knownPartition(parts[1]) {
		return "", "", fmt.Errorf("%q: partition %q is not an AWS partition (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc)", s, parts[1])
	}
	return parts[2], parts[5], nil
}

func knownPartition(p string) bool {
	return p == "aws" || p == "aws-cn" || p == "aws-us-gov" || p == "aws-eusc" || strings.HasPrefix(p, "aws-iso")
}

func (r *Reference) checkResource(pattern string, matched []*action, wildcard bool, res string) string {
	if res == "*" {
		return ""
	}
	service, _, err := parseARN(res)
	if err != nil {
		return "" // reported once per resource by the caller
	}
	var services []string
	onlyStar := true
	for _, a := range matched {
		prefix := strings.ToLower(a.name[:strings.Index(a.name, ":")])
		for _, t := range a.resourceTypes {
			onlyStar = false
			if s, ok := r.arnService[prefix+"/"+strings.ToLower(t)]; ok && !contains(services, s) {
				services = append(services, s)
			}
		}
	}
	if onlyStar {
		if wildcard {
			return fmt.Sprintf("%s on %s: no action it matches has resource-level permissions; only Resource \"*\" grants them", pattern, res)
		}
		return fmt.Sprintf("%s on %s: %s has no resource-level permissions (no resource types in the SAR); only Resource \"*\" grants it", pattern, res, matched[0].name)
	}
	if len(services) == 0 { // resource types without an ARN format: trust the prefix
		services = r.prefixServices[strings.ToLower(pattern[:strings.Index(pattern, ":")])]
	}
	for _, s := range services {
		if r.pattern("svc\x00"+service, globRegexp(service)).MatchString(s) {
			return ""
		}
	}
	sort.Strings(services)
	return fmt.Sprintf("%s on %s: ARN service %q, but %s acts on ARNs of %s", pattern, res, service, pattern, strings.Join(services, ", "))
}

func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is neither a string nor a list of strings", v)
}

var managedPolicyARN = regexp.MustCompile(`^arn:([a-z-]+):iam::aws:policy(/.*)?/([^/]+)$`)

// IsAWSManagedPolicyARN reports whether s names an AWS managed policy
// (arn:<partition>:iam::aws:policy/...).
func IsAWSManagedPolicyARN(s string) bool {
	return managedPolicyARN.MatchString(s)
}

// CheckManagedPolicy reports whether AWS publishes a managed policy at
// exactly this ARN, naming the ARN where a policy of that name lives when
// the path is wrong and the reason when AWS deprecated it. The reference
// lists the commercial partition's ARNs; other partitions are compared
// with the same path and name.
func (r *Reference) CheckManagedPolicy(arn string) error {
	m := managedPolicyARN.FindStringSubmatch(arn)
	if m == nil {
		return fmt.Errorf("%s is not an AWS managed policy ARN (arn:<partition>:iam::aws:policy/<path><name>)", arn)
	}
	commercial := "arn:aws:" + strings.TrimPrefix(arn, "arn:"+m[1]+":")
	if _, ok := r.managed[commercial]; ok {
		return nil
	}
	if d, ok := r.deprecated[commercial]; ok {
		return fmt.Errorf("%s is deprecated: AWS no longer lists it (last version %s of %s; managed-policies-deprecated.tsv)", arn, d.DefaultVersion, d.Updated)
	}
	if p, ok := r.managedByName[m[3]]; ok {
		return fmt.Errorf("%s does not exist (AttachRolePolicy answers NoSuchEntity): AWS publishes %s at %s (path %s)", arn, p.Name, p.ARN, p.Path)
	}
	for name, p := range r.managedByName {
		if strings.EqualFold(name, m[3]) {
			return fmt.Errorf("%s does not exist: policy names are case-sensitive in ARNs; AWS publishes %s", arn, p.ARN)
		}
	}
	return fmt.Errorf("%s does not exist: no AWS managed policy is named %s (managed-policies.tsv)", arn, m[3])
}
