#!/bin/sh
# tools/layering.sh [BUILDDIR]
#
# Checks that libftplimit's calls point down its layers (doc/hacking.md),
# from the symbols its object files define and use (nm), and fails on
#   - a call from a layer to one above it, or across to another directory
#     of the same rank (kernel <-> policy, bans <-> alerts), and
#   - a cycle of calls among the library's files, even inside one directory.
# It prints each directory's dependencies, then its verdict. CI runs it on
# the build tools/test.sh made (BUILDDIR defaults to build/).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
[ -d "$build/src" ] || { echo "layering: no build in $build (run tools/test.sh first)" >&2; exit 2; }

# For each object of the library's: "D FILE SYMBOL" for what it defines and
# "U FILE SYMBOL" for what it uses, FILE being its source, e.g. util/alloc.
objs=$(find "$build/src" -path '*/.libs' -prune -o -name 'libftplimit_la-*.o' -print | sort)
[ -n "$objs" ] || { echo "layering: no libftplimit objects under $build/src" >&2; exit 2; }

for o in $objs; do
    dir=$(dirname "${o#"$build"/src/}")
    base=$(basename "$o" .o)
    file="$dir/${base#libftplimit_la-}"
    file=${file#./}
    # An object whose source is gone is a stale one from an older tree.
    [ -f "$top/src/$file.c" ] || continue
    nm -P "$o" | awk -v f="$file" '$2 ~ /^[TDBRCV]$/ { print "D", f, $1 } $2 == "U" { print "U", f, $1 }'
done | awk '
# The rank of each directory, lowest first. A call may go to its own
# directory or to a lower rank, never up and never across.
function rank(d) {
    if (d == "util") return 0
    if (d == "catalog") return 1
    if (d == "proto" || d == "kernel" || d == "policy") return 2
    if (d == "client" || d == "decide") return 3
    if (d ~ /^modules\//) return 4
    if (d == ".") return 5
    return -1
}
function dirof(f) { return f ~ /\// ? substr(f, 1, match(f, /\/[^\/]*$/) - 1) : "." }
$1 == "D" { def[$3] = $2; files[$2] = 1 }
$1 == "U" { use[++nuse] = $2 SUBSEP $3 }
END {
    if (length(def) == 0) {
        print "layering: no object of the current tree in the build (run tools/test.sh first)"
        exit 2
    }
    bad = 0
    for (i = 1; i <= nuse; i++) {
        split(use[i], u, SUBSEP)
        from = u[1]; to = def[u[2]]
        if (to == "" || to == from) continue
        if (!((from, to) in edge)) { edge[from, to] = u[2]; out[from] = out[from] " " to }
        df = dirof(from); dt = dirof(to)
        if (rank(df) < 0 || rank(dt) < 0) {
            printf "layering: %s or %s is in no layer (add its directory to tools/layering.sh)\n", from, to
            bad++
        } else if (df != dt && rank(dt) >= rank(df)) {
            printf "layering: %s calls up or across: %s (in %s)\n", from, u[2], to
            bad++
        }
        if (df != dt) deps[df] = deps[df] (index(" " deps[df] " ", " " dt " ") ? "" : " " dt)
    }
    for (f in files) { d = dirof(f); dirs[d] = 1 }
    n = 0; for (d in dirs) order[++n] = d
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (rank(order[j]) < rank(order[i]) || (rank(order[j]) == rank(order[i]) && order[j] < order[i])) {
            t = order[i]; order[i] = order[j]; order[j] = t
        }
    for (i = 1; i <= n; i++) {
        d = order[i]
        printf "  %-16s -> %s\n", (d == "." ? "engine.c" : d), (deps[d] == "" ? " (nothing)" : deps[d])
    }
    # Cycles among files: depth-first search, a back edge is a cycle.
    for (f in files) if (!(f in state)) visit(f)
    if (bad > 0) { printf "layering: %d problem(s)\n", bad; exit 1 }
    printf "layering: ok (%d files, every call points down, no cycle)\n", length(files)
}
function visit(f,    k, parts, m, g) {
    state[f] = 1; stack[++sp] = f
    m = split(out[f], parts, " ")
    for (k = 1; k <= m; k++) {
        g = parts[k]
        if ((g in state) && state[g] == 1) { report(g); bad++ }
        else if (!(g in state)) visit(g)
    }
    state[f] = 2; sp--
}
function report(g,    k, s) {
    s = g
    for (k = sp; k >= 1 && stack[k] != g; k--) s = stack[k] " -> " s
    printf "layering: call cycle: %s -> %s\n", g, s
}
'
