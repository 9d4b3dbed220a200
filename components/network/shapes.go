package network

import "github.com/cnplatform/platform/components/contract"

// The shapes of a region and an availability zone, written once: the stack
// configuration (stacks) checks with these.
var (
	region = contract.NewShape(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$`, "must be an AWS region such as eu-west-1")
	zone   = contract.NewShape(`^([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)[a-z]$`, "must be an availability zone name such as eu-west-1a")
)

// CheckRegion says whether s has the shape of an AWS region.
func CheckRegion(s string) error { return region.Check(s) }

// ZoneRegion returns the region of availability zone s, or an error saying
// what a zone name looks like.
func ZoneRegion(s string) (string, error) { return zone.Submatch(s) }
