#!/usr/bin/env bash
# Builds the real Kubernetes tools the validation tests (validation/) use and
# generates the CRDs they install, all under the git-ignored .tools/ tree:
#
#   .tools/bin/kube-apiserver   v1.37.2  (tools/kubernetes module)
#   .tools/bin/kube-controller-manager, kube-scheduler  v1.37.2  (same module;
#                               the engine test's control plane)
#   .tools/bin/etcd             v3.6.16  (tools/etcd module)
#   .tools/bin/controller-gen   v0.23.0
#   .tools/bin/kube-score       v1.20.0
#   .tools/bin/trivy            v0.74.0  (misconfiguration checks; a cold
#                               build takes about 10 minutes on 2 cores)
#   .tools/crds/<source>/*.yaml CRDs generated from the upstream Go API types
#
# Only Go and the Go module proxy are needed (no release downloads are
# reachable from CI): everything is built from pinned module versions, see
# ../shared/reference/toolchain.md. Every binary and the CRDs go through the
# per-machine tool cache (scripts/lib.sh): a pinned version in the cache is
# linked into .tools, never rebuilt; a cold kube-apiserver build takes 6-13
# minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Pinned versions. Keep the CRD sources in step with the charts the program
# installs (components/routing, components/monitoring).
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
CONTROLLER_TOOLS_VERSION=v0.23.0
KUBE_SCORE_VERSION=v1.20.0
TRIVY_VERSION=v0.74.0 # keep validation/trivy.go TrivyVersion in step
PROMETHEUS_OPERATOR_VERSION=v0.95.1 # github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
GATEWAY_API_VERSION=v1.6.1          # sigs.k8s.io/gateway-api: the bundle Envoy Gateway v1.9.x installs
CERT_MANAGER_VERSION=v1.21.1        # github.com/cert-manager/cert-manager: the chart components/routing pins
ENVOY_GATEWAY_VERSION=v1.9.1        # github.com/envoyproxy/gateway: the chart is v1.9.3, the proxy serves up to v1.9.1

bin="$root/.tools/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

step() { printf 'kube-tools: %s\n' "$*"; }

# kube-apiserver, and for the engine test (scripts/engine-test)
# kube-controller-manager and kube-scheduler: k8s.io/kubernetes is not meant
# to be required as a module, so tools/kubernetes/go.mod pins each staging
# module with a replace. The ldflags stamp the version the servers report
# (/version, --version). The three share most packages, so after the first
# the others cost little more than a link.
k8s_key="$K8S_VERSION-$(module_key tools/kubernetes)"
k8s_check() { has_module "$1" k8s.io/kubernetes "$K8S_VERSION" && "$1" --version | grep -qx "Kubernetes $K8S_VERSION"; }
k8s_build() {
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  (cd tools/kubernetes && go build -trimpath -o "$1" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    "k8s.io/kubernetes/cmd/$(basename "$1")")
}
for name in kube-apiserver kube-controller-manager kube-scheduler; do
  use_tool kube-tools "$name" "$k8s_key" k8s_check k8s_build
done

