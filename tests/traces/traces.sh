#!/bin/sh
# Replays every tests/traces/NAME.trace through `ftplimit simulate NAME.conf`
# in a temporary copy of the directory, and compares standard output with
# NAME.expected and the exit status with NAME.rc (0 when absent).
set -u
: "${top_srcdir:=..}" "${top_builddir:=..}"
cli="$top_builddir/src/cli/ftplimit"
work=$(mktemp -d "${TMPDIR:-/tmp}/ftplimit-traces-XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
cp "$top_srcdir"/tests/traces/* "$work"/ || exit 99
cd "$work" || exit 99

failed=0 passed=0
for trace in *.trace; do
    name=${trace%.trace}
    want_rc=0
    [ -f "$name.rc" ] && want_rc=$(cat "$name.rc")
    "$cli" simulate "$name.conf" "$trace" >"$name.out" 2>"$name.err"
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL: $name: exit status $rc, expected $want_rc"; cat "$name.err"
        failed=$((failed + 1))
    elif ! diff -u "$name.expected" "$name.out"; then
        echo "FAIL: $name: output differs from $name.expected"
        failed=$((failed + 1))
    else
        echo "ok: $name"
        passed=$((passed + 1))
    fi
done
echo "traces: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
