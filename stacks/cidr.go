package stacks

import (
	"fmt"
	"net/netip"
)

// maxZones is how many AZs SplitVPC can serve: 7 private eighths plus one
// eighth split again for the public subnets.
const maxZones = 7

// SplitVPC derives one private and one public subnet per AZ from the VPC
// block. The VPC is cut in eighths: private subnets take the first `zones`
// eighths (large, because the VPC CNI gives every pod a VPC address); the last
// eighth is cut in eighths again for the public subnets, which hold only load
// balancers and NAT gateways. For a /16 that is a /19 private and a /22 public
// subnet per AZ.
func SplitVPC(vpc string, zones int) (private, public []string, err error) {
	prefix, err := netip.ParsePrefix(vpc)
	if err != nil {
		return nil, nil, err
	}
	if !prefix.Addr().Is4() || prefix.Bits() > 22 {
		return nil, nil, fmt.Errorf("the VPC block must be IPv4 and /22 or larger to derive subnets")
	}
	if zones > maxZones {
		return nil, nil, fmt.Errorf("at most %d availability zones can be derived from one VPC block", maxZones)
	}
	eighths := subdivide(prefix.Masked(), 3)
	for i := 0; i < zones; i++ {
		private = append(private, eighths[i].String())
	}
	publics := subdivide(eighths[7], 3)
	for i := 0; i < zones; i++ {
		public = append(public, publics[i].String())
	}
	return private, public, nil
}

// subdivide splits an IPv4 prefix into 2^extraBits equal prefixes.
func subdivide(p netip.Prefix, extraBits int) []netip.Prefix {
	bits := p.Bits() + extraBits
	size := uint32(1) << (32 - bits)
	base := p.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	out := make([]netip.Prefix, 0, 1<<extraBits)
	for i := uint32(0); i < 1<<extraBits; i++ {
		a := start + i*size
		addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		out = append(out, netip.PrefixFrom(addr, bits))
	}
	return out
}

// overlaps reports whether two prefixes share any address.
func overlaps(a, b netip.Prefix) bool {
	return a.Overlaps(b)
}

// contains reports whether inner lies entirely inside outer.
func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}
