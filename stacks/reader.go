package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
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
	parseInto(r, name, dst, strconv.Atoi, "must be a whole number")
}

func (r *reader) boolean(name string, dst *bool) {
	parseInto(r, name, dst, strconv.ParseBool, "must be true or false")
}

// parseBoolPtr parses a boolean a default may fill (nil: unset).
func parseBoolPtr(v string) (*bool, error) {
	b, err := strconv.ParseBool(v)
	return &b, err
}

// parseInto sets *dst to the key's value parsed, when the key is set; a
// value that does not parse is a problem saying what is allowed.
func parseInto[T any](r *reader, name string, dst *T, parse func(string) (T, error), allowed string) {
	v, ok := r.get(name)
	if !ok {
		return
	}
	parsed, err := parse(strings.TrimSpace(v))
	if err != nil {
		r.problem(Key(name), v, allowed)
		return
	}
	*dst = parsed
}

// object decodes a structured value (Pulumi stores lists and maps as JSON).
// Unknown fields are refused, so a typo never silently falls back to a
// default. A field of the wrong type is reported under its own key
// (platform:<name>.<field>) with its value.
func (r *reader) object(name string, dst any, allowed string) {
	v, ok := r.get(name)
	if !ok {
		return
	}
	if _, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil && slices.Contains(layerKeys, name) {
		return // a layer key still written as a boolean: reportMovedKeys says so
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		r.problem(Key(name)+"."+typeErr.Field, fieldValue(v, typeErr.Field), "must be "+kindName(typeErr.Type))
		return
	}
	r.problem(Key(name), v, allowed+" ("+err.Error()+")")
}

// fieldValue is the raw value at a dotted path of a JSON object, for
// messages; the whole document when the path is not found.
func fieldValue(doc, path string) string {
	raw := json.RawMessage(doc)
	for _, field := range strings.Split(path, ".") {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return doc
		}
		next, ok := m[field]
		if !ok {
			return doc
		}
		raw = next
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// kindName says what a Go type is in a configuration file's words.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	default:
		return "an object"
	}
}

// movedKeys are the flat keys of the layers before each layer became one
// object: a stack file still using one gets an error naming the new key.
var movedKeys = map[string]string{
	"logAgent":               "logging.agent",
	"logScaleUrl":            "logging.logScaleUrl",
	"logScaleRepository":     "logging.repository",
	"logRateKiBPerNode":      "logging.rateKiBPerNode",
	"logOutageMinutes":       "logging.outageMinutes",
	"logBufferMiB":           "logging.bufferMiB",
	"logMemoryLimitMiB":      "logging.memoryLimitMiB",
	"logExcludeNamespaces":   "logging.excludeNamespaces",
	"prometheus":             "monitoring.prometheus",
	"alertmanager":           "monitoring.alertmanager",
	"monitoringStorageClass": "monitoring.storageClass",
	"slo":                    "monitoring.slo",
}

// layerKeys are the layers' object keys, once booleans.
var layerKeys = []string{"logging", "monitoring", "routing"}

// reportMovedKeys adds a problem for every moved key the stack sets, and
// for a layer key still written as a boolean. It reads through src, not
// get, so UnknownKeys still lists the old keys as unknown.
func reportMovedKeys(r *reader) {
	for _, k := range slices.Sorted(maps.Keys(movedKeys)) {
		if v, ok := r.src.Get(Key(k)); ok {
			r.problem(Key(k), v, fmt.Sprintf("the key moved: set %s instead (each layer is one object; `pulumi config set --path %s <value>`)", Key(movedKeys[k]), Key(movedKeys[k])))
		}
	}
	for _, k := range layerKeys {
		if v, ok := r.src.Get(Key(k)); ok {
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
				r.problem(Key(k), v, fmt.Sprintf("%s is an object now: set %s.enabled: %t (and the layer's other fields in the same object)", Key(k), Key(k), b))
			}
		}
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
	return slices.Sorted(maps.Keys(r.asked))
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
