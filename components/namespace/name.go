package namespace

import "github.com/cnplatform/platform/components/contract"

// dnsLabelPattern is the shape of a namespace name (and of every other
// object name that must be an RFC 1123 label: Gateway, GatewayClass):
// lower-case letters, digits and '-', at most 63 characters, starting and
// ending with a letter or digit. This is the one place the project writes
// it.
const dnsLabelPattern = `^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`

const notDNSLabel = "must be a DNS label: lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit"

var (
	dnsLabel      = contract.NewShape(dnsLabelPattern, notDNSLabel)
	namespaceName = contract.NewShape(dnsLabelPattern, "must be a Kubernetes namespace name ("+notDNSLabel+")")
)

// CheckName says whether s can name a namespace (an RFC 1123 DNS label);
// the error says what is allowed, for messages that name the field.
func CheckName(s string) error { return namespaceName.Check(s) }

// IsDNSLabel says whether s is an RFC 1123 DNS label, the shape of one
// label of a domain name too.
func IsDNSLabel(s string) bool { return dnsLabel.Check(s) == nil }

// CheckDNSLabel says whether s can name an object whose name must be a DNS
// label (a Gateway, a GatewayClass).
func CheckDNSLabel(s string) error { return dnsLabel.Check(s) }
