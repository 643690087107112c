#!/bin/sh
# contrib/run.sh demo|check: from a fresh Debian 12 machine (as root) to
# ckb-rdblat tracing the demo workload, or to the whole test suite.
#   demo   install, build, run ckb-rdblat against a running ckb-dbsim
#   check  install, build, make check, make distcheck (unit tests inside)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-}
case $what in
demo|check) ;;
*)
	echo "usage: contrib/run.sh demo|check" >&2
	exit 2
	;;
esac

sh "$here/contrib/setup-host.sh"
cd "$here"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	autoreconf -fi
fi
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" --no-print-directory

if [ "$what" = demo ]; then
	exec sh contrib/demo.sh
fi

status=0
make -j1 check --no-print-directory || status=$?
if [ "$status" = 0 ]; then
	make distcheck --no-print-directory \
		TESTS='tests/unit/test-elfsym tests/unit/test-hist tests/unit/test-report tests/unit/test-catalog tests/unit/test-flame' \
		>distcheck.log 2>&1 || { tail -n 40 distcheck.log; status=1; }
fi
# One closing line for people and CI: every TAP result of make check.
set -- $(cat tests/*.log tests/unit/*.log 2>/dev/null | awk '
	/^(PASS|XPASS): / { p++ } /^(FAIL|XFAIL|ERROR): / { f++ } /^SKIP: / { s++ }
	END { print p + 0, f + 0, s + 0 }')
[ "$status" = 0 ] || [ "$2" != 0 ] || set -- "$1" 1 "$3"
echo "tests: $1 passed, $2 failed, $3 skipped"
exit "$status"
