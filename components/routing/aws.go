package routing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/helmrelease"
	"github.com/cnplatform/platform/components/namespace"
	"github.com/cnplatform/platform/components/policydoc"
)

func newNamespace(ctx *pulumi.Context, logical, name string, parent pulumi.ResourceOption) (*namespace.Namespace, error) {
	return namespace.New(ctx, logical, &namespace.Args{Name: name}, parent)
}

// newRole gives one service account an IAM role whose policy is built from
// the scope once the account and VPC ids are known.
func newRole(ctx *pulumi.Context, r *Routing, a *Args, name, ns, sa string, build func(Scope) string) (*cluster.WorkloadRole, error) {
	aws := a.AWS
	policy := pulumi.All(aws.AccountID, aws.VpcID).ApplyT(func(v []any) string {
		return build(Scope{
			Partition: aws.Partition, Region: aws.Region, AccountID: v[0].(string),
			ClusterName: aws.ClusterName, VpcID: v[1].(string), HostedZoneID: aws.HostedZoneID,
			Domain: a.Domain, CertificateARN: a.TLS.CertificateARN,
		})
	}).(pulumi.StringOutput)
	return aws.Roles.NewWorkloadRole(ctx, aws.ClusterName+"-"+name, &cluster.WorkloadRoleArgs{
		Namespace: ns, ServiceAccount: sa, Policy: policy,
	}, pulumi.Parent(r))
}

// newServiceAccount creates a chart's service account ourselves, so the IAM
// role ARN (known only at deploy time) is an annotation and not a chart value.
func newServiceAccount(ctx *pulumi.Context, name string, ns *namespace.Namespace, role *cluster.WorkloadRole, parent pulumi.ResourceOption) (*corev1.ServiceAccount, error) {
	annotations := pulumi.StringMap{}
	if role != nil {
		annotations["eks.amazonaws.com/role-arn"] = role.RoleARN
		annotations["eks.amazonaws.com/sts-regional-endpoints"] = pulumi.String("true")
	}
	return corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: ns.Name, Annotations: annotations},
	}, parent)
}

// withValue sets one top-level chart value to an output (helmrelease renders
// values from plain Go structs).
func withValue(key string, v pulumi.Input) pulumi.ResourceOption {
	return pulumi.Transformations([]pulumi.ResourceTransformation{func(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
		ra, ok := args.Props.(*helmv3.ReleaseArgs)
		if !ok {
			return nil
		}
		values := pulumi.Map{}
		if m, ok := ra.Values.(pulumi.Map); ok {
			for k, e := range m {
				values[k] = e
			}
		}
		values[key] = v
		ra.Values = values
		return &pulumi.ResourceTransformationResult{Props: ra, Opts: args.Opts}
	}})
}

// awsController is a controller that calls AWS APIs through its own IAM
// role: the load balancer controller and external-dns.
type awsController struct {
	release, namespace, serviceAccount string
	// rule is the controller's network policy.
	rule   policyRule
	policy func(Scope) string
	chart  helmrelease.Chart
	values any
	opts   []pulumi.ResourceOption
	// skipCRDs leaves the chart's crds/ directory out (helmrelease.Args).
	skipCRDs bool
}

// newAWSController installs c in its own namespace, in order: the namespace,
// its network policies, the IAM role for the service account, the service
// account, and the release.
func newAWSController(ctx *pulumi.Context, r *Routing, a *Args, c awsController, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	ns, err := newNamespace(ctx, c.release, c.namespace, parent)
	if err != nil {
		return nil, err
	}
	policies, err := networkPolicies(ctx, r, a, c.namespace, ns, []policyRule{c.rule})
	if err != nil {
		return nil, err
	}
	role, err := newRole(ctx, r, a, c.release, c.namespace, c.serviceAccount, c.policy)
	if err != nil {
		return nil, err
	}
	sa, err := newServiceAccount(ctx, c.serviceAccount, ns, role, parent)
	if err != nil {
		return nil, err
	}
	deps := append([]pulumi.Resource{sa, role}, policies...)
	deps = append(deps, a.monitorDeps()...)
	return helmrelease.New(ctx, c.release, &helmrelease.Args{
		Chart:     c.chart,
		Namespace: ns.Name,
		Values:    c.values,
		SkipCRDs:  c.skipCRDs,
	}, append([]pulumi.ResourceOption{parent, pulumi.DependsOn(deps)}, c.opts...)...)
}

