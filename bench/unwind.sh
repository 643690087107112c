#!/usr/bin/env bash
# bench/unwind.sh: what user stacks cost ckb-slowops -U, frame pointers
# (the kernel walks them) against DWARF (8 KiB of stack copied per event,
# unwound in ckb-slowops through .eh_frame by libdwfl):
#   - events delivered per second and tracer CPU per event, the stack
#     fixture making gets as fast as it can (fp and dwarf builds);
#   - tracer CPU share and loss at a fixed 20k gets/s (the goal: 20k
#     unwound events/s on one core);
#   - tracer peak RSS with DWARF state for a ~60 MB binary (the fixture
#     linked with 80k generated functions and padding, no DWARF, like a
#     ckb release build), goal < 16 MB;
#   - libdwfl against libunwind's remote API on one copied stack
#     (bench/unwind-libs.c), the measurement behind the choice of libdw.
# One JSON line per measurement on stdout and in $UNWIND_OUT
# (bench/unwind-results.jsonl).  This measures; it asserts nothing.
#
# Usage (root, from the top of a built tree, after make check has built
# tests/fixtures/stackchain-*):  bash bench/unwind.sh
# Knobs: UNWIND_N (gets per full-speed run, 100000), UNWIND_RATE (20000),
# UNWIND_RATE_N (gets per fixed-rate run, 100000), UNWIND_LIBS_N (stacks
# per library, 100000), QUICK=1 (a tenth of each).
set -euo pipefail
export LC_ALL=C

TOP=$(pwd)
SLOWOPS=$TOP/tools/ckb-slowops
FIX=$TOP/tests/fixtures
QUICK=${QUICK:-0}
div=1
[ "$QUICK" = 1 ] && div=10
N=$(( ${UNWIND_N:-100000} / div ))
RATE=${UNWIND_RATE:-20000}
RATE_N=$(( ${UNWIND_RATE_N:-100000} / div ))
LIBS_N=$(( ${UNWIND_LIBS_N:-100000} / div ))
OUT=${UNWIND_OUT:-$TOP/bench/unwind-results.jsonl}
TCK=$(getconf CLK_TCK)

