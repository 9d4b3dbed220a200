package network

import "github.com/cnplatform/platform/components/contract"

// The shapes of a region and an availability zone, written once: the stack
// configuration (stacks) checks with these.
var (
	// region is the aws partition's regionRegex in the AWS SDKs'
	// partitions.json (aws/aws-sdk-go-v2 v1.48.0,
	// internal/endpoints/awsrulesfn/partitions.json), the only partition
	// this program supports: every ARN it writes starts arn:aws:. The other
	// partitions' regions (aws-cn cn-*, aws-us-gov us-gov-*, aws-iso
	// us-iso-*, aws-iso-b us-isob-*, aws-iso-e eu-isoe-*, aws-iso-f
	// us-isof-*, aws-eusc eusc-de-*) do not match it.
	region = contract.NewShape(`^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$`,
		"must be an AWS region of the aws partition such as eu-west-1: this program writes arn:aws: ARNs, so China (cn-*), GovCloud (us-gov-*), ISO (us-iso-*, us-isob-*, us-isof-*, eu-isoe-*) and European Sovereign Cloud (eusc-*) regions are not supported")
	zone = contract.NewShape(`^([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)[a-z]$`, "must be an availability zone name such as eu-west-1a")
)

// CheckRegion says whether s is a region of the aws partition.
func CheckRegion(s string) error { return region.Check(s) }

// ZoneRegion returns the region of availability zone s, or an error saying
// what a zone name looks like.
func ZoneRegion(s string) (string, error) { return zone.Submatch(s) }
