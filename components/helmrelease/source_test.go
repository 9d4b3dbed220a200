package helmrelease_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/helmrelease/render"
	"github.com/cnplatform/platform/harness"
)

func TestParseSource(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		in   string
		kind helmrelease.SourceKind
		url  string
	}{
		{"", helmrelease.Upstream, ""},
		{"oci://registry.corp.example/helm-mirror/", helmrelease.OCIRegistry, "oci://registry.corp.example/helm-mirror"},
		{"https://charts.corp.example/mirror", helmrelease.HTTPRepository, "https://charts.corp.example/mirror"},
		{"http://10.0.0.5:8080", helmrelease.HTTPRepository, "http://10.0.0.5:8080"},
		{"file://" + dir, helmrelease.Directory, "file://" + dir},
	}
	for _, c := range cases {
		s, err := helmrelease.ParseSource(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.kind, s.Kind, c.in)
		assert.Equal(t, c.url, s.URL, c.in)
	}
	s, err := helmrelease.ParseSource("file://" + dir)
	require.NoError(t, err)
	assert.Equal(t, dir, s.Dir)

	for _, bad := range []string{"charts.corp.example", "s3://bucket/charts", "oci://", "https://user:pw@charts.corp.example", "https://x/?token=1", "file://", "/abs/dir"} {
		_, err := helmrelease.ParseSource(bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "oci://", bad)
		assert.Contains(t, err.Error(), "file://", bad)
	}
}

var (
	upstreamHTTP = helmrelease.Chart{Repo: "https://kubernetes-sigs.github.io/external-dns/", Name: "external-dns", Version: "1.21.1"}
	upstreamOCI  = helmrelease.Chart{Repo: "oci://docker.io/envoyproxy", Name: "gateway-helm", Version: "v1.9.3"}
	upstreamCRDs = helmrelease.Chart{Repo: "oci://docker.io/envoyproxy", Name: "gateway-crds-helm", Version: "v1.9.3"}
)

// releases registers one release of each chart under a component given
// the source's option, and returns chart and repository of each.
func releases(t *testing.T, src helmrelease.Source) map[string][2]string {
	t.Helper()
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		parent := &struct{ pulumi.ResourceState }{}
		if err := ctx.RegisterComponentResource("test:index:Layer", "layer", parent, src.Option()); err != nil {
			return err
		}
		for _, c := range []helmrelease.Chart{upstreamHTTP, upstreamOCI} {
			if _, err := helmrelease.New(ctx, c.Name, &helmrelease.Args{Chart: c, Namespace: pulumi.String("n")}, pulumi.Parent(parent)); err != nil {
				return err
			}
		}
		_, err := helmrelease.NewCRDs(ctx, upstreamCRDs.Name, &helmrelease.CRDArgs{Chart: upstreamCRDs}, pulumi.Parent(parent))
		return err
	})
	require.NoError(t, err)
	out := map[string][2]string{}
	for _, r := range res.OfType(render.Types...) {
		assert.Equal(t, map[string]string{"external-dns": "1.21.1", "gateway-helm": "v1.9.3", "gateway-crds-helm": "v1.9.3"}[r.Name], r.String("version"), "version kept")
		out[r.Name] = [2]string{r.String("chart"), r.String("repositoryOpts", "repo")}
	}
	require.Len(t, out, 3)
	return out
}

// A stack's source moves every release and CRD chart of a component (and
// its children) to the mirror, keeping name and exact version; upstream changes nothing.
func TestSourceOptionPointsEveryReleaseAtTheMirror(t *testing.T) {
	assert.Equal(t, map[string][2]string{
		"external-dns":      {"external-dns", "https://kubernetes-sigs.github.io/external-dns/"},
		"gateway-helm":      {"oci://docker.io/envoyproxy/gateway-helm", ""},
		"gateway-crds-helm": {"oci://docker.io/envoyproxy/gateway-crds-helm", ""},
	}, releases(t, helmrelease.Source{}))

	oci, err := helmrelease.ParseSource("oci://registry.corp.example/mirror")
	require.NoError(t, err)
	assert.Equal(t, map[string][2]string{
		"external-dns":      {"oci://registry.corp.example/mirror/external-dns", ""},
		"gateway-helm":      {"oci://registry.corp.example/mirror/gateway-helm", ""},
		"gateway-crds-helm": {"oci://registry.corp.example/mirror/gateway-crds-helm", ""},
	}, releases(t, oci))

	repo, err := helmrelease.ParseSource("https://charts.corp.example/mirror/")
	require.NoError(t, err)
	assert.Equal(t, map[string][2]string{
		"external-dns":      {"external-dns", "https://charts.corp.example/mirror"},
		"gateway-helm":      {"gateway-helm", "https://charts.corp.example/mirror"},
		"gateway-crds-helm": {"gateway-crds-helm", "https://charts.corp.example/mirror"},
	}, releases(t, repo))

	dir := t.TempDir()
	d, err := helmrelease.ParseSource("file://" + dir)
	require.NoError(t, err)
	assert.Equal(t, map[string][2]string{
		"external-dns":      {filepath.Join(dir, "external-dns-1.21.1.tgz"), ""},
		"gateway-helm":      {filepath.Join(dir, "gateway-helm-v1.9.3.tgz"), ""},
		"gateway-crds-helm": {filepath.Join(dir, "gateway-crds-helm-v1.9.3.tgz"), ""},
	}, releases(t, d))
}

// A directory without a chart's archive: one error naming chart, version
// and the file looked for.
func TestDirectorySourceMissingArchive(t *testing.T) {
	dir := t.TempDir()
	d, err := helmrelease.ParseSource("file://" + dir)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "external-dns-1.21.1.tgz"), []byte("x"), 0o644))
	require.NoError(t, d.Check(upstreamHTTP))
	err = d.Check(upstreamHTTP, upstreamOCI)
	require.Error(t, err)
	assert.Equal(t, "chart source file://"+dir+": chart gateway-helm version v1.9.3: no archive at "+filepath.Join(dir, "gateway-helm-v1.9.3.tgz"), err.Error())
	// Registries are not reachable offline; the provider reports there.
	oci, _ := helmrelease.ParseSource("oci://registry.corp.example/mirror")
	assert.NoError(t, oci.Check(upstreamOCI))
}
