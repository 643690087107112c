#!/bin/sh
# make fuzz: build the libFuzzer harnesses with clang, make seed corpora
# from the binaries on this machine, and run each harness for
# FUZZ_SECONDS, one after another (one process: the host is shared).
# Needs from make: top_srcdir, top_builddir, FUZZ_CC, LIBELF_CFLAGS,
# LIBELF_LIBS.  Optional: FUZZ_ONLY="elfsym usdt-notes usdt-args".
#
# Kept between runs in $top_builddir/tests/fuzz/work: corpus-NAME (what
# libFuzzer learnt), seeds-NAME (regenerated when missing), NAME.log.
# A crash leaves work/artifacts-NAME/crash-*: copy it to
# tests/fuzz/regress/NAME/, fix src/, and make check runs it from then on.
set -eu

seconds=${1:?usage: fuzz.sh SECONDS}
src=${top_srcdir:?}
bld=${top_builddir:?}
cc=${FUZZ_CC:-clang-14}
work=$bld/tests/fuzz/work
mutate=$bld/tests/fuzz/elfmutate
harnesses=${FUZZ_ONLY:-elfsym usdt-notes usdt-args}

die() {
	echo "fuzz: $*" >&2
	exit 1
}

command -v "$cc" >/dev/null 2>&1 ||
	die "$cc not found; install clang-14 and libclang-rt-14-dev (contrib/setup-host.sh) or set FUZZ_CC"
[ -x "$mutate" ] || die "$mutate missing; run make check-programs first"
mkdir -p "$work"

# --- build: the parsers compiled with the harness, so libFuzzer sees
# their coverage; ASan and UBSan make any bad access a crash.
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
 -D_GNU_SOURCE -I$src/src -I$src/tests/fuzz ${LIBELF_CFLAGS:-}"
build() {
	name=$1
	shift
	# shellcheck disable=SC2086
	"$cc" $flags -o "$work/fuzz-$name" "$src/tests/fuzz/fuzz-$name.c" \
		"$@" ${LIBELF_LIBS:--lelf} -liberty -lstdc++ ||
		die "cannot build fuzz-$name with $cc; is libclang-rt-14-dev installed?"
}
build elfsym "$src/src/elfsym.c"
build usdt-notes "$src/src/usdt.c" "$src/src/elfsym.c"
build usdt-args "$src/src/usdt.c" "$src/src/elfsym.c"

# --- seeds: real binaries, then truncated and damaged copies of each
# (tests/fuzz/elfmutate; seed % 8 == 0 truncates, the rest damage
# headers, tables, notes and strings).  Small ELF files of our own build
# (the test fixtures) get more copies: they run fastest.
real_elfs() {
	for f in "$bld/tools/ckb-dbsim" /usr/bin/db_bench \
		"$(command -v python3.11 || true)" \
		/usr/lib/x86_64-linux-gnu/libstdc++.so.6; do
		[ -n "$f" ] && [ -f "$f" ] && readlink -f "$f"
	done
	return 0
}
small_elfs() {
	for f in fixture-pie fixture-nopie usdt-node capi-dyn; do
		[ -f "$bld/tests/fixtures/$f" ] && echo "$bld/tests/fixtures/$f"
	done
	echo "$src/tests/fuzz/regress/elfsym/tiny-usdt"
}
elf_seeds() {
	dir=$1
	[ -d "$dir" ] && return 0
	mkdir -p "$dir.tmp"
	for f in $(real_elfs); do
		b=$(basename "$f")
		cp "$f" "$dir.tmp/$b"
		for s in $(seq 1 16); do
			"$mutate" "$s" "$f" "$dir.tmp/$b.m$s" >/dev/null
		done
	done
	for f in $(small_elfs); do
		b=$(basename "$f")
		cp "$f" "$dir.tmp/$b"
		for s in $(seq 1 64); do
			"$mutate" "$s" "$f" "$dir.tmp/$b.m$s" >/dev/null
		done
	done
	mv "$dir.tmp" "$dir"
}
# Every argument string of every USDT note on those files, one per seed.
arg_seeds() {
	dir=$1
	[ -d "$dir" ] && return 0
	mkdir -p "$dir.tmp"
	i=0
	for f in $(real_elfs) $(small_elfs); do
		LC_ALL=C readelf -nW "$f" 2>/dev/null |
			sed -n 's/^ *Arguments: //p'
	done | sort -u | while IFS= read -r line; do
		i=$((i + 1))
		printf '%s' "$line" > "$dir.tmp/note$i"
	done
	mv "$dir.tmp" "$dir"
}

elf_seeds "$work/seeds-elf"
arg_seeds "$work/seeds-args"

# The largest seed (ckb-dbsim, ~10 MB) must fit whole: a cut ELF file
# loses its section headers, which sit at the end.
max_len=$(find "$work/seeds-elf" -type f -printf '%s\n' | sort -n | tail -n1)

status=0
for h in $harnesses; do
	case $h in
	elfsym|usdt-notes)
		seeds=$work/seeds-elf
		extra="-max_len=$max_len"
		;;
	usdt-args)
		seeds=$work/seeds-args
		extra="-max_len=512 -dict=$src/tests/fuzz/usdt-args.dict"
		;;
	*)
		die "no harness named $h"
		;;
	esac
	mkdir -p "$work/corpus-$h" "$work/artifacts-$h"
	regress=$src/tests/fuzz/regress/$h
	[ -d "$regress" ] || regress=
	echo "fuzz: $h for $seconds s (log: $work/$h.log)" >&2
	rc=0
	# shellcheck disable=SC2086
	"$work/fuzz-$h" -max_total_time="$seconds" -timeout=30 \
		-rss_limit_mb=4096 -malloc_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts-$h/" $extra \
		"$work/corpus-$h" "$seeds" $regress \
		> "$work/$h.log" 2>&1 || rc=$?
	# the closing numbers, one line per harness
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$h.log")
	cov=$(grep -E '^#[0-9]+' "$work/$h.log" | tail -n1 |
		sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
	echo "fuzz: $h: ${execs:-?} execs (${speed:-?}/s), ${cov:-no coverage line}, exit $rc"
	if [ "$rc" != 0 ]; then
		status=1
		grep -E '^==[0-9]+==ERROR|SUMMARY|invariant failed|Test unit written' \
			"$work/$h.log" | head -n 5 >&2
	fi
done
exit "$status"