func newLoadBalancerController(ctx *pulumi.Context, r *Routing, a *Args, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	aws := a.AWS
	return newAWSController(ctx, r, a, awsController{
		release: "aws-load-balancer-controller", namespace: LoadBalancerControllerNamespace,
		serviceAccount: LoadBalancerControllerServiceAccount,
		rule: policyRule{
			name:        "controller",
			webhookPort: 9443, apiServer: true,
			ingress: []peerPorts{{peer: monitoringPeer(a), tcp: []int{8080}}},
			egress:  []peerPorts{awsAPIs()},
		},
		policy: func(s Scope) string { return LoadBalancerControllerPolicy(s).JSON() },
		chart:  LoadBalancerControllerChart,
		values: LoadBalancerControllerValuesFor(aws.ClusterName, aws.Region, aws.Tags, a.sizing()),
		opts:   []pulumi.ResourceOption{withValue("vpcId", aws.VpcID)},
	}, parent)
}

func newExternalDNS(ctx *pulumi.Context, r *Routing, a *Args, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	return newAWSController(ctx, r, a, awsController{
		release: "external-dns", namespace: ExternalDNSNamespace, serviceAccount: ExternalDNSServiceAccount,
		rule: policyRule{
			name:      "controller",
			apiServer: true,
			ingress:   []peerPorts{{peer: monitoringPeer(a), tcp: []int{7979}}},
			egress:    []peerPorts{awsAPIs()},
		},
		policy: func(s Scope) string { return ExternalDNSPolicy(s).JSON() },
		chart:  ExternalDNSChart,
		// The owner id is the cluster name: unique per environment, so
		// environments can share a zone without deleting each other's records.
		values: externalDNSValues(a),
		// The chart's crds/ holds only DNSEndpoint, the type of the `crd`
		// source, which these values do not enable (sources:
		// gateway-httproute): a CRD nothing uses, that Helm would install
		// once and never upgrade.
		skipCRDs: true,
	}, parent)
}

// externalDNSValues are ExternalDNSValuesFor with the ServiceMonitor only
// when the Prometheus Operator CRDs exist.
func externalDNSValues(a *Args) ExternalDNSValues {
	aws := a.AWS
	v := ExternalDNSValuesFor(a.Domain, aws.HostedZoneID, aws.ClusterName, aws.DNSPolicy, aws.Region)
	v.ServiceMonitor.Enabled = a.Monitoring != nil
	return v
}

// newCertificates installs cert-manager (unless the cluster has it), the
// ClusterIssuer and the wildcard Certificate in the gateway namespace.
func newCertificates(ctx *pulumi.Context, r *Routing, a *Args, role *cluster.WorkloadRole, gatewayNS pulumi.StringInput, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
	var issuerDeps []pulumi.Resource
	if a.TLS.CertManager == CertManagerInstall {
		release, err := newCertManager(ctx, r, a, role, parent)
		if err != nil {
			return nil, err
		}
		issuerDeps = append(issuerDeps, release)
	}

	issuerName, issuerSpec := "self-signed", SelfSignedIssuerSpec()
	if a.TLS.Mode == TLSACME {
		issuerName = "letsencrypt"
		if a.TLS.ACMEServer == LetsEncryptStaging {
			issuerName = "letsencrypt-staging"
		}
		issuerSpec = ACMEIssuerSpec(a.TLS.ACMEServer, a.TLS.ACMEEmail, a.AWS.Region, a.AWS.HostedZoneID, a.AWS.ZoneName)
	}
	issuer, err := apiextensions.NewCustomResource(ctx, issuerName, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(certManagerAPI),
		Kind:        pulumi.String("ClusterIssuer"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(issuerName)},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.ToMap(issuerSpec)},
	}, parent, pulumi.DependsOn(issuerDeps))
	if err != nil {
		return nil, err
	}
	cert, err := apiextensions.NewCustomResource(ctx, certificateName, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(certManagerAPI),
		Kind:        pulumi.String("Certificate"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(certificateName), Namespace: gatewayNS},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.ToMap(CertificateSpec(a.Domain, certificateName+"-tls", issuerName))},
	}, parent, pulumi.DependsOn([]pulumi.Resource{issuer}))
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{cert}, nil
}

