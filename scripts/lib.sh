# Sourced by the tool scripts (tools.sh, kube-tools.sh, engine-tools.sh,
# lint-workflows.sh): how they tell that a tool in .tools/bin is the pinned
# version, so a warm machine never rebuilds it.

# has_module BINARY MODULE VERSION: BINARY exists and embeds MODULE at VERSION
# (as its main module or a dependency), read with `go version -m`, which
# prints the module versions Go recorded at build time.
has_module() {
  [ -x "$1" ] && go version -m "$1" 2>/dev/null |
    awk -v m="$2" -v v="$3" '($1 == "mod" || $1 == "dep") && $2 == m && $3 == v { found = 1 } END { exit !found }'
}

# install_pinned PREFIX NAME PACKAGE MODULE VERSION: `go install` PACKAGE at
# VERSION into $bin, unless $bin/NAME already embeds MODULE at VERSION.
install_pinned() {
  if has_module "$bin/$2" "$4" "$5"; then
    printf '%s: %s %s present\n' "$1" "$2" "$5"
  else
    printf '%s: installing %s %s (a cold build can take minutes)\n' "$1" "$2" "$5"
    GOBIN="$bin" go install "$3@$5"
  fi
}
