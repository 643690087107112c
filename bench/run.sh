#!/bin/sh
# ckbtrace side-by-side benchmark: what does ckb-rdblat cost a RocksDB
# workload, next to the bare workload, the cost of the probes alone
# (bpftrace with empty bodies on the same functions) and two peers doing
# the same job (bpftrace histograms, funclatency-bpfcc)?  And ckb-slowops:
# how many events per second it delivers without loss (BPF ring buffer and
# perf buffers), its CPU per event, and what it costs a workload running
# at a CKB-like rate.
#
# Usage (as root, from the top of the build tree):
#   make bench                      # or: sh bench/run.sh
#   QUICK=1 sh bench/run.sh         # smoke test: 2 rounds, small workloads
#   ROUNDS=7 BENCH_NUM=500000 BLOCKS=16000 sh bench/run.sh
#   PARTS=slowops sh bench/run.sh   # only the ckb-slowops part
#
# Environment: TOOLS_DIR (./tools), ROUNDS (5; QUICK=1: 2), PARTS (the
# parts to run, "rdblat slowops"; a partial run writes RESULTS-PARTS.md),
# BENCH_NUM (db_bench --num/--reads, 400000; QUICK: 100000), BLOCKS
# (ckb-dbsim -n, 14000; QUICK: 3000), SLOW_BLOCKS (ckb-dbsim -n of each
# full-speed ckb-slowops run, per process, 6000; QUICK: 2000),
# SLOW_RATE_BLOCKS (ckb-dbsim -n of the fixed-rate runs, 3000; QUICK: 800),
# SLOW_RATE (ckb-dbsim -r of the fixed-rate runs; default: the rate giving
# SLOW_TARGET_OPS traced operations per second, 10000), DB_BENCH (db_bench
# on PATH), ROCKSDB_LIB (the librocksdb.so db_bench loads), BENCH_OUT
# (bench/RESULTS.md next to this script), TMPDIR.
#
# This measures; it asserts nothing.  See bench/README.md.

# Written for bash; make runs it with $(SHELL), usually dash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -eu
set -o pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
TOOLS_DIR=${TOOLS_DIR:-./tools}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-2}
	BENCH_NUM=${BENCH_NUM:-100000}
	BLOCKS=${BLOCKS:-3000}
	SLOW_BLOCKS=${SLOW_BLOCKS:-2000}
	SLOW_RATE_BLOCKS=${SLOW_RATE_BLOCKS:-800}
else
	ROUNDS=${ROUNDS:-5}
	BENCH_NUM=${BENCH_NUM:-400000}
	BLOCKS=${BLOCKS:-14000}
	SLOW_BLOCKS=${SLOW_BLOCKS:-6000}
	SLOW_RATE_BLOCKS=${SLOW_RATE_BLOCKS:-3000}
fi
SLOW_TARGET_OPS=${SLOW_TARGET_OPS:-10000}
SLOW_RATE=${SLOW_RATE:-}
# Which parts to run: rdblat (workloads A and B, five configurations) and
# slowops (ckb-slowops throughput, CPU and overhead).
PARTS=${PARTS:-rdblat slowops}
RUN_RDBLAT=0 RUN_SLOWOPS=0
for p in ${PARTS//,/ }; do
	case $p in
	rdblat) RUN_RDBLAT=1 ;;
	slowops) RUN_SLOWOPS=1 ;;
	*) printf 'bench: unknown part "%s" in PARTS (want rdblat, slowops)\n' "$p" >&2; exit 1 ;;
	esac
done
PARTS_RUN=$( [ "$RUN_RDBLAT" = 1 ] && printf 'rdblat '; [ "$RUN_SLOWOPS" = 1 ] && printf 'slowops' )
PARTS_RUN=${PARTS_RUN% }
[ -n "$PARTS_RUN" ] || { echo "bench: PARTS names no part" >&2; exit 1; }
# A partial run does not overwrite the full results.
if [ "$PARTS_RUN" = "rdblat slowops" ]; then
	BENCH_OUT=${BENCH_OUT:-$SCRIPT_DIR/RESULTS.md}
else
	BENCH_OUT=${BENCH_OUT:-$SCRIPT_DIR/RESULTS-${PARTS_RUN// /-}.md}
fi
RDBLAT=$TOOLS_DIR/ckb-rdblat
DBSIM=$TOOLS_DIR/ckb-dbsim
SLOWOPS=$TOOLS_DIR/ckb-slowops
# the operations of the ckb-slowops runs (every operation ckb-dbsim makes
# in its foreground thread; FLUSH, COMPACTION, STALL left out)
SLOW_OPS=GET,TXN_GET,PUT,TXN_PUT,DELETE,TXN_DELETE,WRITE,TXN_COMMIT,ITER
BPFTRACE=${BPFTRACE:-bpftrace}
FUNCLATENCY=${FUNCLATENCY:-funclatency-bpfcc}
A_OPS=GET,WRITE,ITER,FLUSH,COMPACTION,STALL
CONFIGS="bare floor ckb-rdblat bpftrace funclatency"
WORKLOADS="A B"
TRACER_LIMIT=900	# seconds any one tracer may live (timeout)
WORK_LIMIT=600		# seconds any one workload may run (timeout)
ATTACH_LIMIT=120	# seconds to wait for a tracer to report attached
STOP_LIMIT=60		# seconds to wait for a tracer to stop after SIGINT

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---- preflight -----------------------------------------------------------

[ "$(id -u)" = 0 ] || die "must run as root (BPF); try: sudo make bench"
[ -x "$DBSIM" ] || die "no $DBSIM; run make first (or set TOOLS_DIR)"
for t in jq timeout; do
	command -v "$t" >/dev/null ||
		die "no $t; install the packages of contrib/setup-host.sh"
done
[ -e /sys/kernel/tracing/uprobe_events ] ||
	die "tracefs is not mounted; run contrib/setup-host.sh"
DBSIM_BIN=$(readlink -f "$DBSIM")
LIB=""
if [ "$RUN_RDBLAT" = 1 ]; then
	[ -x "$RDBLAT" ] || die "no $RDBLAT; run make first (or set TOOLS_DIR)"
	DB_BENCH=${DB_BENCH:-$(command -v db_bench || true)}
	[ -n "$DB_BENCH" ] && [ -x "$DB_BENCH" ] ||
		die "no db_bench; install rocksdb-tools (contrib/setup-host.sh)"
	for t in "$BPFTRACE" "$FUNCLATENCY" nm ldd; do
		command -v "$t" >/dev/null ||
			die "no $t; install the packages of contrib/setup-host.sh"
	done
	if [ -z "${ROCKSDB_LIB:-}" ]; then
		ROCKSDB_LIB=$(ldd "$DB_BENCH" | awk '/librocksdb/ { print $3; exit }')
	fi
	[ -n "$ROCKSDB_LIB" ] && [ -e "$ROCKSDB_LIB" ] ||
		die "cannot find the librocksdb.so of $DB_BENCH; set ROCKSDB_LIB"
	LIB=$(readlink -f "$ROCKSDB_LIB")
	RDBLAT=$(readlink -f "$RDBLAT")
fi
if [ "$RUN_SLOWOPS" = 1 ]; then
	[ -x "$SLOWOPS" ] || die "no $SLOWOPS; run make first (or set TOOLS_DIR)"
	SLOWOPS=$(readlink -f "$SLOWOPS")
fi
case "$ROUNDS$BENCH_NUM$BLOCKS$SLOW_BLOCKS$SLOW_RATE_BLOCKS$SLOW_TARGET_OPS$SLOW_RATE" in
*[!0-9]*) die "ROUNDS, BENCH_NUM, BLOCKS and the SLOW_* settings must be whole numbers" ;;
esac
[ "$ROUNDS" -ge 1 ] || die "ROUNDS must be >= 1"
[ "$SLOW_BLOCKS" -ge 1 ] && [ "$SLOW_RATE_BLOCKS" -ge 1 ] && [ "$SLOW_TARGET_OPS" -ge 1 ] ||
	die "SLOW_BLOCKS, SLOW_RATE_BLOCKS and SLOW_TARGET_OPS must be >= 1"
[ -z "$SLOW_RATE" ] || [ "$SLOW_RATE" -ge 1 ] || die "SLOW_RATE must be >= 1"

# ---- temp dir, background processes, cleanup -----------------------------

W=$(mktemp -d "${TMPDIR:-/tmp}/ckb-bench.XXXXXX")
BGPIDS=""
cleanup() {
	local p
	trap - EXIT INT TERM
	for p in $BGPIDS; do
		kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null || true
	done
	for p in $BGPIDS; do
		local i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			nap 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	exec 7>&-
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
bg_add() { BGPIDS="$BGPIDS $1"; }

# ckb-rdblat's cache of compiled BPF programs: a private one, empty at the
# start, so the run neither depends on nor changes /var/cache/ckbtrace.
export CKBTRACE_CACHE_DIR=$W/cache
mkdir -m 700 "$CKBTRACE_CACHE_DIR"

# Run copies of the tools, so a rebuild during the run cannot mix versions.
mkdir "$W/bin"
cp "$DBSIM_BIN" "$W/bin/"
DBSIM_BIN=$W/bin/ckb-dbsim
if [ "$RUN_RDBLAT" = 1 ]; then cp "$RDBLAT" "$W/bin/"; RDBLAT=$W/bin/ckb-rdblat; fi
if [ "$RUN_SLOWOPS" = 1 ]; then cp "$SLOWOPS" "$W/bin/"; SLOWOPS=$W/bin/ckb-slowops; fi
DBSIM=$DBSIM_BIN
REVISION=$(git -C "$SCRIPT_DIR/.." describe --always --dirty 2>/dev/null || echo unknown)
bg_del() {
	local p out=""
	for p in $BGPIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	BGPIDS=$out
}

# A sleep without fork: read with a timeout from a FIFO nobody writes.
mkfifo "$W/nap.fifo"
exec 7<>"$W/nap.fifo"
nap() { read -r -t "$1" -u 7 _ 2>/dev/null || true; }

# EPOCHREALTIME as integer microseconds, and differences as seconds.
now_us() { local t=$EPOCHREALTIME; NOW_US=$(( 10#${t%.*} * 1000000 + 10#${t#*.} )); }
us_to_s() { printf '%d.%06d' $(( $1 / 1000000 )) $(( $1 % 1000000 )); }

# SNAP="VmHWM_kB utime stime cutime cstime" (clock ticks) of PID; no fork.
proc_snap() {
	local p=$1 k v rest hwm="" line
	SNAP=""
	[ -r "/proc/$p/status" ] || return 1
	{ while read -r k v rest; do
		if [ "$k" = "VmHWM:" ]; then hwm=$v; fi
	done < "/proc/$p/status"; } 2>/dev/null || return 1
	[ -n "$hwm" ] || return 1
	{ read -r line < "/proc/$p/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	set -f
	# shellcheck disable=SC2086
	set -- $line
	set +f
	SNAP="$hwm ${12} ${13} ${14} ${15}"
}

# Does FILE contain a line starting with PATTERN?  Sets HIT to it.  No fork.
has_line() {
	local l
	HIT=""
	[ -s "$1" ] || return 1
	while IFS= read -r l; do
		case $l in
		"$2"*) HIT=$l; return 0 ;;
		esac
	done < "$1"
	return 1
}

# Wait (bounded) until PID exits; at the end of the bound SIGKILL it and
# INNER (the process a timeout wrapper runs), if given.
wait_gone() {
	local pid=$1 limit=$2 inner=${3:-} i=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ $i -ge $((limit * 20)) ]; then
			log "pid $pid still running after ${limit}s; killing it"
			if [ -n "$inner" ]; then kill -KILL "$inner" 2>/dev/null || true; fi
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		nap 0.05; i=$((i + 1))
	done
}

CLK_TCK=$(getconf CLK_TCK)
KERNEL=$(uname -r)
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NCPU=$(nproc)
T_BEGIN=$(date +%s)
read -r LOAD_BEGIN _ < /proc/loadavg

# ---- discovery: which functions does ckb-rdblat probe? ------------------

# Does FILE contain a line with STRING anywhere?  No fork.
has_text() {
	local l
	[ -s "$1" ] || return 1
	while IFS= read -r l; do
		case $l in
		*"$2"*) return 0 ;;
		esac
	done < "$1"
	return 1
}

# Runs ckb-rdblat -v (plus ARGS) for a second, stamping each stderr line
# with its arrival time; writes DIR/stamped and DIR/t0, and DIR/sites:
# "uprobe|uretprobe OFFSET PATH" for every site of its uprobe_multi links
# as the kernel reports them in /proc/PID/fdinfo (empty when it attached
# through perf events instead).
rdblat_verbose() {
	local dir=$1 tpid rpid pid i=0
	shift
	mkdir -p "$dir"
	rm -f "$dir/fifo" "$dir/pid"
	: > "$dir/sites"
	mkfifo "$dir/fifo"
	( while IFS= read -r l; do
		printf '%s %s\n' "$EPOCHREALTIME" "$l"
	  done < "$dir/fifo" > "$dir/stamped" ) &
	rpid=$!
	bg_add "$rpid"
	now_us; echo "$NOW_US" > "$dir/t0"
	timeout -s INT -k 10 120 sh -c 'echo $$ > "$0"; exec "$@"' "$dir/pid" \
		"$RDBLAT" -v "$@" -d 1 < /dev/null > "$dir/stdout" 2> "$dir/fifo" &
	tpid=$!
	bg_add "$tpid"
	while kill -0 "$tpid" 2>/dev/null && [ $i -lt 6000 ]; do
		if has_text "$dir/stamped" " Tracing "; then
			pid=$(cat "$dir/pid")
			awk 'FNR == 1 { t = ""; p = "" }
			     /^link_type:/ { t = $2 }
			     /^path:/ { p = $2 }
			     (t == "uprobe_multi" || t == "uretprobe_multi") &&
			     $1 ~ /^[0-9]+$/ && $2 ~ /^0x[0-9a-f]+$/ {
				print (t == "uprobe_multi" ? "uprobe" : "uretprobe"), $2, p }' \
				/proc/"$pid"/fdinfo/* > "$dir/sites" 2>/dev/null || true
			break
		fi
		nap 0.02; i=$((i + 1))
	done
	wait "$tpid" || log "ckb-rdblat -v $* exited with $?"
	bg_del "$tpid"
	wait "$rpid" || true
	bg_del "$rpid"
}

# Probe list from a stamped -v output: "kind symbol prog [addr]" lines.
# Two -v formats: "uprobe SYM @ 0xADDR (offset 0xOFF) -> PROG" (one line
# per site) and "uprobe SYM in FILE -> PROG (link)" (one line per catalog
# row; C++ rows name a demangled prefix).
parse_probes() {
	sed -n -E \
	  -e 's/^[0-9.]+ ckb-rdblat: (uprobe|uretprobe) ([^ ]+) @ (0x[0-9a-f]+) \(offset 0x[0-9a-f]+\) -> ([a-z_0-9]+).*$/\1 \2 \4 \3/p' \
	  -e 's/^[0-9.]+ ckb-rdblat: (uprobe|uretprobe) ([^ ]+) in .* -> ([a-z_0-9]+)( \(link\))?$/\1 \2 \3/p' "$1"
}

# Start ckb-dbsim --wait with DB dir and extra args; sets SIM_TPID, SIM_PID.
start_dbsim() {
	local db=$1 out=$2 i=0
	shift 2
	rm -rf "$db" "$out" "$out.err"
	timeout -k 10 "$WORK_LIMIT" "$DBSIM" -r 0 --db "$db" -q --wait "$@" \
		< /dev/null > "$out" 2> "$out.err" &
	SIM_TPID=$!
	bg_add "$SIM_TPID"
	SIM_PID=""
	while ! has_line "$out" "ready "; do
		kill -0 "$SIM_TPID" 2>/dev/null ||
			die "ckb-dbsim exited before it was ready: $(cat "$out.err")"
		[ $i -lt 1200 ] || die "ckb-dbsim not ready after 60 s"
		nap 0.05; i=$((i + 1))
	done
	SIM_PID=${HIT#ready }
}

stop_dbsim() {
	kill -TERM "$SIM_PID" 2>/dev/null || true
	wait_gone "$SIM_TPID" 30 "$SIM_PID"
	wait "$SIM_TPID" 2>/dev/null || true
	bg_del "$SIM_TPID"
}

# Function table for workload W: "name entry return op" per function,
# where entry/return are 1 when ckb-rdblat puts a uprobe/uretprobe there.
op_of_prog() {
	case $1 in
	[er]_cxx_get|[er]_get*) echo GET ;;
	[er]_tget*) echo TXN_GET ;;
	[er]_tput*) echo TXN_PUT ;;
	[er]_put*) echo PUT ;;
	[er]_tdel*) echo TXN_DELETE ;;
	[er]_del*) echo DELETE ;;
	[er]_cxx_write|[er]_write) echo WRITE ;;
	[er]_commit) echo TXN_COMMIT ;;
	[er]_cxx_iter|[er]_iter*) echo ITER ;;
	[er]_flush) echo FLUSH ;;
	[er]_compaction) echo COMPACTION ;;
	[er]_stall) echo STALL ;;
	e_tally_reset) echo TALLY_RESET_ARG ;;
	r_tally_reset) echo TALLY_RESET_RET ;;
	e_wb_*) echo TALLY_ADD ;;
	*) echo UNKNOWN ;;
	esac
}

