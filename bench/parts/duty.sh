# bench/parts/duty.sh: what always-on tracing costs a node.  Report:
# duty.jq.
#
# Workload "ckb-like": ckb-dbsim at a CKB-like rate (DUTY_RATE blocks/s,
# 380: about 10k RocksDB operations a second) for DUTY_SECS seconds, bare,
# under ckb-rdblat always attached, and under ckb-rdblat --duty DUTY_PCT.
# Measured: the blocks it made per second (throughput), its CPU time per
# block (the cost at a fixed rate), and the p50/p99 ckb-rdblat saw for the
# busiest operations (from its -H histograms, summed over the run).
#
# Workload "full": ckb-dbsim unthrottled (-n DUTY_BLOCKS), bare, under
# empty probes on exactly ckb-rdblat's points (bpftrace: the floor) and
# under ckb-rdblat always attached: its wall time and CPU time.
#
# Knobs: DUTY_RATE (380), DUTY_SECS (30, QUICK 8), DUTY_PCT (10),
# DUTY_BLOCKS (8000, QUICK 2000), BPFTRACE.

# shellcheck shell=bash
# shellcheck disable=SC2153  # RDBLAT, DBSIM, SYMBOLS are set by tool_copy

DUTY_RATE_CONFIGS="bare always duty"
DUTY_FULL_CONFIGS="bare floor always"
DUTY_OPS="GET TXN_GET TXN_PUT TXN_COMMIT"

duty_check() {
	DUTY_RATE=${DUTY_RATE:-380} DUTY_PCT=${DUTY_PCT:-10}
	if [ "$QUICK" = 1 ]; then
		DUTY_SECS=${DUTY_SECS:-8} DUTY_BLOCKS=${DUTY_BLOCKS:-2000}
	else
		DUTY_SECS=${DUTY_SECS:-30} DUTY_BLOCKS=${DUTY_BLOCKS:-8000}
	fi
	if [[ ! $DUTY_RATE$DUTY_PCT$DUTY_SECS$DUTY_BLOCKS =~ ^[0-9]+$ ]] ||
	   [ "$DUTY_PCT" -lt 1 ] || [ "$DUTY_PCT" -gt 99 ] || [ "$DUTY_SECS" -lt 2 ]; then
		die "DUTY_RATE, DUTY_SECS, DUTY_BLOCKS: whole numbers; DUTY_PCT 1-99"
	fi
	DUTY_BPFTRACE=${BPFTRACE:-bpftrace}
	need "$DUTY_BPFTRACE"
	tool_copy RDBLAT ckb-rdblat
	tool_copy DBSIM ckb-dbsim
	tool_copy SYMBOLS ckb-symbols
}

duty_prepare() {
	local cat path name e r
	# shellcheck disable=SC2034  # the rest of a line of the list
	rocksdb_catalog cat "$DBSIM"
	rocksdb_probes "$cat" "" "$PW/functions"
	# the floor: empty bodies at every point ckb-rdblat attaches
	{
		printf '%s\n' 'BEGIN { printf("ready\n"); }'
		while IFS=$'\t' read -r path name e r _; do
			[ "$e" = - ] || printf 'uprobe:%s:%s { }\n' "$path" "$name"
			[ "$r" = - ] || printf 'uretprobe:%s:%s { }\n' "$path" "$name"
		done < "$PW/functions"
	} > "$PW/floor.bt"
	info rate "$DUTY_RATE"
	info secs "$DUTY_SECS"
	info pct "$DUTY_PCT"
	info blocks "$DUTY_BLOCKS"
	info_json ops "$(printf '%s\n' $DUTY_OPS | jq -R . | jq -sc .)"
	info "cmd:always" "ckb-rdblat -p PID -j -H -i 1"
	info "cmd:duty" "ckb-rdblat -p PID -j -H -i 1 --duty $DUTY_PCT"
	info "header:duty" "ckb-dbsim at $DUTY_RATE blocks/s for $DUTY_SECS s: bare, ckb-rdblat, ckb-rdblat --duty $DUTY_PCT; unthrottled ($DUTY_BLOCKS blocks): bare, floor, ckb-rdblat"
}

