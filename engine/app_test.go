package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/cnplatform/platform/examples/app/nginx"
)

var (
	gatewayGVR   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	httpRouteGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
)

// exampleApp runs the example app stack (examples/app, its real
// Pulumi.yaml, no stack file) on the platform stack's outputs through a
// real StackReference on the shared file backend, checks that its route
// attaches to the platform Gateway, and destroys it.
func exampleApp(ctx context.Context, t *testing.T, env Env, cluster *Cluster, platform *Project) {
	t.Helper()
	outputs, err := platform.Stack.Outputs(ctx)
	require.NoError(t, err)
	domain, _ := outputs["routingDomain"].Value.(string)
	require.NotEmpty(t, domain, "platform output routingDomain")

	app, err := env.NewProject(ctx, filepath.Join(repoRoot, "examples", "app"), "local", nginx.Program)
	require.NoError(t, err)
	host := "nginx." + domain
	require.NoError(t, app.Set(ctx, "app:platformStack", "organization/platform/local", false))
	require.NoError(t, app.Set(ctx, "app:host", host, false))
	_, err = app.Up(ctx)
	require.NoError(t, err)

	dyn, err := dynamic.NewForConfig(cluster.Config)
	require.NoError(t, err)
	routes, err := dyn.Resource(httpRouteGVR).Namespace("nginx").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, routes.Items, 1, "the example app declares one HTTPRoute")
	ns, err := cluster.Client.CoreV1().Namespaces().Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	gwName, _ := outputs["gatewayName"].Value.(string)
	gwNamespace, _ := outputs["gatewayNamespace"].Value.(string)
	gw, err := dyn.Resource(gatewayGVR).Namespace(gwNamespace).Get(ctx, gwName, metav1.GetOptions{})
	require.NoError(t, err, "the platform Gateway %s/%s", gwNamespace, gwName)
	assert.NoError(t, attaches(routes.Items[0], *gw, ns.Labels, host))

	_, err = app.Destroy(ctx)
	require.NoError(t, err)
}

// attaches checks the rules by which a Gateway API implementation accepts
// an HTTPRoute on a Gateway listener (gateway-api v1.3.0,
// apis/v1/shared_types.go ParentReference and apis/v1/gateway_types.go
// Listener.Hostname and AllowedRoutes). The Gateway's controller does not run
// here (its pods are kwok's), so the route's Accepted condition is never
// written; these are the checks it would make.
func attaches(route, gw unstructured.Unstructured, routeNamespaceLabels map[string]string, host string) error {
	hostnames, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
	if len(hostnames) != 1 || hostnames[0] != host {
		return fmt.Errorf("route hostnames %v, want [%s]", hostnames, host)
	}
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	var problems []string
	for _, p := range parents {
		ref, _ := p.(map[string]any)
		name, _ := ref["name"].(string)
		namespace, _ := ref["namespace"].(string)
		if namespace == "" {
			namespace = route.GetNamespace()
		}
		if name != gw.GetName() || namespace != gw.GetNamespace() {
			problems = append(problems, fmt.Sprintf("parentRef %s/%s is not the Gateway %s/%s", namespace, name, gw.GetNamespace(), gw.GetName()))
			continue
		}
		section, _ := ref["sectionName"].(string)
		for _, l := range listeners {
			listener, _ := l.(map[string]any)
			lname, _ := listener["name"].(string)
			if section != "" && section != lname {
				continue
			}
			if err := listenerAdmits(listener, route.GetNamespace() == gw.GetNamespace(), routeNamespaceLabels, host); err != nil {
				problems = append(problems, fmt.Sprintf("listener %s: %v", lname, err))
				continue
			}
			return nil
		}
	}
	return fmt.Errorf("route %s/%s attaches to no listener of %s/%s: %s", route.GetNamespace(), route.GetName(),
		gw.GetNamespace(), gw.GetName(), strings.Join(problems, "; "))
}

func listenerAdmits(listener map[string]any, sameNamespace bool, nsLabels map[string]string, host string) error {
	if h, _ := listener["hostname"].(string); h != "" {
		if !(h == host || strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]) && !strings.Contains(strings.TrimSuffix(host, h[1:]), ".")) {
			return fmt.Errorf("hostname %s does not match %s", h, host)
		}
	}
	from, _, _ := unstructured.NestedString(listener, "allowedRoutes", "namespaces", "from")
	switch from {
	case "All":
	case "", "Same":
		if !sameNamespace {
			return fmt.Errorf("admits routes from its own namespace only")
		}
	case "Selector":
		sel, _, _ := unstructured.NestedStringMap(listener, "allowedRoutes", "namespaces", "selector", "matchLabels")
		for k, v := range sel {
			if nsLabels[k] != v {
				return fmt.Errorf("namespace selector %v does not match the route's namespace labels", sel)
			}
		}
	default:
		return fmt.Errorf("allowedRoutes.namespaces.from %q", from)
	}
	kinds, _, _ := unstructured.NestedSlice(listener, "allowedRoutes", "kinds")
	if len(kinds) == 0 {
		return nil
	}
	for _, k := range kinds {
		if m, _ := k.(map[string]any); m["kind"] == "HTTPRoute" {
			return nil
		}
	}
	return fmt.Errorf("allowedRoutes.kinds %v has no HTTPRoute", kinds)
}
