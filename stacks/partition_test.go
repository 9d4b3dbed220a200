package stacks

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// partitionRegions are regions of each AWS partition, from the AWS SDKs'
// partitions.json (aws/aws-sdk-go-v2 v1.48.0,
// internal/endpoints/awsrulesfn/partitions.json: "regions" and
// "regionRegex" of each partition). Every ARN this program writes starts
// arn:aws:, so only the aws partition's regions can work.
var partitionRegions = map[string][]string{
	"aws":        {"eu-west-1", "us-east-1", "ap-southeast-7", "ca-west-1", "il-central-1", "mx-central-1", "me-central-1", "af-south-1", "sa-east-1"},
	"aws-cn":     {"cn-north-1", "cn-northwest-1"},
	"aws-us-gov": {"us-gov-west-1", "us-gov-east-1"},
	"aws-iso":    {"us-iso-east-1", "us-iso-west-1"},
	"aws-iso-b":  {"us-isob-east-1", "us-isob-west-1"},
	"aws-iso-e":  {"eu-isoe-west-1"},
	"aws-iso-f":  {"us-isof-east-1", "us-isof-south-1"},
	"aws-eusc":   {"eusc-de-east-1"},
}

func TestRegionOutsideTheAWSPartitionRefused(t *testing.T) {
	for partition, regions := range partitionRegions {
		for _, region := range regions {
			t.Run(partition+"/"+region, func(t *testing.T) {
				zones := fmt.Sprintf(`["%[1]sa","%[1]sb","%[1]sc"]`, region)
				_, err := Load(with(validProd(), map[string]string{"aws:region": region, "platform:availabilityZones": zones}))
				var about []string
				var verr *ValidationError
				if errors.As(err, &verr) {
					for _, p := range verr.Problems {
						if strings.HasPrefix(p, "aws:region: ") {
							about = append(about, p)
						}
					}
				}
				if partition == "aws" {
					assert.Empty(t, about, "a region of the aws partition is accepted")
					return
				}
				require.Len(t, about, 1, "one message for the region; got: %v", err)
				assert.Contains(t, about[0], fmt.Sprintf("aws:region: %q", region))
				assert.Contains(t, about[0], "aws partition")
				assert.Contains(t, about[0], "arn:aws:")
			})
		}
	}
}
