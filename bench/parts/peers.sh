# bench/parts/peers.sh: what ckb-peers costs a loopback bulk transfer,
# next to bpftrace doing the same per-connection job.  Report: peers.jq.
#
# Workload "bulk": an iperf3 server (-s -1) on 127.0.0.1 and a client
# sending PEERS_BYTES (-n) over one connection; timed from the client's
# start to its exit.  The traced process is the server (it receives: one
# tcp_probe per segment and one sock_recv_length per call on its socket).
# Configurations, order rotated each round:
#   bare       no tracer
#   ckb-peers  -p SERVER -j -i 1 into a file
#   bpftrace   the same per-connection work: bytes and calls from
#              sock_send_length/sock_recv_length of the PID by socket,
#              srtt min/avg/max from tcp_probe of those sockets,
#              retransmits, printed and cleared every second
# Measured: the client's wall time and CPU (/usr/bin/time), iperf3's own
# throughput, the tracer's peak RSS (VmHWM) and CPU ticks, and for
# ckb-peers the bytes it counted against what iperf3 says it received.
# The iperf3 server exits after the transfer, and ckb-peers with it (after
# its last report): its peak RSS and CPU are sampled while it runs.
# Knobs: PEERS_BYTES (8G, QUICK 1G), PEERS_PORT (5299).

# shellcheck shell=bash
# shellcheck disable=SC2153  # PEERS, ... are set by tool_copy

PEERS_CONFIGS="bare ckb-peers bpftrace"

peers_check() {
	if [ "$QUICK" = 1 ]; then PEERS_BYTES=${PEERS_BYTES:-1G}
	else PEERS_BYTES=${PEERS_BYTES:-8G}; fi
	PEERS_PORT=${PEERS_PORT:-5299}
	[[ $PEERS_BYTES =~ ^[0-9]+[KMG]?$ ]] ||
		die "PEERS_BYTES must be a number with an optional K, M or G"
	[[ $PEERS_PORT =~ ^[0-9]+$ ]] && [ "$PEERS_PORT" -ge 1 ] &&
		[ "$PEERS_PORT" -le 65535 ] || die "PEERS_PORT must be a port number"
	need iperf3 bpftrace jq
	tool_copy PEERS ckb-peers
}

peers_prepare() {
	PEERS_BT=$PW/peers.bt
	cat > "$PEERS_BT" <<-'EOF'
	tracepoint:sock:sock_send_length /pid == $1 && args->protocol == 6 && args->ret > 0/
	{
		@ours[(uint64)args->sk] = 1;
		@tx[(uint64)args->sk] = sum(args->ret);
		@calls[(uint64)args->sk] = count();
	}
	tracepoint:sock:sock_recv_length /pid == $1 && args->protocol == 6 && args->ret > 0 && !(args->flags & 2)/
	{
		@ours[(uint64)args->sk] = 1;
		@rx[(uint64)args->sk] = sum(args->ret);
		@calls[(uint64)args->sk] = count();
	}
	tracepoint:tcp:tcp_probe /@ours[(uint64)args->skaddr] && args->srtt/
	{
		@srtt_min[(uint64)args->skaddr] = min(args->srtt);
		@srtt_avg[(uint64)args->skaddr] = avg(args->srtt);
		@srtt_max[(uint64)args->skaddr] = max(args->srtt);
	}
	tracepoint:tcp:tcp_retransmit_skb /@ours[(uint64)args->skaddr]/
	{
		@retrans[(uint64)args->skaddr] = count();
	}
	BEGIN { printf("Tracing\n"); }
	interval:s:1
	{
		print(@tx); print(@rx); print(@calls); print(@srtt_min);
		print(@srtt_avg); print(@srtt_max); print(@retrans);
		clear(@tx); clear(@rx); clear(@calls); clear(@srtt_min);
		clear(@srtt_avg); clear(@srtt_max); clear(@retrans);
	}
	EOF
	info "header:peers" "iperf3 -n $PEERS_BYTES over 127.0.0.1, the server traced"
	info bytes "$PEERS_BYTES"
	info_json configs "$(printf '%s\n' $PEERS_CONFIGS | jq -R . | jq -sc .)"
	info "cmd:ckb-peers" "ckb-peers -p SERVER -j -i 1"
	info "cmd:bpftrace" "bpftrace bench/parts/peers.sh's script SERVER"
	info "bpftrace_script" "$(cat "$PEERS_BT")"
}

