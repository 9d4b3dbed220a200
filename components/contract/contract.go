// Package contract holds the pieces every component uses, so each
// component's defaulting, validation and registration read the same way:
// SetDefault for the one defaulting pass, Problems for a validate that
// reports every problem at once, Shape for a shape rule written once beside
// the field it checks, Register and Finish for a constructor's first and
// last steps (one error form), and Tags for AWS tags. docs/contributing.md
// describes the contract.
package contract

import (
	"errors"
	"fmt"
	"regexp"
)

// SetDefault sets *dst to v when it holds its type's zero value.
func SetDefault[T comparable](dst *T, v T) {
	var zero T
	if *dst == zero {
		*dst = v
	}
}

// Problems collects what is wrong with Args, each "Field value: allowed".
type Problems []error

// Add records one problem.
func (p *Problems) Add(format string, v ...any) { *p = append(*p, fmt.Errorf(format, v...)) }

// Err is every problem joined, or nil.
func (p Problems) Err() error { return errors.Join(p...) }

// Shape is a shape rule: a pattern and what a value must be, said without
// the value or the field, so the component's validate and the stack
// configuration can name them.
type Shape struct {
	pattern *regexp.Regexp
	allowed error
}

// NewShape compiles pattern; allowed reads "must be ...".
func NewShape(pattern, allowed string) Shape {
	return Shape{pattern: regexp.MustCompile(pattern), allowed: errors.New(allowed)}
}

// Check is nil when s has the shape, else what is allowed.
func (s Shape) Check(v string) error {
	if !s.pattern.MatchString(v) {
		return s.allowed
	}
	return nil
}

// Submatch returns the pattern's first group in v (a region in an ARN),
// or what is allowed.
func (s Shape) Submatch(v string) (string, error) {
	m := s.pattern.FindStringSubmatch(v)
	if m == nil {
		return "", s.allowed
	}
	if len(m) < 2 {
		return "", nil
	}
	return m[1], nil
}
