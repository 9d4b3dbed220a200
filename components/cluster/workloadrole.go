package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/policydoc"
)

// WorkloadRoles creates an IAM role for one service account: what a
// component that installs a controller calling AWS needs from the cluster.
// *Cluster is one.
type WorkloadRoles interface {
	NewWorkloadRole(ctx *pulumi.Context, name string, args *WorkloadRoleArgs, opts ...pulumi.ResourceOption) (*WorkloadRole, error)
}

// WorkloadRoleArgs describes an IAM role for one Kubernetes service account
// (IAM roles for service accounts).
//
// The pulumi tags name the inputs of the component package
// (componentpkg), which serves this type to programs in other languages.
type WorkloadRoleArgs struct {
	// Namespace the role is for. Required.
	Namespace string `pulumi:"namespace"`
	// ServiceAccount the role is for. Required.
	ServiceAccount string `pulumi:"serviceAccount"`
	// ManagedPolicyARNs attached to the role. Default none.
	ManagedPolicyARNs []string `pulumi:"managedPolicyArns"`
	// Policy is an inline policy document (JSON). Default none.
	Policy pulumi.StringInput `pulumi:"policy"`
	// OIDCProviderARN is the ARN of the cluster's IAM OIDC provider (the
	// platform stack's output oidcProviderArn). Required by the function
	// NewWorkloadRole; Cluster.NewWorkloadRole sets it.
	OIDCProviderARN pulumi.StringInput `pulumi:"oidcProviderArn"`
	// OIDCIssuerURL is the cluster's OIDC issuer URL (the platform stack's
	// output oidcIssuerUrl). Required by the function NewWorkloadRole;
	// Cluster.NewWorkloadRole sets it.
	OIDCIssuerURL pulumi.StringInput `pulumi:"oidcIssuerUrl"`
	// Tags added to the role. Default none.
	Tags map[string]string `pulumi:"tags"`
}

// WorkloadRole is an IAM role only the named service account can assume.
type WorkloadRole struct {
	pulumi.ResourceState

	// RoleARN goes into the service account's eks.amazonaws.com/role-arn
	// annotation.
	RoleARN pulumi.StringOutput `pulumi:"roleArn"`
	// RoleName is the IAM role's name.
	RoleName pulumi.StringOutput `pulumi:"roleName"`

	// resources are the role and its policies: what must outlive a user of
	// the role that is deleted later than its own dependents (the EBS CSI
	// controller, NewCluster).
	resources []pulumi.Resource
}

// TrustPolicy is the trust document of a workload role: the cluster's OIDC
// provider may issue it to exactly system:serviceaccount:<ns>:<sa>, for STS.
func TrustPolicy(providerARN, issuerURL, namespace, serviceAccount string) string {
	host := strings.TrimPrefix(issuerURL, "https://")
	return policydoc.New(policydoc.Statement{
		Effect:    "Allow",
		Principal: map[string]any{"Federated": providerARN},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]string{"StringEquals": {
			host + ":sub": fmt.Sprintf("system:serviceaccount:%s:%s", namespace, serviceAccount),
			host + ":aud": "sts.amazonaws.com",
		}},
	}).JSON()
}

// workloadRoleTypeToken is WorkloadRole's Pulumi type.
const workloadRoleTypeToken = "platform:cluster:WorkloadRole"

// NewWorkloadRole gives another component an IAM role scoped to its service
// account. It is a child of the cluster unless opts name another parent.
func (c *Cluster) NewWorkloadRole(ctx *pulumi.Context, name string, args *WorkloadRoleArgs, opts ...pulumi.ResourceOption) (*WorkloadRole, error) {
	a := *args
	a.OIDCProviderARN, a.OIDCIssuerURL = c.oidcProvider.Arn, c.issuer
	a.Tags = map[string]string{}
	maps.Copy(a.Tags, c.tags)
	maps.Copy(a.Tags, args.Tags)
	return NewWorkloadRole(ctx, name, &a, append([]pulumi.ResourceOption{pulumi.Parent(c)}, opts...)...)
}

// NewWorkloadRole gives a workload an IAM role that only its service
// account, on the cluster whose OIDC provider args name, can assume: for a
// program of its own, outside the platform stack (the platform stack's
// outputs oidcProviderArn and oidcIssuerUrl, through a StackReference).
// Pass the AWS provider in opts when it is not the default.
func NewWorkloadRole(ctx *pulumi.Context, name string, args *WorkloadRoleArgs, opts ...pulumi.ResourceOption) (*WorkloadRole, error) {
	a := *args
	var errs contract.Problems
	if a.Namespace == "" || a.ServiceAccount == "" {
		errs.Add("Namespace and ServiceAccount are required")
	}
	if a.OIDCProviderARN == nil || a.OIDCIssuerURL == nil {
		errs.Add("OIDCProviderARN and OIDCIssuerURL are required (the platform stack's outputs oidcProviderArn and oidcIssuerUrl)")
	}
	r := &WorkloadRole{}
	if err := contract.Register(ctx, workloadRoleTypeToken, name, errs.Err(), r, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)
	trust := pulumi.All(a.OIDCProviderARN, a.OIDCIssuerURL).ApplyT(func(v []any) string {
		return TrustPolicy(v[0].(string), v[1].(string), a.Namespace, a.ServiceAccount)
	}).(pulumi.StringOutput)
	tags := contract.Tags(name, map[string]string{"platform/service-account": a.Namespace + "/" + a.ServiceAccount}, a.Tags)
	// The role's IAM name is its logical name plus a random suffix: keep
	// it within IAM's limit however long the cluster name is.
	physical := fitAutoName(name, maxRoleAutoName)
	role, err := iam.NewRole(ctx, physical, &iam.RoleArgs{AssumeRolePolicy: trust, Tags: tags}, parent)
	if err != nil {
		return nil, err
	}
	r.resources = append(r.resources, role)
	for i, arn := range a.ManagedPolicyARNs {
		att, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role: role.Name, PolicyArn: pulumi.String(arn),
		}, parent)
		if err != nil {
			return nil, err
		}
		r.resources = append(r.resources, att)
	}
	if a.Policy != nil {
		policy, err := iam.NewRolePolicy(ctx, physical, &iam.RolePolicyArgs{Role: role.ID(), Policy: a.Policy}, parent)
		if err != nil {
			return nil, err
		}
		r.resources = append(r.resources, policy)
	}
	r.RoleARN, r.RoleName = role.Arn, role.Name
	return contract.Finish(ctx, r, pulumi.Map{"roleArn": r.RoleARN, "roleName": r.RoleName})
}

// maxRoleAutoName is the longest logical name an IAM role can have: the
// provider names it <logical name>-<7 random hex> within IAM's 64 characters
// (pulumi-aws provider/resources.go: aws_iam_role "name":
// tfbridge.AutoName("name", 64, "-"); pulumi sdk
// go/common/resource/resource_id.go NewUniqueName refuses a longer one).
const maxRoleAutoName = 64 - 1 - 7

// fitAutoName returns name if it fits in max characters, otherwise its first
// characters and 8 hex characters of its SHA-256: the same on every run and
// different for names that share their beginning.
func fitAutoName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:max-9] + "-" + hex.EncodeToString(sum[:])[:8]
}
