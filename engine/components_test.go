package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/harness"
)

// yamlNamespace is the namespace examples/yaml declares.
const yamlNamespace = "hello"

// yamlComponents runs examples/yaml, a Pulumi YAML program, through the
// engine with the platform's component package (cmd/pulumi-resource-platform,
// built here from this checkout): the package's schema as the CLI reads it
// from the binary must equal componentpkg/schema.json; two bad inputs must
// fail the preview with the message the Go API gives for them; then up, a
// preview with no change, and a destroy that leaves nothing. The one
// change to the program: `packages:` points at the folder of the binary
// built here, not at the repository tag users add.
func yamlComponents(ctx context.Context, t *testing.T, env Env, cluster *Cluster, platform *Project) {
	t.Helper()
	outputs, err := platform.Stack.Outputs(ctx)
	require.NoError(t, err)
	domain, _ := outputs["routingDomain"].Value.(string)
	require.NotEmpty(t, domain)

	pkgDir := filepath.Join(env.Dir, "platform-package")
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(pkgDir, "pulumi-resource-platform"), "./cmd/pulumi-resource-platform")
	build.Dir = repoRoot
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the component package: %s", out)

	// The schema the CLI gets from the binary is the golden one.
	// get-schema takes the binary (a folder it would name ""); packages:
	// in Pulumi.yaml takes the folder, named by its key.
	getSchema := exec.CommandContext(ctx, filepath.Join(env.ToolsRoot, "bin", "pulumi"), "package", "get-schema",
		filepath.Join(pkgDir, "pulumi-resource-platform"))
	for k, v := range env.vars() {
		getSchema.Env = append(getSchema.Env, k+"="+v)
	}
	getSchema.Env = append(getSchema.Env, "PULUMI_HOME="+filepath.Join(env.Dir, "pulumi-home"), "HOME="+os.Getenv("HOME"))
	served, err := getSchema.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		err = fmt.Errorf("%w: %s", err, exitErr.Stderr)
	}
	require.NoError(t, err, "pulumi package get-schema")
	golden, err := os.ReadFile(filepath.Join(repoRoot, "componentpkg", "schema.json"))
	require.NoError(t, err)
	assert.JSONEq(t, string(golden), string(served), "pulumi package get-schema on the built binary must equal componentpkg/schema.json")

	before, err := cluster.Objects(ctx)
	require.NoError(t, err)
	app, err := env.NewProject(ctx, filepath.Join(repoRoot, "examples", "yaml"), "local", nil)
	require.NoError(t, err)
	project := filepath.Join(app.Dir, "Pulumi.yaml")
	b, err := os.ReadFile(project)
	require.NoError(t, err)
	pkgLine := regexp.MustCompile(`(?m)^  platform: .*$`)
	require.True(t, pkgLine.Match(b), "examples/yaml/Pulumi.yaml names the platform package under packages:")
	require.NoError(t, os.WriteFile(project, pkgLine.ReplaceAll(b, []byte("  platform: "+pkgDir)), 0o644))
	require.NoError(t, app.Set(ctx, "platformStack", "organization/platform/local", false))
	host := yamlNamespace + "." + domain
	require.NoError(t, app.Set(ctx, "host", host, false))

	// Bad inputs: the preview fails with the Go API's own message.
	bad := []struct{ key, value, want string }{
		{"podSecurity", "strict", goError(t, func(ctx *pulumi.Context) error {
			_, err := namespace.New(ctx, "ns", &namespace.Args{Name: yamlNamespace, PodSecurity: "strict"})
			return err
		})},
		{"host", "hello.example.org", goError(t, func(ctx *pulumi.Context) error {
			_, err := routing.NewRoute(ctx, "route", &routing.RouteArgs{
				Gateway: routing.GatewayRef{Name: pulumi.String("gw"), Namespace: pulumi.String("gw")},
				Host:    "hello.example.org", Namespace: pulumi.String(yamlNamespace), Service: "hello", Port: 80,
				Domain: pulumi.String(domain),
			})
			return err
		})},
	}
	good := map[string]string{"podSecurity": namespace.Restricted, "host": host}
	for _, c := range bad {
		require.NoError(t, app.Set(ctx, c.key, c.value, false))
		_, err := app.Preview(ctx)
		require.Error(t, err, "%s=%s must fail the preview", c.key, c.value)
		assert.Contains(t, err.Error(), c.want, "%s=%s: the Go API's message", c.key, c.value)
		require.NoError(t, app.Set(ctx, c.key, good[c.key], false))
	}

	up, err := app.Up(ctx)
	require.NoError(t, err, app.Tail(60))
	created := len(up.With(apitype.OpCreate))
	for _, typ := range []string{"platform:namespace:Namespace", "platform:routing:Route", "kubernetes:core/v1:Namespace",
		"kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"} {
		assert.True(t, hasType(up, typ), "the YAML program's up creates a %s: %v", typ, up)
	}

	// What the components made is what the Go library makes: the
	// namespace enforces restricted, and the route attaches to the Gateway.
	ns, err := cluster.Client.CoreV1().Namespaces().Get(ctx, yamlNamespace, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, namespace.Restricted, ns.Labels["pod-security.kubernetes.io/enforce"])
	dyn, err := dynamic.NewForConfig(cluster.Config)
	require.NoError(t, err)
	routes, err := dyn.Resource(httpRouteGVR).Namespace(yamlNamespace).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, routes.Items, 1)
	gwName, _ := outputs["gatewayName"].Value.(string)
	gwNamespace, _ := outputs["gatewayNamespace"].Value.(string)
	gw, err := dyn.Resource(gatewayGVR).Namespace(gwNamespace).Get(ctx, gwName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.NoError(t, attaches(routes.Items[0], *gw, ns.Labels, host))
	appOutputs, err := app.Stack.Outputs(ctx)
	require.NoError(t, err)
	assert.Equal(t, "https://"+host, appOutputs["url"].Value, "the Route component's url output")

	preview, err := app.Preview(ctx)
	require.NoError(t, err)
	assert.Empty(t, preview, "a preview right after up must report no change; the CLI's diff:\n%s", app.Tail(60))

	_, err = app.Destroy(ctx)
	require.NoError(t, err)
	after, err := cluster.Objects(ctx)
	require.NoError(t, err)
	left := Added(before, after)
	assert.Empty(t, left, "objects of the YAML program left after destroy")
	fmt.Printf("components: language=yaml created=%d preview-changes=%d left=%d bad-input=rejected\n", created, preview.Count(), len(left))
}

// goError is the error the Go API gives for what program declares, under
// the mocks; it must fail.
func goError(t *testing.T, program pulumi.RunFunc) string {
	t.Helper()
	_, err := harness.Run("local", nil, nil, program)
	require.Error(t, err)
	msg := err.Error()
	// The message of the component, without what the SDK puts around it.
	if i := strings.Index(msg, "platform:"); i >= 0 {
		msg = msg[i:]
	}
	return strings.SplitN(msg, "\n", 2)[0]
}

func hasType(c Changes, typ string) bool {
	for urn := range c {
		if urnType(urn) == typ {
			return true
		}
	}
	return false
}