build_functions() {
	local w=$1 bin=$2 probes=$3 sites=$4 kind sym prog addr names name
	local out="$W/$w.functions" off o po pv pf vaddr
	# "addr<TAB>mangled<TAB>demangled" of every defined function symbol
	{ { nm -p --defined-only "$bin" 2>/dev/null || true
	    nm -p -D --defined-only "$bin" 2>/dev/null || true; } > "$W/$w.nm.raw"
	  { nm -p -C --defined-only "$bin" 2>/dev/null || true
	    nm -p -C -D --defined-only "$bin" 2>/dev/null || true; } > "$W/$w.nmc.raw"; }
	paste -d '\t' "$W/$w.nm.raw" "$W/$w.nmc.raw" | awk -F'\t' '{
		split($1, m, " "); d = $2; sub(/^[0-9a-f]+ . /, "", d)
		if (m[2] ~ /^[TtWi]$/) { a = m[1]; sub(/^0+/, "", a); print a "\t" m[3] "\t" d }
	}' > "$W/$w.nm"
	# the operation of each symbol (or C++ prefix) ckb-rdblat names
	while read -r kind sym prog addr; do
		printf '%s %s\n' "$sym" "$(op_of_prog "$prog")"
	done < "$probes" | sort -u > "$W/$w.symop"
	: > "$out.raw"
	if [ -s "$sites" ]; then
		# the kernel's list: file offset -> address -> symbol
		FUNC_SOURCE="read from the kernel (/proc/PID/fdinfo of ckb-rdblat's uprobe_multi links)"
		readelf -lW "$bin" | awk '$1 == "LOAD" { print $2, $3, $5 }' > "$W/$w.loads"
		while read -r kind off _; do
			o=$((off)) vaddr=""
			while read -r po pv pf; do
				if [ "$o" -ge $((po)) ] && [ "$o" -lt $((po + pf)) ]; then
					vaddr=$((o - po + pv)); break
				fi
			done < "$W/$w.loads"
			[ -n "$vaddr" ] || die "offset $off is in no LOAD segment of $bin"
			printf '%s %x\n' "$kind" "$vaddr"
		done < "$sites" > "$W/$w.sites.v"
		awk -F'\t' -v symop="$W/$w.symop" '
			BEGIN { while ((getline l < symop) > 0) { split(l, f, " "); op[f[1]] = f[2] } }
			FILENAME != ARGV[1] && !($1 in nm) && ($2 ~ /^(rocksdb_|_Z)/) && $2 !~ /\./ {
				nm[$1] = $2; dm[$1] = $3 }
			FILENAME == ARGV[1] { split($0, f, " "); k[++n] = f[1]; a[n] = f[2] }
			END {
				for (i = 1; i <= n; i++) {
					name = nm[a[i]]
					if (name == "") { print "? " k[i] " UNKNOWN " a[i]; continue }
					o = op[name]
					if (o == "") for (s in op)
						if (s !~ /^rocksdb_/ && index(dm[a[i]], s) == 1) o = op[s]
					print name, k[i], (o == "" ? "UNKNOWN" : o)
				}
			}' "$W/$w.sites.v" "$W/$w.nm" > "$out.raw"
		if grep -q '^? ' "$out.raw"; then
			die "no symbol at some of ckb-rdblat's probe addresses in $bin: $(grep '^? ' "$out.raw" | head -n3)"
		fi
	else
		FUNC_SOURCE="derived from ckb-rdblat -v (its symbols; C++ prefixes expanded like its matcher)"
		while read -r kind sym prog addr; do
			case $sym in
			rocksdb_*) names=$sym ;;
			*)
				if [ -n "$addr" ]; then
					names=$(awk -F'\t' -v a="${addr#0x}" '
						$1 == a && $2 ~ /^_Z/ && $2 !~ /\./ { print $2; exit }
					' "$W/$w.nm")
				else
					# every function whose demangled name starts
					# with the prefix, clones and things nested in
					# the function excluded, one name per address
					names=$(awk -F'\t' -v p="$sym" '
						index($3, p) == 1 && $3 !~ /\[clone/ && $3 !~ /\)::/ &&
						$2 ~ /^_Z/ && !($1 in seen) { seen[$1] = 1; print $2 }
					' "$W/$w.nm")
				fi
				[ -n "$names" ] || die "no symbol for $sym${addr:+ at $addr} in $bin"
				;;
			esac
			for name in $names; do
				printf '%s %s %s\n' "$name" "$kind" "$(op_of_prog "$prog")" >> "$out.raw"
			done
		done < "$probes"
	fi
	# one line per function: name entry return op
	awk '{ op[$1] = $3; if ($2 == "uprobe") e[$1] = 1; else r[$1] = 1 }
	     END { for (n in op) print n, (e[n] ? 1 : 0), (r[n] ? 1 : 0), op[n] }' \
		"$out.raw" | sort > "$out"
	eval "FUNC_SOURCE_$w=\$FUNC_SOURCE"
}

# bpftrace scripts and the funclatency pattern for workload W on BIN.
build_scripts() {
	local w=$1 bin=$2 f="$W/$1.functions" op list
	local floor="$W/$w.floor.bt" peer="$W/$w.peer.bt"
	{
		echo 'BEGIN { printf("ready\n"); }'
		list=$(awk -v b="$bin" '$2 { printf "%suprobe:%s:%s", s, b, $1; s = ",\n" }' "$f")
		[ -z "$list" ] || printf '%s\n{ }\n' "$list"
		list=$(awk -v b="$bin" '$3 { printf "%suretprobe:%s:%s", s, b, $1; s = ",\n" }' "$f")
		[ -z "$list" ] || printf '%s\n{ }\n' "$list"
	} > "$floor"
	{
		echo 'BEGIN { printf("ready\n"); }'
		for op in $(awk '$2 && $3 { print $4 }' "$f" | sort -u); do
			awk -v b="$bin" -v op="$op" '$2 && $3 && $4 == op {
				printf "%suprobe:%s:%s", s, b, $1; s = ",\n" }' "$f"
			printf '\n{ @s_%s[tid] = nsecs; }\n' "$op"
			awk -v b="$bin" -v op="$op" '$2 && $3 && $4 == op {
				printf "%suretprobe:%s:%s", s, b, $1; s = ",\n" }' "$f"
			printf '\n/@s_%s[tid]/\n{ @lat_%s = hist(nsecs - @s_%s[tid]); delete(@s_%s[tid]); }\n' \
				"$op" "$op" "$op" "$op"
		done
		# byte-tally probes of ckb-rdblat (entry-only or return-only):
		# a map update or delete keyed by the batch or transaction
		list=$(awk -v b="$bin" '$2 && !$3 && $4 == "TALLY_ADD" {
			printf "%suprobe:%s:%s", s, b, $1; s = ",\n" }' "$f")
		[ -z "$list" ] || printf '%s\n{ @pending[arg0] = count(); }\n' "$list"
		list=$(awk -v b="$bin" '$2 && !$3 && $4 != "TALLY_ADD" {
			printf "%suprobe:%s:%s", s, b, $1; s = ",\n" }' "$f")
		[ -z "$list" ] || printf '%s\n{ delete(@pending[arg0]); }\n' "$list"
		list=$(awk -v b="$bin" '!$2 && $3 {
			printf "%suretprobe:%s:%s", s, b, $1; s = ",\n" }' "$f")
		[ -z "$list" ] || printf '%s\n{ delete(@pending[retval]); }\n' "$list"
	} > "$peer"
	awk -v b="$bin" '{ printf "%s%s", s, $1; s = "|" }
		END { printf "\n" }' "$f" |
		sed "s|^|$bin:^(|; s|\$|)\$|" > "$W/$w.funclat"
}

