# bench/lib.sh: process control shared by every part of the benchmark.
#
# Sourced (bash) by bench/run.sh before the parts; bench/README.md
# ("Writing a part") is the contract.  Nothing here knows a part: starting
# and stopping workloads and tracers, waiting for a tracer's "attached"
# line, reading peak RSS and CPU time from /proc, rotating the order of
# the configurations, writing measurements as JSON lines, cleaning up.
#
# Conventions: helpers that produce a value set a global named in their
# comment (no $(...) around helpers that may die: a die in a subshell
# would not end the run); times are microseconds (NOW_US) or seconds with
# six decimals; CPU times are clock ticks of /proc/PID/stat.

# shellcheck shell=bash
# shellcheck disable=SC2034  # globals set here are read by the parts

# Bounds, in seconds; each overridable from the environment.
TRACER_LIMIT=${TRACER_LIMIT:-900}	# any one tracer's life (timeout)
WORK_LIMIT=${WORK_LIMIT:-600}		# any one workload process's life
ATTACH_LIMIT=${ATTACH_LIMIT:-120}	# a tracer's launch to its attached line
STOP_LIMIT=${STOP_LIMIT:-60}		# a tracer's exit after SIGINT

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# need CMD...: each command is on PATH (or an executable path), or die.
need() {
	local c
	for c in "$@"; do
		command -v "$c" > /dev/null ||
			die "no $c; install the packages of contrib/setup-host.sh"
	done
}

# is_num VALUE: a plain decimal number (what emit accepts).
is_num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

# ---- the run: work directory, background processes, cleanup -----------

BGPIDS=""
bg_add() { BGPIDS="$BGPIDS $1"; }
bg_del() {
	local p out=""
	for p in $BGPIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	BGPIDS=$out
}

