package validation

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// builtinRoles are the roles the API server bootstraps in every cluster
// (kube-apiserver's RBAC bootstrap policy: the system:* ClusterRoles, the
// user-facing admin/edit/view/cluster-admin, and the kube-system Role
// extension-apiserver-authentication-reader).
func builtinRole(kind, namespace, name string) bool {
	switch kind {
	case "ClusterRole":
		return strings.HasPrefix(name, "system:") || name == "cluster-admin" || name == "admin" || name == "edit" || name == "view"
	case "Role":
		return namespace == "kube-system" && (name == "extension-apiserver-authentication-reader" || strings.HasPrefix(name, "system:"))
	}
	return false
}

// TestEveryBindingReferencesARoleThatExists checks, per stack, that every
// RoleBinding and ClusterRoleBinding the program declares or a chart renders
// with our values points at a Role or ClusterRole that the stack declares
// (program or chart) or the API server bootstraps. A binding to a missing
// role grants nothing: the controller would fail at run time with
// "forbidden" (for example Grafana's binding to our ClusterRole
// platform-grafana-sidecar, rbac.useExistingClusterRole).
func TestEveryBindingReferencesARoleThatExists(t *testing.T) {
	all := stacks(t)
	for _, stack := range sortedStacks(all) {
		t.Run(stack, func(t *testing.T) {
			type bound struct {
				obj    *unstructured.Unstructured
				origin string
			}
			var objs []bound
			for _, o := range all[stack] {
				objs = append(objs, bound{o.Unstructured, "the program (" + o.File + ")"})
			}
			for _, rel := range renderedReleases(t, all, stack) {
				for _, o := range rel.Objects {
					obj := o.Unstructured.DeepCopy()
					if obj.GetNamespace() == "" && !clusterScopedKinds[obj.GetKind()] {
						obj.SetNamespace(rel.Namespace)
					}
					objs = append(objs, bound{obj, rel.ID()})
				}
			}
			roles := map[string]bool{}
			for _, b := range objs {
				if g := b.obj.GroupVersionKind().Group; g == "rbac.authorization.k8s.io" && (b.obj.GetKind() == "Role" || b.obj.GetKind() == "ClusterRole") {
					roles[b.obj.GetKind()+"/"+b.obj.GetNamespace()+"/"+b.obj.GetName()] = true
				}
			}
			n := 0
			for _, b := range objs {
				kind := b.obj.GetKind()
				if b.obj.GroupVersionKind().Group != "rbac.authorization.k8s.io" || (kind != "RoleBinding" && kind != "ClusterRoleBinding") {
					continue
				}
				n++
				refKind, _, _ := unstructured.NestedString(b.obj.Object, "roleRef", "kind")
				refName, _, _ := unstructured.NestedString(b.obj.Object, "roleRef", "name")
				ns := ""
				if refKind == "Role" {
					ns = b.obj.GetNamespace()
				}
				if builtinRole(refKind, ns, refName) {
					continue
				}
				assert.True(t, roles[refKind+"/"+ns+"/"+refName], "stack %s: %s %s/%s from %s binds %s %q, which neither the program nor any chart declares and the API server does not bootstrap",
					stack, kind, b.obj.GetNamespace(), b.obj.GetName(), b.origin, refKind, refName)
			}
			assert.NotZero(t, n, "stack %s: bindings checked", stack)
		})
	}
}
