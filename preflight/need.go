// Package preflight checks, before `pulumi up`, that the AWS account a stack
// deploys into can take it: read-only calls that take seconds, against
// failures that otherwise surface minutes into an update, after billed
// resources exist.
//
// What a stack needs is read from its offline evaluation (harness/stackrun,
// the same records cmd/plan prints); Check then asks the account:
//   - is the caller one of platform:adminRoleArns? The cluster is created
//     with bootstrapClusterCreatorAdminPermissions false, so any other
//     identity builds VPC, cluster and nodes and then fails every Kubernetes
//     resource Unauthorized;
//   - does every managed policy the program attaches exist (iam:GetPolicy)?
//   - do the Elastic IP and VPC quotas, less what other stacks and users
//     already hold, leave room for what the stack declares?
//   - is each pinned EKS add-on version offered for the cluster's Kubernetes
//     version (eks:DescribeAddonVersions)?
//
// cmd/preflight is the command the deploy workflow and users run.
package preflight

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/quota"
)

// Resource types read from the recorded stack.
const (
	attachmentType = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	clusterType    = "aws:eks/cluster:Cluster"
	addonType      = "aws:eks/addon:Addon"
)

// Need is what a stack will need from its AWS account.
type Need struct {
	Stack  string
	Region string
	// AdminRoleARNs is platform:adminRoleArns: the identities that get
	// cluster-admin, so the only ones that can deploy the Kubernetes layer.
	AdminRoleARNs []string
	// Policies maps each managed policy ARN the program attaches (and does
	// not create itself) to the attachments naming it.
	Policies map[string][]string
	// ElasticIPs and VPCs the stack declares (quota.Need).
	ElasticIPs, VPCs int
	// OwnTags are the tags every Elastic IP and VPC of the stack carries
	// (stacks: Project, Environment, ManagedBy and platform:tags): an
	// address or VPC carrying all of them is the stack's own, already
	// counted in ElasticIPs or VPCs, so a re-run on a live stack passes.
	OwnTags map[string]string
	// KubernetesVersion of the cluster and the EKS add-on versions pinned for
	// it (components/cluster KubernetesVersions), by add-on name.
	KubernetesVersion string
	Addons            map[string]string
}

// NeedOf reads what an evaluated stack needs. A stack that declares no EKS
// cluster (local: it deploys onto an existing cluster) has nothing to check
// in an AWS account, and is refused.
func NeedOf(st *stackrun.Stack) (Need, error) {
	res := st.Result
	n := Need{
		Stack:         res.Stack,
		Region:        st.Config.Region,
		AdminRoleARNs: slices.Clone(st.Config.Cluster.AdminRoleARNs),
		Policies:      map[string][]string{},
		Addons:        map[string]string{},
	}
	clusters := res.OfType(clusterType)
	if len(clusters) != 1 {
		return Need{}, fmt.Errorf("stack %s declares %d EKS clusters: the preflight checks a stack that deploys one cluster into AWS (local deploys onto an existing cluster)", res.Stack, len(clusters))
	}
	if n.Region == "" {
		return Need{}, errors.New("aws:region is not set: the preflight checks the account in the stack's region")
	}
	n.KubernetesVersion = clusters[0].String("version")
	for _, a := range res.OfType(addonType) {
		n.Addons[a.String("addonName")] = a.String("addonVersion")
	}
	for _, a := range res.OfType(attachmentType) {
		arn := a.String("policyArn")
		// A policy the stack creates has, offline, an ARN in the mocks'
		// account; it does not exist before the update.
		if arn == "" || strings.Contains(arn, ":"+harness.MockAccount+":") {
			continue
		}
		n.Policies[arn] = append(n.Policies[arn], a.Name)
	}
	for _, names := range n.Policies {
		slices.Sort(names)
	}
	n.ElasticIPs, n.VPCs = quota.Need(res)
	n.OwnTags = commonTags(append(res.OfType(quota.ElasticIPs.ResourceType), res.OfType(quota.VPCs.ResourceType)...))
	return n, nil
}

// commonTags is the tags all of rs carry with the same value, Name aside.
func commonTags(rs []harness.Resource) map[string]string {
	var common map[string]string
	for _, r := range rs {
		tags := map[string]string{}
		if t := r.Get("tags"); t.IsObject() {
			for k, v := range t.ObjectValue() {
				if v.IsString() && k != "Name" {
					tags[string(k)] = v.StringValue()
				}
			}
		}
		if common == nil {
			common = tags
			continue
		}
		maps.DeleteFunc(common, func(k, v string) bool { return tags[k] != v })
	}
	return common
}