log() { printf 'bench-unwind: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (BPF)"
for f in "$SLOWOPS" "$FIX/stackchain-fp" "$FIX/stackchain-nofp" src/libckbtrace.a; do
	[ -e "$f" ] || die "no $f; run make and make check TESTS= first"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/ckb-bench-unwind.XXXXXX")
BG=""
cleanup() {
	local p
	for p in $BG; do kill -KILL "$p" 2> /dev/null || true; done
	for p in $BG; do wait "$p" 2> /dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
: > "$OUT"
emit() { echo "$1" | tee -a "$OUT"; }

# ---- builds: the ~60 MB binary and the library race ----

ROCKSDB_A=$(cc -print-file-name=librocksdb.a)
LIBS="-lstdc++ -lm -lpthread -lsnappy -llz4 -lzstd -lbz2 -lz -ldl"
log "building the ~60 MB binary (80k generated functions with CFI)"
awk 'BEGIN {
	print "\t.text"
	for (i = 0; i < 80000; i++) {
		n = sprintf("_ZN3ckb5chain7service%05d14ChainService13process_block17h%08x%08xE", i, i * 2654435761 % 4294967296, i * 7919)
		printf "\t.globl %s\n\t.type %s, @function\n\t.p2align 4\n%s:\n\t.cfi_startproc\n\tpush %%rbx\n\t.cfi_adjust_cfa_offset 8\n\t.cfi_offset rbx, -16\n\tlea %d(%%rdi), %%rax\n\t.skip 280, 0x90\n\tpop %%rbx\n\t.cfi_adjust_cfa_offset -8\n\tret\n\t.cfi_endproc\n\t.size %s, .-%s\n", n, n, n, i % 100, n, n
	}
	print "\t.section .rodata"
	print "\t.globl big_padding"
	print "big_padding:"
	print "\t.skip 20000000, 1"
}' > "$W/big.s"
cc -O2 -fomit-frame-pointer -o "$W/bigchain" "$TOP/tests/fixtures/stackchain.c" \
	"$W/big.s" "$ROCKSDB_A" $LIBS
BIG_MB=$(( $(stat -c %s "$W/bigchain") / 1048576 ))
BIG_SYMS=$(nm "$W/bigchain" | wc -l)
log "bigchain: $BIG_MB MB, $BIG_SYMS symbols"

LIBUNWIND=0
if [ -e /usr/include/x86_64-linux-gnu/libunwind.h ] || [ -e /usr/include/libunwind.h ]; then
	cc -O2 -fomit-frame-pointer -Isrc -o "$W/unwind-libs" bench/unwind-libs.c \
		src/libckbtrace.a -lunwind-x86_64 -lunwind -ldw -lelf -lstdc++ -lpthread &&
		LIBUNWIND=1
fi

# ---- one traced run ----

# traced BIN MODE GETS RATE EXTRA...: run the fixture BIN making GETS gets
# (at RATE/s, 0: full speed) under ckb-slowops -U --stack MODE; emit one
# JSON line.
traced() {
	local bin=$1 mode=$2 gets=$3 rate=$4 name=$5
	shift 5
	local fpid spid t0 t1 i snap0 snap1 hwm
	rm -rf "$W/db" "$W/f.out" "$W/s.out" "$W/s.err"
	"$bin" --db "$W/db" -n "$gets" --slow-ms 0 --rate "$rate" > "$W/f.out" 2> /dev/null &
	fpid=$!
	BG="$BG $fpid"
	for i in $(seq 300); do grep -q '^ready' "$W/f.out" && break; sleep 0.1; done
	"$SLOWOPS" -p "$fpid" -o GET -U -j --stack "$mode" "$@" 0 > "$W/s.out" 2> "$W/s.err" &
	spid=$!
	BG="$BG $spid"
	for i in $(seq 600); do grep -q '^Tracing' "$W/s.err" && break; sleep 0.1; done
	snap0=$(awk '{ print $14 + $15 }' "/proc/$spid/stat")
	t0=$(date +%s%N)
	kill -USR1 "$fpid"
	for i in $(seq 6000); do grep -q '"gets"' "$W/f.out" && break; sleep 0.01; done
	t1=$(date +%s%N)
	sleep 0.5
	snap1=$(awk '{ print $14 + $15 }' "/proc/$spid/stat")
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$spid/status")
	kill -INT "$spid"
	wait "$spid" || true
	kill -TERM "$fpid"
	wait "$fpid" || true
	jq -c --arg name "$name" --arg mode "$mode" --arg bin "$(basename "$bin")" \
		--argjson wall "$(( (t1 - t0) / 1000 ))" --argjson ticks "$((snap1 - snap0))" \
		--argjson tck "$TCK" --argjson hwm "$hwm" --argjson rate "$rate" \
		--argjson gets "$gets" '
		select(.type == "summary") |
		{ part: "unwind", name: $name, binary: $bin, stack: $mode,
		  rate: $rate, gets: $gets, events, lost,
		  complete: .stacks.ok,
		  wall_s: ($wall / 1e6),
		  events_per_s: (.events / ($wall / 1e6) | floor),
		  tool_cpu_s: ($ticks / $tck),
		  tool_cpu_pct_of_wall: ($ticks / $tck / ($wall / 1e6) * 100 | . * 10 | round / 10),
		  us_cpu_per_event: (if .events > 0 then $ticks / $tck / .events * 1e6 | . * 10 | round / 10 else null end),
		  peak_rss_kb: $hwm }' "$W/s.out"
}

log "full speed, fp and dwarf ($N gets each)"
emit "$(traced "$FIX/stackchain-fp" fp "$N" 0 full-speed)"
emit "$(traced "$FIX/stackchain-nofp" dwarf "$N" 0 full-speed)"
log "fixed rate $RATE gets/s ($RATE_N gets each)"
emit "$(traced "$FIX/stackchain-fp" fp "$RATE_N" "$RATE" fixed-rate)"
emit "$(traced "$FIX/stackchain-nofp" dwarf "$RATE_N" "$RATE" fixed-rate)"
log "the ${BIG_MB} MB binary, dwarf, $RATE gets/s"
emit "$(traced "$W/bigchain" dwarf "$RATE_N" "$RATE" big-binary |
	jq -c --argjson mb "$BIG_MB" --argjson syms "$BIG_SYMS" '. + { binary_mb: $mb, binary_symbols: $syms }')"

if [ "$LIBUNWIND" = 1 ]; then
	log "libdw against libunwind, $LIBS_N stacks each"
	for lib in dw lu; do
		emit "$("$W/unwind-libs" "$LIBS_N" "$lib" | jq -c '{ part: "unwind", name: "library" } + .')"
	done
	emit "$("$W/unwind-libs" 100 | tail -n 1 | jq -c '{ part: "unwind", name: "library-agree" } + .')"
else
	log "libunwind-dev not installed: no library race"
fi