# duty_tracer CFG PID DIR: start the tracer of configuration CFG on PID.
duty_tracer() {
	local cfg=$1 pid=$2 d=$3
	case $cfg in
	always) tracer_start "$d" err Tracing "$RDBLAT" -p "$pid" -j -H -i 1 ;;
	duty) tracer_start "$d" err Tracing "$RDBLAT" -p "$pid" -j -H -i 1 --duty "$DUTY_PCT" ;;
	floor) tracer_start "$d" out ready "$DUTY_BPFTRACE" -B none -p "$pid" "$PW/floor.bt" ;;
	*) return 0 ;;
	esac
}

# duty_pcts OUT: "op p50_ns p99_ns" for DUTY_OPS from ckb-rdblat's -H
# histograms, summed over the run (interpolated inside a bucket).
duty_pcts() {
	jq -rs --arg ops "$DUTY_OPS" '
		def pct($b; $p): ($b | map(.[2]) | add) as $n | ($p / 100 * $n) as $rank |
			reduce $b[] as $x ({seen: 0, v: null};
				if .v == null and .seen + $x[2] >= $rank then
					.v = $x[0] + ($x[1] - $x[0]) * (($rank - .seen) / $x[2])
				else . end | .seen += $x[2]) | .v;
		[.[] | select(.type == "hist")] | group_by(.op) | map({op: .[0].op,
			b: ([.[].buckets[]] | group_by(.[0]) | map([.[0][0], .[0][1], (map(.[2]) | add)]) | sort_by(.[0]))}) |
		.[] | select(.op as $o | $ops | split(" ") | index($o)) |
		"\(.op) \(pct(.b; 50)) \(pct(.b; 99))"' "$1"
}

duty_one() {
	local wl=$1 cfg=$2 r=$3 d secs blocks op p50 p99
	local -a extra=()
	run_begin
	d=$RD
	if [ "$wl" = ckb-like ]; then
		sims_start 1 "$DUTY_RATE" 0 "$d"
	else
		sims_start 1 0 "$DUTY_BLOCKS" "$d"
	fi
	TR_PID="" TR_TPID=""
	duty_tracer "$cfg" "${SIMS_P[0]}" "$d" || {
		note "$wl" "$cfg" "$r" "tracer did not attach"
		sims_stop "$d"
		return 0
	}
	cpu_ticks "${SIMS_P[0]}"
	local t0=$TICKS
	now_us
	local s0=$NOW_US
	kill -USR1 "${SIMS_P[0]}"
	if [ "$wl" = ckb-like ]; then
		nap "$DUTY_SECS"
		kill -USR2 "${SIMS_P[0]}"	# counts now
		nap 0.5
		now_us
		cpu_ticks "${SIMS_P[0]}"
		blocks=$(jq .blocks "$d/counts1.json" 2> /dev/null || echo -)
	else
		sims_wait_done "$d" || note "$wl" "$cfg" "$r" "ckb-dbsim did not finish"
		now_us
		cpu_ticks "${SIMS_P[0]}"
		blocks=$DUTY_BLOCKS
	fi
	secs=$(us_to_s $((NOW_US - s0)))
	local ticks=$((TICKS - t0))
	proc_snap "${TR_PID:-0}" 2> /dev/null || SNAP="-"
	local hwm=${SNAP%% *}
	tracer_stop ""
	sims_stop "$d"
	if [ "$wl" = full ]; then
		sims_secs "$d"
		secs=$SIMS_SECS
	fi
	if [ "$cfg" = always ] || [ "$cfg" = duty ]; then
		while read -r op p50 p99; do
			extra+=("p50_ns:$op" "$p50" ns "p99_ns:$op" "$p99" ns)
		done < <(duty_pcts "$d/out")
		extra+=(tracer_peak_rss "$hwm" kB)
	fi
	emit "$cfg" "$wl" "$r" wall "$secs" s blocks "$blocks" blocks \
		sim_ticks "$ticks" ticks "${extra[@]}"
}

duty_round() {
	local r=$1 c
	for c in $(rotated "$r" $DUTY_RATE_CONFIGS); do duty_one ckb-like "$c" "$r"; done
	for c in $(rotated "$r" $DUTY_FULL_CONFIGS); do duty_one full "$c" "$r"; done
}
