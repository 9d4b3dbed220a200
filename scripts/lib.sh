# Sourced by the tool scripts (tools.sh, kube-tools.sh, engine-tools.sh,
# lint-workflows.sh): the per-machine tool cache and how a tool is found,
# built and linked into the clone's .tools/bin.
#
# The cache: $PLATFORM_TOOLS_CACHE, else $XDG_CACHE_HOME/cnplatform-tools,
# else ~/.cache/cnplatform-tools. One folder per tool and key,
# <cache>/<name>/<key>/<name>, where the key is the pinned version (plus a
# hash of the in-repo tool module's go.mod/go.sum when the tool is built
# from tools/<module>): a key in the cache is never rebuilt, another pin
# builds beside it. Like setup-envtest's per-user binary cache and
# ~/.pulumi/plugins, every clone on the machine shares it.

tools_cache="${PLATFORM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cnplatform-tools}"

# has_module BINARY MODULE VERSION: BINARY exists and embeds MODULE at VERSION
# (as its main module or a dependency), read with `go version -m`, which
# prints the module versions Go recorded at build time.
has_module() {
  [ -x "$1" ] && go version -m "$1" 2>/dev/null |
    awk -v m="$2" -v v="$3" '($1 == "mod" || $1 == "dep") && $2 == m && $3 == v { found = 1 } END { exit !found }'
}

# module_key DIR...: a short hash of the go.mod, go.sum and .go files of
# in-repo tool modules, so a changed replace or main.go is a new key.
module_key() {
  local d f
  for d in "$@"; do
    for f in "$d/go.mod" "$d/go.sum" "$d"/*.go; do
      if [ -f "$f" ]; then cat "$f"; fi
    done
  done | sha256sum | cut -c1-12
}

# use_tool PREFIX NAME KEY CHECK BUILD: makes $bin/NAME the tool at KEY.
#   1. the cache holds it: link it ("cached");
#   2. $bin/NAME is a binary built by an older script, or one on PATH is
#      at exactly the pin (CHECK BINARY succeeds): take that one (a note
#      says which);
#   3. otherwise BUILD OUT builds it to the file OUT; it goes into the cache.
# CHECK and BUILD are names of shell functions or commands.
use_tool() {
  local prefix=$1 name=$2 key=$3 check=$4 build=$5
  local dir="$tools_cache/$name/$key"
  local cached="$dir/$name"
  mkdir -p "$bin" "$tools_cache/$name"
  if [ -x "$cached" ]; then
    ln -sfn "$cached" "$bin/$name"
    printf '%s: %s %s cached (%s)\n' "$prefix" "$name" "$key" "$dir"
    return
  fi
  local tmp
  tmp=$(mktemp -d "$tools_cache/$name/.new.XXXXXX")
  if [ -f "$bin/$name" ] && [ ! -L "$bin/$name" ] && "$check" "$bin/$name"; then
    # Built into this clone by an earlier version of these scripts.
    cp "$bin/$name" "$tmp/$name"
    printf '%s: %s %s taken from %s into the cache\n' "$prefix" "$name" "$key" "$bin/$name"
  else
    local found
    found=$(PATH=$(path_without "$bin") command -v "$name" || true)
    if [ -n "$found" ] && "$check" "$found"; then
      rm -rf "$tmp"
      ln -sfn "$found" "$bin/$name"
      printf '%s: %s %s: using %s from PATH (the pinned version)\n' "$prefix" "$name" "$key" "$found"
      return
    fi
    printf '%s: building %s %s into %s (a cold build can take minutes)\n' "$prefix" "$name" "$key" "$dir"
    if ! "$build" "$tmp/$name" || [ ! -x "$tmp/$name" ]; then
      rm -rf "$tmp"
      printf '%s: building %s %s failed\n' "$prefix" "$name" "$key" >&2
      return 1
    fi
  fi
  chmod 0755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  ln -sfn "$cached" "$bin/$name"
}

# path_without DIR: $PATH without DIR, so a tool on PATH is never our own link.
path_without() {
  local out="" p
  local IFS=:
  for p in $PATH; do
    [ "$p" = "$1" ] || out="${out:+$out:}$p"
  done
  printf '%s' "$out"
}

# install_pinned PREFIX NAME PACKAGE MODULE VERSION: `go install` PACKAGE at
# VERSION through the cache.
install_pinned() {
  local prefix=$1 name=$2 pkg=$3 module=$4 version=$5
  _pinned_check() { has_module "$1" "$module" "$version"; }
  _pinned_build() {
    local gobin
    gobin=$(dirname "$1")
    GOBIN="$gobin" go install "$pkg@$version"
  }
  use_tool "$prefix" "$name" "$version" _pinned_check _pinned_build
}