// newCertManager installs cert-manager's chart in its namespace, with its
// network policies and service account (bound to the DNS-01 role on AWS).
func newCertManager(ctx *pulumi.Context, r *Routing, a *Args, role *cluster.WorkloadRole, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	ns, err := newNamespace(ctx, "cert-manager", CertManagerNamespace, parent)
	if err != nil {
		return nil, err
	}
	egress := []peerPorts{awsAPIs()}
	if a.TLS.Mode == TLSACME {
		// The DNS-01 self-check asks the zone's authoritative name servers
		// directly, outside the cluster.
		egress = append(egress, peerPorts{peer: anywhere(), tcp: []int{53}, udp: []int{53}})
	}
	policies, err := networkPolicies(ctx, r, a, CertManagerNamespace, ns, []policyRule{{
		name:        "cert-manager",
		webhookPort: 10250, apiServer: true,
		ingress: []peerPorts{{peer: monitoringPeer(a), tcp: []int{9402}}},
		egress:  egress,
	}})
	if err != nil {
		return nil, err
	}
	sa, err := newServiceAccount(ctx, CertManagerServiceAccount, ns, role, parent)
	if err != nil {
		return nil, err
	}
	deps := append([]pulumi.Resource{sa}, policies...)
	if role != nil {
		deps = append(deps, role)
	}
	deps = append(deps, a.monitorDeps()...)
	return helmrelease.New(ctx, CertManagerRelease, &helmrelease.Args{
		Chart:     CertManagerChart,
		Namespace: ns.Name,
		Values:    CertManagerValuesFor(a.sizing()),
	}, parent, pulumi.DependsOn(deps))
}

// newAccessLogBucket is the NLB's access-log bucket: private, encrypted,
// versioned, expiring. Only the ELB log delivery service of this account may
// write to it, over TLS. It returns the bucket's name and its policy, which
// whatever enables the logs must wait for: ELB checks that it may write to
// the bucket when the attribute is set. NewRouting makes it only for an NLB
// with a TLS listener: "Access logs are created only if the load balancer
// has a TLS listener" (Elastic Load Balancing, "Enable access logs for your
// Network Load Balancer",
// docs.aws.amazon.com/elasticloadbalancing/latest/network/enable-access-logs.html).
func newAccessLogBucket(ctx *pulumi.Context, name string, aws *AWSArgs, parent pulumi.ResourceOption) (pulumi.StringOutput, pulumi.Resource, error) {
	tags := contract.Tags(name+"-nlb-access-logs", aws.Tags)
	opts := []pulumi.ResourceOption{parent, pulumi.Protect(aws.Protect)}
	bucket, err := s3.NewBucketV2(ctx, name+"-nlb-access-logs", &s3.BucketV2Args{
		BucketPrefix: pulumi.String(accessLogBucketPrefix(aws.ClusterName)),
		Tags:         tags,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	id := bucket.ID().ToStringOutput()
	child := []pulumi.ResourceOption{parent}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-nlb-access-logs", &s3.BucketOwnershipControlsArgs{
		Bucket: id,
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, child...); err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	block, err := s3.NewBucketPublicAccessBlock(ctx, name+"-nlb-access-logs", &s3.BucketPublicAccessBlockArgs{
		Bucket: id, BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, child...)
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	// SSE-S3: NLB log delivery writes to SSE-S3 buckets without a key policy.
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-nlb-access-logs", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: id,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, child...); err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	if _, err := s3.NewBucketVersioningV2(ctx, name+"-nlb-access-logs", &s3.BucketVersioningV2Args{
		Bucket:                  id,
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, child...); err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-nlb-access-logs", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: id,
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:                          pulumi.String("expire-access-logs"),
			Status:                      pulumi.String("Enabled"),
			Filter:                      &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration:                  &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(aws.AccessLogRetentionDays)},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{NoncurrentDays: pulumi.Int(1)},
		}},
	}, child...); err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	policy := pulumi.All(bucket.Arn, aws.AccountID).ApplyT(func(v []any) string {
		return AccessLogBucketPolicy(v[0].(string), aws.ClusterName, v[1].(string), aws.Region, aws.Partition).JSON()
	}).(pulumi.StringOutput)
	bucketPolicy, err := s3.NewBucketPolicy(ctx, name+"-nlb-access-logs", &s3.BucketPolicyArgs{Bucket: id, Policy: policy},
		parent, pulumi.DependsOn([]pulumi.Resource{block}))
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	return id, bucketPolicy, nil
}