log "workdir $W; rounds $ROUNDS; parts: $PARTS_RUN"
CACHE_SEEN=0 FUNC_SOURCE_A="" FUNC_SOURCE_B=""
if [ "$RUN_RDBLAT" = 1 ]; then
	log "rdblat part: db_bench --num=$BENCH_NUM; ckb-dbsim -n $BLOCKS"
	log "discovery: ckb-rdblat -v on $LIB (also warms the caches)"
	rdblat_verbose "$W/discA" -b "$LIB" -o "$A_OPS"
	parse_probes "$W/discA/stamped" > "$W/A.probes"
	[ -s "$W/A.probes" ] || die "ckb-rdblat -v attached nothing on $LIB: $(cat "$W/discA/stamped")"
	build_functions A "$LIB" "$W/A.probes" "$W/discA/sites"

	log "discovery: ckb-rdblat -v on a ckb-dbsim process"
	start_dbsim "$W/disc.db" "$W/disc.sim" -n 10
	rdblat_verbose "$W/discB" -p "$SIM_PID"
	stop_dbsim
	parse_probes "$W/discB/stamped" > "$W/B.probes"
	[ -s "$W/B.probes" ] || die "ckb-rdblat -v attached nothing on ckb-dbsim: $(cat "$W/discB/stamped")"
	build_functions B "$DBSIM_BIN" "$W/B.probes" "$W/discB/sites"
	build_scripts A "$LIB"
	build_scripts B "$DBSIM_BIN"

	# Launch-to-attached breakdown of ckb-rdblat from -v line arrival times:
	# exec -> "layer" line (target + ELF symbols) -> first "uprobe" line
	# (kernel-header check, BCC compile and load in the child, first attach)
	# -> "Tracing" (all probes attached).
	breakdown() {
		local dir=$1 t0 tl tu tt
		t0=$(cat "$dir/t0")
		tl=$(awk '/ckb-rdblat: .*: layer / { print $1; exit }' "$dir/stamped")
		tu=$(awk '/ckb-rdblat: uprobe / { print $1; exit }' "$dir/stamped")
		tt=$(awk '$2 == "Tracing" { print $1; exit }' "$dir/stamped")
		[ -n "$tl" ] && [ -n "$tu" ] && [ -n "$tt" ] || return 0
		awk -v t0="$t0" -v tl="$tl" -v tu="$tu" -v tt="$tt" 'BEGIN {
			tl *= 1e6; tu *= 1e6; tt *= 1e6
			printf "%.6f %.6f %.6f %.6f\n", (tl - t0) / 1e6, (tu - tl) / 1e6,
				(tt - tu) / 1e6, (tt - t0) / 1e6 }'
	}
	# Each iteration: an empty cache (cold: BCC compiles), then the same
	# command again (warm: loaded from the entry the cold run wrote; for B the
	# same ckb-dbsim process, since its PID is part of the program).
	: > "$W/breakdown"
	for i in 1 2 3; do
		rm -rf "$CKBTRACE_CACHE_DIR"; mkdir -m 700 "$CKBTRACE_CACHE_DIR"
		rdblat_verbose "$W/bdA$i.cold" -b "$LIB" -o "$A_OPS"
		echo "A cold $(breakdown "$W/bdA$i.cold")" >> "$W/breakdown"
		rdblat_verbose "$W/bdA$i.warm" -b "$LIB" -o "$A_OPS"
		echo "A warm $(breakdown "$W/bdA$i.warm")" >> "$W/breakdown"
		start_dbsim "$W/bd.db" "$W/bd.sim" -n 10
		rdblat_verbose "$W/bdB$i.cold" -p "$SIM_PID"
		echo "B cold $(breakdown "$W/bdB$i.cold")" >> "$W/breakdown"
		rdblat_verbose "$W/bdB$i.warm" -p "$SIM_PID"
		echo "B warm $(breakdown "$W/bdB$i.warm")" >> "$W/breakdown"
		stop_dbsim
	done
	rm -rf "$W/disc.db" "$W/bd.db"
	grep -q 'loaded from' "$W/bdA1.warm/stamped" && CACHE_SEEN=1 || CACHE_SEEN=0
fi

# ---- one measured run ----------------------------------------------------

# Start tracer CONFIG for workload W (PID for B); sets TR_TPID, TR_PID,
# TR_ATTACH (seconds), TR_INFO; returns 1 if it never reported attached.
start_tracer() {
	local cfg=$1 w=$2 pid=$3 d=$4 marker file i=0 t0
	local -a cmd pidarg=()
	TR_TPID="" TR_PID="" TR_ATTACH="" TR_INFO=""
	local bin=$LIB
	[ "$w" = B ] && bin=$DBSIM_BIN
	case $cfg in
	floor|bpftrace)
		[ "$w" = B ] && pidarg=(-p "$pid")
		if [ "$cfg" = floor ]; then
			cmd=("$BPFTRACE" -B none "${pidarg[@]}" "$W/$w.floor.bt")
		else
			cmd=("$BPFTRACE" -B none "${pidarg[@]}" "$W/$w.peer.bt")
		fi
		marker=ready file=$d/out ;;
	ckb-rdblat)
		if [ "$w" = A ]; then
			cmd=("$RDBLAT" -j -i 1 -b "$LIB" -o "$A_OPS")
		else
			cmd=("$RDBLAT" -j -i 1 -p "$pid")
		fi
		marker=Tracing file=$d/err ;;
	funclatency)
		[ "$w" = B ] && pidarg=(-p "$pid")
		cmd=(env PYTHONUNBUFFERED=1 "$FUNCLATENCY" -F -r "${pidarg[@]}"
		     "$(cat "$W/$w.funclat")")
		marker=Tracing file=$d/out ;;
	slowops)	# arguments in SLOW_ARGS
		cmd=("$SLOWOPS" "${SLOW_ARGS[@]}")
		marker=Tracing file=$d/err ;;
	esac
	now_us; t0=$NOW_US
	timeout -s INT -k 10 "$TRACER_LIMIT" \
		sh -c 'echo $$ > "$0"; exec "$@"' "$d/pid" "${cmd[@]}" \
		< /dev/null > "$d/out" 2> "$d/err" &
	TR_TPID=$!
	bg_add "$TR_TPID"
	while ! has_line "$file" "$marker"; do
		if ! kill -0 "$TR_TPID" 2>/dev/null ||
		   [ $i -ge $((ATTACH_LIMIT * 200)) ]; then
			log "$cfg ($w) did not report attached: $(tail -n 3 "$d/err")"
			stop_tracer
			return 1
		fi
		nap 0.005; i=$((i + 1))
	done
	now_us
	TR_ATTACH=$(us_to_s $((NOW_US - t0)))
	TR_PID=$(cat "$d/pid")
	case $cfg in
	floor|bpftrace)
		if has_line "$d/out" "Attaching "; then TR_INFO=${HIT%...}; fi ;;
	ckb-rdblat|slowops)
		TR_INFO=$(sed -n 's/^Tracing .*(\([0-9]* [a-z ]*\),.*/\1/p' "$d/err" | head -n1) ;;
	funclatency)
		TR_INFO=$(sed -n 's/^Tracing \([0-9]* functions\).*/\1/p' "$d/out" | head -n1) ;;
	esac
	return 0
}

