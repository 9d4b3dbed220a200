package cluster

import "github.com/cnplatform/platform/components/contract"

// The shapes of the cluster's fields, written once: Args.validate and the
// stack configuration (stacks) both check with these.
var (
	// 40 characters: EKS allows 100, but the cluster's IAM roles are named
	// <cluster>-cluster-<7 random> and IAM role names stop at 64.
	clusterName = contract.NewShape(`^[0-9A-Za-z][A-Za-z0-9_-]{0,39}$`,
		"must be 1-40 letters, digits, - or _, starting with a letter or digit (the cluster's IAM role names derive from it and IAM stops at 64 characters)")
	roleARN = contract.NewShape(`^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$`,
		"must be an IAM role ARN such as arn:aws:iam::111122223333:role/platform-admin")
	instanceType = contract.NewShape(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`, "must be an EC2 instance type such as m5.large")
)

// CheckName says whether s can name the cluster.
func CheckName(s string) error { return clusterName.Check(s) }

// CheckRoleARN says whether s is an IAM role ARN (admin and viewer roles).
func CheckRoleARN(s string) error { return roleARN.Check(s) }

// CheckInstanceType says whether s has the shape of an EC2 instance type.
func CheckInstanceType(s string) error { return instanceType.Check(s) }
