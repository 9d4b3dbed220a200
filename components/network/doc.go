// Package network builds the VPC the platform runs in: a public and a private
// subnet in every configured availability zone (tagged for EKS and load
// balancer discovery), an internet gateway, NAT gateways (one, or one per AZ
// so egress survives the loss of a zone), route tables, VPC flow logs to a
// log group that expires, and a default security group stripped of all rules.
//
// Nodes and pods live in the private subnets; the public subnets hold only
// the NAT gateways and internet-facing load balancers. AZs are passed in, not
// looked up, so a preview is the same wherever it runs.
package network
