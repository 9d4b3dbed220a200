package tests

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/stacks"
)

// inPlace lists, per resource type, the inputs a Kubernetes minor upgrade
// may change, and why each is an update, not a replacement: none is
// ForceNew in the Terraform AWS provider (v5 line) that pulumi-aws v6
// bridges, read in hashicorp/terraform-provider-aws:
//   - aws_eks_cluster `version` {Optional, Computed}, no ForceNew; the
//     update "Do any version update first" calls UpdateClusterVersion
//     (internal/service/eks/cluster.go @ 00555dc5b38f).
//   - aws_eks_node_group `version` and `release_version` {Optional,
//     Computed}; a change calls UpdateNodegroupVersion, EKS's rolling node
//     replacement (internal/service/eks/node_group.go @ 012e0a32f068). In
//     the same file ami_type, disk_size, instance_types, capacity_type,
//     subnet_ids and the launch template's id/name ARE ForceNew: a version
//     bump must not touch them, which this test enforces.
//   - aws_eks_addon `addon_version` {Optional, Computed}; a change calls
//     UpdateAddon (internal/service/eks/addon.go @ 00a35305dc1b); only
//     addon_name and cluster_name are ForceNew.
var inPlace = map[string][]string{
	eksType:       {"version"},
	nodeGroupType: {"version", "releaseVersion"},
	addonType:     {"addonVersion"},
}

// upgradeStacks are the environments on AWS, each evaluated at two
// consecutive Kubernetes minor versions.
var upgradeStacks = []string{"dev", "staging", "prod"}

func runAtVersion(t *testing.T, stack, version string) *harness.Result {
	t.Helper()
	sf, err := stackrun.LoadStackFile(repoRoot, stack)
	require.NoError(t, err)
	sf.Config["platform:kubernetesVersion"] = version
	res, err := harness.Run(stack, sf.Config, sf.SecretKeys, stacks.Run)
	require.NoError(t, err, "stack %s at Kubernetes %s", stack, version)
	return res
}

// TestKubernetesMinorUpgradeUpdatesInPlaceInOrder bumps
// platform:kubernetesVersion one minor (every consecutive pair of
// cluster.KubernetesVersions) on every AWS stack and compares what the
// program declares before and after (issue 21 item 5): the same resources
// (nothing created, deleted or renamed), only the inputs in inPlace changed
// (so the engine updates, never replaces), the node groups' AMI release
// moves with the version (its pin per version), and the dependency graph
// orders the updates: control plane, then the add-ons the nodes need
// (vpc-cni, kube-proxy, eks-pod-identity-agent), then each node group, then
// coredns and the EBS CSI driver.
func TestKubernetesMinorUpgradeUpdatesInPlaceInOrder(t *testing.T) {
	versions := cluster.SupportedKubernetesVersions()
	require.GreaterOrEqual(t, len(versions), 2, "two supported versions to upgrade between")
	for _, stack := range upgradeStacks {
		for i := 0; i+1 < len(versions); i++ {
			from, to := versions[i], versions[i+1]
			t.Run(fmt.Sprintf("%s %s to %s", stack, from, to), func(t *testing.T) {
				before, after := runAtVersion(t, stack, from), runAtVersion(t, stack, to)
				changed := compareForUpgrade(t, before, after)

				// What must change, and only that.
				want := map[string]bool{}
				for _, typ := range []string{eksType, nodeGroupType, addonType} {
					for _, r := range after.OfType(typ) {
						want[r.URN] = typ != addonType || r.String("addonVersion") != mustFind(t, before, r.URN).String("addonVersion")
					}
				}
				cl := theCluster(t, after)
				assert.Equal(t, to, cl.String("version"))
				assert.Contains(t, changed, cl.URN, "the control plane moves to %s", to)
				for _, g := range after.OfType(nodeGroupType) {
					assert.Equal(t, to, g.String("version"), g.Name)
					assert.Equal(t, cluster.KubernetesVersions[to].AMIReleaseVersion, g.String("releaseVersion"), "%s: the AMI release pinned for %s", g.Name, to)
					assert.Contains(t, changed, g.URN, "%s rolls to %s", g.Name, to)
				}
				for urn := range changed {
					assert.True(t, want[urn], "%s changes on a version bump, and should not", urn)
				}

				// Order, from the dependency graph of the upgraded stack.
				addons := map[string]harness.Resource{}
				for _, a := range after.OfType(addonType) {
					addons[a.String("addonName")] = a
				}
				for _, r := range after.Resources {
					if _, ok := changed[r.URN]; ok && r.URN != cl.URN {
						assert.True(t, dependsOn(after, r, cl.URN), "%s updates after the control plane", r.Name)
					}
				}
				for _, g := range after.OfType(nodeGroupType) {
					for _, name := range []string{"vpc-cni", "kube-proxy", "eks-pod-identity-agent"} {
						require.Contains(t, addons, name)
						assert.True(t, dependsOn(after, g, addons[name].URN), "%s updates after the %s add-on", g.Name, name)
					}
					for _, name := range []string{"coredns", "aws-ebs-csi-driver"} {
						require.Contains(t, addons, name)
						assert.True(t, dependsOn(after, addons[name], g.URN), "the %s add-on updates after %s", name, g.Name)
					}
				}
				t.Logf("%s %s -> %s: %d resources update in place, none replaced", stack, from, to, len(changed))
			})
		}
	}
}

