# bench/parts/offcpu.sh: what ckb-offcpu costs ckb-dbsim at full speed,
# side by side with bpftrace doing the same job (sched_switch: stacks at
# switch out, time to switch in, summed per user and kernel stack) and
# with offcputime-bpfcc (bench/README.md, part offcpu).  Report: offcpu.jq.
#
# Workload: ckb-dbsim -r 0 -n OFFCPU_BLOCKS (fresh DB), started with
# --wait; the tracer attaches to its PID, SIGUSR1 starts the work; wall
# is SIGUSR1 to exit.  Knob: OFFCPU_BLOCKS (14000; QUICK 3000).

# shellcheck shell=bash
# shellcheck disable=SC2153  # OFFCPU, DBSIM are set by tool_copy

OFFCPU_CONFIGS="bare ckb-offcpu bpftrace offcputime-bpfcc"

offcpu_check() {
	if [ "$QUICK" = 1 ]; then
		OFFCPU_BLOCKS=${OFFCPU_BLOCKS:-3000}
	else
		OFFCPU_BLOCKS=${OFFCPU_BLOCKS:-14000}
	fi
	is_num "$OFFCPU_BLOCKS" && [ "$OFFCPU_BLOCKS" -ge 1 ] ||
		die "OFFCPU_BLOCKS must be a whole number >= 1"
	OFFCPU_BPFTRACE=${BPFTRACE:-bpftrace}
	OFFCPU_BCC=${OFFCPUTIME_BPFCC:-offcputime-bpfcc}
	need "$OFFCPU_BPFTRACE" "$OFFCPU_BCC"
	tool_copy OFFCPU ckb-offcpu
	tool_copy DBSIM ckb-dbsim
}

offcpu_prepare() {
	# the same job: at switch out the stacks and the time of a thread of
	# the PID; at its switch in the time off CPU, summed per stacks
	cat > "$PW/offcpu.bt" <<'BT'
BEGIN { printf("ready\n"); }
tracepoint:sched:sched_switch
/pid == $1/
{
	@start[tid] = nsecs;
	@ustk[tid] = ustack;
	@kstk[tid] = kstack;
}
tracepoint:sched:sched_switch
/@start[args->next_pid]/
{
	$t = args->next_pid;
	@off[@ustk[$t], @kstk[$t]] = sum(nsecs - @start[$t]);
	delete(@start[$t]);
}
END { clear(@start); clear(@ustk); clear(@kstk); }
BT
	info "header:part offcpu" "ckb-dbsim \`-r 0 -n $OFFCPU_BLOCKS\` under ckb-offcpu -p, bpftrace and offcputime-bpfcc doing the same job"
	info_json configs "$(printf '%s\n' $OFFCPU_CONFIGS | jq -R . | jq -s -c .)"
	info "cmd:ckb-offcpu" "ckb-offcpu -p PID -f (folded stacks into a file at the end)"
	info "cmd:bpftrace" "bpftrace offcpu.bt PID (sched_switch: ustack and kstack at switch out, sum of nsecs to switch in per stack pair)"
	info "cmd:offcputime-bpfcc" "offcputime-bpfcc -p PID -f"
	info blocks "$OFFCPU_BLOCKS"
}

offcpu_tracer() {
	local cfg=$1 pid=$2
	case $cfg in
	ckb-offcpu) tracer_start "$RD" err Tracing "$OFFCPU" -p "$pid" -f ;;
	bpftrace) tracer_start "$RD" out ready "$OFFCPU_BPFTRACE" -B none "$PW/offcpu.bt" "$pid" ;;
	offcputime-bpfcc) tracer_start "$RD" err Tracing "$OFFCPU_BCC" -p "$pid" -f ;;
	esac
}

offcpu_run() {
	local cfg=$1 r=$2 rc=0 t1 t2 wall hwm=- cpu=- cpu_run=- u s u0=- s0=- end=""
	run_begin
	dbsim_start "$PW/db" "$RD/sim" -n "$OFFCPU_BLOCKS"
	TR_ATTACH="" TR_PID="" TR_STOP=""
	if [ "$cfg" != bare ]; then
		if ! offcpu_tracer "$cfg" "$SIM_PID"; then
			dbsim_stop
			note dbsim "$cfg" "$r" "did not attach: $(tail -n 2 "$RD/err" | tr '\n' ' ')"
			rm -rf "$PW/db"
			return 0
		fi
		if proc_snap "$TR_PID"; then read -r _ u0 s0 _ <<< "$SNAP"; fi
		sampler_start "$TR_PID" "$RD/snap"
	fi
	now_us; t1=$NOW_US
	kill -USR1 "$SIM_PID"
	wait "$SIM_TPID" || rc=$?
	now_us; t2=$NOW_US
	bg_del "$SIM_TPID"
	wall=$(us_to_s $((t2 - t1)))
	[ "$rc" = 0 ] || note dbsim "$cfg" "$r" "ckb-dbsim exited with $rc"
	if [ "$cfg" != bare ]; then
		# CPU while the workload ran; then the whole life, the report
		# at the end included (the sampler reads until the exit)
		end=$(cat "$RD/snap" 2> /dev/null || true)
		tracer_stop "$t2"
		sampler_stop
		read -r hwm u s _ <<< "${SNAP:-- - -}"
		[ "$u" = - ] || cpu=$((u + s))
		if [ -n "$end" ] && [ "$u0" != - ]; then
			read -r _ u s _ <<< "$end"
			cpu_run=$((u + s - u0 - s0))
		fi
	fi
	emit "$cfg" dbsim "$r" wall "$wall" s attach "${TR_ATTACH:--}" s \
		rss_hwm "$hwm" kB cpu "$cpu" ticks cpu_run "$cpu_run" ticks \
		stop "${TR_STOP:--}" s
	log "offcpu $cfg round $r: $wall s${TR_ATTACH:+, attached in $TR_ATTACH s}"
	rm -rf "$PW/db"
}

offcpu_round() {
	local cfg
	# shellcheck disable=SC2086
	for cfg in $(rotated "$1" $OFFCPU_CONFIGS); do
		offcpu_run "$cfg" "$1"
	done
}
