#!/bin/sh
# Run libFuzzer targets: each for SECONDS, from its seed corpus in
# tests/fuzz/corpus/TARGET (never written to: what a run finds goes into a
# temporary directory). Fails on the first crash, leak, timeout or sanitizer
# report, and leaves the input that caused it as crash-* / leak-* / timeout-*
# in the current directory.
#
#   tests/fuzz/run.sh SECONDS TARGET...   (make fuzz FUZZ_SECONDS=N)
set -eu
seconds=$1
shift
corpora=$(cd "$(dirname "$0")" && pwd)/corpus
status=0
for target in "$@"; do
    name=$(basename "$target")
    work=$(mktemp -d "${TMPDIR:-/tmp}/ftplimit-$name-XXXXXX")
    echo "== $name: ${seconds}s"
    if "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -close_fd_mask=1 \
        "$work" "$corpora/$name" >"$work.log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$work.log" |
            sed "s/^/$name: /"
        echo "$name: passed, corpus $(ls "$corpora/$name" | wc -l) seeds + $(ls "$work" | wc -l) found"
    else
        tail -n 60 "$work.log"
        echo "$name: FAILED"
        status=1
    fi
    rm -rf "$work" "$work.log"
done
exit "$status"
