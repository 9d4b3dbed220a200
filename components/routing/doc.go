// Package routing is a platform component (see the issue that builds it).
package routing
