package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/harness/stackfiles"
)

// SecretPlaceholder is the value a secret config key gets offline: the
// ciphertext in a stack file cannot be decrypted without the stack's secrets
// provider. The key stays marked secret, so the program treats the
// placeholder exactly like the real value.
func SecretPlaceholder(key string) string {
	return "offline-placeholder-for-secret-" + strings.ReplaceAll(key, ":", "-")
}

// StackFile is the configuration of one Pulumi.<stack>.yaml.
type StackFile struct {
	Name       string
	Config     map[string]string
	SecretKeys []string
}

// StackNames lists the stacks that have a Pulumi.<stack>.yaml in dir.
func StackNames(dir string) ([]string, error) { return stackfiles.Names(dir) }

// LoadStackFile reads Pulumi.<stack>.yaml from dir. Values are given to the
// program the way the Pulumi engine gives them: scalars as strings, lists and
// maps as JSON, `secure:` values as secrets.
func LoadStackFile(dir, stack string) (*StackFile, error) {
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sf := &StackFile{Name: stack, Config: map[string]string{}}
	for key, v := range doc.Config {
		if !strings.Contains(key, ":") {
			key = Project + ":" + key // Pulumi's rule: a bare key is the project's
		}
		switch v := v.(type) {
		case string:
			sf.Config[key] = v
		case map[string]any:
			if _, ok := v["secure"]; ok && len(v) == 1 {
				sf.Config[key] = SecretPlaceholder(key)
				sf.SecretKeys = append(sf.SecretKeys, key)
				continue
			}
			b, _ := json.Marshal(v)
			sf.Config[key] = string(b)
		case []any:
			b, _ := json.Marshal(v)
			sf.Config[key] = string(b)
		case nil:
			sf.Config[key] = ""
		default: // numbers and booleans
			b, _ := json.Marshal(v)
			sf.Config[key] = string(b)
		}
	}
	sort.Strings(sf.SecretKeys)
	return sf, nil
}

// AddSecretPlaceholders sets each key the file does not set to its
// SecretPlaceholder, marked secret, as a stack whose secrets were set with
// `pulumi config set --secret` gives it to the program.
func (sf *StackFile) AddSecretPlaceholders(keys []string) {
	for _, key := range keys {
		if _, ok := sf.Config[key]; ok {
			continue
		}
		sf.Config[key] = SecretPlaceholder(key)
		sf.SecretKeys = append(sf.SecretKeys, key)
	}
	sort.Strings(sf.SecretKeys)
}

// Keys lists the stack file's config keys.
func (sf *StackFile) Keys() []string {
	keys := make([]string, 0, len(sf.Config))
	for k := range sf.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
