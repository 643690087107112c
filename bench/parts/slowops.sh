# bench/parts/slowops.sh: ckb-slowops' event path.  At threshold 0 every
# traced RocksDB operation is an event: how many per second it delivers
# without loss (BPF ring buffer, perf buffers), its CPU per event, and
# what it costs a workload at a CKB-like rate (10k operations/s).
# Report: slowops.jq.
#
# Workloads (ckb-dbsim --wait --linger --counts, fresh DBs): "full", -r 0
# -n SLOW_BLOCKS per process, one or two processes; "rate", one process
# at -r SLOW_RATE -n SLOW_RATE_BLOCKS.  Knobs: SLOW_BLOCKS (6000, QUICK
# 2000), SLOW_RATE_BLOCKS (3000, QUICK 800), SLOW_RATE (default: the
# rate giving SLOW_TARGET_OPS traced operations/s, 10000, from a
# calibration run).

# shellcheck shell=bash
# shellcheck disable=SC2153  # SLOWOPS, DBSIM, ... are set by lib.sh helpers

# every operation of ckb-dbsim's foreground thread (FLUSH, COMPACTION,
# STALL left out)
SLOW_OPS=GET,TXN_GET,PUT,TXN_PUT,DELETE,TXN_DELETE,WRITE,TXN_COMMIT,ITER
# "full": name -> processes and ckb-slowops arguments (bare*: none);
# one process traced with -p PID, two (-x2) with -b on the binary
SLOW_FULL_CONFIGS="bare ring perf bare-x2 ring-x2 perf-x2 ring-x2-8p perf-x2-8p"
# "rate": one process, -p PID, ring buffer
SLOW_RATE_CONFIGS="bare slowops-10ms slowops-0"

slowops_check() {
	if [ "$QUICK" = 1 ]; then
		SLOW_BLOCKS=${SLOW_BLOCKS:-2000} SLOW_RATE_BLOCKS=${SLOW_RATE_BLOCKS:-800}
	else
		SLOW_BLOCKS=${SLOW_BLOCKS:-6000} SLOW_RATE_BLOCKS=${SLOW_RATE_BLOCKS:-3000}
	fi
	SLOW_TARGET_OPS=${SLOW_TARGET_OPS:-10000}
	SLOW_RATE=${SLOW_RATE:-}
	if [[ ! $SLOW_BLOCKS$SLOW_RATE_BLOCKS$SLOW_TARGET_OPS$SLOW_RATE =~ ^[0-9]+$ ]] ||
	   [ "$SLOW_BLOCKS" -lt 1 ] || [ "$SLOW_RATE_BLOCKS" -lt 1 ] || [ "$SLOW_TARGET_OPS" -lt 1 ] ||
	   { [ -n "$SLOW_RATE" ] && [ "$SLOW_RATE" -lt 1 ]; }; then
		die "SLOW_BLOCKS, SLOW_RATE_BLOCKS, SLOW_TARGET_OPS and SLOW_RATE must be whole numbers >= 1"
	fi
	tool_copy SLOWOPS ckb-slowops
	tool_copy DBSIM ckb-dbsim
	tool_copy SYMBOLS ckb-symbols
}

# slowops_config WORKLOAD CFG: SC_PROCS and SC_ARGS (ckb-slowops'
# arguments, the word PID for the first process; empty: no tracer).
slowops_config() {
	local wl=$1 cfg=$2
	SC_ARGS=() SC_PROCS=1
	if [ "$wl" = rate ]; then
		case $cfg in
		slowops-10ms) SC_ARGS=(-p PID -j -o "$SLOW_OPS") ;;
		slowops-0) SC_ARGS=(-p PID -j -o "$SLOW_OPS" 0) ;;
		esac
		return 0
	fi
	case $cfg in *-x2*) SC_PROCS=2 ;; esac
	case $cfg in
	bare*) return 0 ;;
	*-x2*) SC_ARGS=(-b "$DBSIM") ;;
	*) SC_ARGS=(-p PID) ;;
	esac
	case $cfg in perf*) SC_ARGS+=(--perf-buffer) ;; esac
	case $cfg in *-8p) SC_ARGS+=(--buffer-pages 8) ;; esac
	SC_ARGS+=(-j -o "$SLOW_OPS" 0)
}

