package routing

import "github.com/cnplatform/platform/components/helmrelease"

// The upstream charts, pinned. Bump a version here, read the chart's release
// notes and the values it renamed, and run the tests.
var (
	// LoadBalancerControllerChart: aws/eks-charts release v0.0.246
	// (2026-10-05, "aws-load-balancer-controller v3.6.0"); since v3 the chart
	// version equals the controller version (aws/eks-charts#1312).
	LoadBalancerControllerChart = helmrelease.Chart{
		Repo: "https://aws.github.io/eks-charts", Name: "aws-load-balancer-controller", Version: "3.6.0",
	}
	// EnvoyGatewayChart: envoyproxy/gateway release v1.9.3 (2026-10-03,
	// release-notes/v1.9.3.yaml: Envoy 1.39.2 for CVE-2026-35189), published
	// as an OCI chart on Docker Hub. It installs the Gateway API CRDs too.
	EnvoyGatewayChart = helmrelease.Chart{
		Repo: "oci://docker.io/envoyproxy", Name: "gateway-helm", Version: "v1.9.3",
	}
	// EnvoyGatewayCRDChart: the CRD-only chart the same Envoy Gateway
	// release publishes beside gateway-helm, at the same version (the
	// Gateway API and Envoy Gateway CRDs as templates). The program applies
	// it before the release, which skips its own crds/ (docs/operations.md,
	// "CRDs"); a test checks that both render the same CRDs.
	EnvoyGatewayCRDChart = helmrelease.Chart{
		Repo: EnvoyGatewayChart.Repo, Name: "gateway-crds-helm", Version: EnvoyGatewayChart.Version,
	}
	// CertManagerChart: cert-manager v1.21.1 (2026-08, "all users should
	// upgrade": fixes a controller panic and DNS-01 issuers stuck at
	// InvalidSolver), from the jetstack chart repository.
	CertManagerChart = helmrelease.Chart{
		Repo: "https://charts.jetstack.io", Name: "cert-manager", Version: "v1.21.1",
	}
	// ExternalDNSChart: kubernetes-sigs/external-dns chart 1.21.1
	// (2026-04-30, Artifact Hub feed of external-dns/external-dns).
	ExternalDNSChart = helmrelease.Chart{
		Repo: "https://kubernetes-sigs.github.io/external-dns/", Name: "external-dns", Version: "1.21.1",
	}
)

// Charts lists every chart the component can install.
func Charts() []helmrelease.Chart {
	return []helmrelease.Chart{LoadBalancerControllerChart, EnvoyGatewayCRDChart, EnvoyGatewayChart, CertManagerChart, ExternalDNSChart}
}
