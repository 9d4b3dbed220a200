package stacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/helmrelease"
)

func chartProblems(t *testing.T, value string) string {
	t.Helper()
	_, err := Load(with(validProd(), map[string]string{"platform:charts": value}))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr, value)
	var mine []string
	for _, p := range verr.Problems {
		if strings.HasPrefix(p, "platform:charts") {
			mine = append(mine, p)
		}
	}
	require.NotEmpty(t, mine, "a platform:charts problem for %s; got %v", value, verr.Problems)
	return strings.Join(mine, "\n")
}

func TestChartsSourceIsValidated(t *testing.T) {
	p := chartProblems(t, `{"repository": "s3://bucket/charts"}`)
	assert.Contains(t, p, `platform:charts.repository: "s3://bucket/charts" is invalid: must be "oci://`)
	assert.Contains(t, p, `"file://<directory>"`)

	p = chartProblems(t, `{"repo": "oci://registry.corp.example/mirror"}`)
	assert.Contains(t, p, "platform:charts:")
	assert.Contains(t, p, "must be an object with repository")

	p = chartProblems(t, `"oci://registry.corp.example/mirror"`)
	assert.Contains(t, p, "must be an object with repository")
}

func TestChartsSourceDefaultsToUpstream(t *testing.T) {
	c, err := Load(validProd())
	require.NoError(t, err)
	assert.Equal(t, helmrelease.Upstream, c.Charts.Source.Kind)

	c, err = Load(with(validProd(), map[string]string{"platform:charts": `{"repository": "oci://registry.corp.example/mirror/"}`}))
	require.NoError(t, err)
	assert.Equal(t, helmrelease.OCIRegistry, c.Charts.Source.Kind)
	assert.Equal(t, "oci://registry.corp.example/mirror", c.Charts.Source.URL)
}

// A directory source must hold every pinned chart: each missing archive
// is named with its version and the file looked for.
func TestChartsDirectoryMustHoldEveryPinnedChart(t *testing.T) {
	dir := t.TempDir()
	pinned := PinnedCharts()
	require.NotEmpty(t, pinned)
	for _, c := range pinned[1:] {
		require.NoError(t, os.WriteFile(filepath.Join(dir, c.Name+"-"+c.Version+".tgz"), []byte("x"), 0o644))
	}
	missing := pinned[0]
	p := chartProblems(t, `{"repository": "file://`+dir+`"}`)
	assert.Equal(t, "platform:charts.repository: chart source file://"+dir+": chart "+missing.Name+" version "+missing.Version+": no archive at "+filepath.Join(dir, missing.Name+"-"+missing.Version+".tgz"), p)

	require.NoError(t, os.WriteFile(filepath.Join(dir, missing.Name+"-"+missing.Version+".tgz"), []byte("x"), 0o644))
	c, err := Load(with(validProd(), map[string]string{"platform:charts": `{"repository": "file://` + dir + `"}`}))
	require.NoError(t, err)
	assert.Equal(t, dir, c.Charts.Source.Dir)
}