// compareForUpgrade returns the custom resources whose inputs differ, with
// the changed top-level inputs; it fails on a resource only one side has
// and on a change outside inPlace.
func compareForUpgrade(t *testing.T, before, after *harness.Result) map[string][]string {
	t.Helper()
	old := map[string]harness.Resource{}
	for _, r := range before.Resources {
		if r.Custom {
			old[r.URN] = r
		}
	}
	changed := map[string][]string{}
	for _, r := range after.Resources {
		if !r.Custom {
			continue
		}
		o, ok := old[r.URN]
		if !assert.True(t, ok, "%s is created by the upgrade", r.URN) {
			continue
		}
		delete(old, r.URN)
		oldIn, newIn := o.PlainInputs(), r.PlainInputs()
		keys := map[string]bool{}
		for k := range oldIn {
			keys[k] = true
		}
		for k := range newIn {
			keys[k] = true
		}
		var diff []string
		for k := range keys {
			if !reflect.DeepEqual(oldIn[k], newIn[k]) {
				diff = append(diff, k)
			}
		}
		if len(diff) == 0 {
			continue
		}
		sort.Strings(diff)
		changed[r.URN] = diff
		for _, k := range diff {
			assert.True(t, slices.Contains(inPlace[r.Type], k), "%s (%s): input %q changes on the upgrade (%v -> %v); it is not one the provider updates in place, so the engine could replace the resource",
				r.Name, r.Type, k, oldIn[k], newIn[k])
		}
	}
	for urn := range old {
		t.Errorf("%s is deleted by the upgrade", urn)
	}
	return changed
}

func mustFind(t *testing.T, res *harness.Result, urn string) harness.Resource {
	t.Helper()
	r, ok := res.ByURN(urn)
	require.True(t, ok, urn)
	return r
}

// dependsOn reports whether r depends on urn, directly or through other
// resources (explicit dependencies, inputs and parents' dependencies are
// all in DependsOn as the harness records it).
func dependsOn(res *harness.Result, r harness.Resource, urn string) bool {
	seen := map[string]bool{}
	var walk func(harness.Resource) bool
	walk = func(x harness.Resource) bool {
		for _, d := range x.DependsOn {
			if d == urn {
				return true
			}
			if seen[d] {
				continue
			}
			seen[d] = true
			if next, ok := res.ByURN(d); ok && walk(next) {
				return true
			}
		}
		return false
	}
	return walk(r)
}

// TestAMIReleaseBumpRollsOnlyTheNodes moves the AMI release pinned for the
// stack's Kubernetes version to a newer build (issue 21 item 5, "a new AMI
// release shows in a preview as a node roll"): on every AWS stack only the
// managed node groups change, only their releaseVersion, which the provider
// updates in place (UpdateNodegroupVersion, a rolling replacement of the
// nodes; see inPlace above); nothing else is touched.
func TestAMIReleaseBumpRollsOnlyTheNodes(t *testing.T) {
	for _, stack := range upgradeStacks {
		t.Run(stack, func(t *testing.T) {
			before := runAtVersion(t, stack, cluster.DefaultKubernetesVersion)
			v := cluster.KubernetesVersions[cluster.DefaultKubernetesVersion]
			old := v.AMIReleaseVersion
			m := releaseVersion.FindStringSubmatch(old)
			require.NotNil(t, m, "AMI release %q", old)
			newer := v
			newer.AMIReleaseVersion = m[1] + "-99991231" // a later build of the same version
			cluster.KubernetesVersions[cluster.DefaultKubernetesVersion] = newer
			t.Cleanup(func() { cluster.KubernetesVersions[cluster.DefaultKubernetesVersion] = v })
			after := runAtVersion(t, stack, cluster.DefaultKubernetesVersion)

			changed := compareForUpgrade(t, before, after)
			groups := after.OfType(nodeGroupType)
			require.NotEmpty(t, groups)
			for _, g := range groups {
				assert.Equal(t, []string{"releaseVersion"}, changed[g.URN], "%s rolls onto the new AMI release", g.Name)
				assert.Equal(t, newer.AMIReleaseVersion, g.String("releaseVersion"), g.Name)
			}
			assert.Len(t, changed, len(groups), "only the node groups change: %v", changed)
		})
	}
}

// releaseVersion splits an EKS AMI release, <major.minor.patch>-<date>.
var releaseVersion = regexp.MustCompile(`^(\d+\.\d+\.\d+)-(\d{8})$`)
