package backend_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/bootstrap/backend"
	"github.com/cnplatform/platform/harness"
)

// TestRegionOutsideTheAWSPartitionRefused: the bootstrap writes arn:aws:
// ARNs (policies, the OIDC provider, the managed policies it attaches), so
// a region of another partition must be refused before anything is
// registered. The regions are from the AWS SDKs' partitions.json
// (aws/aws-sdk-go-v2 v1.48.0, internal/endpoints/awsrulesfn/partitions.json).
func TestRegionOutsideTheAWSPartitionRefused(t *testing.T) {
	sf, err := harness.LoadStackFile("..", stackFileName)
	require.NoError(t, err)
	for region, partition := range map[string]string{
		"eu-central-1": "aws", "us-west-2": "aws", "mx-central-1": "aws",
		"cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso",
		"us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f",
		"eusc-de-east-1": "aws-eusc",
	} {
		t.Run(partition+"/"+region, func(t *testing.T) {
			cfg := map[string]string{}
			for k, v := range sf.Config {
				cfg[k] = v
			}
			cfg["aws:region"] = region
			res, err := harness.Run(stackFileName, cfg, nil, backend.Run)
			if partition == "aws" {
				require.NoError(t, err)
				assert.NotEmpty(t, res.OfType(bucketType))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), `aws:region "`+region+`"`)
			assert.Contains(t, err.Error(), "aws partition")
			assert.Contains(t, err.Error(), "arn:aws:")
			assert.Empty(t, res.OfType(bucketType), "nothing is registered")
		})
	}
}