// maxBucketPrefix is the longest bucket_prefix the AWS provider accepts: 63
// (the bucket name limit) minus the 26 characters of the unique suffix it
// appends (terraform-provider-aws internal/service/s3/bucket.go,
// validation.StringLenBetween(0, 63-id.UniqueIDSuffixLength); pulumi-aws
// v6.83.4 s3.BucketV2Args.BucketPrefix: "less than or equal to 37
// characters").
const maxBucketPrefix = 37

const accessLogBucketSuffix = "-nlb-logs-"

// accessLogBucketPrefix is the access-log bucket's name prefix:
// <cluster>-nlb-logs-. A cluster name that does not fit, or is not a valid
// bucket name part (upper case, _), is lowercased, cut and given 8 hex
// characters of its SHA-256, so the prefix stays within maxBucketPrefix,
// is the same on every run, and differs for cluster names that share their
// first characters.
func accessLogBucketPrefix(clusterName string) string {
	budget := maxBucketPrefix - len(accessLogBucketSuffix)
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, clusterName)
	if clean == clusterName && len(clean) <= budget {
		return clean + accessLogBucketSuffix
	}
	sum := sha256.Sum256([]byte(clusterName))
	hash := hex.EncodeToString(sum[:])[:8]
	if keep := budget - len(hash) - 1; len(clean) > keep {
		clean = clean[:keep]
	}
	return clean + "-" + hash + accessLogBucketSuffix
}

// AccessLogBucketPolicy lets the ELB log delivery service write this
// account's logs under prefix, and refuses any request not over TLS.
func AccessLogBucketPolicy(bucketARN, prefix, accountID, region, partition string) policydoc.Document {
	source := map[string]string{"aws:SourceAccount": accountID}
	delivery := map[string]any{"Service": "delivery.logs.amazonaws.com"}
	return policydoc.New(
		policydoc.Statement{
			Sid: "AWSLogDeliveryWrite", Effect: "Allow", Principal: delivery,
			Action:   []string{"s3:PutObject"},
			Resource: []string{fmt.Sprintf("%s/%s/AWSLogs/%s/*", bucketARN, prefix, accountID)},
			Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceAccount": accountID, "s3:x-amz-acl": "bucket-owner-full-control"},
				"ArnLike":      {"aws:SourceArn": fmt.Sprintf("arn:%s:logs:%s:%s:*", partition, region, accountID)},
			},
		},
		policydoc.Statement{
			Sid: "AWSLogDeliveryAclCheck", Effect: "Allow", Principal: delivery,
			Action:    []string{"s3:GetBucketAcl"},
			Resource:  []string{bucketARN},
			Condition: map[string]map[string]string{"StringEquals": source},
		},
		policydoc.Statement{
			Sid: "DenyInsecureTransport", Effect: "Deny", Principal: map[string]any{"AWS": "*"},
			Action:    []string{"s3:*"},
			Resource:  []string{bucketARN, bucketARN + "/*"},
			Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
		},
	)
}