# slowops_counts FILE...: SUM_OPS SUM_CALLS SUM_BLOCKS over ckb-dbsim
# --counts files: the traced operations (the C API functions of SLOW_OPS,
# from the catalog), every rocksdb_* call, blocks ("-" if unreadable).
slowops_counts() {
	SUM_OPS=- SUM_CALLS=- SUM_BLOCKS=-
	read -r SUM_OPS SUM_CALLS SUM_BLOCKS < <(jq -s -r --argjson map "$SLOW_CAPI_MAP" \
		--arg ops "$SLOW_OPS" '
		([$ops | split(",")[] as $o | $map[$o][]?]) as $fns |
		"\(map(.calls as $k | [$fns[] | $k[.] // 0] | add) | add) \(map([.calls[]] | add) | add) \(map(.blocks) | add)"' \
		"$@" 2> /dev/null || echo "- - -")
}

slowops_prepare() {
	local cat o c b
	rocksdb_catalog cat "$DBSIM"
	rocksdb_capi_map SLOW_CAPI_MAP "$cat"
	# The fixed rate: SLOW_TARGET_OPS traced operations per second, from
	# the counts of a bare run of the same blocks (the workload is
	# deterministic for a seed and a block count).
	rm -rf "$PW/cal.db"
	timeout -k 10 "$WORK_LIMIT" "$DBSIM" -r 0 -n "$SLOW_RATE_BLOCKS" --db "$PW/cal.db" \
		-q --counts "$PW/cal.json" < /dev/null > /dev/null 2> "$PW/cal.err" ||
		die "ckb-dbsim calibration run failed: $(cat "$PW/cal.err")"
	rm -rf "$PW/cal.db"
	slowops_counts "$PW/cal.json"
	o=$SUM_OPS c=$SUM_CALLS b=$SUM_BLOCKS
	if ! is_num "$o" || [ "$o" -le 0 ]; then
		die "ckb-dbsim's calibration counts name no traced operation"
	fi
	if [ -z "$SLOW_RATE" ]; then
		SLOW_RATE=$(( (SLOW_TARGET_OPS * b + o / 2) / o ))
		[ "$SLOW_RATE" -ge 1 ] || SLOW_RATE=1
		info rate_source derived
	else
		info rate_source "set by SLOW_RATE"
	fi
	log "slowops: $o traced operations, $c rocksdb_* calls in $b blocks; fixed rate -r $SLOW_RATE"
	info_json calibration "$(jq -nc --argjson o "$o" --argjson c "$c" --argjson b "$b" \
		'{ ops: $o, calls: $c, blocks: $b }')"
	info_json target_ops "$SLOW_TARGET_OPS"
	info_json rate "$SLOW_RATE"
	info_json full_blocks "$SLOW_BLOCKS"
	info_json rate_blocks "$SLOW_RATE_BLOCKS"
	info ops "$SLOW_OPS"
	info_json full_configs "$(jq -nc --arg c "$SLOW_FULL_CONFIGS" '$c | split(" ")')"
	info_json rate_configs "$(jq -nc --arg c "$SLOW_RATE_CONFIGS" '$c | split(" ")')"
	for wl in full rate; do
		local configs=$SLOW_FULL_CONFIGS
		[ "$wl" = full ] || configs=$SLOW_RATE_CONFIGS
		for cfg in $configs; do
			slowops_config "$wl" "$cfg"
			info_json "procs:$wl:$cfg" "$SC_PROCS"
			if [ ${#SC_ARGS[@]} -gt 0 ]; then
				info "cmd:$wl:$cfg" "ckb-slowops $(printf '%s ' "${SC_ARGS[@]}" | sed "s|$DBSIM|DBSIM|; s| \$||") > FILE"
			fi
		done
	done
	info "header:ckb-slowops workloads" "full speed: \`ckb-dbsim -r 0 -n $SLOW_BLOCKS\` (one or two processes); CKB-like rate: \`ckb-dbsim -r $SLOW_RATE -n $SLOW_RATE_BLOCKS\`; fresh DBs; timed SIGUSR1 to the end of the workload"
}

# slowops_run WORKLOAD CFG R: one run, emitted.
slowops_run() {
	local wl=$1 cfg=$2 r=$3 rate blocks t1 t2 wall a
	local sim0=- sim1=- simd=- tc0=- tc1=- ev=- lost=- under=- lines=-
	local -a targs=()
	run_begin
	if [ "$wl" = full ]; then rate=0 blocks=$SLOW_BLOCKS; else rate=$SLOW_RATE blocks=$SLOW_RATE_BLOCKS; fi
	slowops_config "$wl" "$cfg"
	sims_start "$SC_PROCS" "$rate" "$blocks" "$RD"
	TR_ATTACH="" TR_PID="" TR_TPID="" PROBES_N=- PROBES_UNIT=-
	if [ ${#SC_ARGS[@]} -gt 0 ]; then
		for a in "${SC_ARGS[@]}"; do
			[ "$a" = PID ] && a=${SIMS_P[0]}
			targs+=("$a")
		done
		if ! tracer_start "$RD" err Tracing "$SLOWOPS" "${targs[@]}"; then
			sims_stop "$RD"
			note "$wl" "$cfg" "$r" "ckb-slowops did not attach: $(tail -n 2 "$RD/err" | tr '\n' ' ')"
			return 0
		fi
		if [[ $TR_LINE =~ \(([0-9]+)\ ([a-z ]+), ]]; then
			PROBES_N=${BASH_REMATCH[1]} PROBES_UNIT=${BASH_REMATCH[2]}
		fi
		cpu_ticks "$TR_PID" || true; tc0=$TICKS
	fi
	cpu_ticks "${SIMS_P[@]}" || true; sim0=$TICKS
	now_us; t1=$NOW_US
	kill -USR1 "${SIMS_P[@]}"
	if ! sims_wait_done "$RD"; then
		note "$wl" "$cfg" "$r" "a ckb-dbsim did not finish its workload: $(cat "$RD"/sim*.err | tr '\n' ' ')"
	fi
	now_us; t2=$NOW_US
	cpu_ticks "${SIMS_P[@]}" || true; sim1=$TICKS
	wall=$(us_to_s $((t2 - t1)))
	if [ -n "$TR_TPID" ]; then
		# let it catch up with what is buffered, then read its CPU time
		nap 0.3
		cpu_ticks "$TR_PID" || true; tc1=$TICKS
		tracer_stop
		grep -v '"type":"event"' "$RD/out" > "$RD/out.rest" || true
		lines=$(grep -c '"type":"event"' "$RD/out" || true)
		rm -f "$RD/out"
		read -r ev lost under < <(jq -r 'select(.type == "summary") |
			"\(.events) \(.lost) \(.under_threshold)"' "$RD/out.rest" 2> /dev/null | tail -n 1) || true
		ev=${ev:--} lost=${lost:--} under=${under:--}
		[ "$ev" != - ] || note "$wl" "$cfg" "$r" "no summary from ckb-slowops: $(tail -n 2 "$RD/err" | tr '\n' ' ')"
		if has_text "$RD/err" "were sent but"; then
			note "$wl" "$cfg" "$r" "$(grep -m 1 'were sent but' "$RD/err")"
		fi
	fi
	sims_stop "$RD"
	sims_secs "$RD"
	slowops_counts "$RD"/counts*.json
	if [ "$sim0" != - ] && [ "$sim1" != - ]; then simd=$((sim1 - sim0)); fi
	[ "$SUM_BLOCKS" = $((SC_PROCS * blocks)) ] ||
		note "$wl" "$cfg" "$r" "ckb-dbsim made $SUM_BLOCKS blocks, not $((SC_PROCS * blocks))"
	if [ "$ev" != - ] && [ "$SUM_OPS" != - ]; then
		[ $((ev + lost + under)) = "$SUM_OPS" ] ||
			note "$wl" "$cfg" "$r" "events $ev + lost $lost + under threshold $under != $SUM_OPS operations ckb-dbsim made"
		[ "$lines" = "$ev" ] ||
			note "$wl" "$cfg" "$r" "$lines event lines in the output, the summary says $ev"
	fi
	emit "$cfg" "$wl" "$r" wall "$wall" s events "$ev" events lost "$lost" events \
		under_threshold "$under" events event_lines "$lines" lines \
		tool_ticks_attach "$tc0" ticks tool_ticks_stop "$tc1" ticks \
		sim_ticks "$simd" ticks ops "$SUM_OPS" ops calls "$SUM_CALLS" calls \
		blocks "$SUM_BLOCKS" blocks sim_secs "$SIMS_SECS" s procs "$SC_PROCS" processes \
		attach "${TR_ATTACH:--}" s probes "$PROBES_N" "$PROBES_UNIT"
	log "slowops $wl $cfg round $r: $wall s, events $ev, lost $lost"
}

slowops_round() {
	local r=$1 cfg order
	# shellcheck disable=SC2086  # the words of the lists
	order=$(rotated "$r" $SLOW_FULL_CONFIGS)
	log "slowops round $r, full speed: $order"
	for cfg in $order; do slowops_run full "$cfg" "$r"; done
	# shellcheck disable=SC2086
	order=$(rotated "$r" $SLOW_RATE_CONFIGS)
	log "slowops round $r, at -r $SLOW_RATE: $order"
	for cfg in $order; do slowops_run rate "$cfg" "$r"; done
}
