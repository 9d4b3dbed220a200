package namespace

import (
	"errors"
	"regexp"
)

// dnsLabel is the shape of a namespace name (and of every other object name
// that must be an RFC 1123 label: Gateway, GatewayClass): lower-case
// letters, digits and '-', at most 63 characters, starting and ending with
// a letter or digit. This is the one place the project writes it.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// errNotDNSLabel is what CheckDNSLabel says of a bad name.
var errNotDNSLabel = errors.New("must be a DNS label: lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit")

// CheckName says whether s can name a namespace (an RFC 1123 DNS label);
// the error says what is allowed, for messages that name the field.
func CheckName(s string) error {
	if !dnsLabel.MatchString(s) {
		return errNotNamespaceName
	}
	return nil
}

// errNotNamespaceName is what CheckName says of a bad namespace name.
var errNotNamespaceName = errors.New("must be a Kubernetes namespace name (" + errNotDNSLabel.Error() + ")")

// IsDNSLabel says whether s is an RFC 1123 DNS label, the shape of one
// label of a domain name too.
func IsDNSLabel(s string) bool { return dnsLabel.MatchString(s) }

// CheckDNSLabel says whether s can name an object whose name must be a DNS
// label (a Gateway, a GatewayClass).
func CheckDNSLabel(s string) error {
	if !dnsLabel.MatchString(s) {
		return errNotDNSLabel
	}
	return nil
}
