package preflight

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cnplatform/platform/quota"
)

// Clients are the AWS API clients Check calls, all read-only.
type Clients struct {
	STS    *sts.Client
	IAM    *iam.Client
	EC2    *ec2.Client
	EKS    *eks.Client
	Quotas *servicequotas.Client
}

// NewClients makes the clients from one configuration (region, credentials
// and endpoints: config.LoadDefaultConfig honours AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE>).
func NewClients(cfg aws.Config) Clients {
	return Clients{
		STS:    sts.NewFromConfig(cfg),
		IAM:    iam.NewFromConfig(cfg),
		EC2:    ec2.NewFromConfig(cfg),
		EKS:    eks.NewFromConfig(cfg),
		Quotas: servicequotas.NewFromConfig(cfg),
	}
}

// Problem is one reason the stack would fail to deploy, or a check that
// could not be made (which is not a pass).
type Problem struct {
	Check  string // "caller", "managed policy", a quota's name, "add-on"
	Detail string
}

func (p Problem) String() string { return p.Check + ": " + p.Detail }

// Report is the outcome of Check: what passed, one line each, and the
// problems.
type Report struct {
	Passed   []string
	Problems []Problem
}

func (r *Report) fail(check, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Check: check, Detail: fmt.Sprintf(format, args...)})
}

// couldNot records a call that failed for a reason the check does not
// handle: the check did not pass.
func (r *Report) couldNot(check, what string, err error) {
	r.fail(check, "could not check %s: %v", what, err)
}

// Check asks the account whether it can take the stack. Every check runs;
// a failing call is a problem ("could not check ..."), never a pass.
func Check(ctx context.Context, c Clients, n Need) Report {
	var r Report
	checkCaller(ctx, c, n, &r)
	checkPolicies(ctx, c, n, &r)
	checkQuota(ctx, c, n, quota.ElasticIPs, n.ElasticIPs, elasticIPsInUse, &r)
	checkQuota(ctx, c, n, quota.VPCs, n.VPCs, vpcsInUse, &r)
	checkAddons(ctx, c, n, &r)
	return r
}

// checkCaller: the identity running `pulumi up` must be in adminRoleArns,
// by its full role ARN. An access entry's role ARN includes the role's path
// ("Create access entries", Amazon EKS User Guide), while an assumed-role
// session ARN (arn:aws:sts::<account>:assumed-role/<name>/<session>) has
// none: iam:GetRole gives the role's ARN with it.
func checkCaller(ctx context.Context, c Clients, n Need, r *Report) {
	id, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		r.couldNot("caller", "the caller identity (sts:GetCallerIdentity)", err)
		return
	}
	caller := aws.ToString(id.Arn)
	principal := caller
	if role, ok := assumedRoleName(caller); ok {
		out, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			r.couldNot("caller", fmt.Sprintf("the role of %s (iam:GetRole %s)", caller, role), err)
			return
		}
		principal = aws.ToString(out.Role.Arn)
	}
	if slices.Contains(n.AdminRoleARNs, principal) {
		r.Passed = append(r.Passed, fmt.Sprintf("caller %s is in platform:adminRoleArns", principal))
		return
	}
	via := ""
	if principal != caller {
		via = " (session " + caller + ")"
	}
	r.fail("caller", "%s%s is not in platform:adminRoleArns %v of stack %s: the cluster gives its creator no access (bootstrapClusterCreatorAdminPermissions false), so VPC, cluster and nodes would be built and every Kubernetes resource would fail Unauthorized; add this ARN to platform:adminRoleArns or run as one of those roles",
		principal, via, n.AdminRoleARNs, n.Stack)
}

// assumedRoleName is the role name of an STS assumed-role session ARN.
func assumedRoleName(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sts" {
		return "", false
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, "/")
	return name, ok && name != ""
}

func checkPolicies(ctx context.Context, c Clients, n Need, r *Report) {
	found := 0
	for _, arn := range slices.Sorted(maps.Keys(n.Policies)) {
		_, err := c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		var missing *iamtypes.NoSuchEntityException
		switch {
		case errors.As(err, &missing):
			r.fail("managed policy", "%s does not exist (iam:GetPolicy: NoSuchEntity), attached by %s: AttachRolePolicy would fail the update", arn, strings.Join(n.Policies[arn], ", "))
		case err != nil:
			r.couldNot("managed policy", arn+" (iam:GetPolicy)", err)
		default:
			found++
		}
	}
	if found > 0 && found == len(n.Policies) {
		r.Passed = append(r.Passed, fmt.Sprintf("the %d managed policies the stack attaches exist", found))
	}
}

// inUse counts a quota's resources in the region: all, and those carrying
// the stack's own tags.
type inUse func(ctx context.Context, c Clients, own map[string]string) (all, owned int, err error)