# Stop the tracer (SIGINT) and wait for it to leave; TR_STOP is the time
# from STOP_FROM (microseconds; default now) to its exit.
stop_tracer() {
	local from=${1:-}
	TR_STOP=""
	[ -n "$TR_TPID" ] || return 0
	if [ -z "$from" ]; then now_us; from=$NOW_US; fi
	if [ -n "$TR_PID" ]; then
		kill -INT "$TR_PID" 2>/dev/null || true
	else
		kill -INT "$TR_TPID" 2>/dev/null || true
	fi
	wait_gone "$TR_TPID" "$STOP_LIMIT" "$TR_PID"
	now_us
	TR_STOP=$(us_to_s $((NOW_US - from)))
	wait "$TR_TPID" 2>/dev/null || true
	bg_del "$TR_TPID"
	TR_TPID=""
}

# Samples the tracer's /proc every 0.1 s into FILE until DIR/stop exists
# or the tracer is gone (for tracers that exit with their target).
start_sampler() {
	local pid=$1 file=$2 stop=$3
	( trap - INT TERM
	  while [ ! -e "$stop" ] && proc_snap "$pid"; do
		printf '%s\n' "$SNAP" > "$file"
		nap 0.1
	  done ) &
	SAMPLER=$!
	bg_add "$SAMPLER"
}

RESULTS=$W/results.tsv
NOTES=$W/notes
: > "$RESULTS"
: > "$NOTES"
RUN_N=0

# Record: w cfg round wall attach hwm_kb cpu_own_s cpu_all_s stop info
record() {
	local w=$1 cfg=$2 r=$3 wall=$4 attach=${5:--} snap=${6:-} stop=${7:-} info=${8:-}
	local hwm=- own=- all=-
	if [ -n "$snap" ]; then
		set -- $snap
		hwm=$1
		own=$(awk -v u="$2" -v s="$3" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (u + s) / t }')
		all=$(awk -v u="$2" -v s="$3" -v cu="$4" -v cs="$5" -v t="$CLK_TCK" \
			'BEGIN { printf "%.2f", (u + s + cu + cs) / t }')
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$cfg" "$r" "$wall" \
		"${attach:--}" "$hwm" "$own" "$all" "${stop:--}" "${info:--}" "$RUN_LOAD" >> "$RESULTS"
}

note() { printf '%s\n' "$*" >> "$NOTES"; log "note: $*"; }

# Compare ckb-rdblat's JSON interval counts with ckb-dbsim's own counts.
check_dbsim_counts() {
	local json=$1 counts=$2 r=$3 diff
	diff=$(jq -n -r --slurpfile j "$json" --slurpfile c "$counts" '
		($c[0].calls) as $k | ($c[0].log // {}) as $l |
		def s(a): [a[] | ($k[.] // 0)] | add;
		{ GET: s(["rocksdb_get_pinned_cf", "rocksdb_get_pinned", "rocksdb_get_cf", "rocksdb_get"]),
		  TXN_GET: s(["rocksdb_transaction_get_pinned_cf", "rocksdb_transaction_get_pinned",
		      "rocksdb_transaction_get_pinned_for_update_cf", "rocksdb_transaction_get_pinned_for_update",
		      "rocksdb_transaction_get_for_update_cf", "rocksdb_transaction_get_cf",
		      "rocksdb_transaction_get_for_update", "rocksdb_transaction_get"]),
		  PUT: s(["rocksdb_put_cf", "rocksdb_put"]),
		  TXN_PUT: s(["rocksdb_transaction_put_cf", "rocksdb_transaction_put"]),
		  DELETE: s(["rocksdb_delete_cf", "rocksdb_delete"]),
		  TXN_DELETE: s(["rocksdb_transaction_delete_cf", "rocksdb_transaction_delete"]),
		  WRITE: s(["rocksdb_write"]),
		  TXN_COMMIT: s(["rocksdb_transaction_commit"]),
		  ITER: s(["rocksdb_create_iterator_cf", "rocksdb_create_iterator",
		      "rocksdb_transaction_create_iterator_cf", "rocksdb_transaction_create_iterator",
		      "rocksdb_iter_seek", "rocksdb_iter_seek_for_prev",
		      "rocksdb_iter_seek_to_first", "rocksdb_iter_seek_to_last"]),
		  FLUSH: ($l.flush_started // 0), COMPACTION: ($l.compaction_started // 0) } as $want |
		([$j[] | select(.type == "interval")] | group_by(.op) |
		  map({ key: .[0].op, value: (map(.count) | add) }) | from_entries) as $got |
		[$want | keys[] | select(($got[.] // 0) != $want[.]) |
		  "\(.) \($got[.] // 0) (dbsim \($want[.]))"] | join(", ")' 2>&1) ||
		diff="cannot compare counts: $diff"
	if [ -n "$diff" ]; then
		note "B round $r: ckb-rdblat counts differ from ckb-dbsim's: $diff"
	fi
	diff=$(jq -r 'select(.type == "summary") |
		select(.unmatched_returns + .lost_map_full + .lost_tally_full > 0) |
		"unmatched_returns \(.unmatched_returns) (its COMPACTION count: \(.counts.COMPACTION // "-")), lost_map_full \(.lost_map_full), lost_tally_full \(.lost_tally_full)"' \
		"$json" 2>/dev/null || true)
	if [ -n "$diff" ]; then
		note "B round $r: ckb-rdblat summary: $diff"
	fi
}

check_dbbench_counts() {
	local json=$1 r=$2 got
	got=$(jq -s -r '[.[] | select(.type == "interval")] | group_by(.op) |
		map("\(.[0].op)=\(map(.count) | add)") | join(" ")' "$json" 2>/dev/null || true)
	echo "$r $got" >> "$W/A.counts"
}

run_a() {
	local cfg=$1 r=$2 d rc=0 t1 wall snap=""
	RUN_N=$((RUN_N + 1))
	d=$W/run$RUN_N; mkdir -p "$d"
	rm -rf "$W/db"
	sync
	read -r RUN_LOAD _ < /proc/loadavg
	TR_ATTACH="" TR_INFO="" TR_PID="" TR_STOP=""
	if [ "$cfg" != bare ]; then
		if ! start_tracer "$cfg" A "" "$d"; then
			record A "$cfg" "$r" - ; return 0
		fi
	fi
	now_us; t1=$NOW_US
	timeout -k 10 "$WORK_LIMIT" "$DB_BENCH" --benchmarks=fillrandom,readrandom \
		--num="$BENCH_NUM" --reads="$BENCH_NUM" --db="$W/db" --threads=1 \
		< /dev/null > "$d/work.out" 2>&1 &
	local wp=$!
	bg_add "$wp"
	wait "$wp" || rc=$?
	now_us
	bg_del "$wp"
	wall=$(us_to_s $((NOW_US - t1)))
	[ "$rc" = 0 ] || note "A round $r $cfg: db_bench exited with $rc"
	if [ "$cfg" != bare ]; then
		if proc_snap "$TR_PID"; then snap=$SNAP; fi
		stop_tracer "$NOW_US"
		if [ "$cfg" = ckb-rdblat ]; then
			check_dbbench_counts "$d/out" "$r"
		fi
	fi
	record A "$cfg" "$r" "$wall" "$TR_ATTACH" "$snap" "$TR_STOP" "$TR_INFO"
	log "A $cfg round $r: ${wall} s${TR_ATTACH:+, attached in $TR_ATTACH s}"
	rm -rf "$W/db"
}

run_b() {
	local cfg=$1 r=$2 d rc=0 t1 wall snap=""
	RUN_N=$((RUN_N + 1))
	d=$W/run$RUN_N; mkdir -p "$d"
	sync
	read -r RUN_LOAD _ < /proc/loadavg
	start_dbsim "$W/db" "$d/sim" -n "$BLOCKS" --counts "$d/counts.json"
	TR_ATTACH="" TR_INFO="" TR_PID="" TR_STOP=""
	if [ "$cfg" != bare ]; then
		if ! start_tracer "$cfg" B "$SIM_PID" "$d"; then
			stop_dbsim; record B "$cfg" "$r" -; rm -rf "$W/db"; return 0
		fi
		start_sampler "$TR_PID" "$d/snap" "$d/stop"
	fi
	now_us; t1=$NOW_US
	kill -USR1 "$SIM_PID"
	wait "$SIM_TPID" || rc=$?
	now_us
	local t2=$NOW_US
	bg_del "$SIM_TPID"
	wall=$(us_to_s $((NOW_US - t1)))
	[ "$rc" = 0 ] || note "B round $r $cfg: ckb-dbsim exited with $rc"
	if [ "$cfg" != bare ]; then
		# the tracer may already have left with its target: then the
		# sampler's last reading (<= 0.1 s old) stands
		if proc_snap "$TR_PID"; then snap=$SNAP; fi
		touch "$d/stop"
		wait "$SAMPLER" 2>/dev/null || true
		bg_del "$SAMPLER"
		[ -n "$snap" ] || snap=$(cat "$d/snap" 2>/dev/null || true)
		stop_tracer "$t2"
		if [ "$cfg" = ckb-rdblat ]; then
			check_dbsim_counts "$d/out" "$d/counts.json" "$r"
		fi
	fi
	record B "$cfg" "$r" "$wall" "$TR_ATTACH" "$snap" "$TR_STOP" "$TR_INFO"
	log "B $cfg round $r: ${wall} s${TR_ATTACH:+, attached in $TR_ATTACH s}"
	rm -rf "$W/db"
}

# ---- ckb-slowops: throughput, CPU per event, cost at a CKB-like rate ------

# Full-speed configurations (part S, ckb-dbsim -r 0 -n SLOW_BLOCKS per
# process, threshold 0): name -> ckb-dbsim processes and ckb-slowops
# arguments (none: no tracer).  One process is traced with -p PID, two with
# -b on the ckb-dbsim binary (one tracer for both).
SLOW_S_CONFIGS="bare ring perf bare-x2 ring-x2 perf-x2 ring-x2-8p perf-x2-8p"
# Fixed-rate configurations (part R, ckb-dbsim -r SLOW_RATE -n
# SLOW_RATE_BLOCKS, one process, -p PID, ring buffer).
SLOW_R_CONFIGS="bare slowops-10ms slowops-0"

# Sets SC_PROCS and SC_ARGS (ckb-slowops arguments with the placeholder
# PID; empty: no tracer) for config CFG of part PART.
slow_config() {
	local part=$1 cfg=$2
	SC_ARGS=()
	if [ "$part" = R ]; then
		SC_PROCS=1
		case $cfg in
		bare) ;;
		slowops-10ms) SC_ARGS=(-p PID -j -o "$SLOW_OPS") ;;
		slowops-0) SC_ARGS=(-p PID -j -o "$SLOW_OPS" 0) ;;
		esac
		return 0
	fi
	case $cfg in
	*-x2*) SC_PROCS=2 ;;
	*) SC_PROCS=1 ;;
	esac
	case $cfg in
	bare*) return 0 ;;
	*-x2*) SC_ARGS=(-b "$DBSIM_BIN") ;;
	*) SC_ARGS=(-p PID) ;;
	esac
	case $cfg in perf*) SC_ARGS+=(--perf-buffer) ;; esac
	case $cfg in *-8p) SC_ARGS+=(--buffer-pages 8) ;; esac
	SC_ARGS+=(-j -o "$SLOW_OPS" 0)
}

