package routing_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/harness"
)

// The AWS provider refuses a bucket_prefix longer than 37 characters: 63
// (S3's bucket name limit) minus the 26-character unique suffix it appends
// (terraform-provider-aws internal/service/s3/bucket.go:
// validation.StringLenBetween(0, 63-id.UniqueIDSuffixLength); pulumi-aws
// v6.83.4 BucketV2Args.BucketPrefix: "Must be lowercase and less than or equal
// to 37 characters in length").
const providerBucketPrefixLimit = 37

// S3 general purpose bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/
// userguide/bucketnamingrules.html): 3-63 characters of lowercase letters,
// digits, dots and hyphens, beginning and ending with a letter or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// A suffix as the provider generates it (id.PrefixedUniqueId: a timestamp
// and a counter, 26 digits).
const uniqueSuffix = "20261201120000000000000001"

func accessLogBucketPrefix(t *testing.T, clusterName string) string {
	t.Helper()
	res, err := harness.Run("t", nil, nil, func(ctx *pulumi.Context) error {
		// The bucket prefix derives from routing's AWS.ClusterName; the
		// cluster only provides workload roles (its own name is shorter:
		// cluster.CheckName).
		c, err := cluster.NewCluster(ctx, "c", &cluster.Args{
			Name: "platform-test", Region: "eu-west-1",
			AdminRoleARNs: []string{"arn:aws:iam::111122223333:role/deploy"},
			Subnets:       []cluster.ZoneSubnet{{Zone: "eu-west-1a", ID: pulumi.String("subnet-a")}, {Zone: "eu-west-1b", ID: pulumi.String("subnet-b")}},
		})
		if err != nil {
			return err
		}
		_, err = routing.NewRouting(ctx, "routing", &routing.Args{
			Domain: "test.example.com", ProxyReplicas: 2,
			// The bucket exists only with a TLS listener on the NLB.
			TLS: routing.TLSArgs{Mode: routing.TLSACM, CertificateARN: certARN},
			AWS: &routing.AWSArgs{
				Region: "eu-west-1", AccountID: pulumi.String("111122223333").ToStringOutput(), ClusterName: clusterName,
				VpcID: pulumi.String("vpc-0abc"), PublicSubnetIDs: pulumi.ToStringArray([]string{"subnet-pa", "subnet-pb"}),
				HostedZoneID: "Z0EXAMPLE1", ZoneName: "example.com", Roles: c,
			},
		})
		return err
	})
	require.NoError(t, err)
	buckets := res.OfType("aws:s3/bucketV2:BucketV2")
	require.Len(t, buckets, 1)
	return buckets[0].String("bucketPrefix")
}

func TestAccessLogBucketPrefixFitsTheProvider(t *testing.T) {
	names := map[string]string{
		"short (kept as it is)": "platform-dev",
		"27 characters":         "platform-prod-eu-central-01",
		"28 characters":         "platform-prod-eu-central-001",
		"63 characters":         "platform-production-eu-central-1-payments-and-billing-team-0001",
		"100 characters (the longest stacks/validate.go allows)": strings.Repeat("a", 100),
		"upper case and _": "Platform_Dev",
	}
	seen := map[string]string{}
	for name, cluster := range names {
		t.Run(name, func(t *testing.T) {
			prefix := accessLogBucketPrefix(t, cluster)
			assert.LessOrEqual(t, len(prefix), providerBucketPrefixLimit, "%q", prefix)
			assert.Regexp(t, bucketName, prefix+uniqueSuffix)
			assert.True(t, strings.HasSuffix(prefix, "-nlb-logs-"), "%q says what the bucket holds", prefix)
			lower := strings.ToLower(strings.ReplaceAll(cluster, "_", "-"))
			assert.True(t, strings.HasPrefix(lower, strings.TrimSuffix(prefix, "-nlb-logs-")[:10]), "%q starts with the cluster's name %q", prefix, cluster)
			assert.Equal(t, prefix, accessLogBucketPrefix(t, cluster), "the same on every run: a new prefix would replace the bucket")
			seen[cluster] = prefix
		})
	}
	assert.Equal(t, "platform-dev-nlb-logs-", seen["platform-dev"], "a name that fits is used as it is")
	assert.Equal(t, "platform-prod-eu-central-01-nlb-logs-", seen["platform-prod-eu-central-01"])
}

func TestAccessLogBucketPrefixKeepsLongNamesApart(t *testing.T) {
	long := "platform-production-eu-central-1-payments-and-billing-team-"
	a, b := accessLogBucketPrefix(t, long+"0001"), accessLogBucketPrefix(t, long+"0002")
	assert.NotEqual(t, a, b, "two 63-character cluster names that differ only at the end")
	c, d := accessLogBucketPrefix(t, "platform-prod-eu-central-001"), accessLogBucketPrefix(t, "platform-prod-eu-central-002")
	assert.NotEqual(t, c, d, "two 28-character cluster names that differ in the 28th character")
	assert.NotEqual(t, accessLogBucketPrefix(t, "Platform_Dev"), accessLogBucketPrefix(t, "platform-dev"), "names that only lowercasing makes equal")
}
