# bench/parts/rdblat.sh: what ckb-rdblat costs a RocksDB workload, next to
# the bare workload, the cost of the probes alone (bpftrace with empty
# bodies on the same functions: the floor) and two peers doing the same
# job (bpftrace histograms, funclatency-bpfcc).  Report: rdblat.jq.
#
# Workloads: A, db_bench fillrandom,readrandom (C++ API through
# librocksdb.so); B, ckb-dbsim (C API, RocksDB linked statically).
# Knobs: BENCH_NUM (db_bench --num/--reads; 400000, QUICK 100000), BLOCKS
# (ckb-dbsim -n; 14000, QUICK 3000), RDBLAT_STARTUP_RUNS (cold+warm
# start-up pairs per workload; 3, QUICK 1), DB_BENCH, ROCKSDB_LIB,
# BPFTRACE, FUNCLATENCY.

# shellcheck shell=bash
# shellcheck disable=SC2153  # RDBLAT, DBSIM, SNAP, ... are set by lib.sh helpers

RDBLAT_CONFIGS="bare floor ckb-rdblat bpftrace funclatency"
RDBLAT_A_OPS=GET,WRITE,ITER,FLUSH,COMPACTION,STALL

rdblat_check() {
	if [ "$QUICK" = 1 ]; then
		BENCH_NUM=${BENCH_NUM:-100000} BLOCKS=${BLOCKS:-3000}
		RDBLAT_STARTUP_RUNS=${RDBLAT_STARTUP_RUNS:-1}
	else
		BENCH_NUM=${BENCH_NUM:-400000} BLOCKS=${BLOCKS:-14000}
		RDBLAT_STARTUP_RUNS=${RDBLAT_STARTUP_RUNS:-3}
	fi
	if [[ ! $BENCH_NUM$BLOCKS$RDBLAT_STARTUP_RUNS =~ ^[0-9]+$ ]] ||
	   [ "$BENCH_NUM" -lt 1 ] || [ "$BLOCKS" -lt 1 ] || [ "$RDBLAT_STARTUP_RUNS" -lt 1 ]; then
		die "BENCH_NUM, BLOCKS and RDBLAT_STARTUP_RUNS must be whole numbers >= 1"
	fi
	DB_BENCH=${DB_BENCH:-$(command -v db_bench || true)}
	if [ -z "$DB_BENCH" ] || [ ! -x "$DB_BENCH" ]; then
		die "no db_bench; install rocksdb-tools (contrib/setup-host.sh)"
	fi
	RDBLAT_BPFTRACE=${BPFTRACE:-bpftrace}
	RDBLAT_FUNCLATENCY=${FUNCLATENCY:-funclatency-bpfcc}
	need "$RDBLAT_BPFTRACE" "$RDBLAT_FUNCLATENCY"
	tool_copy RDBLAT ckb-rdblat
	tool_copy DBSIM ckb-dbsim
	tool_copy SYMBOLS ckb-symbols
}

# ---- what each tracer attaches -----------------------------------------

