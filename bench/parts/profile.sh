# bench/parts/profile.sh: what ckb-profile costs ckb-dbsim at full speed
# at 49 and 99 Hz, side by side with bpftrace doing the same job
# (profile:hz:N /pid == X/ { @[ustack, kstack] = count(); }) and with
# profile-bpfcc (bench/README.md, part profile).  Report: profile.jq.
#
# Workload: ckb-dbsim -r 0 -n PROFILE_BLOCKS (fresh DB), started with
# --wait; the tracer attaches to its PID, SIGUSR1 starts the work; wall
# is SIGUSR1 to exit.  Knob: PROFILE_BLOCKS (14000; QUICK 3000).

# shellcheck shell=bash
# shellcheck disable=SC2153  # PROFILE, DBSIM are set by tool_copy

PROFILE_CONFIGS="bare ckb-profile-49 ckb-profile-99 ckb-profile-99-dwarf bpftrace-49 bpftrace-99 profile-bpfcc-49 profile-bpfcc-99"

profile_check() {
	if [ "$QUICK" = 1 ]; then
		PROFILE_BLOCKS=${PROFILE_BLOCKS:-3000}
	else
		PROFILE_BLOCKS=${PROFILE_BLOCKS:-14000}
	fi
	is_num "$PROFILE_BLOCKS" && [ "$PROFILE_BLOCKS" -ge 1 ] ||
		die "PROFILE_BLOCKS must be a whole number >= 1"
	PROFILE_BPFTRACE=${BPFTRACE:-bpftrace}
	PROFILE_BCC=${PROFILE_BPFCC:-profile-bpfcc}
	need "$PROFILE_BPFTRACE" "$PROFILE_BCC"
	tool_copy PROFILE ckb-profile
	tool_copy DBSIM ckb-dbsim
}

profile_prepare() {
	local hz
	for hz in 49 99; do
		cat > "$PW/profile-$hz.bt" <<BT
BEGIN { printf("ready\\n"); }
profile:hz:$hz
/pid == \$1/
{
	@[ustack, kstack] = count();
}
BT
	done
	info "header:part profile" "ckb-dbsim \`-r 0 -n $PROFILE_BLOCKS\` under ckb-profile -p at 49 and 99 Hz, bpftrace and profile-bpfcc doing the same job"
	info_json configs "$(printf '%s\n' $PROFILE_CONFIGS | jq -R . | jq -s -c .)"
	info "cmd:ckb-profile" "ckb-profile -p PID -F HZ -f (folded stacks into a file at the end; --stack auto picks fp for ckb-dbsim, built with frame pointers)"
	info "cmd:ckb-profile-dwarf" "ckb-profile -p PID -F 99 -f --stack dwarf (8 KiB of stack per user-mode sample, unwound in the tracer)"
	info "cmd:bpftrace" "bpftrace profile-HZ.bt PID (profile:hz:HZ /pid == PID/ { @[ustack, kstack] = count(); })"
	info "cmd:profile-bpfcc" "profile-bpfcc -p PID -F HZ"
	info blocks "$PROFILE_BLOCKS"
}

profile_tracer() {
	local cfg=$1 pid=$2 hz
	hz=${cfg##*-}
	[ "$cfg" != ckb-profile-99-dwarf ] || hz=99
	case $cfg in
	ckb-profile-99-dwarf)
		tracer_start "$RD" err Tracing "$PROFILE" -p "$pid" -F 99 -f --stack dwarf ;;
	ckb-profile-*) tracer_start "$RD" err Tracing "$PROFILE" -p "$pid" -F "$hz" -f ;;
	bpftrace-*) tracer_start "$RD" out ready "$PROFILE_BPFTRACE" -B none "$PW/profile-$hz.bt" "$pid" ;;
	profile-bpfcc-*) tracer_start "$RD" out Sampling "$PROFILE_BCC" -p "$pid" -F "$hz" ;;
	esac
}

profile_run() {
	local cfg=$1 r=$2 rc=0 t1 t2 wall hwm=- cpu=- cpu_run=- u s u0=- s0=- end=""
	run_begin
	dbsim_start "$PW/db" "$RD/sim" -n "$PROFILE_BLOCKS"
	TR_ATTACH="" TR_PID="" TR_STOP=""
	if [ "$cfg" != bare ]; then
		if ! profile_tracer "$cfg" "$SIM_PID"; then
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
	log "profile $cfg round $r: $wall s${TR_ATTACH:+, attached in $TR_ATTACH s}"
	rm -rf "$PW/db"
}

profile_round() {
	local cfg
	# shellcheck disable=SC2086
	for cfg in $(rotated "$1" $PROFILE_CONFIGS); do
		profile_run "$cfg" "$1"
	done
}
