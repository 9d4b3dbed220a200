package routing

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/cnplatform/platform/components/contract"
	"github.com/cnplatform/platform/components/namespace"
)

// The shapes of routing's fields, written once: Args.validate and the
// stack configuration (stacks) both check with these.
var (
	hostedZoneID = contract.NewShape(`^Z[A-Z0-9]{1,31}$`, "must be a Route53 hosted zone id such as Z0123456789ABCDEFGHIJ")
	acmARN       = contract.NewShape(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$`,
		"must be an ACM certificate ARN such as arn:aws:acm:eu-west-1:111122223333:certificate/<uuid>")
	// tldPattern: a top-level domain is letters only.
	tldPattern = regexp.MustCompile(`^[a-z]{2,63}$`)
)

// CheckDomain says whether s is a lower-case DNS name of at least two
// labels (each a DNS label, the last letters only), at most 253
// characters.
func CheckDomain(s string) error {
	labels := strings.Split(s, ".")
	ok := len(s) <= 253 && len(labels) >= 2 && tldPattern.MatchString(labels[len(labels)-1])
	for _, l := range labels {
		ok = ok && namespace.IsDNSLabel(l)
	}
	if !ok {
		return errors.New("must be a lower-case DNS name with at least two labels, such as dev.example.com")
	}
	return nil
}

// CheckCertManager says whether s says where cert-manager comes from.
func CheckCertManager(s string) error {
	if s != CertManagerInstall && s != CertManagerExisting {
		return fmt.Errorf("must be %s (install cert-manager's chart) or %s (use the cert-manager the cluster runs)", CertManagerInstall, CertManagerExisting)
	}
	return nil
}

// CheckDNSPolicy says whether s is an external-dns policy.
func CheckDNSPolicy(s string) error {
	if s != DNSPolicySync && s != DNSPolicyUpsertOnly {
		return fmt.Errorf("must be %s or %s", DNSPolicySync, DNSPolicyUpsertOnly)
	}
	return nil
}

// CheckHostedZoneID says whether s has the shape of a Route53 hosted zone
// id.
func CheckHostedZoneID(s string) error { return hostedZoneID.Check(s) }

// CertificateRegion returns the region of ACM certificate ARN s, or an
// error saying what such an ARN looks like.
func CertificateRegion(s string) (string, error) { return acmARN.Submatch(s) }
