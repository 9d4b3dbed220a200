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
