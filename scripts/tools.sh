#!/usr/bin/env bash
# Installs the pinned real tools the tests use into .tools/bin (git-ignored),
# through the per-machine tool cache (scripts/lib.sh): a version in the cache
# is linked, never rebuilt.
# Versions: ../shared/reference/toolchain.md (the Go proxy serves only these).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
bin="$PWD/.tools/bin"
mkdir -p "$bin"

# name|package|module|version
tools=(
  "promtool|github.com/prometheus/prometheus/cmd/promtool|github.com/prometheus/prometheus|v0.316.0"
  "amtool|github.com/prometheus/alertmanager/cmd/amtool|github.com/prometheus/alertmanager|v0.34.2"
)

for entry in "${tools[@]}"; do
  IFS='|' read -r name pkg module version <<<"$entry"
  install_pinned tools "$name" "$pkg" "$module" "$version"
done

# The Alertmanager server (same pinned module as amtool): the inhibition test
# runs it, because amtool checks routing only. `go install` cannot build it
# from the module (its web UI is embedded from app/dist, which is not in the
# published module), so build it from a copy of the module source with an
# empty UI page; the API and inhibition code are untouched.
am_version=v0.34.2
# A release binary on PATH reports "alertmanager, version 0.34.2 (...)"; the
# test build here reports no version, so only the cache key finds it again.
alertmanager_check() { "$1" --version 2>&1 | grep -q "^alertmanager, version ${am_version#v} "; }
alertmanager_build() {
  local src_dir work
  src_dir=$(go mod download -json "github.com/prometheus/alertmanager@$am_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  work=$(mktemp -d)
  cp -r "$src_dir/." "$work"
  chmod -R u+w "$work"
  mkdir -p "$work/ui/app/dist"
  echo '<html><body>UI not built (test binary)</body></html>' >"$work/ui/app/dist/index.html"
  (cd "$work" && GOFLAGS=-buildvcs=false go build -o "$1" ./cmd/alertmanager)
  local rc=$?
  rm -rf "$work"
  return $rc
}
use_tool tools alertmanager "$am_version-emptyui" alertmanager_check alertmanager_build
