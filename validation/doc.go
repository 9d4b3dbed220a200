// Package validation checks the Kubernetes objects every stack declares
// with real tools: a kube-apiserver v1.37.2 and etcd (started by envtest)
// with CRDs generated from the upstream projects' Go API types, which must
// accept each object with a server-side dry-run apply, and kube-score, whose
// findings must be fixed or allow-listed with a reason
// (kube-score-allow.yaml).
//
// The objects come from the repository's own `cmd/plan -out`: everything a
// stack declares, and each Helm release rendered with the values the
// program sends from the charts in ../../shared/charts (charts_test.go,
// applied after the charts' own CRDs). The tools are built by
// ../scripts/kube-tools.sh into the git-ignored ../.tools; the tests fail,
// never skip, when one is missing. Run:
//
//	./scripts/kube-tools.sh && (cd validation && go test -count=1 ./...)
package validation
