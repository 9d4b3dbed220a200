// Package monitoring is a platform component (see the issue that builds it).
package monitoring