# rdblat_scripts W: from PW/W.functions (rocksdb_probes), the floor and
# peer bpftrace scripts and the funclatency pattern of workload W.
rdblat_scripts() {
	local w=$1 f=$PW/$1.functions path name e r op
	local floor_e="" floor_r="" add="" reset_e="" reset_r="" files=""
	local -A op_e=() op_r=()
	while IFS=$'\t' read -r path name e r op _; do
		[[ " $files " == *" $path "* ]] || files="$files $path"
		[ "$e" = - ] || floor_e="$floor_e${floor_e:+,$'\n'}uprobe:$path:$name"
		[ "$r" = - ] || floor_r="$floor_r${floor_r:+,$'\n'}uretprobe:$path:$name"
		if [ "$e" != - ] && [ "$r" != - ]; then
			op_e[$op]="${op_e[$op]:-}${op_e[$op]:+,$'\n'}uprobe:$path:$name"
			op_r[$op]="${op_r[$op]:-}${op_r[$op]:+,$'\n'}uretprobe:$path:$name"
		elif [ "$e" != - ]; then
			# byte-tally probes at one end: the e_wb_* programs add to
			# a batch's tally, the others reset it
			case $e in
			e_wb_*) add="$add${add:+,$'\n'}uprobe:$path:$name" ;;
			*) reset_e="$reset_e${reset_e:+,$'\n'}uprobe:$path:$name" ;;
			esac
		else
			reset_r="$reset_r${reset_r:+,$'\n'}uretprobe:$path:$name"
		fi
	done < "$f"
	{
		printf '%s\n' 'BEGIN { printf("ready\n"); }'
		[ -z "$floor_e" ] || printf '%s\n{ }\n' "$floor_e"
		[ -z "$floor_r" ] || printf '%s\n{ }\n' "$floor_r"
	} > "$PW/$w.floor.bt"
	{
		printf '%s\n' 'BEGIN { printf("ready\n"); }'
		# one map per operation: bpftrace 0.17 emits a misaligned stack
		# store for some string keys ("TXN_PUT"), which the verifier rejects
		for op in $(printf '%s\n' "${!op_e[@]}" | sort); do
			printf '%s\n{ @s_%s[tid] = nsecs; }\n' "${op_e[$op]}" "$op"
			printf '%s\n/@s_%s[tid]/\n{ @lat_%s = hist(nsecs - @s_%s[tid]); delete(@s_%s[tid]); }\n' \
				"${op_r[$op]}" "$op" "$op" "$op" "$op"
		done
		[ -z "$add" ] || printf '%s\n{ @pending[arg0] = count(); }\n' "$add"
		[ -z "$reset_e" ] || printf '%s\n{ delete(@pending[arg0]); }\n' "$reset_e"
		[ -z "$reset_r" ] || printf '%s\n{ delete(@pending[retval]); }\n' "$reset_r"
	} > "$PW/$w.peer.bt"
	files=${files# }
	[[ $files != *" "* ]] ||
		die "workload $w probes several files ($files); funclatency takes one"
	printf '%s:^(%s)$\n' "$files" "$(cut -f2 "$f" | paste -sd '|')" > "$PW/$w.funclat"
}

