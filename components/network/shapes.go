package network

import (
	"errors"
	"regexp"
)

// The shapes of a region and an availability zone, written once: the stack
// configuration (stacks) checks with these.
var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$`)
	zonePattern   = regexp.MustCompile(`^([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)[a-z]$`)
)

// CheckRegion says whether s has the shape of an AWS region.
func CheckRegion(s string) error {
	if !regionPattern.MatchString(s) {
		return errors.New("must be an AWS region such as eu-west-1")
	}
	return nil
}

// ZoneRegion returns the region of availability zone s, or an error saying
// what a zone name looks like.
func ZoneRegion(s string) (string, error) {
	m := zonePattern.FindStringSubmatch(s)
	if m == nil {
		return "", errors.New("must be an availability zone name such as eu-west-1a")
	}
	return m[1], nil
}
