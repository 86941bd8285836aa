#!/bin/sh
# Build ftplimit and run every test: the command README.md gives, and what
# .ci/run calls. Installs the Debian packages it needs first.
#
#   tools/test.sh                 build in build/ and run `make check`
#   tools/test.sh --sanitizers    the same with ASan and UBSan, in build-asan/
#   tools/test.sh --clang         the same built by clang, in build-clang/
#
# FTPLIMIT_CONFIGURE_FLAGS is added to configure's arguments (CI passes
# --enable-werror).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

flags="${FTPLIMIT_CONFIGURE_FLAGS:-}" builddir=build
case "${1:-}" in
--sanitizers) flags="$flags --enable-sanitizers" builddir=build-asan ;;
--clang) flags="$flags CC=clang" builddir=build-clang ;;
"") ;;
*) echo "usage: tools/test.sh [--sanitizers | --clang]" >&2; exit 2 ;;
esac

sh tools/install-deps.sh
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    autoreconf -fi
fi
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ] || [ ../configure -nt Makefile ]; then
    # shellcheck disable=SC2086
    ../configure $flags
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"
status=0
make -j"$jobs" check || status=$?
echo "== Check summaries ($builddir)"
grep -h '^[0-9]*%: Checks' tests/*/*.log || true
grep -h '^\(traces\|cli\|[a-z]*\): [0-9]* \(passed\|failed\)' tests/*/*.log || true
grep -H '^Ran [0-9]* tests' tests/*/*.log || true
if [ "$status" -ne 0 ]; then
    for log in tests/*/*.log; do
        if grep -q '^FAIL\|^ERROR' "${log%.log}.trs" 2>/dev/null; then
            echo "== $log"
            cat "$log"
        fi
    done
    exit "$status"
fi
