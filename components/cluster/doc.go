// Package cluster builds a highly available EKS cluster from plain
// pulumi-aws resources (so every child is visible to previews and tests):
// the control plane with Secrets encrypted by a rotating customer KMS key,
// all five control-plane log types into a log group that expires, a private
// API endpoint (public only with an allow-list), access through EKS access
// entries (authentication mode API), an OIDC provider for IAM roles for
// service accounts, pinned EKS add-ons (vpc-cni, kube-proxy, coredns,
// aws-ebs-csi-driver, eks-pod-identity-agent), one managed node group per AZ
// whose launch template requires IMDSv2 with a hop limit of 1 and encrypts
// the gp3 root volume, and a Kubernetes provider for the platform layer.
//
// NewWorkloadRole gives another component an IAM role that only its own
// service account can assume.
package cluster