etcd_check() { has_module "$1" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"; }
etcd_build() { (cd tools/etcd && go build -trimpath -ldflags "-s -w" -o "$1" .); }
use_tool kube-tools etcd "$ETCD_VERSION-$(module_key tools/etcd)" etcd_check etcd_build

# go install tools: name|package|module|version
for entry in \
  "controller-gen|sigs.k8s.io/controller-tools/cmd/controller-gen|sigs.k8s.io/controller-tools|$CONTROLLER_TOOLS_VERSION" \
  "kube-score|github.com/zegl/kube-score/cmd/kube-score|github.com/zegl/kube-score|$KUBE_SCORE_VERSION"; do
  IFS='|' read -r name pkg module version <<<"$entry"
  install_pinned kube-tools "$name" "$pkg" "$module" "$version"
done

# trivy: its module uses encoding/json/v2, which Go 1.26 builds only under
# GOEXPERIMENT=jsonv2 (its go.mod says go 1.26.3). The
# binary records the experiment (`go version` shows go1.26.x-X:jsonv2).
trivy_check() { has_module "$1" github.com/aquasecurity/trivy "$TRIVY_VERSION"; }
trivy_build() {
  GOEXPERIMENT=jsonv2 GOBIN="$(dirname "$1")" go install -ldflags "-s -w" \
    "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
}
use_tool kube-tools trivy "$TRIVY_VERSION" trivy_check trivy_build

# CRDs. controller-gen runs inside each upstream module (in the module
# cache, read-only) so the API types resolve with that module's own go.sum.
versions="controller-gen=$CONTROLLER_TOOLS_VERSION prometheus-operator=$PROMETHEUS_OPERATOR_VERSION gateway-api=$GATEWAY_API_VERSION cert-manager=$CERT_MANAGER_VERSION envoy-gateway=$ENVOY_GATEWAY_VERSION"

moddir() { go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# controller_gen OUT_NAME MODULE VERSION OPTIONS PATH...
controller_gen() {
  local out=$1 module=$2 version=$3 options=$4
  shift 4
  local dir paths=()
  dir=$(moddir "$module" "$version")
  for p in "$@"; do paths+=("paths=$p"); done
  # maxDescLen=0: descriptions do not validate anything and make the
  # largest CRDs slow to install.
  (cd "$dir" && "$bin/controller-gen" "crd:maxDescLen=0$options" "${paths[@]}" "output:crd:dir=$crds/$out")
}

generate_crds() {
  mkdir -p "$crds"
  controller_gen monitoring.coreos.com github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring \
    "$PROMETHEUS_OPERATOR_VERSION" "" ./...
  controller_gen cert-manager.io github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION" "" \
    ./pkg/apis/certmanager/v1/... ./pkg/apis/acme/v1/...
  # allowDangerousTypes: EnvoyProxy has float fields (as upstream generates it).
  controller_gen gateway.envoyproxy.io github.com/envoyproxy/gateway "$ENVOY_GATEWAY_VERSION" ",allowDangerousTypes=true" \
    ./api/v1alpha1/...

  # Envoy Gateway's chart installs the experimental channel of the Gateway
  # API bundle; controller-gen, which ignores the channel markers, yields
  # the same schemas (the same properties as the release's experimental
  # CRDs). The module ships a go.work for its own sub-modules: ignore it.
  GOWORK=off controller_gen gateway.networking.k8s.io sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION" "" \
    ./apis/... ./apisx/...
  # The API server accepts CRDs in *.k8s.io groups only with the approval
  # annotation that gateway-api's own generator adds (value from the
  # release's CRD files).
  approved=$(sed -n 's/^    api-approved.kubernetes.io: //p' \
    "$(moddir sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION")/config/crd/standard/gateway.networking.k8s.io_gateways.yaml")
  [ -n "$approved" ] || { echo "kube-tools: no api-approved annotation in gateway-api's CRDs" >&2; exit 1; }
  sed -i "s#^    controller-gen.kubebuilder.io/version: .*#&\n    api-approved.kubernetes.io: $approved#" \
    "$crds"/gateway.networking.k8s.io/gateway.networking.k8s.io_*.yaml
  chmod 0644 "$crds"/*/*.yaml

  echo "$versions" >"$crds/VERSIONS"
  step "CRDs written: $(find "$crds" -name '*.yaml' | wc -l) files under .tools/crds"
}

# The CRDs are cached like the tools, keyed by the versions they come from,
# and copied (a few MB) into .tools/crds: tests walk that tree, and a walk
# does not enter a symbolic link.
crds_cached="$tools_cache/crds/$(printf '%s' "$versions" | sha256sum | cut -c1-12)"
if [ "$(cat "$crds_cached/VERSIONS" 2>/dev/null)" = "$versions" ]; then
  step "CRDs cached ($versions, $crds_cached)"
else
  step "generating CRDs ($versions) into $crds_cached"
  mkdir -p "$tools_cache/crds"
  crds=$(mktemp -d "$tools_cache/crds/.new.XXXXXX")
  generate_crds
  rm -rf "$crds_cached"
  mv "$crds" "$crds_cached"
fi
rm -rf "$root/.tools/crds"
cp -r "$crds_cached" "$root/.tools/crds"
