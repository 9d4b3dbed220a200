package validation

import (
	"fmt"
	"os"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

// AllowEntry accepts one kube-score finding for the objects it matches.
type AllowEntry struct {
	// Check is the kube-score check ID, e.g. "networkpolicy-targets-pod".
	Check string `json:"check"`
	// Object matches Object.Key ("Kind/namespace/name", "Kind//name" for
	// cluster objects) with path.Match, e.g. "NetworkPolicy/*/*".
	Object string `json:"object"`
	// Reason says why the finding is accepted. Required.
	Reason string `json:"reason"`
}

// minReasonWords keeps reasons to an explanation rather than "ok" or "TODO".
const minReasonWords = 4

// Problems lists what is wrong with the entry; empty when it is usable.
func (e AllowEntry) Problems() []string {
	var p []string
	if strings.TrimSpace(e.Check) == "" {
		p = append(p, "check is empty: name a kube-score check ID")
	}
	if strings.TrimSpace(e.Object) == "" {
		p = append(p, `object is empty: give a "Kind/namespace/name" pattern`)
	} else if _, err := path.Match(e.Object, ""); err != nil {
		p = append(p, fmt.Sprintf("object %q is not a valid pattern: %v", e.Object, err))
	} else if strings.Count(e.Object, "/") != 2 {
		p = append(p, fmt.Sprintf("object %q must have the form Kind/namespace/name", e.Object))
	}
	if n := len(strings.Fields(e.Reason)); n < minReasonWords {
		p = append(p, fmt.Sprintf("reason %q must explain why the finding is accepted (at least %d words)", e.Reason, minReasonWords))
	}
	return p
}

// Matches reports whether the entry accepts check on the object with key.
func (e AllowEntry) Matches(check, key string) bool {
	ok, err := path.Match(e.Object, key)
	return err == nil && ok && e.Check == check
}

// LoadAllowList reads a YAML list of entries; unknown fields are errors.
func LoadAllowList(file string) ([]AllowEntry, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var entries []AllowEntry
	if err := yaml.UnmarshalStrict(b, &entries); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return entries, nil
}
