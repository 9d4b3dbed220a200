#!/usr/bin/env bash
# Builds the Pulumi engine pieces the engine test (scripts/engine-test) runs,
# into the git-ignored .tools/bin:
#
#   pulumi                      v3.274.1  the CLI (tools/pulumi-cli module)
#   pulumi-resource-kubernetes  the Kubernetes provider at the pseudo-version
#                               the Go proxy serves (tools/pulumi-kubernetes)
#   kwok                        v0.7.0    fake kubelets (tools/kwok module)
#   pulumi-language-yaml        v1.25.0   the YAML language host, for
#                               examples/yaml (tools/pulumi-yaml module)
#
# kube-apiserver, etcd, kube-controller-manager and kube-scheduler come from
# scripts/kube-tools.sh. No Go language host is built: the Automation API
# runs the Go programs in-process. Only Go and the module proxy are needed (see
# ../shared/reference/toolchain.md). Through the per-machine tool cache
# (scripts/lib.sh): a pinned version in the cache is linked, never rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

PULUMI_VERSION=v3.274.1 # = github.com/pulumi/pulumi/sdk/v3 in go.mod
KUBERNETES_PROVIDER_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KWOK_VERSION=v0.7.0
PULUMI_YAML_VERSION=v1.25.0

bin="$root/.tools/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
step() { printf 'engine-tools: %s\n' "$*"; }

# The CLI. The ldflag sets the version it reports, which the Automation API
# checks against the SDK's. A user's installed CLI at exactly this version
# (on PATH) is used as it is.
pulumi_check() { [ "$("$1" version 2>/dev/null)" = "$PULUMI_VERSION" ]; }
pulumi_build() {
  (cd tools/pulumi-cli && go build -trimpath -o "$1" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}
use_tool engine-tools pulumi "$PULUMI_VERSION-$(module_key tools/pulumi-cli)" pulumi_check pulumi_build

# The provider. Upstream's main embeds a generated schema-embed.json the
# module does not ship; ours embeds the module's schema.json and
# terraform-mapping.json, copied beside it (git-ignored) before the build.
provider_check() { has_module "$1" github.com/pulumi/pulumi-kubernetes/provider/v4 "$KUBERNETES_PROVIDER_VERSION"; }
provider_build() {
  local src
  src=$(go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_PROVIDER_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/cmd/pulumi-resource-kubernetes
  install -m 0644 "$src/schema.json" "$src/terraform-mapping.json" tools/pulumi-kubernetes/
  (cd tools/pulumi-kubernetes && go build -trimpath -o "$1" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${KUBERNETES_PROVIDER_VERSION#v}" .)
}
use_tool engine-tools pulumi-resource-kubernetes "$KUBERNETES_PROVIDER_VERSION-$(module_key tools/pulumi-kubernetes)" provider_check provider_build

kwok_check() { has_module "$1" sigs.k8s.io/kwok "$KWOK_VERSION"; }
kwok_build() { (cd tools/kwok && go build -trimpath -ldflags "-s -w" -o "$1" sigs.k8s.io/kwok/cmd/kwok); }
use_tool engine-tools kwok "$KWOK_VERSION-$(module_key tools/kwok)" kwok_check kwok_build

# The YAML language host (the CLI finds it on PATH) runs examples/yaml
# with the platform's component package.
yaml_check() { has_module "$1" github.com/pulumi/pulumi-yaml "$PULUMI_YAML_VERSION"; }
yaml_build() {
  (cd tools/pulumi-yaml && go build -trimpath -o "$1" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION" \
    github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml)
}
use_tool engine-tools pulumi-language-yaml "$PULUMI_YAML_VERSION-$(module_key tools/pulumi-yaml)" yaml_check yaml_build
