#!/bin/sh
# ckbtrace side-by-side benchmark: each part measures what a tool costs a
# workload, next to the bare workload and peers, in interleaved rounds.
# It measures; it asserts nothing.  See bench/README.md.
#
# Usage (as root, from the top of the build tree):
#   make bench                                 # or: sh bench/run.sh
#   PARTS="rdblat slowops" ROUNDS=5 sh bench/run.sh
#   PARTS=slowops QUICK=1 sh bench/run.sh      # smoke test of one part
#
# PARTS: the parts to run, by name (bench/parts/NAME.sh), separated by
# spaces or commas; default: every part there.  ROUNDS (5; QUICK=1: 2),
# QUICK=1 (small workloads), TOOLS_DIR (./tools), BENCH_OUT (the report;
# bench/RESULTS.md for a run of every part, else bench/RESULTS-PARTS.md),
# BENCH_KEEP=1 (keep the work directory), TMPDIR; each part reads its own
# knobs (bench/README.md).  The measurements are also written as JSON
# lines next to the report (BENCH_OUT with .jsonl for .md); bench/report.sh
# makes the report from them again.

# Written for bash; make runs it with $(SHELL), usually dash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

# ---- which parts --------------------------------------------------------

ALL_PARTS=""
for f in "$BENCH_DIR"/parts/*.sh; do
	[ -e "$f" ] || continue
	f=${f##*/}
	ALL_PARTS="$ALL_PARTS ${f%.sh}"
done
ALL_PARTS=${ALL_PARTS# }
[ -n "$ALL_PARTS" ] || { echo "bench: no parts in $BENCH_DIR/parts" >&2; exit 1; }
REQUESTED=${PARTS:-$ALL_PARTS}
RUN_PARTS=""
for p in ${REQUESTED//,/ }; do
	if [[ ! $p =~ ^[a-z][a-z0-9_]*$ ]] || [[ " $ALL_PARTS " != *" $p "* ]]; then
		echo "bench: unknown part \"$p\" in PARTS; the parts are: $ALL_PARTS" >&2
		exit 2
	fi
	[[ " $RUN_PARTS " == *" $p "* ]] || RUN_PARTS="$RUN_PARTS $p"
done
RUN_PARTS=${RUN_PARTS# }
if [ -z "$RUN_PARTS" ]; then
	echo "bench: PARTS names no part; the parts are: $ALL_PARTS" >&2
	exit 2
fi
ALL_SELECTED=1
for p in $ALL_PARTS; do
	[[ " $RUN_PARTS " == *" $p "* ]] || ALL_SELECTED=0
done

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then ROUNDS=${ROUNDS:-2}; else ROUNDS=${ROUNDS:-5}; fi
if [[ ! $ROUNDS =~ ^[0-9]+$ ]] || [ "$ROUNDS" -lt 1 ]; then
	echo "bench: ROUNDS must be a whole number >= 1" >&2
	exit 2
fi
# A partial run does not overwrite the full results.
if [ "$ALL_SELECTED" = 1 ]; then
	BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/RESULTS.md}
else
	BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/RESULTS-${RUN_PARTS// /-}.md}
fi
BENCH_JSONL=${BENCH_OUT%.md}.jsonl

# ---- the run ------------------------------------------------------------

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
lib_init

for p in $RUN_PARTS; do
	# shellcheck disable=SC1090
	. "$BENCH_DIR/parts/$p.sh"
	if ! declare -F "${p}_prepare" > /dev/null || ! declare -F "${p}_round" > /dev/null; then
		die "bench/parts/$p.sh defines no ${p}_prepare or no ${p}_round"
	fi
done

# part_call PART STEP [ARG]: run PART's function for STEP (check, prepare,
# round, finish) if it has one, with PART and PW set, and add its time to
# the part's.
declare -A PART_US=()
part_call() {
	local p=$1 step=$2 t0
	shift 2
	declare -F "${p}_$step" > /dev/null || return 0
	PART=$p PW=$W/$p RUN_LOAD="" RD=""
	mkdir -p "$PW"
	now_us; t0=$NOW_US
	"${p}_$step" "$@"
	now_us
	PART_US[$p]=$(( ${PART_US[$p]:-0} + NOW_US - t0 ))
	PART="" PW=""
}

REVISION=$(git -C "$BENCH_DIR/.." describe --always --dirty 2> /dev/null || echo unknown)
read -r LOAD_BEGIN _ < /proc/loadavg
T_BEGIN=$(date +%s)
jq -nc --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg kernel "$(uname -r)" \
	--arg rev "$REVISION" --arg cpu "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson ncpu "$NCPU" --argjson tck "$CLK_TCK" --argjson rounds "$ROUNDS" \
	--argjson quick "$( [ "$QUICK" = 1 ] && echo true || echo false)" \
	--arg parts "$RUN_PARTS" --arg all "$ALL_PARTS" --arg load "$LOAD_BEGIN" \
	--argjson begin "$T_BEGIN" '
	{ type: "run", date: $date, kernel: $kernel, revision: $rev, cpu: $cpu,
	  ncpu: $ncpu, clk_tck: $tck, rounds: $rounds, quick: $quick,
	  parts: ($parts | split(" ")), all_parts: ($all | split(" ")),
	  load_begin: ($load | tonumber), begin: $begin }' >> "$RESULTS_JSONL"
for p in $RUN_PARTS; do part_call "$p" check; done
log "workdir $W; rounds $ROUNDS; parts: $RUN_PARTS"
for p in $RUN_PARTS; do part_call "$p" prepare; done
for ((r = 1; r <= ROUNDS; r++)); do
	for p in $RUN_PARTS; do
		log "round $r/$ROUNDS: $p"
		part_call "$p" round "$r"
	done
done
for p in $RUN_PARTS; do part_call "$p" finish; done

T_END=$(date +%s)
read -r LOAD_END _ < /proc/loadavg
for p in $RUN_PARTS; do
	PART=$p info_json seconds "$(( ${PART_US[$p]:-0} / 1000000 ))"
done
jq -nc --argjson t "$T_END" --arg load "$LOAD_END" \
	'{ type: "end", "end": $t, load_end: ($load | tonumber) }' >> "$RESULTS_JSONL"

cp "$RESULTS_JSONL" "$BENCH_JSONL"
sh "$BENCH_DIR/report.sh" "$RESULTS_JSONL" > "$W/RESULTS.md" ||
	die "the report failed; the measurements are in $BENCH_JSONL"
cp "$W/RESULTS.md" "$BENCH_OUT"
cat "$BENCH_OUT"
log "wrote $BENCH_OUT and $BENCH_JSONL in $(( T_END - T_BEGIN )) s"
