#!/usr/bin/env bash
# Builds the Pulumi engine pieces the engine test (scripts/engine-test) runs,
# into the git-ignored .tools/bin:
#
#   pulumi                      v3.274.1  the CLI (tools/pulumi-cli module)
#   pulumi-resource-kubernetes  the Kubernetes provider at the pseudo-version
#                               the Go proxy serves (tools/pulumi-kubernetes)
#   kwok                        v0.7.0    fake kubelets (tools/kwok module)
#
# kube-apiserver, etcd, kube-controller-manager and kube-scheduler come from
# scripts/kube-tools.sh. No language host is built: the Automation API runs
# the programs in-process. Only Go and the module proxy are needed (see
# ../shared/reference/toolchain.md). Idempotent: a binary is rebuilt only when
# it is missing or embeds another module version (`go version -m`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

PULUMI_VERSION=v3.274.1 # = github.com/pulumi/pulumi/sdk/v3 in go.mod
KUBERNETES_PROVIDER_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KWOK_VERSION=v0.7.0

bin="$root/.tools/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
step() { printf 'engine-tools: %s\n' "$*"; }

# The CLI. The ldflag sets the version it reports, which the Automation API
# checks against the SDK's.
if has_module "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION" &&
  [ "$("$bin/pulumi" version)" = "$PULUMI_VERSION" ]; then
  step "pulumi $PULUMI_VERSION present"
else
  step "building pulumi $PULUMI_VERSION (cold: 10-25 min on 2 cores)"
  (cd tools/pulumi-cli && go build -trimpath -o "$bin/pulumi" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
fi

# The provider. Upstream's main embeds a generated schema-embed.json the
# module does not ship; ours embeds the module's schema.json and
# terraform-mapping.json, copied beside it (git-ignored) before the build.
if has_module "$bin/pulumi-resource-kubernetes" github.com/pulumi/pulumi-kubernetes/provider/v4 "$KUBERNETES_PROVIDER_VERSION"; then
  step "pulumi-resource-kubernetes $KUBERNETES_PROVIDER_VERSION present"
else
  step "building pulumi-resource-kubernetes $KUBERNETES_PROVIDER_VERSION (cold: about 10 min on 2 cores)"
  src=$(go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_PROVIDER_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/cmd/pulumi-resource-kubernetes
  install -m 0644 "$src/schema.json" "$src/terraform-mapping.json" tools/pulumi-kubernetes/
  (cd tools/pulumi-kubernetes && go build -trimpath -o "$bin/pulumi-resource-kubernetes" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${KUBERNETES_PROVIDER_VERSION#v}" .)
fi

if has_module "$bin/kwok" sigs.k8s.io/kwok "$KWOK_VERSION"; then
  step "kwok $KWOK_VERSION present"
else
  step "building kwok $KWOK_VERSION (cold: about 4 min on 2 cores)"
  (cd tools/kwok && go build -trimpath -ldflags "-s -w" -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
fi
