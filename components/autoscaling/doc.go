// Package autoscaling installs Karpenter, so the cluster's nodes follow
// its load: the controller (upstream chart, on the system node groups) with
// an IAM role scoped as upstream's reference policy, the role and access
// entry of the nodes it launches, the interruption queue EC2's notices
// reach it through (spot interruptions, rebalance recommendations,
// scheduled maintenance), one EC2NodeClass with the node groups' hardened
// settings and the NodePools of typed Pool values.
package autoscaling
