// Package routing builds the platform's internet edge on Gateway API: one
// shared Gateway per environment behind an internet-facing AWS Network Load
// Balancer, an HTTP listener that only redirects to HTTPS, an HTTPS listener
// with a wildcard certificate for the environment's domain, and DNS records
// published for every route.
//
// On AWS it installs the AWS Load Balancer Controller (which turns the proxy
// Service into an NLB with ip targets across the public subnets), cert-manager
// (ACME DNS-01 on Route53, or ACM on the NLB), external-dns (Route53, scoped to
// one hosted zone) and the Gateway API implementation, Envoy Gateway by
// default. Each controller that calls AWS gets its own IAM role for its one
// service account, with a policy scoped to the resources it manages.
//
// Applications expose a service with one call, Routing.Expose, or NewRoute
// from another Pulumi program given the gateway's name and namespace (stack
// outputs). ingress-nginx is retired, hence Gateway API; the implementation
// sits behind a small interface so another one can be added without changing
// callers.
package routing