// checkQuota: the per-region quotas of package quota (the same the plan
// command checks offline against their defaults), here with the value and
// usage the account reports.
func checkQuota(ctx context.Context, c Clients, n Need, q quota.Quota, declared int, count inUse, r *Report) {
	if declared == 0 {
		return
	}
	limit, err := quotaValue(ctx, c, q)
	if err != nil {
		r.couldNot(q.Name, fmt.Sprintf("the quota (service-quotas %s %s)", q.ServiceCode, q.Code), err)
		return
	}
	all, owned, err := count(ctx, c, n.OwnTags)
	if err != nil {
		r.couldNot(q.Name, "the usage", err)
		return
	}
	others := all - owned
	if others+declared > limit {
		r.fail(q.Name, "stack %s declares %d, %d others are in use in %s, quota %s %s is %d: %d over; request a quota increase or release unused ones before deploying",
			n.Stack, declared, others, n.Region, q.ServiceCode, q.Code, limit, others+declared-limit)
		return
	}
	r.Passed = append(r.Passed, fmt.Sprintf("%s: %d declared + %d others in use <= quota %d in %s", q.Name, declared, others, limit, n.Region))
}

// quotaValue is the applied quota, or AWS's default when the account has
// no applied value (GetServiceQuota answers NoSuchResourceException then).
func quotaValue(ctx context.Context, c Clients, q quota.Quota) (int, error) {
	in := &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String(q.ServiceCode), QuotaCode: aws.String(q.Code)}
	out, err := c.Quotas.GetServiceQuota(ctx, in)
	var none *sqtypes.NoSuchResourceException
	if errors.As(err, &none) {
		def, derr := c.Quotas.GetAWSDefaultServiceQuota(ctx, &servicequotas.GetAWSDefaultServiceQuotaInput{ServiceCode: in.ServiceCode, QuotaCode: in.QuotaCode})
		if derr != nil {
			return 0, fmt.Errorf("no applied value (%v), and the default: %w", err, derr)
		}
		return quotaOf(def.Quota)
	}
	if err != nil {
		return 0, err
	}
	return quotaOf(out.Quota)
}

func quotaOf(q *sqtypes.ServiceQuota) (int, error) {
	if q == nil || q.Value == nil {
		return 0, errors.New("the answer holds no quota value")
	}
	return int(*q.Value), nil
}

func hasTags(tags map[string]string, own map[string]string) bool {
	if len(own) == 0 {
		return false
	}
	for k, v := range own {
		if tags[k] != v {
			return false
		}
	}
	return true
}

func ec2Tags(ts []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func elasticIPsInUse(ctx context.Context, c Clients, own map[string]string) (all, owned int, err error) {
	out, err := c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		return 0, 0, fmt.Errorf("ec2:DescribeAddresses: %w", err)
	}
	for _, a := range out.Addresses {
		all++
		if hasTags(ec2Tags(a.Tags), own) {
			owned++
		}
	}
	return all, owned, nil
}

func vpcsInUse(ctx context.Context, c Clients, own map[string]string) (all, owned int, err error) {
	p := ec2.NewDescribeVpcsPaginator(c.EC2, &ec2.DescribeVpcsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("ec2:DescribeVpcs: %w", err)
		}
		for _, v := range page.Vpcs {
			all++
			if hasTags(ec2Tags(v.Tags), own) {
				owned++
			}
		}
	}
	return all, owned, nil
}

func checkAddons(ctx context.Context, c Clients, n Need, r *Report) {
	offered := 0
	for _, name := range slices.Sorted(maps.Keys(n.Addons)) {
		pinned := n.Addons[name]
		versions, err := addonVersions(ctx, c, name, n.KubernetesVersion)
		if err != nil {
			r.couldNot("add-on", fmt.Sprintf("%s %s for Kubernetes %s (eks:DescribeAddonVersions)", name, pinned, n.KubernetesVersion), err)
			continue
		}
		if !slices.Contains(versions, pinned) {
			list := strings.Join(versions, ", ")
			if list == "" {
				list = "none"
			}
			r.fail("add-on", "%s %s is not offered for Kubernetes %s in %s (eks:DescribeAddonVersions offers: %s): pin an offered version in components/cluster KubernetesVersions",
				name, pinned, n.KubernetesVersion, n.Region, list)
			continue
		}
		offered++
	}
	if offered > 0 && offered == len(n.Addons) {
		r.Passed = append(r.Passed, fmt.Sprintf("the %d pinned add-on versions are offered for Kubernetes %s", offered, n.KubernetesVersion))
	}
}

// addonVersions lists the versions of an add-on EKS offers for a
// Kubernetes version.
func addonVersions(ctx context.Context, c Clients, name, kubernetesVersion string) ([]string, error) {
	var versions []string
	p := eks.NewDescribeAddonVersionsPaginator(c.EKS, &eks.DescribeAddonVersionsInput{
		AddonName:         aws.String(name),
		KubernetesVersion: aws.String(kubernetesVersion),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Addons {
			if aws.ToString(a.AddonName) != name {
				continue
			}
			for _, v := range a.AddonVersions {
				versions = append(versions, aws.ToString(v.AddonVersion))
			}
		}
	}
	return versions, nil
}
