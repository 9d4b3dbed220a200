package validation

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/validation/controlplane"
)

// serverVersion is the kube-apiserver scripts/kube-tools.sh builds.
const serverVersion = "v1.37.2"

// apiServer starts kube-apiserver and etcd from .tools/bin with every CRD
// under .tools/crds installed, and returns a client for it. The server is
// stopped when the test ends. A missing tool fails the test.
func apiServer(t *testing.T) client.Client {
	t.Helper()
	require.NoError(t, RequireTools(repoRoot, "kube-apiserver", "etcd"))
	bin, err := filepath.Abs(ToolsBin(repoRoot))
	require.NoError(t, err)
	crdDirs, err := CRDDirs(repoRoot)
	require.NoError(t, err)

	env := controlplane.Environment(bin)
	env.CRDDirectoryPaths = crdDirs
	env.ErrorIfCRDPathMissing = true
	// Two cores shared with compilers: give the CRDs time.
	env.CRDInstallOptions = envtest.CRDInstallOptions{MaxTime: 2 * time.Minute}

	cfg, err := env.Start()
	require.NoError(t, err, "start kube-apiserver and etcd from %s", bin)
	t.Cleanup(func() { assert.NoError(t, env.Stop()) })
	require.NotEmpty(t, env.CRDs, "no CRDs installed from %v", crdDirs)

	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)
	v, err := dc.ServerVersion()
	require.NoError(t, err)
	require.Equal(t, serverVersion, v.GitVersion, "kube-apiserver in %s", bin)

	c, err := client.New(cfg, client.Options{})
	require.NoError(t, err)
	return c
}

// TestEveryStackObjectIsAcceptedByTheAPIServer applies every Kubernetes
// object each stack declares to a real kube-apiserver: Namespaces for real,
// the rest with a server-side dry-run apply. Each stack gets a fresh server
// so a namespace one stack declares cannot hide another stack's missing one.
func TestEveryStackObjectIsAcceptedByTheAPIServer(t *testing.T) {
	all := stacks(t)
	for _, stack := range sortedStacks(all) {
		t.Run(stack, func(t *testing.T) {
			objs := append([]Object(nil), all[stack]...)
			require.NotEmpty(t, objs, "stack %s declares Kubernetes objects to validate", stack)
			// Namespaces first: the objects inside them need them to exist.
			sort.SliceStable(objs, func(i, j int) bool { return isNamespace(objs[i]) && !isNamespace(objs[j]) })

			c := apiServer(t)
			ctx := context.Background()
			for _, o := range objs {
				if err := Check(ctx, c, o); err != nil {
					t.Errorf("stack %s: %s rejected: %v", stack, o.ID(), err)
				}
			}
			t.Logf("stack %s: %d objects checked", stack, len(objs))
		})
	}
}

func isNamespace(o Object) bool { return o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" }

// probeNamespace is where the invalid-object cases live.
const probeNamespace = "validation-probe"

// TestAPIServerRejectsInvalidObjects proves the check above has teeth: the
// same Check call rejects objects with a wrong field type, an invalid
// reference, an undeclared field or a missing namespace, and accepts their
// valid counterparts.
func TestAPIServerRejectsInvalidObjects(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	ns := parse(t, "namespace.yaml", `
apiVersion: v1
kind: Namespace
metadata: {name: `+probeNamespace+`}
`)
	require.NoError(t, Check(ctx, c, ns))

	cases := []struct {
		name    string
		object  string
		problem string // part of the rejection; empty: must be accepted
	}{
		{"valid ServiceMonitor", `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: app, namespace: validation-probe}
spec:
  selector: {matchLabels: {app: web}}
  endpoints: [{port: metrics, interval: 30s}]
`, ""},
		{"ServiceMonitor endpoints of the wrong type", `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: app, namespace: validation-probe}
spec:
  selector: {matchLabels: {app: web}}
  endpoints: metrics
`, "spec.endpoints"},
		{"PrometheusRule rule without expr", `
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: rules, namespace: validation-probe}
spec:
  groups: [{name: g, rules: [{alert: Down}]}]
`, "expr"},
		{"valid HTTPRoute", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: validation-probe}
spec:
  parentRefs: [{name: edge, namespace: gateway, sectionName: https}]
  hostnames: [web.example.com]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`, ""},
		{"HTTPRoute with an invalid parentRef", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: validation-probe}
spec:
  parentRefs: [{name: edge, sectionName: "HTTPS Listener", port: 0}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`, "parentRefs"},
		{"Gateway listener with an invalid protocol name", `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: validation-probe}
spec:
  gatewayClassName: envoy
  listeners: [{name: http, port: 80, protocol: "not a protocol"}]
`, "protocol"},
		{"Certificate without issuerRef", `
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: wildcard, namespace: validation-probe}
spec:
  secretName: wildcard-tls
  dnsNames: ["*.example.com"]
`, "issuerRef"},
		{"EnvoyProxy with an unknown provider type", `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyProxy
metadata: {name: proxy, namespace: validation-probe}
spec:
  provider: {type: Nomad}
`, "provider.type"},
		{"NetworkPolicy with a misspelt field", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: validation-probe}
spec:
  podSelectr: {}
  policyTypes: [Ingress]
`, "podSelectr"},
		{"object in a namespace that does not exist", `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: not-declared}
data: {a: b}
`, "not-declared"},
		{"Secret with a secret output in data", `
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: validation-probe}
data: {token: "[secret]"}
`, "stringData"},
		{"Secret with a secret output in stringData", `
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: validation-probe}
stringData: {token: "[secret]"}
`, ""},
		{"object without a name", `
apiVersion: v1
kind: ConfigMap
metadata: {namespace: validation-probe}
`, "metadata.name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(ctx, c, parse(t, "case.yaml", tc.object))
			if tc.problem == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err, "the API server accepted an invalid object")
			t.Logf("rejected: %v", err)
			assert.Contains(t, err.Error(), tc.problem)
		})
	}

	// The server itself rejects non-base64 Secret data: the placeholder
	// check above only words the message, it does not hide an acceptance.
	secret := parse(t, "secret.yaml", `
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: validation-probe}
data: {token: "[secret]"}
`)
	assert.Error(t, DryRunApply(ctx, c, secret.Unstructured))
}

func parse(t *testing.T, file, doc string) Object {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(doc), &m))
	return Object{Stack: "probe", File: file, Unstructured: &unstructured.Unstructured{Object: m}}
}