# peers_run CFG ROUND: one transfer under CFG.
peers_run() {
	local cfg=$1 r=$2 srv t0 wall bps rx hwm ticks counted="-" i=0 u s
	run_begin
	iperf3 -s -1 -B 127.0.0.1 -p "$PEERS_PORT" -J > "$RD/server.json" \
		2> "$RD/server.err" &
	srv=$!
	bg_add "$srv"
	until [ -n "$(ss -Hltn "sport = :$PEERS_PORT" 2> /dev/null)" ]; do
		nap 0.02
		i=$((i + 1))
		if [ $i -gt 500 ] || ! kill -0 "$srv" 2> /dev/null; then
			note bulk "$cfg" "$r" "the iperf3 server did not listen"
			return 0
		fi
	done
	case $cfg in
	ckb-peers)
		tracer_start "$RD" err Tracing "$PEERS" -p "$srv" -j -i 1 || {
			note bulk "$cfg" "$r" "ckb-peers did not attach"
			kill "$srv" 2> /dev/null || true
			return 0
		}
		# it exits with the server: read it while it lives
		sampler_start "$TR_PID" "$RD/snap" ;;
	bpftrace)
		tracer_start "$RD" out Tracing bpftrace "$PEERS_BT" "$srv" || {
			note bulk "$cfg" "$r" "bpftrace did not attach"
			kill "$srv" 2> /dev/null || true
			return 0
		} ;;
	esac
	timed_prefix "$RD/time"
	now_us; t0=$NOW_US
	"${TIMED[@]}" timeout "$WORK_LIMIT" iperf3 -c 127.0.0.1 \
		-p "$PEERS_PORT" -n "$PEERS_BYTES" -J > "$RD/client.json" \
		2> "$RD/client.err" || note bulk "$cfg" "$r" "iperf3 client failed"
	now_us
	wall=$(us_to_s $((NOW_US - t0)))
	timed_read "$RD/time"
	wait_gone "$srv" 10
	bg_del "$srv"
	bps=$(jq '.end.sum_received.bits_per_second // empty' "$RD/client.json" 2> /dev/null || true)
	rx=$(jq '.end.sum_received.bytes // empty' "$RD/server.json" 2> /dev/null || true)
	hwm=- ticks=-
	if [ "$cfg" = bpftrace ]; then
		nap 1.2		# one more report: the last bytes are in it
		if proc_snap "$TR_PID"; then
			read -r hwm u s _ <<< "$SNAP"
			ticks=$((u + s))
		fi
	elif [ "$cfg" = ckb-peers ]; then
		# it reports the last interval and exits with the server
		wait_gone "$TR_TPID" "$STOP_LIMIT" "$TR_PID"
		sampler_stop
		if [ -n "$SNAP" ]; then
			read -r hwm u s _ <<< "$SNAP"
			ticks=$((u + s))
		fi
	fi
	[ "$cfg" = bare ] || tracer_stop
	if [ "$cfg" = ckb-peers ] && [ -s "$RD/out" ]; then
		# the data connection's bytes: the largest rx_bytes sum of a peer
		counted=$(jq -s '[.[] | select(.type == "interval")] |
			group_by([.rport, .lport]) | map(map(.rx_bytes) | add) |
			max // empty' "$RD/out")
		# iperf3 leaves the 37-byte cookie that opens a data
		# stream out of its count
		if [ -n "$rx" ] && [ "$counted" != $((rx + 37)) ]; then
			note bulk "$cfg" "$r" "ckb-peers counted $counted bytes received on the data connection, iperf3 $rx and its 37-byte cookie"
		fi
	fi
	emit "$cfg" bulk "$r" wall "$wall" s client_cpu "$TIMED_CPU" s \
		bits_per_s "${bps:--}" bit/s tracer_hwm "$hwm" kB \
		tracer_ticks "$ticks" ticks server_rx "${rx:--}" B \
		counted_rx "${counted:--}" B cookie 37 B
}

peers_round() {
	local cfg
	for cfg in $(rotated "$1" $PEERS_CONFIGS); do
		peers_run "$cfg" "$1"
	done
}