# The command line of a config, for the report.
slow_cmdline() {
	local a out=""
	slow_config "$1" "$2"
	[ "${#SC_ARGS[@]}" -gt 0 ] || { echo "no tracer"; return 0; }
	for a in "${SC_ARGS[@]}"; do
		case $a in "$DBSIM_BIN") a=DBSIM ;; esac
		out="$out $a"
	done
	echo "\`ckb-slowops$out > FILE\`"
}

# jq: the operations ckb-slowops traces (SLOW_OPS), summed over the
# rocksdb_* calls of ckb-dbsim's counts that carry them.
SLOW_OPS_JQ='def ops: .calls as $k | [
	"rocksdb_get_pinned_cf", "rocksdb_get_pinned", "rocksdb_get_cf", "rocksdb_get",
	"rocksdb_transaction_get_pinned_cf", "rocksdb_transaction_get_pinned",
	"rocksdb_transaction_get_pinned_for_update_cf", "rocksdb_transaction_get_pinned_for_update",
	"rocksdb_transaction_get_for_update_cf", "rocksdb_transaction_get_cf",
	"rocksdb_transaction_get_for_update", "rocksdb_transaction_get",
	"rocksdb_put_cf", "rocksdb_put", "rocksdb_transaction_put_cf", "rocksdb_transaction_put",
	"rocksdb_delete_cf", "rocksdb_delete",
	"rocksdb_transaction_delete_cf", "rocksdb_transaction_delete",
	"rocksdb_write", "rocksdb_transaction_commit",
	"rocksdb_create_iterator_cf", "rocksdb_create_iterator",
	"rocksdb_transaction_create_iterator_cf", "rocksdb_transaction_create_iterator",
	"rocksdb_iter_seek", "rocksdb_iter_seek_for_prev",
	"rocksdb_iter_seek_to_first", "rocksdb_iter_seek_to_last"] |
	map($k[.] // 0) | add;
	def calls: [.calls[]] | add;'

# "ops calls blocks" summed over ckb-dbsim counts files.
counts_sum() {
	jq -s -r "$SLOW_OPS_JQ"' "\(map(ops) | add) \(map(calls) | add) \(map(.blocks) | add)"' "$@"
}

# Start N ckb-dbsim --wait --linger (rate, blocks) with outputs in D; sets
# SIMS_T (timeout wrappers) and SIMS_P (ckb-dbsim PIDs).
start_sims() {
	local n=$1 rate=$2 blocks=$3 d=$4 i k
	SIMS_T=() SIMS_P=()
	for i in $(seq 1 "$n"); do
		rm -rf "$W/sdb$i"
		timeout -k 10 "$WORK_LIMIT" "$DBSIM" -r "$rate" -n "$blocks" \
			--db "$W/sdb$i" --wait --linger --counts "$d/counts$i.json" \
			< /dev/null > "$d/sim$i.out" 2> "$d/sim$i.err" &
		SIMS_T+=("$!")
		bg_add "$!"
	done
	for i in $(seq 1 "$n"); do
		k=0
		while ! has_line "$d/sim$i.out" "ready "; do
			kill -0 "${SIMS_T[i - 1]}" 2>/dev/null ||
				die "ckb-dbsim exited before it was ready: $(cat "$d/sim$i.err")"
			[ $k -lt 1200 ] || die "ckb-dbsim not ready after 60 s"
			nap 0.05; k=$((k + 1))
		done
		SIMS_P+=("${HIT#ready }")
	done
}

# Wait until every ckb-dbsim has printed its summary line (the workload is
# over; --linger keeps it open).  1 if one died first or WORK_LIMIT passed.
wait_sims_done() {
	local d=$1 i k=0 all
	while :; do
		all=1
		for i in "${!SIMS_P[@]}"; do
			if ! has_text "$d/sim$((i + 1)).err" " blocks, "; then
				all=0
				kill -0 "${SIMS_P[i]}" 2>/dev/null || return 1
			fi
		done
		[ "$all" = 0 ] || return 0
		[ $k -lt $((WORK_LIMIT * 100)) ] || return 1
		nap 0.01; k=$((k + 1))
	done
}

stop_sims() {
	local i
	for i in "${!SIMS_P[@]}"; do kill -TERM "${SIMS_P[i]}" 2>/dev/null || true; done
	for i in "${!SIMS_T[@]}"; do
		wait_gone "${SIMS_T[i]}" 30 "${SIMS_P[i]}"
		wait "${SIMS_T[i]}" 2>/dev/null || true
		bg_del "${SIMS_T[i]}"
	done
}

# TICKS: utime+stime (clock ticks, all threads) of the PIDs, summed; no
# fork.  Returns 1 (TICKS "-") if one is gone.
cpu_ticks() {
	local p u s t=0
	TICKS=-
	for p in "$@"; do
		proc_snap "$p" || return 1
		read -r _ u s _ <<< "$SNAP"
		t=$((t + u + s))
	done
	TICKS=$t
}

SLOW_RESULTS=$W/slow.tsv
: > "$SLOW_RESULTS"
SLOW_US=0	# microseconds spent in the ckb-slowops part

# Record: part cfg round wall events lost under lines tool_ticks_attach
# tool_ticks_stop sim_ticks ops calls blocks sim_secs attach info
slow_record() {
	local IFS=$'\t'
	printf '%s\n' "$*	$RUN_LOAD" >> "$SLOW_RESULTS"
}

# One run of part PART (S: full speed, R: fixed rate), config CFG, round R.
run_slow() {
	local part=$1 cfg=$2 r=$3 d rate blocks t0 t1 t2 wall i a
	local sim0=- sim1=- simd=- tc0=- tc1=- ev=- lost=- under=- lines=-
	local ops=- calls=- nblocks=- secs=- rest
	RUN_N=$((RUN_N + 1))
	d=$W/run$RUN_N; mkdir -p "$d"
	now_us; t0=$NOW_US
	sync
	read -r RUN_LOAD _ < /proc/loadavg
	if [ "$part" = S ]; then
		rate=0 blocks=$SLOW_BLOCKS
	else
		rate=$SLOW_RATE blocks=$SLOW_RATE_BLOCKS
	fi
	slow_config "$part" "$cfg"
	start_sims "$SC_PROCS" "$rate" "$blocks" "$d"
	TR_ATTACH="" TR_INFO="" TR_PID="" TR_STOP="" TR_TPID=""
	if [ "${#SC_ARGS[@]}" -gt 0 ]; then
		SLOW_ARGS=()
		for a in "${SC_ARGS[@]}"; do
			[ "$a" = PID ] && a=${SIMS_P[0]}
			SLOW_ARGS+=("$a")
		done
		if ! start_tracer slowops S "" "$d"; then
			stop_sims
			note "slowops $part $cfg round $r: ckb-slowops did not attach: $(tail -n 2 "$d/err" | tr '\n' ' ')"
			slow_record "$part" "$cfg" "$r" - - - - - - - - - - - - - -
			rm -rf "$W"/sdb*
			return 0
		fi
		cpu_ticks "$TR_PID" || true; tc0=$TICKS
	fi
	cpu_ticks "${SIMS_P[@]}" || true; sim0=$TICKS
	now_us; t1=$NOW_US
	kill -USR1 "${SIMS_P[@]}"
	if ! wait_sims_done "$d"; then
		note "slowops $part $cfg round $r: a ckb-dbsim did not finish its workload: $(cat "$d"/sim*.err | tr '\n' ' ')"
	fi
	now_us; t2=$NOW_US
	cpu_ticks "${SIMS_P[@]}" || true; sim1=$TICKS
	wall=$(us_to_s $((t2 - t1)))
	if [ -n "$TR_TPID" ]; then
		# let it catch up with what is buffered, then read its CPU time
		nap 0.3
		cpu_ticks "$TR_PID" || true; tc1=$TICKS
		stop_tracer
		grep -v '"type":"event"' "$d/out" > "$d/out.rest" || true
		lines=$(grep -c '"type":"event"' "$d/out" || true)
		rm -f "$d/out"
		read -r ev lost under <<< "$(jq -r 'select(.type == "summary") |
			"\(.events) \(.lost) \(.under_threshold)"' "$d/out.rest" 2>/dev/null | tail -n 1)"
		ev=${ev:--} lost=${lost:--} under=${under:--}
		[ "$ev" != - ] || note "slowops $part $cfg round $r: no summary from ckb-slowops: $(tail -n 2 "$d/err" | tr '\n' ' ')"
		if grep -q 'were sent but' "$d/err"; then
			note "slowops $part $cfg round $r: $(grep 'were sent but' "$d/err" | head -n 1)"
		fi
	fi
	stop_sims
	read -r ops calls nblocks <<< "$(counts_sum "$d"/counts*.json 2>/dev/null || echo - - -)"
	ops=${ops:--} calls=${calls:--} nblocks=${nblocks:--}
	secs=$(sed -n 's/^ckb-dbsim: .* calls in \([0-9.]*\) s .*/\1/p' "$d"/sim*.err | sort -g | tail -n 1)
	secs=${secs:--}
	if [ "$sim0" != - ] && [ "$sim1" != - ]; then simd=$((sim1 - sim0)); fi
	[ "$nblocks" = $((SC_PROCS * blocks)) ] ||
		note "slowops $part $cfg round $r: ckb-dbsim made $nblocks blocks, not $((SC_PROCS * blocks))"
	if [ "$ev" != - ] && [ "$ops" != - ]; then
		[ $((ev + lost + under)) = "$ops" ] ||
			note "slowops $part $cfg round $r: events $ev + lost $lost + under threshold $under != $ops operations ckb-dbsim made"
		[ "$lines" = "$ev" ] ||
			note "slowops $part $cfg round $r: $lines event lines in the output, summary says $ev"
	fi
	slow_record "$part" "$cfg" "$r" "$wall" "$ev" "$lost" "$under" "$lines" \
		"$tc0" "$tc1" "$simd" "$ops" "$calls" "$nblocks" "$secs" \
		"${TR_ATTACH:--}" "${TR_INFO:--}"
	log "slowops $part $cfg round $r: ${wall} s, events $ev, lost $lost"
	rm -rf "$W"/sdb*
	now_us; SLOW_US=$((SLOW_US + NOW_US - t0))
}

# The fixed rate: SLOW_TARGET_OPS traced operations per second, from the
# counts of a bare ckb-dbsim run of the same block count (the workload is
# deterministic for a seed and a block count).
slow_calibrate() {
	local t0
	now_us; t0=$NOW_US
	rm -rf "$W/cal.db"
	timeout -k 10 "$WORK_LIMIT" "$DBSIM" -r 0 -n "$SLOW_RATE_BLOCKS" --db "$W/cal.db" \
		-q --counts "$W/cal.json" < /dev/null > /dev/null 2> "$W/cal.err" ||
		die "ckb-dbsim calibration run failed: $(cat "$W/cal.err")"
	rm -rf "$W/cal.db"
	read -r CAL_OPS CAL_CALLS CAL_BLOCKS <<< "$(counts_sum "$W/cal.json")"
	if [ -z "$SLOW_RATE" ]; then
		SLOW_RATE=$(awk -v t="$SLOW_TARGET_OPS" -v o="$CAL_OPS" -v b="$CAL_BLOCKS" \
			'BEGIN { r = int(t * b / o + 0.5); print (r < 1 ? 1 : r) }')
		SLOW_RATE_SRC="derived: $SLOW_TARGET_OPS operations/s at $(awk -v o="$CAL_OPS" -v b="$CAL_BLOCKS" 'BEGIN { printf "%.1f", o / b }') traced operations per block"
	else
		SLOW_RATE_SRC="set by SLOW_RATE"
	fi
	log "slowops part: $(awk -v o="$CAL_OPS" -v c="$CAL_CALLS" -v b="$CAL_BLOCKS" 'BEGIN { printf "%.1f traced operations, %.1f rocksdb_* calls per block", o / b, c / b }'); fixed rate -r $SLOW_RATE ($SLOW_RATE_SRC)"
	now_us; SLOW_US=$((SLOW_US + NOW_US - t0))
}

# The words of LIST, rotated by ROUND - 1.
rotated() {
	local r=$1 n i j out=""
	shift
	n=$#
	for ((i = 0; i < n; i++)); do
		j=$(( (i + r - 1) % n + 1 ))
		out="$out ${!j}"
	done
	echo "$out"
}

if [ "$RUN_SLOWOPS" = 1 ]; then slow_calibrate; fi

# ---- the rounds: every configuration once per round, order rotated --------

set -- $CONFIGS
NCONF=$#
for r in $(seq 1 "$ROUNDS"); do
	order=""
	for i in $(seq 0 $((NCONF - 1))); do
		j=$(( (i + r - 1) % NCONF + 1 ))
		order="$order ${!j}"
	done
	if [ "$RUN_RDBLAT" = 1 ]; then
		log "round $r/$ROUNDS:$order"
		for cfg in $order; do run_a "$cfg" "$r"; done
		for cfg in $order; do run_b "$cfg" "$r"; done
	fi
	if [ "$RUN_SLOWOPS" = 1 ]; then
		order=$(rotated "$r" $SLOW_S_CONFIGS)
		log "round $r/$ROUNDS, ckb-slowops at full speed:$order"
		for cfg in $order; do run_slow S "$cfg" "$r"; done
		order=$(rotated "$r" $SLOW_R_CONFIGS)
		log "round $r/$ROUNDS, ckb-slowops at -r $SLOW_RATE:$order"
		for cfg in $order; do run_slow R "$cfg" "$r"; done
	fi
done
T_END=$(date +%s)
read -r LOAD_END _ < /proc/loadavg

# ---- report --------------------------------------------------------------

# "median min max" of column COL for workload W and config C.
stat3() {
	awk -F'\t' -v w="$1" -v c="$2" -v col="$3" \
		'$1 == w && $2 == c && $col != "-" { print $col }' "$RESULTS" |
		sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) { print "- - -"; exit }
		      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      print m, v[1], v[NR] }'
}

