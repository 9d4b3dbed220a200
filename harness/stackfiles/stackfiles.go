// Package stackfiles finds a Pulumi project's stack files
// (Pulumi.<stack>.yaml). It imports only the standard library, so the
// validation module lists the stacks without the Pulumi SDK; harness
// reads the files themselves.
package stackfiles

import (
	"path/filepath"
	"sort"
	"strings"
)

// Names lists the stacks that have a Pulumi.<stack>.yaml in dir, sorted.
func Names(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml"))
	}
	sort.Strings(names)
	return names, nil
}
