package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// ignoredResources churn on their own and are never the program's: events,
// the leases nodes and controllers renew, and the nodes, which the node
// roll replaces (RollZone).
var ignoredResources = map[string]bool{
	"nodes":                      true,
	"events":                     true,
	"events.events.k8s.io":       true,
	"leases.coordination.k8s.io": true,
}

// Objects lists every object the API server holds, as
// "<resource>.<group> <namespace>/<name>", sorted.
func (c *Cluster) Objects(ctx context.Context) ([]string, error) {
	objs, err := listObjects(ctx, c)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s %s/%s", o.resource, o.namespace, o.name))
	}
	sort.Strings(out)
	return out, nil
}

func canList(r metav1.APIResource) bool {
	for _, v := range r.Verbs {
		if v == "list" {
			return true
		}
	}
	return false
}

// Added returns the entries of now that are not in before.
func Added(before, now []string) []string {
	seen := map[string]bool{}
	for _, o := range before {
		seen[o] = true
	}
	var out []string
	for _, o := range now {
		if !seen[o] {
			out = append(out, o)
		}
	}
	return out
}

// KeptCRDs splits objects (as Objects lists them) into those left behind
// and the CustomResourceDefinitions of groups, with the APIServices the API
// server registers for those groups, which a destroy keeps by design
// (helmrelease.RetainCRDs).
func KeptCRDs(objs, groups []string) (left, kept []string) {
	for _, o := range objs {
		resource, id, _ := strings.Cut(o, " ")
		name := id[strings.LastIndex(id, "/")+1:]
		switch {
		case resource == "customresourcedefinitions.apiextensions.k8s.io" && inGroups(name, groups),
			resource == "apiservices.apiregistration.k8s.io" && inGroups(name, groups):
			kept = append(kept, o)
		default:
			left = append(left, o)
		}
	}
	return left, kept
}

// Volumes lists the PersistentVolumeClaims ("persistentvolumeclaim
// <namespace>/<name>") and PersistentVolumes ("persistentvolume <name>",
// with the claim it is bound to) the API server holds, sorted. A claim or
// volume left after a destroy is, on EKS, an EBS volume left billed (issue
// 19 finding 6).
func (c *Cluster) Volumes(ctx context.Context) ([]string, error) {
	claims, err := c.Client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list persistentvolumeclaims: %w", err)
	}
	volumes, err := c.Client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list persistentvolumes: %w", err)
	}
	var out []string
	for _, pvc := range claims.Items {
		out = append(out, fmt.Sprintf("persistentvolumeclaim %s/%s", pvc.Namespace, pvc.Name))
	}
	for _, pv := range volumes.Items {
		bound := ""
		if ref := pv.Spec.ClaimRef; ref != nil {
			bound = fmt.Sprintf(" (claim %s/%s, %s)", ref.Namespace, ref.Name, pv.Status.Phase)
		}
		out = append(out, "persistentvolume "+pv.Name+bound)
	}
	sort.Strings(out)
	return out, nil
}

// inGroups reports whether name (a CRD's or APIService's) ends in one of
// the API groups.
func inGroups(name string, groups []string) bool {
	for _, g := range groups {
		if strings.HasSuffix(name, "."+g) {
			return true
		}
	}
	return false
}

// clusterObject is one object of the API server: its resource, namespace
// and name, and the Helm release that installed it.
type clusterObject struct {
	resource, namespace, name, release string
	// history: a revision record (Helm's release Secrets, a Deployment's
	// old ReplicaSets, a DaemonSet's ControllerRevisions), kept up to a
	// history limit; a reinstall starts a new history.
	history bool
}

func (o clusterObject) id() string { return o.resource + " " + o.namespace + "/" + o.name }

// kindKey counts objects per resource and namespace: what is compared for
// names chosen by a controller (a ReplicaSet's pods) or with a random
// suffix (Pulumi's auto-naming).
func (o clusterObject) kindKey() string { return o.resource + " " + o.namespace }

// listObjects lists every object the API server holds (as Objects does)
// with the Helm release that installed it.
func listObjects(ctx context.Context, c *Cluster) ([]clusterObject, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var out []clusterObject
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, err
		}
		for _, r := range l.APIResources {
			name := r.Name
			if gv.Group != "" {
				name += "." + gv.Group
			}
			if strings.Contains(r.Name, "/") || ignoredResources[name] || !canList(r) {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", name, err)
			}
			for _, it := range items.Items {
				typ, _, _ := strings.Cut(fmt.Sprint(it.Object["type"]), " ")
				out = append(out, clusterObject{
					resource: name, namespace: it.GetNamespace(), name: it.GetName(),
					release: it.GetAnnotations()["meta.helm.sh/release-name"],
					history: name == "secrets" && typ == "helm.sh/release.v1" ||
						name == "replicasets.apps" || name == "controllerrevisions.apps",
				})
			}
		}
	}
	return out, nil
}
