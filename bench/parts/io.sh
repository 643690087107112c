# bench/parts/io.sh: what ckb-iolat and ckb-disklat cost ckb-dbsim at full
# speed, side by side with bpftrace doing the same aggregation, and their
# peak RSS (bench/README.md, part io).

io_check() {
	if [ "$QUICK" = 1 ]; then
		IO_BLOCKS=${IO_BLOCKS:-2500}
	else
		IO_BLOCKS=${IO_BLOCKS:-20000}
	fi
	is_num "$IO_BLOCKS" && [ "$IO_BLOCKS" -ge 1 ] ||
		die "IO_BLOCKS must be a whole number >= 1"
	IO_BPFTRACE=${BPFTRACE:-bpftrace}
	need "$IO_BPFTRACE"
	tool_copy IOLAT ckb-iolat
	tool_copy DISKLAT ckb-disklat
	tool_copy DBSIM ckb-dbsim
}

IO_SYSCALLS="fsync fdatasync sync_file_range pread64 pwrite64 preadv pwritev preadv2 pwritev2 read write openat close"

# bpftrace scripts doing the tools' jobs: per thread name and syscall a
# latency histogram, a count and the bytes (iolat); per device and RWBS
# class issue-to-complete histograms and bytes (disklat); printed every
# second into a file as the tools print theirs.
io_scripts() {
	local sc enter="" exit_=""
	for sc in $IO_SYSCALLS; do
		enter="$enter${enter:+,
}tracepoint:syscalls:sys_enter_$sc"
		exit_="$exit_${exit_:+,
}tracepoint:syscalls:sys_exit_$sc"
	done
	cat > "$PW/iolat.bt" <<BT
BEGIN { printf("ready\n"); }
$enter
/pid == \$1/
{ @start[tid] = nsecs; }
$exit_
/@start[tid]/
{
	@lat[comm, probe] = hist(nsecs - @start[tid]);
	@bytes[comm, probe] = sum(args->ret > 0 ? args->ret : 0);
	delete(@start[tid]);
}
interval:s:1 { print(@lat); print(@bytes); clear(@lat); clear(@bytes); }
END { clear(@start); }
BT
	cat > "$PW/disklat.bt" <<'BT'
BEGIN { printf("ready\n"); }
tracepoint:block:block_rq_issue
{
	@start[args->dev, args->sector] = nsecs;
	@size[args->dev, args->sector] = args->bytes;
}
tracepoint:block:block_rq_complete
/@start[args->dev, args->sector]/
{
	@lat[args->dev, args->rwbs] = hist(nsecs - @start[args->dev, args->sector]);
	@bytes[args->dev, args->rwbs] = sum(@size[args->dev, args->sector]);
	delete(@start[args->dev, args->sector]);
	delete(@size[args->dev, args->sector]);
}
interval:s:1 { print(@lat); print(@bytes); clear(@lat); clear(@bytes); }
END { clear(@start); clear(@size); }
BT
}

io_prepare() {
	io_scripts
	info "header:part io" "ckb-dbsim \`-r 0 -n $IO_BLOCKS\` under ckb-iolat -p, ckb-disklat, and bpftrace doing each one's job"
	info_json configs '["bare","ckb-iolat","bpftrace-iolat","ckb-disklat","bpftrace-disklat"]'
	info "cmd:ckb-iolat" "ckb-iolat -p PID -j -i 1"
	info "cmd:bpftrace-iolat" "bpftrace iolat.bt PID (13 syscalls, entry and exit)"
	info "cmd:ckb-disklat" "ckb-disklat -j -i 1"
	info "cmd:bpftrace-disklat" "bpftrace disklat.bt (block_rq_issue, block_rq_complete)"
	info blocks "$IO_BLOCKS"
}

io_tracer() {
	local cfg=$1 pid=$2
	case $cfg in
	ckb-iolat) tracer_start "$RD" err Tracing "$IOLAT" -p "$pid" -j -i 1 ;;
	ckb-disklat) tracer_start "$RD" err Tracing "$DISKLAT" -j -i 1 ;;
	bpftrace-iolat)
		tracer_start "$RD" out ready "$IO_BPFTRACE" -B none "$PW/iolat.bt" "$pid" ;;
	bpftrace-disklat)
		tracer_start "$RD" out ready "$IO_BPFTRACE" -B none "$PW/disklat.bt" ;;
	esac
}

io_run() {
	local cfg=$1 r=$2 rc=0 t1 t2 wall snap="" hwm=- u=- s=- cu=- cs=-
	run_begin
	dbsim_start "$PW/db" "$RD/sim" -n "$IO_BLOCKS"
	TR_ATTACH="" TR_PID="" TR_STOP=""
	if [ "$cfg" != bare ]; then
		if ! io_tracer "$cfg" "$SIM_PID"; then
			dbsim_stop
			note dbsim "$cfg" "$r" "did not attach: $(tail -n 2 "$RD/err" | tr '\n' ' ')"
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
	[ "$rc" = 0 ] || note dbsim "$cfg" "$r" "ckb-dbsim exited with $rc"
	if [ "$cfg" != bare ]; then
		sampler_stop
		snap=$SNAP
		tracer_stop "$t2"
		read -r hwm u s cu cs <<< "$snap"
	fi
	emit "$cfg" dbsim "$r" wall "$wall" s attach "${TR_ATTACH:--}" s \
		rss_hwm "$hwm" kB cpu "$( [ "$u" = - ] && echo - || echo $((u + s)))" ticks \
		cpu_children "$( [ "$cu" = - ] && echo - || echo $((cu + cs)))" ticks \
		stop "${TR_STOP:--}" s
	log "io $cfg round $r: $wall s${TR_ATTACH:+, attached in $TR_ATTACH s}"
	rm -rf "$PW/db"
}

io_round() {
	local cfg
	for cfg in $(rotated "$1" bare ckb-iolat bpftrace-iolat ckb-disklat bpftrace-disklat); do
		io_run "$cfg" "$1"
	done
}