# per-round ratio of config C to config B (by round), "median min max"
paired() {
	awk -F'\t' -v w="$1" -v c="$2" -v b="$3" '
		$1 == w && $4 != "-" { t[$2, $3] = $4; rs[$3] = 1 }
		END { for (r in rs) if (((c, r) in t) && ((b, r) in t) && t[b, r] > 0)
			print t[c, r] / t[b, r] }' "$RESULTS" |
		sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) { print "- - -"; exit }
		      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      print m, v[1], v[NR] }'
}

fmt() { awk -v f="$1" -v v="$2" 'BEGIN { if (v == "-" || v == "") print "-"; else printf f, v }'; }
# "met" or "missed by X" for VALUE against the upper bound LIMIT.
verdict() {
	awk -v v="$1" -v l="$2" -v u="$3" -v f="$4" 'BEGIN {
		if (v == "-" || v == "") { print "-"; exit }
		if (v + 0 <= l + 0) print "met"
		else printf "missed by " f "%s\n", v - l, u }'
}
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf f, a / b }'; }

workload_title() {
	case $1 in
	A) echo "A: db_bench fillrandom,readrandom (C++ API through $LIB)" ;;
	B) echo "B: ckb-dbsim (CKB-shaped, C API, RocksDB linked statically)" ;;
	esac
}

