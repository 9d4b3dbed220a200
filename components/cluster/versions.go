package cluster

import (
	"maps"
	"slices"
	"time"
)

// KubernetesVersion is an EKS Kubernetes version we support and the EKS
// add-on versions pinned for it.
type KubernetesVersion struct {
	// StandardSupportEnds: after this date EKS bills extended support (6x the
	// hourly cluster price) or, with upgradePolicy STANDARD, upgrades the
	// control plane on its own schedule.
	StandardSupportEnds time.Time
	// Addons maps an EKS add-on name to its pinned version.
	Addons map[string]string
	// AMIReleaseVersion is the EKS optimized AL2023 AMI release the managed
	// node groups run (their releaseVersion): <Kubernetes version>.<patch>-
	// <build date>. Managed node groups never move to a newer AMI on their
	// own; a new pin here rolls the nodes onto it (docs/operations.md,
	// "Patching the nodes"). EKS cannot roll a node group back to an older
	// release, so a pin only moves forward.
	AMIReleaseVersion string
}

// KubernetesVersions are the versions in EKS standard support on 2026-11-26.
//
// Dates: the Amazon EKS Kubernetes release calendar
// (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html): 14
// months of standard support from the EKS release (1.35: 2026-01-27, 1.36:
// 2026-06-02). 1.34 is left out: its standard support ends 2026-12-02.
//
// Add-on versions: kube-proxy and CoreDNS from the EKS user guide's "latest
// version for each Kubernetes version" tables (managing-kube-proxy,
// managing-coredns); vpc-cni, aws-ebs-csi-driver and eks-pod-identity-agent
// as `aws eks describe-addon-versions --kubernetes-version <v>` listed them in
// 2026. Check a new pin with that command before changing it.
//
// AMI releases: the "Release version" column of the AL2023 tables (x86_64
// and arm64 standard share one release) in awslabs/amazon-eks-ami's
// CHANGELOG.md, "AMI Release v20260714" (commit 15822511, 2026-07-21, the
// newest release in the copy read on 2026-12-07):
// 1.35.6-20260714 and 1.36.2-20260714. Check a new pin there, or with
// `aws ssm get-parameter --name
// /aws/service/eks/optimized-ami/<v>/amazon-linux-2023/x86_64/standard/recommended/release_version`.
var KubernetesVersions = map[string]KubernetesVersion{
	"1.35": {
		StandardSupportEnds: date(2027, time.March, 27),
		Addons: map[string]string{
			"vpc-cni":                "v1.22.3-eksbuild.1",
			"kube-proxy":             "v1.35.3-eksbuild.13",
			"coredns":                "v1.14.3-eksbuild.3",
			"aws-ebs-csi-driver":     "v1.62.0-eksbuild.1",
			"eks-pod-identity-agent": "v1.3.10-eksbuild.3",
		},
		AMIReleaseVersion: "1.35.6-20260714",
	},
	"1.36": {
		StandardSupportEnds: date(2027, time.August, 2),
		Addons: map[string]string{
			"vpc-cni":                "v1.22.3-eksbuild.1",
			"kube-proxy":             "v1.36.0-eksbuild.14",
			"coredns":                "v1.14.3-eksbuild.3",
			"aws-ebs-csi-driver":     "v1.62.0-eksbuild.1",
			"eks-pod-identity-agent": "v1.3.10-eksbuild.3",
		},
		AMIReleaseVersion: "1.36.2-20260714",
	},
}

// DefaultKubernetesVersion is the newest supported version: the longest time
// in standard support.
const DefaultKubernetesVersion = "1.36"

// SupportedKubernetesVersions lists the keys of KubernetesVersions in order.
func SupportedKubernetesVersions() []string {
	return slices.Sorted(maps.Keys(KubernetesVersions))
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
