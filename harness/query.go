package harness

import (
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// OfType returns the resources of the type tokens given, such as
// aws:ec2/subnet:Subnet, in the order the program registered them.
func (r *Result) OfType(types ...string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if slices.Contains(types, res.Type) {
			out = append(out, res)
		}
	}
	return out
}

// Kubernetes returns the Kubernetes resources the program declares: objects
// and Helm releases, whose inputs hold the chart values.
func (r *Result) Kubernetes() []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Custom && strings.HasPrefix(res.Type, "kubernetes:") {
			out = append(out, res)
		}
	}
	return out
}

// ByURN returns the resource with that URN.
func (r *Result) ByURN(urn string) (Resource, bool) {
	for _, res := range r.Resources {
		if res.URN == urn {
			return res, true
		}
	}
	return Resource{}, false
}

// ByID returns the custom resource with that physical id, as found in
// another resource's inputs (a subnet's vpcId, a route's natGatewayId).
func (r *Result) ByID(id string) (Resource, bool) {
	for _, res := range r.Resources {
		if res.Custom && res.ID == id {
			return res, true
		}
	}
	return Resource{}, false
}

// Component returns the nearest component resource above res (its own URN
// when it is one), or "" for top-level resources.
func (r *Result) Component(res Resource) string {
	for p := res.Parent; p != "" && p != r.StackURN; {
		parent, ok := r.ByURN(p)
		if !ok {
			return ""
		}
		if !parent.Custom {
			return parent.URN
		}
		p = parent.Parent
	}
	return ""
}

// DependsOnURN reports whether res depends on the resource with that URN.
func (res Resource) DependsOnURN(urn string) bool {
	for _, d := range res.DependsOn {
		if d == urn {
			return true
		}
	}
	return false
}

// Get walks nested inputs: Get("vpcConfig", "endpointPrivateAccess").
// Numbers index arrays ("0"). Secrets are opened. It returns a null value
// when the path does not exist.
func (res Resource) Get(path ...string) resource.PropertyValue {
	v := resource.NewProperty(res.Inputs)
	for _, p := range path {
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(p)]
		case v.IsArray():
			i := 0
			for _, c := range p {
				if c < '0' || c > '9' {
					return resource.NewNullProperty()
				}
				i = i*10 + int(c-'0')
			}
			arr := v.ArrayValue()
			if i >= len(arr) {
				return resource.NewNullProperty()
			}
			v = arr[i]
		default:
			return resource.NewNullProperty()
		}
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// String returns a string input (or "" when absent or not a string).
func (res Resource) String(path ...string) string {
	v := res.Get(path...)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// Strings returns a list of strings input.
func (res Resource) Strings(path ...string) []string {
	v := res.Get(path...)
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		for e.IsSecret() {
			e = e.SecretValue().Element
		}
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// Number returns a numeric input (0 when absent).
func (res Resource) Number(path ...string) float64 {
	v := res.Get(path...)
	if v.IsNumber() {
		return v.NumberValue()
	}
	return 0
}

// Bool returns a boolean input (false when absent).
func (res Resource) Bool(path ...string) bool {
	v := res.Get(path...)
	return v.IsBool() && v.BoolValue()
}

// IsSecret reports whether the input at path is marked secret.
func (res Resource) IsSecret(path ...string) bool {
	v := resource.NewProperty(res.Inputs)
	for _, p := range path {
		if v.IsSecret() {
			return true
		}
		if !v.IsObject() {
			return false
		}
		v = v.ObjectValue()[resource.PropertyKey(p)]
	}
	return v.IsSecret()
}

// Plain converts inputs to JSON-friendly values. Secret values are replaced
// by "[secret]" so they never reach plan output or files; a secret map or
// list keeps its shape (a Secret's stringData stays a map of keys).
func Plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return redact(v.SecretValue().Element)
	case v.IsComputed() || v.IsOutput() && !v.OutputValue().Known:
		return "[unknown]"
	case v.IsOutput():
		if v.OutputValue().Secret {
			return redact(v.OutputValue().Element)
		}
		return Plain(v.OutputValue().Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			if strings.HasPrefix(string(k), "__") {
				continue // engine bookkeeping such as __defaults
			}
			m[string(k)] = Plain(e)
		}
		return m
	case v.IsArray():
		out := make([]any, 0, len(v.ArrayValue()))
		for _, e := range v.ArrayValue() {
			out = append(out, Plain(e))
		}
		return out
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsNull():
		return nil
	default:
		return v.V
	}
}

// redact keeps the shape of a secret value and hides every scalar in it.
func redact(v resource.PropertyValue) any {
	switch p := Plain(v).(type) {
	case map[string]any:
		for k := range p {
			p[k] = "[secret]"
		}
		return p
	case []any:
		for i := range p {
			p[i] = "[secret]"
		}
		return p
	default:
		return "[secret]"
	}
}

// PlainInputs returns the inputs as JSON-friendly values, secrets hidden.
func (res Resource) PlainInputs() map[string]any {
	m, _ := Plain(resource.NewProperty(res.Inputs)).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// Array returns a list input's elements (nil when absent or not a list).
func (res Resource) Array(path ...string) []resource.PropertyValue {
	v := res.Get(path...)
	if !v.IsArray() {
		return nil
	}
	return v.ArrayValue()
}

// Dig walks nested plain values (as Plain returns them) by map keys; nil
// when a step is missing.
func Dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Walk calls fn for every map inside a plain value, with the maps above it
// (outermost first).
func Walk(v any, fn func(m map[string]any, ancestors []map[string]any)) {
	walk(v, nil, fn)
}

func walk(v any, ancestors []map[string]any, fn func(map[string]any, []map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v, ancestors)
		inner := append(append([]map[string]any{}, ancestors...), v)
		for _, e := range v {
			walk(e, inner, fn)
		}
	case []any:
		for _, e := range v {
			walk(e, ancestors, fn)
		}
	}
}