config_desc() {
	local w=$1
	case $2 in
	bare) echo "no tracer" ;;
	floor) echo "bpftrace, empty uprobe/uretprobe bodies on exactly ckb-rdblat's probe points$( [ "$w" = B ] && echo ", \`-p PID\`")" ;;
	ckb-rdblat)
		if [ "$w" = A ]; then echo "\`ckb-rdblat -j -i 1 -b LIB -o $A_OPS\` (JSON lines into a file, for the count check)"
		else echo "\`ckb-rdblat -j -i 1 -p PID\` (JSON lines into a file, for the count check)"; fi ;;
	bpftrace) echo "on entry \`@s_OP[tid] = nsecs\`, on return \`@lat_OP = hist(nsecs - @s_OP[tid]); delete(@s_OP[tid])\` (one map per operation: bpftrace 0.17 emits a misaligned stack store for some string keys such as \"TXN_PUT\", which the verifier rejects); the byte-tally probes update/delete \`@pending[obj]\`" ;;
	funclatency) echo "\`funclatency-bpfcc -F -r$( [ "$w" = B ] && echo " -p PID") 'PATH:^(f1|f2|...)\$'\`, one invocation for all the functions" ;;
	esac
}

report() {
	echo "# ckbtrace benchmark results"
	echo
	echo "Produced by \`make bench\` (bench/run.sh); see bench/README.md for the method."
	[ "$QUICK" = 1 ] && { echo; echo "**QUICK=1 smoke run: small workloads, few rounds; not for quoting.**"; }
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
	echo "| kernel | $KERNEL |"
	echo "| source tree | $REVISION |"
	echo "| CPU | $CPU_MODEL, $NCPU CPUs |"
	[ "$RUN_RDBLAT" = 1 ] &&
	echo "| tools | $("$BPFTRACE" --version 2>/dev/null | head -n1); BCC $(dpkg-query -W -f='${Version}' python3-bpfcc 2>/dev/null || echo '?') (funclatency-bpfcc); RocksDB $(basename "$LIB") |"
	echo "| parts | $PARTS_RUN$( [ "$PARTS_RUN" = "rdblat slowops" ] || echo " (partial run: PARTS=$PARTS)") |"
	echo "| rounds | $ROUNDS (each round runs every configuration once; order rotated per round) |"
	if [ "$RUN_RDBLAT" = 1 ]; then
		echo "| workload A | \`db_bench --benchmarks=fillrandom,readrandom --num=$BENCH_NUM --reads=$BENCH_NUM --threads=1\`, fresh DB; timed exec to exit |"
		echo "| workload B | \`ckb-dbsim -r 0 -n $BLOCKS -q --wait\`, fresh DB; timed SIGUSR1 to exit |"
	fi
	if [ "$RUN_SLOWOPS" = 1 ]; then
		echo "| ckb-slowops workloads | full speed: \`ckb-dbsim -r 0 -n $SLOW_BLOCKS\` (one or two processes); CKB-like rate: \`ckb-dbsim -r $SLOW_RATE -n $SLOW_RATE_BLOCKS\`; fresh DBs; timed SIGUSR1 to the end of the workload |"
	fi
	echo "| total runtime | $(( (T_END - T_BEGIN) / 60 )) min $(( (T_END - T_BEGIN) % 60 )) s$( [ "$RUN_SLOWOPS" = 1 ] && echo ", of which the ckb-slowops part $((SLOW_US / 60000000)) min $(( (SLOW_US / 1000000) % 60 )) s") |"
	echo "| 1-min load average | $LOAD_BEGIN at the start, $LOAD_END at the end; per run in the raw data (anything well above ~1 means other work shared the CPUs) |"
	if [ "$RUN_RDBLAT" = 1 ]; then report_rdblat; fi
	if [ "$RUN_SLOWOPS" = 1 ]; then report_slowops; fi
	return 0
}

report_rdblat() {
	local w cfg m mn mx b f s ratio a h cpu cpua st info
	echo
	echo "## Goals"
	echo
	echo "| goal | workload | measured (median, min-max) | verdict on the median |"
	echo "|---|---|---|---|"
	for w in $WORKLOADS; do
		read -r m mn mx <<< "$(stat3 "$w" ckb-rdblat 4)"
		read -r f s s <<< "$(stat3 "$w" floor 4)"
		read -r ratio mn mx <<< "$(paired "$w" ckb-rdblat floor)"
		echo "| ckb-rdblat wall time / floor wall time <= 1.05 | $w | $(div "$m" "$f" %.3f) (ratio of medians); per round $(fmt %.3f "$ratio") ($(fmt %.3f "$mn")-$(fmt %.3f "$mx")) | $(verdict "$(div "$m" "$f" %.4f)" 1.05 "" %.3f) |"
	done
	for w in $WORKLOADS; do
		read -r m mn mx <<< "$(stat3 "$w" ckb-rdblat 5)"
		echo "| ckb-rdblat launch-to-attached <= 0.3 s | $w | $(fmt %.3f "$m") s ($(fmt %.3f "$mn")-$(fmt %.3f "$mx")) | $(verdict "$m" 0.3 " s" %.3f) |"
	done
	for w in $WORKLOADS; do
		read -r m mn mx <<< "$(stat3 "$w" ckb-rdblat 6)"
		echo "| ckb-rdblat peak RSS (VmHWM) <= 8 MB | $w | $(div "$m" 1024 %.1f) MB ($(div "$mn" 1024 %.1f)-$(div "$mx" 1024 %.1f)) | $(verdict "$(div "$m" 1024 %.4f)" 8 " MB" %.1f) |"
	done
	for w in $WORKLOADS; do
		echo
		echo "## Workload $(workload_title "$w")"
		echo
		read -r b s f <<< "$(stat3 "$w" bare 4)"
		read -r f s a <<< "$(stat3 "$w" floor 4)"
		echo "Medians (min-max) over $ROUNDS rounds. **wall s**: the workload's wall time. **vs bare / vs floor**: ratio of medians. **per-round vs floor**: median (min-max) of the per-round ratio to the floor run of the same round. **attach s**: tracer launch to its own \"attached\" report. **peak RSS**: VmHWM of the long-running tracer process. **CPU own**: its utime+stime; **incl. children**: plus waited-for children (ckb-rdblat's BCC compile child). **stop s**: end of the workload to the tracer's exit (detaching)."
		echo
		echo "| config | wall s | vs bare | vs floor | per-round vs floor | attach s | peak RSS MB | CPU own s | CPU incl. children s | stop s | probes |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|"
		for cfg in $CONFIGS; do
			read -r m mn mx <<< "$(stat3 "$w" "$cfg" 4)"
			local vb vf pr pmn pmx
			vb=$(div "$m" "$b" %.3f)
			vf=$(div "$m" "$f" %.3f)
			read -r pr pmn pmx <<< "$(paired "$w" "$cfg" floor)"
			if [ "$cfg" = bare ] || [ "$cfg" = floor ]; then pr="-"; fi
			read -r a s s <<< "$(stat3 "$w" "$cfg" 5)"
			read -r h s s <<< "$(stat3 "$w" "$cfg" 6)"
			read -r cpu s s <<< "$(stat3 "$w" "$cfg" 7)"
			read -r cpua s s <<< "$(stat3 "$w" "$cfg" 8)"
			read -r st s s <<< "$(stat3 "$w" "$cfg" 9)"
			info=$(awk -F'\t' -v w="$w" -v c="$cfg" '$1 == w && $2 == c && $10 != "-" { print $10; exit }' "$RESULTS")
			printf '| %s | %s (%s-%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$cfg" "$(fmt %.3f "$m")" "$(fmt %.3f "$mn")" "$(fmt %.3f "$mx")" \
				"$vb" "$vf" \
				"$( [ "$pr" = - ] && echo - || echo "$(fmt %.3f "$pr") ($(fmt %.3f "$pmn")-$(fmt %.3f "$pmx"))")" \
				"$(fmt %.3f "$a")" \
				"$(div "$h" 1024 %.1f)" \
				"$(fmt %.2f "$cpu")" "$(fmt %.2f "$cpua")" "$(fmt %.2f "$st")" "${info:--}"
		done
		echo
		echo "Configurations:"
		echo
		for cfg in $CONFIGS; do
			echo "- **$cfg**: $(config_desc "$w" "$cfg")"
		done
	done
	echo
	echo "## Probe points"
	echo
	for w in $WORKLOADS; do
		local ne nr nb
		ne=$(awk '$2' "$W/$w.functions" | wc -l)
		nr=$(awk '$3' "$W/$w.functions" | wc -l)
		nb=$(wc -l < "$W/$w.functions")
		if [ "$w" = A ]; then
			echo "Workload A: \`ckb-rdblat -v -b $LIB -o $A_OPS\` attaches $ne uprobes and $nr uretprobes on $nb functions (the C API and C++ layers, since -b names a library). db_bench never calls the C API functions, so only the C++ ones fire: DBImpl::GetImpl, DBImpl::WriteImpl, DBImpl::NewIterator, FlushJob::Run, CompactionJob::Run, DBImpl::DelayWrite. The floor and bpftrace attach to exactly the same uprobe/uretprobe points by symbol name (all processes mapping the library), so the C API probes are included, idle, for them too. The list was $FUNC_SOURCE_A."
		else
			echo "Workload B: \`ckb-rdblat -v -p PID\` on ckb-dbsim attaches $ne uprobes and $nr uretprobes on $nb functions. The floor and bpftrace use exactly the same uprobe/uretprobe points (\`-p PID\`). The list was $FUNC_SOURCE_B."
		fi
		echo
		echo "funclatency-bpfcc takes all $nb functions in one regex (\`-F -r 'PATH:^(f1|f2|...)\$'\`) but always attaches entry *and* return, so it also probes the return of ckb-rdblat's entry-only byte-tally functions and the entry of its return-only ones (\`rocksdb_*transaction_begin\`, \`rocksdb_writebatch_create\`)."
		echo
		echo "<details><summary>functions of workload $w (name, uprobe, uretprobe, ckb-rdblat op)</summary>"
		echo
		echo '```'
		cat "$W/$w.functions"
		echo '```'
		echo "</details>"
		echo
	done
	echo "## ckb-rdblat launch-to-attached, broken down"
	echo
	echo "Extra \`ckb-rdblat -v\` runs, not timed ones: per workload three times an empty BPF cache (**cold**: BCC compiles in the forked child) followed by the same command again (**warm**: the programs come from the cache entry the cold run wrote; the target PID is a map value, so one entry serves every PID). Phases are split by the arrival time of its stderr lines: start to the resolved-layer line (find the target, read ELF symbols), to the first uprobe line (kernel-header check and BCC compile in the forked child with the fds sent back, or the cache load; then the first attach), to the \`Tracing\` line (the other attaches). Seconds, median (min-max).$( [ "$CACHE_SEEN" = 1 ] || echo " This build printed no cache load: warm runs compiled too.")"
	echo
	echo "In the timed runs above the cache behaves as it would for a user: both workloads find the entry the discovery runs wrote (the target PID is a map value, not part of the program), so their attach times are warm ones; the cold times are in the table below."
	echo
	echo "| workload | BPF cache | target + symbols | compile or cache + load | attach | total |"
	echo "|---|---|---|---|---|---|"
	for w in $WORKLOADS; do for c in cold warm; do
		printf '| %s | %s |' "$w" "$c"
		for col in 3 4 5 6; do
			awk -v w="$w" -v k="$c" -v c="$col" '$1 == w && $2 == k && NF == 6 { print $c }' "$W/breakdown" | sort -g |
				awk '{ v[NR] = $1 } END { if (!NR) { printf " - |"; exit }
					m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
					printf " %.3f (%.3f-%.3f) |", m, v[1], v[NR] }'
		done
		echo
	done; done
	echo
	echo "## Correctness on the side"
	echo
	echo "Workload B: ckb-rdblat's JSON \`interval\` counts, summed per operation, against ckb-dbsim's own \`--counts\` (FLUSH and COMPACTION against the flush/compaction events in the RocksDB LOG)."
	echo
	if grep -q '^B .*differ' "$NOTES"; then
		sed 's/^/- /' "$NOTES" | grep '^- B .*differ'
	else
		echo "- every run ($ROUNDS): all 12 operation counts equal ckb-dbsim's."
	fi
	if grep -q '^B .*summary' "$NOTES"; then
		sed 's/^/- /' "$NOTES" | grep '^- B .*summary'
	else
		echo "- no run reported unmatched returns or lost calls."
	fi
	echo
	echo "Workload A: ckb-rdblat's counts per run (db_bench makes $BENCH_NUM writes and $BENCH_NUM reads):"
	echo
	if [ -s "$W/A.counts" ]; then
		sed 's/^\([0-9]*\) /- round \1: /' "$W/A.counts"
	else
		echo "- none recorded"
	fi
	if grep -q '^A ' "$NOTES"; then
		echo
		sed 's/^/- /' "$NOTES" | grep '^- A '
	fi
	echo
	echo "## Raw data"
	echo
	echo "<details><summary>every run: workload, config, round, wall s, attach s, VmHWM kB, CPU own s, CPU incl. children s, stop s, probes, 1-min load average before the run</summary>"
	echo
	echo '```'
	cat "$RESULTS"
	echo '```'
	echo "</details>"
}

# ---- report: ckb-slowops ----------------------------------------------------

# "median min max" over the ckb-slowops runs of PART and CFG of the awk
# expression EXPR on the fields of slow.tsv (t: clock ticks per second);
# runs where one of the fields REQ (numbers) is "-" are left out, and so
# are runs where EXPR is "".
sstat() {
	local part=$1 cfg=$2 expr=$3 req=${4:-}
	awk -F'\t' -v p="$part" -v c="$cfg" -v req="$req" -v t="$CLK_TCK" '
		BEGIN { nr = split(req, rq, " ") }
		$1 == p && $2 == c {
			for (i = 1; i <= nr; i++) if ($(rq[i]) == "-" || $(rq[i]) == "") next
			v = ('"$expr"')
			if (v != "") print v
		}' "$SLOW_RESULTS" | sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) { print "- - -"; exit }
		      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      print m, v[1], v[NR] }'
}

# "median (min-max)" of sstat ARGS..., each formatted with FMT.
sfmt() {
	local f=$1 m mn mx
	shift
	read -r m mn mx <<< "$(sstat "$@")"
	if [ "$m" = - ]; then echo -; return 0; fi
	echo "$(fmt "$f" "$m") ($(fmt "$f" "$mn")-$(fmt "$f" "$mx"))"
}

# "L N": runs of PART/CFG with events lost, runs with a summary.
loss_runs() {
	awk -F'\t' -v p="$1" -v c="$2" '$1 == p && $2 == c && $6 != "-" {
		n++; if ($6 > 0) l++ } END { print l + 0, n + 0 }' "$SLOW_RESULTS"
}

# slow.tsv fields: 4 wall s, 5 events, 6 lost, 7 under threshold, 8 event
# lines, 9 tool ticks at attach, 10 tool ticks at stop, 11 ckb-dbsim ticks
# during the workload, 12 traced operations made, 13 rocksdb_* calls,
# 14 blocks, 15 ckb-dbsim's own seconds, 16 attach s, 17 probes
E_EVS='$5 / $4'
E_OPS='$12 / $4'
E_CPU='$10 / t'
E_P100K='($5 > 0 ? $10 / t / $5 * 100000 : "")'
E_P100K_RUN='($5 > 0 ? ($10 - $9) / t / $5 * 100000 : "")'
E_BUSY_TOOL='($11 + $10 - $9) / t / $4'
E_BUSY_BARE='$11 / t / $4'
E_PCT='($10 - $9) / t / $4 * 100'