lib_cleanup() {
	local p i
	trap - EXIT INT TERM
	for p in $BGPIDS; do
		if kill -0 "$p" 2> /dev/null; then kill -TERM "$p" 2> /dev/null || true; fi
	done
	for p in $BGPIDS; do
		i=0
		while kill -0 "$p" 2> /dev/null && [ $i -lt 50 ]; do
			nap 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2> /dev/null || true
	done
	exec 7>&-
	if [ -z "${W:-}" ]; then
		return 0
	elif [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "kept $W"
	else
		rm -rf "$W"
	fi
}

# lib_init: root, tracefs and the common commands, or die; then the work
# directory W (removed at exit unless BENCH_KEEP=1), the private BPF cache,
# the exit and signal traps, and the host facts (CLK_TCK, NCPU).
lib_init() {
	[ "$(id -u)" = 0 ] || die "must run as root (BPF); try: sudo make bench"
	need jq timeout
	[ -e /sys/kernel/tracing/uprobe_events ] ||
		die "tracefs is not mounted; run contrib/setup-host.sh"
	TOOLS_DIR=${TOOLS_DIR:-./tools}
	W=$(mktemp -d "${TMPDIR:-/tmp}/ckb-bench.XXXXXX")
	trap lib_cleanup EXIT
	trap 'log "interrupted"; exit 130' INT TERM
	mkfifo "$W/nap.fifo"
	exec 7<> "$W/nap.fifo"
	mkdir "$W/bin"
	# ckbtrace's cache of compiled BPF programs: a private one, empty at
	# the start, so the run neither depends on nor changes the system's.
	export CKBTRACE_CACHE_DIR=$W/cache
	mkdir -m 700 "$CKBTRACE_CACHE_DIR"
	RESULTS_JSONL=$W/results.jsonl
	: > "$RESULTS_JSONL"
	CLK_TCK=$(getconf CLK_TCK)
	NCPU=$(nproc)
	RUN_N=0 RUN_LOAD="" RD=""
	TIME_BIN=""
	if [ -x /usr/bin/time ]; then TIME_BIN=/usr/bin/time; fi
}

# A sleep without fork: read with a timeout from a FIFO nobody writes.
nap() { read -r -t "$1" -u 7 _ 2> /dev/null || true; }

# NOW_US: the wall clock in integer microseconds; us_to_s US: seconds.
now_us() { local t=$EPOCHREALTIME; NOW_US=$(( 10#${t%.*} * 1000000 + 10#${t#*.} )); }
us_to_s() { printf '%d.%06d' $(( $1 / 1000000 )) $(( $1 % 1000000 )); }

# tool_copy VAR NAME: copy TOOLS_DIR/NAME into the work directory (so a
# rebuild during the run cannot mix versions) and set VAR to the copy.
tool_copy() {
	local var=$1 name=$2
	if [ ! -x "$W/bin/$name" ]; then
		[ -x "$TOOLS_DIR/$name" ] ||
			die "no $TOOLS_DIR/$name; run make first (or set TOOLS_DIR)"
		cp "$(readlink -f "$TOOLS_DIR/$name")" "$W/bin/$name"
	fi
	printf -v "$var" '%s' "$W/bin/$name"
}

# rotated ROUND WORD...: the words rotated left by ROUND - 1 (each round
# starts with the next configuration).  Prints them.
rotated() {
	local r=$1 n i j out=""
	shift
	n=$#
	for ((i = 0; i < n; i++)); do
		j=$(( (i + r - 1) % n + 1 ))
		out="$out ${!j}"
	done
	echo "${out# }"
}

# median: the median of the numbers on stdin ("-" when none).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
		print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# ---- /proc readings, no fork ------------------------------------------

# proc_snap PID: SNAP="VmHWM_kB utime stime cutime cstime" (clock ticks).
proc_snap() {
	local p=$1 k v rest hwm="" line
	SNAP=""
	[ -r "/proc/$p/status" ] || return 1
	{ while read -r k v rest; do
		if [ "$k" = "VmHWM:" ]; then hwm=$v; fi
	done < "/proc/$p/status"; } 2> /dev/null || return 1
	[ -n "$hwm" ] || return 1
	{ read -r line < "/proc/$p/stat"; } 2> /dev/null || return 1
	line=${line##*) }
	set -f
	# shellcheck disable=SC2086
	set -- $line
	set +f
	SNAP="$hwm ${12} ${13} ${14} ${15}"
}

# cpu_ticks PID...: TICKS = utime+stime of the PIDs (all threads), summed;
# 1 and TICKS "-" if one is gone.
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

# has_line FILE PREFIX: a line of FILE starts with PREFIX; HIT is the line.
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

# has_text FILE STRING: a line of FILE contains STRING.
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

# wait_gone PID LIMIT [INNER]: wait up to LIMIT s for PID to exit, then
# SIGKILL it and INNER (the process a timeout wrapper runs), if given.
wait_gone() {
	local pid=$1 limit=$2 inner=${3:-} i=0
	while kill -0 "$pid" 2> /dev/null; do
		if [ $i -ge $((limit * 20)) ]; then
			log "pid $pid still running after ${limit}s; killing it"
			if [ -n "$inner" ]; then kill -KILL "$inner" 2> /dev/null || true; fi
			kill -KILL "$pid" 2> /dev/null || true
			break
		fi
		nap 0.05; i=$((i + 1))
	done
}

# ---- one measured run ------------------------------------------------

# run_begin: a fresh run directory RD (under the part's directory PW),
# caches written back, RUN_LOAD the 1-min load average before the run.
run_begin() {
	RUN_N=$((RUN_N + 1))
	RD=$PW/run$RUN_N
	mkdir -p "$RD"
	sync
	read -r RUN_LOAD _ < /proc/loadavg
}

# timed_prefix FILE: TIMED=(/usr/bin/time ...) to put before a workload
# command so that timed_read FILE gets its peak RSS and CPU; empty when
# /usr/bin/time is absent.
timed_prefix() {
	TIMED=()
	if [ -n "$TIME_BIN" ]; then TIMED=("$TIME_BIN" -o "$1" -f '%M %U %S'); fi
}

# timed_read FILE: TIMED_RSS (peak RSS, kB), TIMED_CPU (user+system, s),
# both "-" when unknown.
timed_read() {
	local rss u s
	TIMED_RSS=- TIMED_CPU=-
	[ -s "$1" ] || return 0
	read -r rss u s < <(tail -n 1 "$1") || return 0
	if is_num "$rss" && is_num "$u" && is_num "$s"; then
		TIMED_RSS=$rss
		TIMED_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	fi
}

# tracer_start DIR STREAM MARKER CMD...: start CMD (under timeout, stdin
# from /dev/null, stdout DIR/out, stderr DIR/err) and wait until a line of
# DIR/STREAM ("out" or "err") starts with MARKER: its "attached" report.
# Sets TR_TPID (the timeout wrapper), TR_PID (CMD itself), TR_ATTACH
# (launch to marker, s) and TR_LINE (the marker line).  1 (and the tracer
# stopped) if it exits or ATTACH_LIMIT passes first.
tracer_start() {
	local d=$1 stream=$2 marker=$3 i=0 t0
	shift 3
	TR_TPID="" TR_PID="" TR_ATTACH="" TR_LINE="" TR_STOP=""
	rm -f "$d/pid"
	now_us; t0=$NOW_US
	# shellcheck disable=SC2016  # $$ and $@ are the child shell's
	timeout -s INT -k 10 "$TRACER_LIMIT" \
		sh -c 'echo $$ > "$0"; exec "$@"' "$d/pid" "$@" \
		< /dev/null > "$d/out" 2> "$d/err" &
	TR_TPID=$!
	bg_add "$TR_TPID"
	while ! has_line "$d/$stream" "$marker"; do
		if ! kill -0 "$TR_TPID" 2> /dev/null ||
		   [ $i -ge $((ATTACH_LIMIT * 200)) ]; then
			log "$(basename "$1") did not report attached: $(tail -n 3 "$d/err" | tr '\n' ' ')"
			TR_PID=$(cat "$d/pid" 2> /dev/null || true)
			tracer_stop ""
			return 1
		fi
		nap 0.005; i=$((i + 1))
	done
	now_us
	TR_ATTACH=$(us_to_s $((NOW_US - t0)))
	TR_LINE=$HIT
	TR_PID=$(cat "$d/pid")
	return 0
}

# tracer_stop [FROM_US]: SIGINT the tracer and wait (STOP_LIMIT) for it
# to leave; TR_STOP is FROM_US (default: now) to its exit, in s.
tracer_stop() {
	local from=${1:-}
	TR_STOP=""
	[ -n "${TR_TPID:-}" ] || return 0
	if [ -z "$from" ]; then now_us; from=$NOW_US; fi
	kill -INT "${TR_PID:-$TR_TPID}" 2> /dev/null || true
	wait_gone "$TR_TPID" "$STOP_LIMIT" "$TR_PID"
	now_us
	TR_STOP=$(us_to_s $((NOW_US - from)))
	wait "$TR_TPID" 2> /dev/null || true
	bg_del "$TR_TPID"
	TR_TPID=""
}

# sampler_start PID FILE: write PID's proc_snap into FILE every 0.1 s,
# for a tracer that may exit with its target before it can be read.
# sampler_stop: end it; SNAP is then PID's reading now if it is still
# there, else the sampler's last one ("" if none).
sampler_start() {
	local pid=$1 file=$2
	SAMPLER_PID=$pid SAMPLER_FILE=$file
	rm -f "$file.stop"
	( trap - INT TERM EXIT
	  while [ ! -e "$file.stop" ] && proc_snap "$pid"; do
		printf '%s\n' "$SNAP" > "$file"
		nap 0.1
	  done ) &
	SAMPLER=$!
	bg_add "$SAMPLER"
}
sampler_stop() {
	local snap=""
	if proc_snap "$SAMPLER_PID"; then snap=$SNAP; fi
	touch "$SAMPLER_FILE.stop"
	wait "$SAMPLER" 2> /dev/null || true
	bg_del "$SAMPLER"
	[ -n "$snap" ] || snap=$(cat "$SAMPLER_FILE" 2> /dev/null || true)
	SNAP=$snap
}

# ---- ckb-dbsim, the CKB-shaped workload (tool_copy DBSIM ckb-dbsim) ----

# dbsim_start DB OUT ARG...: one `ckb-dbsim -r 0 -q --wait` on a fresh
# DB, ready; sets SIM_TPID (timeout wrapper) and SIM_PID.  SIGUSR1 starts
# its work.
dbsim_start() {
	local db=$1 out=$2 i=0
	shift 2
	rm -rf "$db" "$out" "$out.err"
	timeout -k 10 "$WORK_LIMIT" "$DBSIM" -r 0 --db "$db" -q --wait "$@" \
		< /dev/null > "$out" 2> "$out.err" &
	SIM_TPID=$!
	bg_add "$SIM_TPID"
	SIM_PID=""
	while ! has_line "$out" "ready "; do
		kill -0 "$SIM_TPID" 2> /dev/null ||
			die "ckb-dbsim exited before it was ready: $(cat "$out.err")"
		[ $i -lt 1200 ] || die "ckb-dbsim not ready after 60 s"
		nap 0.05; i=$((i + 1))
	done
	SIM_PID=${HIT#ready }
}

dbsim_stop() {
	kill -TERM "$SIM_PID" 2> /dev/null || true
	wait_gone "$SIM_TPID" 30 "$SIM_PID"
	wait "$SIM_TPID" 2> /dev/null || true
	bg_del "$SIM_TPID"
}

# sims_start N RATE BLOCKS DIR: N `ckb-dbsim --wait --linger` (-r RATE -n
# BLOCKS, fresh DBs, DIR/countsI.json, DIR/simI.out, DIR/simI.err), all
# ready; sets SIMS_T (timeout wrappers) and SIMS_P (PIDs).
sims_start() {
	local n=$1 rate=$2 blocks=$3 d=$4 i k
	SIMS_T=() SIMS_P=()
	for ((i = 1; i <= n; i++)); do
		rm -rf "$d/db$i"
		timeout -k 10 "$WORK_LIMIT" "$DBSIM" -r "$rate" -n "$blocks" \
			--db "$d/db$i" --wait --linger --counts "$d/counts$i.json" \
			< /dev/null > "$d/sim$i.out" 2> "$d/sim$i.err" &
		SIMS_T+=("$!")
		bg_add "$!"
	done
	for ((i = 1; i <= n; i++)); do
		k=0
		while ! has_line "$d/sim$i.out" "ready "; do
			kill -0 "${SIMS_T[i - 1]}" 2> /dev/null ||
				die "ckb-dbsim exited before it was ready: $(cat "$d/sim$i.err")"
			[ $k -lt 1200 ] || die "ckb-dbsim not ready after 60 s"
			nap 0.05; k=$((k + 1))
		done
		SIMS_P+=("${HIT#ready }")
	done
}

# sims_wait_done DIR: wait (polled every 10 ms) until every ckb-dbsim of
# sims_start has printed its summary line (--linger keeps it alive after
# its workload).  1 if one died first or WORK_LIMIT passed.
sims_wait_done() {
	local d=$1 i k=0 all
	while :; do
		all=1
		for i in "${!SIMS_P[@]}"; do
			if ! has_text "$d/sim$((i + 1)).err" " blocks, "; then
				all=0
				kill -0 "${SIMS_P[i]}" 2> /dev/null || return 1
			fi
		done
		[ "$all" = 0 ] || return 0
		[ $k -lt $((WORK_LIMIT * 100)) ] || return 1
		nap 0.01; k=$((k + 1))
	done
}

sims_stop() {
	local i
	for i in "${!SIMS_P[@]}"; do kill -TERM "${SIMS_P[i]}" 2> /dev/null || true; done
	for i in "${!SIMS_T[@]}"; do
		wait_gone "${SIMS_T[i]}" 30 "${SIMS_P[i]}"
		wait "${SIMS_T[i]}" 2> /dev/null || true
		bg_del "${SIMS_T[i]}"
	done
	for i in "${!SIMS_P[@]}"; do rm -rf "$1/db$((i + 1))"; done
}

# sims_secs DIR: SIMS_SECS, the largest "calls in X s" of the ckb-dbsim
# summary lines in DIR/sim*.err (the slowest process's own time), or "-".
sims_secs() {
	local f l best=-
	for f in "$1"/sim*.err; do
		while IFS= read -r l; do
			if [[ $l =~ ^ckb-dbsim:\ .*\ calls\ in\ ([0-9.]+)\ s ]]; then
				if [ "$best" = - ] || awk -v a="${BASH_REMATCH[1]}" -v b="$best" \
				   'BEGIN { exit !(a > b) }'; then
					best=${BASH_REMATCH[1]}
				fi
			fi
		done < "$f"
	done
	SIMS_SECS=$best
}

# ---- what ckbtrace probes: ckb-symbols -j (tool_copy SYMBOLS ckb-symbols)

# rocksdb_catalog VAR BINARY: `ckb-symbols -j -a BINARY` into a file of
# the work directory; VAR is its path.  Exit 3 (a core operation missing)
# is not an error here; anything else is.
rocksdb_catalog() {
	local var=$1 bin=$2 f rc=0
	f=$W/catalog.$((${#CATALOGS[@]} + 1)).json
	"$SYMBOLS" -j -a "$bin" > "$f" 2> "$f.err" || rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
		die "ckb-symbols -j -a $bin failed: $(head -n 1 "$f.err")"
	fi
	CATALOGS+=("$f")
	printf -v "$var" '%s' "$f"
}
CATALOGS=()

# ROCKSDB_ROWS_JQ: jq, input a ckb-symbols -j catalog, $ops as for
# rocksdb_probes: $c (the catalog), then each catalog row ckb-rdblat -o
# $ops attaches (the ops asked for, with what they need, to a fixed point).
ROCKSDB_ROWS_JQ='
		. as $c |
		(if $ops == "" then [$c.ops[] | select(.off | not) | .name]
		 else $ops | split(",") |
			map(if . == "STALL" then "STALL_DELAY", "STALL_STOP" else . end)
		 end) as $want |
		($c.ops | map({ key: .name, value: (.needs +
			(if $c.layer != "C API" then (.guards // []) else [] end)) }) |
		  from_entries) as $needs |
		($want | until(. as $w | ($w + [$w[] | $needs[.][]?] | unique) == ($w | unique);
			. + [.[] | $needs[.][]?] | unique)) as $attach |
		$c | .catalog[] | select(.probed and (.op as $o | $attach | index($o)))'

# rocksdb_probes CATALOG OPS OUT: what ckb-rdblat attaches for the
# operations OPS (comma-separated, STALL for both stall rows; "" = its default set, every op not "off"; their dependencies added as
# the catalog's "needs" says, and where calls nest (any layer but the C
# API alone) its "guards", to a fixed point), one line per function into OUT, fields
# separated by tabs: file path, symbol (mangled for C++), entry program
# and return program ("-" for none), op, layer, file offset, the catalog
# row's symbol (a demangled prefix for C++).  A function two rows share
# gets one line with both ends.
rocksdb_probes() {
	jq -r --arg ops "$2" '. as $c |
		($c.functions // [] | map(select(.defined)) |
		  map({ key: "\(.file):\(.address)", value: (.mangled // .name) }) |
		  reverse | from_entries) as $fn |
		[ '"$ROCKSDB_ROWS_JQ"' |
		  . as $row | .sites[] |
		  { path: $c.files[.file].path,
		    name: (if $row.layer == "capi" or $row.layer == "tally"
			   then $row.symbol else ($fn["\(.file):\(.address)"] // null) end),
		    entry: $row.entry, ret: $row.return, op: $row.op,
		    layer: $row.layer, offset: .offset, row: $row.symbol } ] |
		if any(.[]; .name == null) then
			error("a C++ site has no function at its address (ckb-symbols -a)")
		else . end |
		group_by([.path, .name]) | .[] |
		[ .[0].path, .[0].name,
		  (map(.entry | select(. != null)) | first // "-"),
		  (map(.ret | select(. != null)) | first // "-"),
		  .[0].op, .[0].layer, (.[0].offset | tostring), .[0].row ] | @tsv' "$1" > "$3"
}

# rocksdb_sites CATALOG OPS: the sites ckb-rdblat -o OPS (its default
# operations when OPS is empty) attaches to, as ckb-symbols -j says, one line per
# program and site ("uprobe OFFSET" or "uretprobe OFFSET"), sorted.  Not
# grouped by function as rocksdb_probes is: two rows at one function (a
# C API call and the transaction tally reset on it, say) are two programs.
rocksdb_sites() {
	jq -r --arg ops "$2" "$ROCKSDB_ROWS_JQ"' |
		. as $row | .sites[] |
		(if $row.entry != null then "uprobe \(.offset)" else empty end),
		(if $row.return != null then "uretprobe \(.offset)" else empty end)' "$1" | sort
}

# rocksdb_capi_map VAR CATALOG: VAR = a JSON object, for each operation
# the C API functions (catalog rows of layer "capi") that carry it; with
# ckb-dbsim's --counts ("calls") it gives the operations it made.
rocksdb_capi_map() {
	printf -v "$1" '%s' "$(jq -c '[.catalog[] | select(.layer == "capi")] |
		group_by(.op) | map({ key: .[0].op, value: map(.symbol) }) |
		from_entries' "$2")"
}

# ---- results: one JSON line per measurement ---------------------------

# emit SUBJECT WORKLOAD ROUND [METRIC VALUE UNIT]...: one line per metric
# into RESULTS_JSONL: {"type":"measure","part","subject","workload",
# "round","metric","value","unit","load"}.  VALUE "-" or "" (not
# measured) writes nothing; a VALUE that is not a number is logged and
# skipped.  ROUND is an integer (0 for measurements outside the rounds).
# "load" (RUN_LOAD) and "seq" (RUN_N, the run's number in the whole
# benchmark) are added when run_begin set them for the current step.
emit() {
	local subj=$1 wl=$2 round=$3 m v u
	local -a args=()
	shift 3
	(( $# % 3 == 0 )) || die "emit: want METRIC VALUE UNIT triplets, got: $*"
	while [ $# -gt 0 ]; do
		m=$1 v=$2 u=$3
		shift 3
		case $v in -|"") continue ;; esac
		if ! is_num "$v"; then
			log "emit: $PART $subj $wl round $round: $m is not a number: $v"
			continue
		fi
		args+=("$m" "$v" "$u")
	done
	[ ${#args[@]} -gt 0 ] || return 0
	jq -nc --arg part "$PART" --arg s "$subj" --arg w "$wl" \
		--argjson r "$round" --arg load "${RUN_LOAD:-}" --arg seq "${RD:+$RUN_N}" '
		$ARGS.positional as $a | range(0; $a | length; 3) as $i |
		{ type: "measure", part: $part, subject: $s, workload: $w,
		  round: $r, metric: $a[$i], value: ($a[$i + 1] | tonumber),
		  unit: $a[$i + 2] } +
		(if $load == "" then {} else { load: ($load | tonumber) } end) +
		(if $seq == "" then {} else { seq: ($seq | tonumber) } end)' \
		--args "${args[@]}" >> "$RESULTS_JSONL"
}

# info KEY STRING / info_json KEY JSON: a fact of the part for its report
# section: {"type":"info","part","key","value"}.  A key given twice:
# the report uses the last.  Keys "header:LABEL" become rows of the
# report's opening table.
info() {
	jq -nc --arg part "$PART" --arg k "$1" --arg v "$2" \
		'{ type: "info", part: $part, key: $k, value: $v }' >> "$RESULTS_JSONL"
}
info_json() {
	jq -nc --arg part "$PART" --arg k "$1" --argjson v "$2" \
		'{ type: "info", part: $part, key: $k, value: $v }' >> "$RESULTS_JSONL"
}

# note WORKLOAD SUBJECT ROUND TEXT: something the report must list (a
# count that differs, a workload that failed): {"type":"note",...}.
note() {
	jq -nc --arg part "$PART" --arg w "$1" --arg s "$2" --argjson r "$3" \
		--arg t "$4" '{ type: "note", part: $part, workload: $w,
		subject: $s, round: $r, text: $t }' >> "$RESULTS_JSONL"
	log "note: $PART $1 $2 round $3: $4"
}
