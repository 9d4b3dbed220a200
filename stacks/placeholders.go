package stacks

import (
	"fmt"
	"net/netip"
	"strings"
)

// The committed stack files are examples: their account id, domain, hosted
// zone, CIDR blocks and e-mail are reserved documentation values, which
// pass validation (they have the right shape) and fail only at deploy time,
// after the VPC and cluster exist (EKS refuses an access entry for a role
// that does not exist; the API allow-list admits no real runner). A stack
// meant for deploy is checked with `plan -deploy`, which the deploy
// workflow runs: it refuses every such value.

// exampleAccounts are the account ids AWS documentation uses.
var exampleAccounts = []string{"111122223333", "123456789012", "444455556666", "777788889999"}

// documentationNets are reserved for documentation (RFC 5737, RFC 3849).
var documentationNets = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

// exampleDomains are reserved for documentation (RFC 2606).
var exampleDomains = []string{"example.com", "example.net", "example.org"}

// Placeholders lists the example values in a configuration, each with its
// key and what to put instead. Empty for a stack ready to deploy.
func Placeholders(c *Config) []string {
	var out []string
	add := func(key, value, instead string) {
		out = append(out, fmt.Sprintf("%s: %q is an example value: %s", key, value, instead))
	}
	arns := []struct {
		key  string
		arns []string
	}{{"adminRoleArns", c.Cluster.AdminRoleARNs}, {"viewerRoleArns", c.Cluster.ViewerRoleARNs}}
	for _, l := range arns {
		for i, arn := range l.arns {
			for _, acct := range exampleAccounts {
				if strings.Contains(arn, ":"+acct+":") {
					add(fmt.Sprintf("%s[%d]", Key(l.key), i), arn, "use a role of your account that exists (EKS refuses access entries for unknown principals); adminRoleArns must include the role that runs `pulumi up`")
				}
			}
		}
	}
	for i, cidr := range c.Cluster.PublicAccessCIDRs {
		if p, err := netip.ParsePrefix(cidr); err == nil && isDocumentation(p) {
			add(fmt.Sprintf("%s[%d]", Key("publicAccessCidrs"), i), cidr, "list the egress blocks of your deploy runners and operators, or turn the public endpoint off and deploy from inside the VPC")
		}
	}
	domains := map[string]string{Key("domain"): c.Domain, Key("routing") + ".zoneName": c.Routing.ZoneName}
	for _, key := range []string{Key("domain"), Key("routing") + ".zoneName"} {
		if d := domains[key]; d != "" && isExampleDomain(d) {
			add(key, d, "use your own domain (RFC 2606 reserves this one)")
		}
	}
	if z := c.Routing.HostedZoneID; strings.Contains(strings.ToUpper(z), "EXAMPLE") {
		add(Key("routing")+".hostedZoneId", z, "use your Route53 hosted zone's id (aws route53 list-hosted-zones)")
	}
	if e := c.Routing.ACMEEmail; e != "" && isExampleDomain(e[strings.LastIndex(e, "@")+1:]) {
		add(Key("routing")+".acmeEmail", e, "use an address that reads Let's Encrypt's expiry notices")
	}
	return out
}

func isDocumentation(p netip.Prefix) bool {
	for _, d := range documentationNets {
		if d.Overlaps(p) {
			return true
		}
	}
	return false
}

func isExampleDomain(d string) bool {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	for _, e := range exampleDomains {
		if d == e || strings.HasSuffix(d, "."+e) {
			return true
		}
	}
	return false
}
