// Package backend builds what the platform's Pulumi stacks need before they
// can exist: an S3 bucket for `pulumi login s3://...` state (versioned,
// encrypted with a customer KMS key, public access blocked, TLS only,
// noncurrent versions expired), a KMS key with an alias for the
// `awskms://alias/...` secrets provider, and optionally the GitHub Actions
// OIDC provider with one deploy role per environment and a preview role for
// pull requests, so CI never holds long-lived AWS keys.
//
// The state bucket and both keys are protected: losing the bucket loses
// every stack's state, losing a key makes the state or its secrets
// unreadable. The bootstrap project (bootstrap/main.go) runs Run; see
// docs/delivery.md.
package backend
