#!/bin/sh
# bench/compare.sh REV_A REV_B [LIVE [ROUNDS [LIFECYCLES_PER_ROUND [ORDER]]]]
#
# Lifecycles per second of two revisions of the engine, timed in one
# process round after round (bench/compare.c), so that the machine's noise
# falls on both alike. REV_A and REV_B are anything git names a commit by;
# "." is the working tree as it is. Both are built (library only) in a
# temporary directory, which is removed at the end. Where a build sits in
# the program (linked first or second, its engine set up first or second)
# can be worth several per cent by itself, so the comparison runs twice,
# the second time with the places swapped, and the last line gives B/A
# with that cancelled: the geometric mean of the two runs' medians.
#
#   sh bench/compare.sh HEAD~1 .            # a change against its parent
#   sh bench/compare.sh v0.1.0 HEAD 1000000 30 100000
#   sh bench/compare.sh HEAD~1 . 100000 100 50000 random
#
# ORDER is fifo (the oldest session closes, as in bench/engine) or random
# (any live session closes, picked at random, as on a real server).
# bench/compare.c is compiled against the working tree's headers: both
# revisions must have its public API.
set -eu
if [ $# -lt 2 ]; then
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ftplimit-compare-build-XXXXXX)
cleanup() {
    for side in A B; do
        if [ -d "$work/$side/.git" ] || [ -f "$work/$side/.git" ]; then
            git -C "$top" worktree remove --force "$work/$side" >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The static library of revision $2, built in $work/$1, with every symbol
# it defines renamed A_... in $work/lib$1.A.a and B_... in $work/lib$1.B.a.
build() {
    side=$1 rev=$2
    if [ "$rev" = "." ]; then
        mkdir -p "$work/$side"
        (cd "$top" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work/$side")
    else
        git -C "$top" worktree add --detach "$work/$side" "$rev" >/dev/null
    fi
    echo "compare: building $side = $rev" >&2
    # The library is src/libftplimit.la, or src/lib/libftplimit.la before
    # the layered tree (doc/hacking.md).
    la=$(sed -n 's/^lib_LTLIBRARIES = //p' "$work/$side/Makefile.am")
    (cd "$work/$side" && autoreconf -fi >/dev/null 2>&1 && mkdir -p b && cd b &&
        ../configure --disable-tests --without-proftpd >/dev/null &&
        make -j"$(nproc 2>/dev/null || echo 2)" "$la" >/dev/null)
    lib="$work/$side/b/$(dirname "$la")/.libs/libftplimit.a"
    for p in A B; do
        nm --defined-only -g "$lib" | awk -v p="$p" 'NF == 3 { print $3, p "_" $3 }' |
            sort -u >"$work/syms.$side.$p"
        objcopy --redefine-syms="$work/syms.$side.$p" "$lib" "$work/lib$side.$p.a"
    done
}

# Link bench/compare.c with the build for place A, then the one for B.
link() {
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$top/include" -I"$top/bench" \
        "$top/bench/compare.c" "$1" "$2" $(pkg-config --libs jansson libmaxminddb) -o "$3"
}

rev_a=$1 rev_b=$2
build A "$rev_a"
build B "$rev_b"
shift 2
link "$work/libA.A.a" "$work/libB.B.a" "$work/compare"
link "$work/libB.A.a" "$work/libA.B.a" "$work/compare-swapped"
echo "A = $rev_a, B = $rev_b"
"$work/compare" "$@" >"$work/out"
cat "$work/out"
in_place=$(awk '$1 == "B/A" { print $3 }' "$work/out")
echo "the same with the places swapped: A = $rev_b, B = $rev_a"
"$work/compare-swapped" "$@" >"$work/out"
cat "$work/out"
swapped=$(awk '$1 == "B/A" { print $3 }' "$work/out")
awk -v a="$in_place" -v b="$swapped" 'BEGIN {
    printf "B/A over both places %.3f (in place %.3f, swapped %.3f)\n", sqrt(a / b), a, b }'
