// Package logging is a platform component (see the issue that builds it).
package logging
