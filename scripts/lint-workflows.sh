#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint (pinned), which also runs
# shellcheck on `run:` scripts when shellcheck is on PATH. Installs actionlint
# into the git-ignored .tools/bin unless that exact version is already there.
# Fails when actionlint cannot be installed or reports anything.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v1.7.7 # shared/reference/toolchain.md: the version the Go proxy serves
module=github.com/rhysd/actionlint
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
bin="$PWD/.tools/bin"
actionlint="$bin/actionlint"
mkdir -p "$bin"

install_pinned lint-workflows actionlint "$module/cmd/actionlint" "$module" "$version"
if [ ! -x "$actionlint" ]; then
  echo "lint-workflows: actionlint $version is missing from $bin" >&2
  exit 1
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "lint-workflows: no workflows in .github/workflows" >&2
  exit 1
fi
# actionlint exits non-zero on any finding.
"$actionlint" -no-color "${workflows[@]}"
echo "lint-workflows: ${#workflows[@]} workflows clean"
