package stacks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Source is where raw configuration values come from: Pulumi's config in a
// real run, a map in tests. Keys are full keys such as `platform:environment`.
type Source interface {
	Get(key string) (string, bool)
	// IsSecret reports whether the value was set as a Pulumi secret.
	IsSecret(key string) bool
}

// MapSource is a Source over a plain map with no secrets, for tests and tools.
type MapSource map[string]string

// Get returns the raw value of key.
func (m MapSource) Get(key string) (string, bool) { v, ok := m[key]; return v, ok }

// IsSecret is always false: a MapSource holds plain values.
func (m MapSource) IsSecret(string) bool { return false }

// StaticSource is a Source over a map with some keys marked secret, as a
// stack file gives them.
type StaticSource struct {
	Values     map[string]string
	SecretKeys []string
}

// Get returns the raw value of key.
func (s StaticSource) Get(key string) (string, bool) { v, ok := s.Values[key]; return v, ok }

// IsSecret reports whether key is one of SecretKeys.
func (s StaticSource) IsSecret(key string) bool {
	for _, k := range s.SecretKeys {
		if k == key {
			return true
		}
	}
	return false
}

// Key returns the full config key for a project setting.
func Key(name string) string { return Namespace + ":" + name }

// Secret is a configuration value that must stay a Pulumi secret: set with
// `pulumi config set --secret`, kept out of plan output and handed to
// resources only as a secret Output (so it is encrypted in state), and to
// pods only through Kubernetes Secrets.
type Secret struct {
	key   string
	value string
	set   bool
}

// IsSet reports whether the stack configures the secret.
func (s Secret) IsSet() bool { return s.set }

// Key is the config key the secret came from.
func (s Secret) Key() string { return s.key }

// Output is the secret as a Pulumi secret output.
func (s Secret) Output() pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(s.value)).(pulumi.StringOutput)
}

// String never shows the value.
func (s Secret) String() string { return "[secret " + s.key + "]" }

// GoString never shows the value either (%#v).
func (s Secret) GoString() string { return s.String() }

// reader reads raw values, collects parse problems and remembers every key
// it was asked for, which is how UnknownKeys knows the valid keys.
type reader struct {
	src      Source
	problems []string
	asked    map[string]bool
}

func newReader(src Source) *reader { return &reader{src: src, asked: map[string]bool{}} }

func (r *reader) get(name string) (string, bool) {
	r.asked[name] = true
	return r.src.Get(Key(name))
}

func (r *reader) problem(key, value, allowed string) {
	r.problems = append(r.problems, fmt.Sprintf("%s: %q is invalid: %s", key, value, allowed))
}

func (r *reader) str(name string, dst *string) {
	if v, ok := r.get(name); ok {
		*dst = strings.TrimSpace(v)
	}
}

func (r *reader) integer(name string, dst *int) {
	v, ok := r.get(name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.problem(Key(name), v, "must be a whole number")
		return
	}
	*dst = n
}

func (r *reader) boolean(name string, dst *bool) {
	v, ok := r.get(name)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		r.problem(Key(name), v, "must be true or false")
		return
	}
	*dst = b
}

// object decodes a structured value (Pulumi stores lists and maps as JSON).
// Unknown fields are refused, so a typo never silently falls back to a default.
func (r *reader) object(name string, dst any, allowed string) {
	v, ok := r.get(name)
	if !ok {
		return
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		r.problem(Key(name), v, allowed+" ("+err.Error()+")")
	}
}

// secret reads a value that must be a Pulumi secret; a plaintext value is a
// problem (its value is not repeated in the message).
func (r *reader) secret(name string, dst *Secret) {
	v, ok := r.get(name)
	*dst = Secret{key: Key(name)}
	if !ok {
		return
	}
	if !r.src.IsSecret(Key(name)) {
		r.problems = append(r.problems, fmt.Sprintf("%s: a plaintext value is invalid: set it with `pulumi config set --secret %s <value>`", Key(name), Key(name)))
		return
	}
	*dst = Secret{key: Key(name), value: v, set: true}
}

// KnownKeys lists every `platform:` key Load reads.
func KnownKeys() []string {
	r := newReader(MapSource{})
	loadAll(r, &Config{})
	keys := make([]string, 0, len(r.asked))
	for k := range r.asked {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// UnknownKeys reports `platform:` keys that Load does not read: typos in a
// stack file. Pulumi does not list a program's config keys at run time, so
// the tests and the plan command run this over every stack file.
func UnknownKeys(keys []string) []string {
	known := map[string]bool{}
	for _, k := range KnownKeys() {
		known[k] = true
	}
	var problems []string
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, Namespace+":")
		if ok && !known[name] {
			problems = append(problems, fmt.Sprintf("%s: unknown key; allowed keys are %s", k, strings.Join(KnownKeys(), ", ")))
		}
	}
	return problems
}
