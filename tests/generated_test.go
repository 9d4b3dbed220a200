package tests

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/generated instead of comparing")

// goldenDir holds, per stack, what the stack generates from Go: Prometheus
// rules, the Alertmanager config, dashboards and both log agents'
// pipelines (stacks.GeneratedFiles, what `cmd/plan -out` writes). They are
// committed so a change to them shows in a pull request; promtool, amtool
// and the real Fluent Bit check them elsewhere.
const goldenDir = "testdata/generated"

// TestGeneratedConfigurationMatchesGoldenFiles fails when a stack's
// generated configuration differs from testdata/generated/<stack>/, or a
// golden file is no longer generated. `go test ./tests -run
// TestGeneratedConfigurationMatchesGoldenFiles -update` rewrites them.
func TestGeneratedConfigurationMatchesGoldenFiles(t *testing.T) {
	for name, e := range allStacks(t) {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, e.err)
			files, err := stacks.GeneratedFiles(e.config)
			require.NoError(t, err)
			require.NotEmpty(t, files, "the stack generates configuration")
			dir := filepath.Join(goldenDir, name)
			if *update {
				require.NoError(t, os.RemoveAll(dir))
				for path, content := range files {
					full := filepath.Join(dir, filepath.FromSlash(path))
					require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
					require.NoError(t, os.WriteFile(full, content, 0o644))
				}
				return
			}
			var golden []string
			err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, err := filepath.Rel(dir, path)
				golden = append(golden, filepath.ToSlash(rel))
				return err
			})
			require.NoError(t, err, "no golden files for %s: run with -update", name)
			var generated []string
			for path := range files {
				generated = append(generated, path)
			}
			sort.Strings(generated)
			sort.Strings(golden)
			assert.Equal(t, golden, generated, "the files %s generates differ from %s: run with -update and review the diff", name, dir)
			for _, path := range generated {
				want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
				if err != nil {
					continue // reported above
				}
				assert.Equal(t, string(want), string(files[path]), "%s/%s drifted: run with -update and review the diff", name, path)
			}
		})
	}
}