report_slowops() {
	local cfg l n m mn mx s best=0 best_cfg="" lossy="" lossy_rate="" v1 v2
	local bw bc wall cpu ev
	echo
	echo "## ckb-slowops: events delivered, CPU per event, cost at a CKB-like rate"
	echo
	echo "Every run: fresh databases; ckb-dbsim started with \`--wait --linger\`, ckb-slowops attached (its \`Tracing\` line), then SIGUSR1 starts the workload; **wall** is SIGUSR1 to the last ckb-dbsim's summary line (polled every 10 ms). Then 0.3 s for the tracer to empty its buffer, its utime+stime read from \`/proc/PID/stat\` (**tool CPU**, clock ticks of 1/$CLK_TCK s), SIGINT, its JSON summary read (\`events\` delivered, \`lost\`, \`under_threshold\`). ckb-slowops writes JSON lines into a file (\`-j ... > FILE\`) and traces \`-o $SLOW_OPS\` (every operation ckb-dbsim's own thread makes). Configurations are interleaved, the order rotated each round; medians (min-max) over $ROUNDS rounds. The ckb-slowops part took $((SLOW_US / 60000000)) min $(( (SLOW_US / 1000000) % 60 )) s of this run."
	echo
	echo "### Goals"
	echo
	echo "| goal | measured (median, min-max over rounds) | verdict |"
	echo "|---|---|---|"
	local meas=""
	for cfg in ring ring-x2; do
		read -r l n <<< "$(loss_runs S "$cfg")"
		read -r m mn mx <<< "$(sstat S "$cfg" "$E_EVS" 5)"
		[ "$m" != - ] || continue
		meas="$meas${meas:+; }$cfg: $(fmt %.0f "$m") events/s ($(fmt %.0f "$mn")-$(fmt %.0f "$mx")), lost in $l of $n runs"
		if [ "$l" = 0 ] && [ "$n" -gt 0 ] && awk -v a="$m" -v b="$best" 'BEGIN { exit !(a > b) }'; then
			best=$m best_cfg=$cfg
		fi
		if [ "$l" -gt 0 ]; then lossy="$lossy${lossy:+, }$cfg"; lossy_rate=$m; fi
	done
	local verdict
	if awk -v b="$best" 'BEGIN { exit !(b >= 200000) }'; then
		verdict="met ($best_cfg)"
	elif [ -n "$lossy" ]; then
		verdict="**missed**: events lost on the ring buffer path ($lossy) at $(fmt %.0f "$lossy_rate") events/s"
	elif [ -n "$best_cfg" ]; then
		verdict="**not reached**: the fastest workload here ($best_cfg) made only $(fmt %.0f "$best") events/s, all delivered; 200k events/s was never produced on this $NCPU-CPU machine, so the goal is neither shown nor refuted (see CPU busy below)"
	else
		verdict="-"
	fi
	echo "| goal: >= 200000 events/s delivered with zero loss through the BPF ring buffer (threshold 0, default 256 pages) | ${meas:--} | $verdict |"
	read -r m mn mx <<< "$(sstat R slowops-0 "$E_PCT" "9 10")"
	ev=$(sfmt %.0f R slowops-0 "$E_EVS" 5)
	if [ "$m" = - ]; then verdict="-"
	elif awk -v v="$m" 'BEGIN { exit !(v < 1) }'; then verdict="met"
	else verdict="**missed** by $(awk -v v="$m" 'BEGIN { printf "%.2f", v - 1 }') points of a core"
	fi
	echo "| goal: ckb-slowops under 1 % of one core at ~10k events/s (threshold 0, ring buffer, \`-p PID\`) | $(fmt %.2f "$m") % ($(fmt %.2f "$mn")-$(fmt %.2f "$mx")) of one core, at $ev events/s delivered | $verdict |"
	echo
	echo "### 1-2. Events per second at full speed, loss, CPU per 100k events"
	echo
	echo "ckb-dbsim \`-r 0 -n $SLOW_BLOCKS\` (unthrottled) per process, threshold 0: every traced operation is an event. One process is traced with \`-p PID\`; two processes (\`-x2\`, started together) with \`-b\` on the ckb-dbsim binary, to produce more events per second than one process can. **events/s**: the summary's \`events\` over the wall time. **ops/s made**: the traced operations ckb-dbsim counted (\`--counts\`) over the wall time (for bare runs, what the workload makes without probes). **tool CPU**: ckb-slowops' utime+stime at stop, start-up included (its BCC compile runs in a child and is not included); **per 100k events**: that over the events, ×100000; **excl. start-up**: only the CPU used from attach to stop. **CPU busy**: (ckb-dbsim CPU during the workload + tool CPU from attach to stop) / wall, in CPUs: this machine has $NCPU, so near $NCPU the producers and the tracer fight for them, and the events/s are what the contended machine gives, not the tracer's ceiling."
	echo
	echo "| config | command | events/s | ops/s made | events per run | lost per run: median (max) | runs with loss | tool CPU s | CPU s per 100k events | excl. start-up | CPU busy, CPUs |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for cfg in $SLOW_S_CONFIGS; do
		case $cfg in
		bare*)
			printf '| %s | %s | - | %s | - | - | - | - | - | - | %s |\n' "$cfg" \
				"$(slow_config S "$cfg"; echo "$SC_PROCS") ckb-dbsim, no tracer" \
				"$(sfmt %.0f S "$cfg" "$E_OPS" 12)" "$(sfmt %.2f S "$cfg" "$E_BUSY_BARE" 11)" ;;
		*)
			read -r l n <<< "$(loss_runs S "$cfg")"
			read -r m mn mx <<< "$(sstat S "$cfg" '$6' 6)"
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$cfg" \
				"$(slow_cmdline S "$cfg")" \
				"$(sfmt %.0f S "$cfg" "$E_EVS" 5)" "$(sfmt %.0f S "$cfg" "$E_OPS" 12)" \
				"$(sfmt %.0f S "$cfg" '$5' 5)" \
				"$( [ "$m" = - ] && echo - || echo "$(fmt %.0f "$m") ($(fmt %.0f "$mx"))")" \
				"$l of $n" \
				"$(sfmt %.2f S "$cfg" "$E_CPU" 10)" "$(sfmt %.3f S "$cfg" "$E_P100K" "5 10")" \
				"$(sfmt %.3f S "$cfg" "$E_P100K_RUN" "5 9 10")" \
				"$(sfmt %.2f S "$cfg" "$E_BUSY_TOOL" "9 10 11")" ;;
		esac
	done
	echo
	echo "\`DBSIM\` is the ckb-dbsim binary both processes run; \`-8p\`: \`--buffer-pages 8\` (32 KiB; with \`--perf-buffer\` per CPU) instead of the default 256 (1 MiB), for contrast."
	echo
	echo "### 3. A CKB-like rate: ckb-dbsim -r $SLOW_RATE"
	echo
	echo "One ckb-dbsim \`-r $SLOW_RATE -n $SLOW_RATE_BLOCKS\`: $(awk -v o="$CAL_OPS" -v c="$CAL_CALLS" -v b="$CAL_BLOCKS" -v r="$SLOW_RATE" 'BEGIN { printf "%.1f traced operations and %.1f rocksdb_* calls per block (its counts), so about %.0f operations/s and %.0f calls/s", o / b, c / b, o / b * r, c / b * r }') (rate $SLOW_RATE_SRC; -r 220, about 10k rocksdb_* calls/s counting every call, housekeeping included, would give only about $(awk -v o="$CAL_OPS" -v b="$CAL_BLOCKS" 'BEGIN { printf "%.0f", o / b * 220 }') traced operations/s). ckb-slowops \`-p PID -j -o $SLOW_OPS\` at its default threshold (10 ms: nothing is that slow here, so almost no events) and at threshold 0 (every operation an event). **wall** and **ckb-dbsim CPU** (utime+stime of all its threads over the workload: the uprobe traps and BPF programs run in its threads and count there) against bare; the wall time stays near blocks/rate as long as ckb-dbsim keeps up. **tool CPU**: ckb-slowops' utime+stime from attach to stop, and as % of one core over the wall time."
	echo
	read -r bw s s <<< "$(sstat R bare '$4' 4)"
	read -r bc s s <<< "$(sstat R bare '$11 / t' 11)"
	echo "| config | wall s | vs bare | ckb-dbsim CPU s | vs bare | blocks/s | traced ops/s | events/s delivered | lost | tool CPU s | tool % of one core | tool CPU s per 100k events |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for cfg in $SLOW_R_CONFIGS; do
		read -r wall s s <<< "$(sstat R "$cfg" '$4' 4)"
		read -r cpu s s <<< "$(sstat R "$cfg" '$11 / t' 11)"
		if [ "$cfg" = bare ]; then
			v1="-" v2="-"
		else
			v1=$(sfmt %.0f R "$cfg" "$E_EVS" 5)
			v2=$(sfmt %.0f R "$cfg" '$6' 6)
		fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
			"$cfg" "$(sfmt %.3f R "$cfg" '$4' 4)" "$(div "$wall" "$bw" %.3f)" \
			"$(sfmt %.2f R "$cfg" '$11 / t' 11)" "$(div "$cpu" "$bc" %.3f)" \
			"$(sfmt %.0f R "$cfg" '$14 / $4' 14)" "$(sfmt %.0f R "$cfg" "$E_OPS" 12)" \
			"$v1" "$v2" \
			"$( [ "$cfg" = bare ] && echo - || sfmt %.2f R "$cfg" '($10 - $9) / t' "9 10")" \
			"$( [ "$cfg" = bare ] && echo - || sfmt %.2f R "$cfg" "$E_PCT" "9 10")" \
			"$( [ "$cfg" = bare ] && echo - || sfmt %.3f R "$cfg" "$E_P100K_RUN" "5 9 10")"
	done
	echo
	echo "- **slowops-10ms**: $(slow_cmdline R slowops-10ms)"
	echo "- **slowops-0**: $(slow_cmdline R slowops-0)"
	echo
	echo "Tool CPU is counted in clock ticks (1/$CLK_TCK s): over a ${SLOW_RATE_BLOCKS}-block run at -r $SLOW_RATE (about $(awk -v b="$SLOW_RATE_BLOCKS" -v r="$SLOW_RATE" 'BEGIN { printf "%.1f", b / r }') s) one tick is about $(awk -v b="$SLOW_RATE_BLOCKS" -v r="$SLOW_RATE" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", 100 / t / (b / r) }') % of a core."
	echo
	echo "### Correctness on the side"
	echo
	echo "Each traced run: ckb-slowops' \`events\` + \`lost\` + \`under_threshold\` against the operations ckb-dbsim counted (\`--counts\`, the rocksdb_* functions of the $SLOW_OPS operations), and the event lines in its output against \`events\`."
	echo
	if grep -q '^slowops ' "$NOTES"; then
		sed -n 's/^slowops /- /p' "$NOTES"
	else
		echo "- every run: both equal, and every ckb-dbsim made its blocks."
	fi
	echo
	echo "<details><summary>every ckb-slowops run: part (S full speed, R fixed rate), config, round, wall s, events, lost, under threshold, event lines, tool ticks at attach, tool ticks at stop, ckb-dbsim ticks during the workload, traced operations, rocksdb_* calls, blocks, ckb-dbsim's own seconds (slowest process), attach s, probes, 1-min load average before the run</summary>"
	echo
	echo '```'
	cat "$SLOW_RESULTS"
	echo '```'
	echo "</details>"
}

report > "$W/RESULTS.md"
cp "$W/RESULTS.md" "$BENCH_OUT"
cat "$BENCH_OUT"
log "wrote $BENCH_OUT in $(( T_END - T_BEGIN )) s"
