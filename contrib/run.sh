#!/bin/sh
# contrib/run.sh demo|check: from a fresh Debian 12 machine (as root) to
# ckb-rdblat tracing the demo workload, or to the whole test suite.
#   demo   install, build, run ckb-rdblat against a running ckb-dbsim
#   check  install, build, make check, make distcheck (unit tests inside),
#          then make check again in build-san/, a second build
#          configured with --enable-sanitizers (ASan + UBSan)
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
		TESTS='tests/unit/test-elfsym tests/unit/test-hist tests/unit/test-report tests/unit/test-catalog tests/unit/test-flame tests/fuzz/regress-elfsym tests/fuzz/regress-usdt-notes tests/fuzz/regress-usdt-args' \
		>distcheck.log 2>&1 || { tail -n 40 distcheck.log; status=1; }
fi
# The same suites again, built with ASan and UBSan, out of tree from the
# distributed sources (the source tree is configured already).  Any report
# fails the run: ASan and LSan write theirs to $reports (every process,
# the compile child and tools run as nobody included); gcc's UBSan ignores
# log_path beside ASan, so it halts the tool with exit 86 and
# tests/helpers.bash fails the test on the report in its stderr.
san_status=0
san=build-san	# relative: make distdir wants it so
rm -rf "$san"
mkdir -p "$san/obj"
reports=$(mktemp -d /tmp/ckbtrace-san.XXXXXX)
chmod 1777 "$reports"
trap 'rm -rf "$reports"' EXIT
san_start=$(date +%s)
if make distdir distdir="$san/src" --no-print-directory >/dev/null &&
   (cd "$san/obj" && ../src/configure --quiet --enable-sanitizers &&
    make -j"$(nproc)" --no-print-directory >/dev/null); then
	(cd "$san/obj" &&
	 ASAN_OPTIONS="log_path=$reports/asan:exitcode=86" \
	 UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86" \
	 make -j1 check --no-print-directory) || san_status=$?
else
	echo "run.sh: the --enable-sanitizers build failed" >&2
	san_status=1
fi
if [ -n "$(ls -A "$reports")" ]; then
	echo "run.sh: sanitizer reports (from $reports):" >&2
	for f in "$reports"/*; do
		echo "--- $f" >&2
		head -n 30 "$f" >&2
	done
	san_status=1
fi
echo "run.sh: sanitizer pass took $(( $(date +%s) - san_start )) s" >&2
[ "$san_status" = 0 ] || status=1

# One closing line for people and CI: every TAP result of make check,
# both builds.
set -- $(cat tests/*.log tests/unit/*.log tests/fuzz/regress-*.log \
	"$san"/obj/tests/*.log "$san"/obj/tests/unit/*.log \
	"$san"/obj/tests/fuzz/regress-*.log 2>/dev/null | awk '
	/^(PASS|XPASS): / { p++ } /^(FAIL|XFAIL|ERROR): / { f++ } /^SKIP: / { s++ }
	END { print p + 0, f + 0, s + 0 }')
[ "$status" = 0 ] || [ "$2" != 0 ] || set -- "$1" 1 "$3"
echo "tests: $1 passed, $2 failed, $3 skipped"
exit "$status"