# rdblat_kernel_offsets PID: every site of PID's uprobe_multi and
# uretprobe_multi links as the kernel lists them in /proc/PID/fdinfo:
# "uprobe OFFSET" or "uretprobe OFFSET" (decimal file offset) per line,
# sorted.  Nothing when it attached through perf events.
rdblat_kernel_offsets() {
	local f k v rest kind
	for f in /proc/"$1"/fdinfo/*; do
		kind=""
		{ while read -r k v rest; do
			if [ "$k" = link_type: ]; then
				case $v in
				uprobe_multi) kind=uprobe ;;
				uretprobe_multi) kind=uretprobe ;;
				esac
			elif [ -n "$kind" ] && [[ $k =~ ^[0-9]+$ && $v =~ ^0x[0-9a-f]+$ ]]; then
				echo "$kind $((v))"
			fi
		done < "$f"; } 2> /dev/null || true
	done | sort
}

# rdblat_expected_offsets W: the same list from ckb-symbols -j.
rdblat_expected_offsets() {
	if [ "$1" = A ]; then
		rocksdb_sites "$RDBLAT_CAT_A" "$RDBLAT_A_OPS"
	else
		rocksdb_sites "$RDBLAT_CAT_B" ""
	fi
}

# rdblat_verbose DIR ARG...: ckb-rdblat -v ARG... for a second, each
# stderr line stamped with its arrival time (DIR/stamped, DIR/t0 the
# launch in us); DIR/kernel its link offsets (rdblat_kernel_offsets),
# read once it says Tracing.
rdblat_verbose() {
	local dir=$1 tpid rpid i=0 l
	shift
	mkdir -p "$dir"
	rm -f "$dir/fifo" "$dir/pid"
	: > "$dir/kernel"
	mkfifo "$dir/fifo"
	( while IFS= read -r l; do
		printf '%s %s\n' "$EPOCHREALTIME" "$l"
	  done < "$dir/fifo" > "$dir/stamped" ) &
	rpid=$!
	bg_add "$rpid"
	now_us; echo "$NOW_US" > "$dir/t0"
	# shellcheck disable=SC2016  # $$ and $@ are the child shell's
	timeout -s INT -k 10 120 sh -c 'echo $$ > "$0"; exec "$@"' "$dir/pid" \
		"$RDBLAT" -v "$@" -d 1 < /dev/null > "$dir/stdout" 2> "$dir/fifo" &
	tpid=$!
	bg_add "$tpid"
	while kill -0 "$tpid" 2> /dev/null && [ $i -lt 6000 ]; do
		if has_text "$dir/stamped" " Tracing "; then
			rdblat_kernel_offsets "$(cat "$dir/pid")" > "$dir/kernel"
			break
		fi
		nap 0.02; i=$((i + 1))
	done
	wait "$tpid" || log "ckb-rdblat -v $* exited with $?"
	bg_del "$tpid"
	wait "$rpid" || true
	bg_del "$rpid"
}

# rdblat_startup DIR: BD="symbols load attach total" (seconds) from the
# stamped -v lines: launch -> the resolved-layer line (target + ELF
# symbols) -> the first uprobe line (kernel-header check, BCC compile and
# load in the child or the cache, first attach) -> "Tracing" (every
# probe attached); "" if a line is missing.
rdblat_startup() {
	local dir=$1 t0 ts rest tl="" tu="" tt=""
	BD=""
	t0=$(cat "$dir/t0")
	while read -r ts rest; do
		ts=$(( 10#${ts%.*} * 1000000 + 10#${ts#*.} ))
		case $rest in
		"ckb-rdblat: uprobe "*|"ckb-rdblat: uretprobe "*) [ -n "$tu" ] || tu=$ts ;;
		"ckb-rdblat: "*": layer "*) [ -n "$tl" ] || tl=$ts ;;
		"Tracing "*) tt=$ts; break ;;
		esac
	done < "$dir/stamped"
	[ -n "$tl" ] && [ -n "$tu" ] && [ -n "$tt" ] || return 0
	BD="$(us_to_s $((tl - t0))) $(us_to_s $((tu - tl))) $(us_to_s $((tt - tu))) $(us_to_s $((tt - t0)))"
}

# rdblat_startup_run W CACHE ITER DIR ARG...: one -v run, emitted.
rdblat_startup_run() {
	local w=$1 cache=$2 i=$3 dir=$4 s l a t
	shift 4
	rdblat_verbose "$dir" "$@"
	rdblat_startup "$dir"
	if [ -z "$BD" ]; then
		note "$w" "ckb-rdblat-$cache" "$i" "start-up lines missing from ckb-rdblat -v: $(tail -n 2 "$dir/stamped" | tr '\n' ' ')"
		return 0
	fi
	read -r s l a t <<< "$BD"
	emit "ckb-rdblat-$cache" "$w" "$i" symbols "$s" s load "$l" s attach "$a" s total "$t" s
}

# rdblat_check_sites W DIR: does the kernel's list of ckb-rdblat's sites
# (DIR/kernel) equal the one from ckb-symbols?  An info "sites:W".
rdblat_check_sites() {
	local w=$1 dir=$2 want got
	if [ ! -s "$dir/kernel" ]; then
		info "sites:$w" "not checked: ckb-rdblat made no uprobe_multi links (perf-event fallback)"
		return 0
	fi
	want=$(rdblat_expected_offsets "$w")
	got=$(cat "$dir/kernel")
	if [ "$want" = "$got" ]; then
		info "sites:$w" "equal to the kernel's list of the sites of ckb-rdblat's uprobe_multi and uretprobe_multi links ($(wc -l <<< "$got") sites, by kind and file offset)"
	else
		info "sites:$w" "DIFFERENT from the kernel's list of the sites of ckb-rdblat's links: ckb-symbols $(wc -l <<< "$want"), kernel $(wc -l <<< "$got"); only from ckb-symbols: $(comm -23 <(echo "$want") <(echo "$got") | head -n 5 | paste -sd ',' -); only in the kernel: $(comm -13 <(echo "$want") <(echo "$got") | head -n 5 | paste -sd ',' -)"
		note "$w" ckb-rdblat 0 "the probe list from ckb-symbols differs from ckb-rdblat's links"
	fi
}

rdblat_prepare() {
	local c lib i
	# the librocksdb.so db_bench loads, as ckb-symbols follows DT_NEEDED
	lib=${ROCKSDB_LIB:-}
	if [ -z "$lib" ]; then
		rocksdb_catalog c "$DB_BENCH"
		lib=$(jq -r '.files[1].path // empty' "$c")
	fi
	if [ -z "$lib" ] || [ ! -e "$lib" ]; then
		die "cannot find the librocksdb.so of $DB_BENCH; set ROCKSDB_LIB"
	fi
	RDBLAT_LIB=$(readlink -f "$lib")
	log "rdblat: db_bench --num=$BENCH_NUM on $RDBLAT_LIB; ckb-dbsim -n $BLOCKS"

	rocksdb_catalog RDBLAT_CAT_A "$RDBLAT_LIB"
	rocksdb_catalog RDBLAT_CAT_B "$DBSIM"
	rocksdb_probes "$RDBLAT_CAT_A" "$RDBLAT_A_OPS" "$PW/A.functions" ||
		die "cannot list ckb-rdblat's probes from ckb-symbols -j on $RDBLAT_LIB"
	rocksdb_probes "$RDBLAT_CAT_B" "" "$PW/B.functions" ||
		die "cannot list ckb-rdblat's probes from ckb-symbols -j on ckb-dbsim"
	[ -s "$PW/A.functions" ] || die "ckb-symbols finds nothing ckb-rdblat would probe in $RDBLAT_LIB"
	[ -s "$PW/B.functions" ] || die "ckb-symbols finds nothing ckb-rdblat would probe in ckb-dbsim"
	rocksdb_capi_map RDBLAT_CAPI_MAP "$RDBLAT_CAT_B"
	# what ckb-rdblat -p traces by default: the ops not marked off
	RDBLAT_B_DEFAULT=$(jq -c '[.ops[] | select(.off | not) | .name]' "$RDBLAT_CAT_B")
	rdblat_scripts A
	rdblat_scripts B

	info lib "$RDBLAT_LIB"
	info a_ops "$RDBLAT_A_OPS"
	info_json configs "$(jq -nc --arg c "$RDBLAT_CONFIGS" '$c | split(" ")')"
	info "header:tools" "$("$RDBLAT_BPFTRACE" --version 2> /dev/null | head -n 1); BCC $(dpkg-query -W -f='${Version}' python3-bpfcc 2> /dev/null || echo '?') (funclatency-bpfcc); RocksDB $(basename "$RDBLAT_LIB")"
	info "header:workload A" "\`db_bench --benchmarks=fillrandom,readrandom --num=$BENCH_NUM --reads=$BENCH_NUM --threads=1\`, fresh DB; timed exec to exit"
	info "header:workload B" "\`ckb-dbsim -r 0 -n $BLOCKS -q --wait\`, fresh DB; timed SIGUSR1 to exit"
	info_json bench_num "$BENCH_NUM"
	info_json blocks "$BLOCKS"
	info_json time_bin "$( [ -n "$TIME_BIN" ] && echo true || echo false)"
	for w in A B; do
		info_json "functions:$w" "$(jq -R -s -c 'split("\n") | map(select(. != "") | split("\t") |
			{ path: .[0], name: .[1], entry: (if .[2] == "-" then null else .[2] end),
			  return: (if .[3] == "-" then null else .[3] end), op: .[4], layer: .[5],
			  offset: (.[6] | tonumber), symbol: .[7] })' "$PW/$w.functions")"
	done

	# Start-up, cold and warm: an empty BPF cache (BCC compiles), then
	# the same command again (the programs come from the entry the cold
	# run wrote; for B the same ckb-dbsim process).  The first run of
	# each workload also checks the probe list against the kernel's.
	log "rdblat: start-up runs of ckb-rdblat -v ($RDBLAT_STARTUP_RUNS cold + warm per workload)"
	for ((i = 1; i <= RDBLAT_STARTUP_RUNS; i++)); do
		rm -rf "$CKBTRACE_CACHE_DIR"; mkdir -m 700 "$CKBTRACE_CACHE_DIR"
		rdblat_startup_run A cold "$i" "$PW/startA$i.cold" -b "$RDBLAT_LIB" -o "$RDBLAT_A_OPS"
		[ "$i" != 1 ] || rdblat_check_sites A "$PW/startA1.cold"
		rdblat_startup_run A warm "$i" "$PW/startA$i.warm" -b "$RDBLAT_LIB" -o "$RDBLAT_A_OPS"
		dbsim_start "$PW/start.db" "$PW/start.sim" -n 10
		rdblat_startup_run B cold "$i" "$PW/startB$i.cold" -p "$SIM_PID"
		[ "$i" != 1 ] || rdblat_check_sites B "$PW/startB1.cold"
		rdblat_startup_run B warm "$i" "$PW/startB$i.warm" -p "$SIM_PID"
		dbsim_stop
	done
	rm -rf "$PW/start.db"
	if has_text "$PW/startA1.warm/stamped" "loaded from"; then
		info_json cache_seen true
	else
		info_json cache_seen false
	fi
}

# ---- one measured run ---------------------------------------------------

# rdblat_tracer CFG W PID: start tracer CFG for workload W (PID for B) in
# RD; TR_* as tracer_start, PROBES_N and PROBES_UNIT from its attached
# report ("-" when it gives none).  1 if it never attached.
rdblat_tracer() {
	local cfg=$1 w=$2 pid=$3 stream marker
	local -a cmd=() pidarg=()
	PROBES_N=- PROBES_UNIT=-
	[ "$w" = A ] || pidarg=(-p "$pid")
	case $cfg in
	floor) cmd=("$RDBLAT_BPFTRACE" -B none "${pidarg[@]}" "$PW/$w.floor.bt") stream=out marker=ready ;;
	bpftrace) cmd=("$RDBLAT_BPFTRACE" -B none "${pidarg[@]}" "$PW/$w.peer.bt") stream=out marker=ready ;;
	ckb-rdblat)
		if [ "$w" = A ]; then
			cmd=("$RDBLAT" -j -i 1 -b "$RDBLAT_LIB" -o "$RDBLAT_A_OPS")
		else
			cmd=("$RDBLAT" -j -i 1 -p "$pid")
		fi
		stream=err marker=Tracing ;;
	funclatency)
		cmd=(env PYTHONUNBUFFERED=1 "$RDBLAT_FUNCLATENCY" -F -r "${pidarg[@]}"
		     "$(cat "$PW/$w.funclat")")
		stream=out marker=Tracing ;;
	esac
	tracer_start "$RD" "$stream" "$marker" "${cmd[@]}" || return 1
	case $cfg in
	floor|bpftrace)
		if has_line "$RD/out" "Attaching " && [[ $HIT =~ ^Attaching\ ([0-9]+)\ probes ]]; then
			PROBES_N=${BASH_REMATCH[1]} PROBES_UNIT=probes
		fi ;;
	ckb-rdblat)
		if [[ $TR_LINE =~ \(([0-9]+)\ ([a-z ]+), ]]; then
			PROBES_N=${BASH_REMATCH[1]} PROBES_UNIT=${BASH_REMATCH[2]}
		fi ;;
	funclatency)
		if [[ $TR_LINE =~ ^Tracing\ ([0-9]+)\ functions ]]; then
			PROBES_N=${BASH_REMATCH[1]} PROBES_UNIT=functions
		fi ;;
	esac
	return 0
}

# rdblat_emit_run CFG W R WALL SNAP: the run's measurements.
rdblat_emit_run() {
	local cfg=$1 w=$2 r=$3 wall=$4 snap=$5 hwm=- u=- s=- cu=- cs=- own=- kids=-
	if [ -n "$snap" ]; then
		read -r hwm u s cu cs <<< "$snap"
		own=$((u + s)) kids=$((cu + cs))
	fi
	emit "$cfg" "$w" "$r" wall "$wall" s attach "${TR_ATTACH:--}" s \
		rss_hwm "$hwm" kB cpu "$own" ticks cpu_children "$kids" ticks \
		stop "${TR_STOP:--}" s probes "$PROBES_N" "$PROBES_UNIT" \
		workload_cpu "${TIMED_CPU:--}" s workload_rss "${TIMED_RSS:--}" kB
}

rdblat_run_a() {
	local cfg=$1 r=$2 rc=0 t1 wp wall snap="" args=()
	run_begin
	rm -rf "$PW/db"
	TR_ATTACH="" TR_PID="" TR_STOP="" PROBES_N=- PROBES_UNIT=-
	if [ "$cfg" != bare ] && ! rdblat_tracer "$cfg" A ""; then
		note A "$cfg" "$r" "did not attach: $(tail -n 2 "$RD/err" | tr '\n' ' ')"
		return 0
	fi
	timed_prefix "$RD/time"
	now_us; t1=$NOW_US
	timeout -k 10 "$WORK_LIMIT" "${TIMED[@]}" "$DB_BENCH" --benchmarks=fillrandom,readrandom \
		--num="$BENCH_NUM" --reads="$BENCH_NUM" --db="$PW/db" --threads=1 \
		< /dev/null > "$RD/work.out" 2>&1 &
	wp=$!
	bg_add "$wp"
	wait "$wp" || rc=$?
	now_us
	bg_del "$wp"
	wall=$(us_to_s $((NOW_US - t1)))
	timed_read "$RD/time"
	[ "$rc" = 0 ] || note A "$cfg" "$r" "db_bench exited with $rc"
	if [ "$cfg" != bare ]; then
		if proc_snap "$TR_PID"; then snap=$SNAP; fi
		tracer_stop "$NOW_US"
	fi
	rdblat_emit_run "$cfg" A "$r" "$wall" "$snap"
	if [ "$cfg" = ckb-rdblat ]; then
		# its counts per operation, for the report (db_bench's own
		# are --num writes and --num reads)
		mapfile -t args < <(jq -s -r '[.[] | select(.type == "interval")] |
			group_by(.op)[] | "count_\(.[0].op)", (map(.count) | add), "calls"' \
			"$RD/out" 2> /dev/null || true)
		[ ${#args[@]} -eq 0 ] || emit ckb-rdblat A "$r" "${args[@]}"
	fi
	log "rdblat A $cfg round $r: $wall s${TR_ATTACH:+, attached in $TR_ATTACH s}"
	rm -rf "$PW/db"
}

# rdblat_check_b_counts R: ckb-rdblat's JSON interval counts (RD/out)
# against ckb-dbsim's --counts (RD/counts.json): every operation the C
# API rows carry that ckb-rdblat traces by default (not ITER_NEXT), FLUSH
# and COMPACTION from the RocksDB LOG events.
rdblat_check_b_counts() {
	local r=$1 n nd diff
	read -r n nd diff < <(jq -n -r --slurpfile j "$RD/out" --slurpfile c "$RD/counts.json" \
		--argjson map "$RDBLAT_CAPI_MAP" --argjson ops "$RDBLAT_B_DEFAULT" '
		($c[0].calls) as $k | ($c[0].log // {}) as $l |
		(($map | with_entries(select(.key as $o | $ops | index($o))) |
		  map_values([.[] | $k[.] // 0] | add)) +
		 { FLUSH: ($l.flush_started // 0), COMPACTION: ($l.compaction_started // 0) }) as $want |
		([$j[] | select(.type == "interval")] | group_by(.op) |
		  map({ key: .[0].op, value: (map(.count) | add) }) | from_entries) as $got |
		[$want | keys[] | select(($got[.] // 0) != $want[.]) |
		  "\(.) \($got[.] // 0) (dbsim \($want[.]))"] as $d |
		"\($want | length) \($d | length) \($d | join(", "))"' 2> /dev/null ||
		echo "- - cannot compare the counts")
	emit ckb-rdblat B "$r" counts_compared "$n" ops counts_differ "$nd" ops
	if [ "$nd" != 0 ]; then
		note B ckb-rdblat "$r" "ckb-rdblat counts differ from ckb-dbsim's: $diff"
	fi
	mapfile -t diff < <(jq -r 'select(.type == "summary") |
		"unmatched_returns", .unmatched_returns, "calls",
		"lost_map_full", .lost_map_full, "calls",
		"lost_tally_full", .lost_tally_full, "calls"' "$RD/out" 2> /dev/null | tail -n 9)
	[ ${#diff[@]} -ne 9 ] || emit ckb-rdblat B "$r" "${diff[@]}"
}

rdblat_run_b() {
	local cfg=$1 r=$2 rc=0 t1 t2 wall snap=""
	run_begin
	dbsim_start "$PW/db" "$RD/sim" -n "$BLOCKS" --counts "$RD/counts.json"
	TR_ATTACH="" TR_PID="" TR_STOP="" PROBES_N=- PROBES_UNIT=- TIMED_CPU=- TIMED_RSS=-
	if [ "$cfg" != bare ]; then
		if ! rdblat_tracer "$cfg" B "$SIM_PID"; then
			dbsim_stop
			note B "$cfg" "$r" "did not attach: $(tail -n 2 "$RD/err" | tr '\n' ' ')"
			rm -rf "$PW/db"
			return 0
		fi
		sampler_start "$TR_PID" "$RD/snap"
	fi
	now_us; t1=$NOW_US
	kill -USR1 "$SIM_PID"
	wait "$SIM_TPID" || rc=$?
	now_us; t2=$NOW_US
	bg_del "$SIM_TPID"
	wall=$(us_to_s $((t2 - t1)))
	[ "$rc" = 0 ] || note B "$cfg" "$r" "ckb-dbsim exited with $rc"
	if [ "$cfg" != bare ]; then
		# the tracer may have left with its target: then the sampler's
		# last reading (<= 0.1 s old) stands
		sampler_stop
		snap=$SNAP
		tracer_stop "$t2"
	fi
	rdblat_emit_run "$cfg" B "$r" "$wall" "$snap"
	[ "$cfg" != ckb-rdblat ] || rdblat_check_b_counts "$r"
	log "rdblat B $cfg round $r: $wall s${TR_ATTACH:+, attached in $TR_ATTACH s}"
	rm -rf "$PW/db"
}

rdblat_round() {
	local r=$1 order cfg
	# shellcheck disable=SC2086  # the words of the list
	order=$(rotated "$r" $RDBLAT_CONFIGS)
	log "rdblat round $r: $order"
	for cfg in $order; do rdblat_run_a "$cfg" "$r"; done
	for cfg in $order; do rdblat_run_b "$cfg" "$r"; done
}
