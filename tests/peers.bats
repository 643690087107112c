#!/usr/bin/env bats
# ckb-peers against peerfix on real sockets, in network namespaces this
# suite makes: each connection's bytes, calls and ports as the tool
# reports them equal what the fixture itself says it did; retransmits
# equal the kernel's own counter in the namespace.

load helpers

PEERS="$top_builddir/tools/ckb-peers"
PEERFIX="${PEERFIX:-$top_builddir/tests/fixtures/peerfix}"

setup() {
	common_setup
	NSES=""
}

teardown() {
	common_teardown
	local ns
	for ns in $NSES; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

one_line_error() {
	failed_one_line ckb-peers "$@"
}

need_netns() {
	need_root
	command -v ip >/dev/null || skip "ip (iproute2) not installed"
}

# make_ns VAR: a new network namespace with loopback up, its name in VAR.
make_ns() {
	local name="ckbpeers-$$-${BATS_TEST_NUMBER}-$1"
	ip netns add "$name"
	ip -n "$name" link set lo up
	NSES="$NSES $name"
	eval "$1=$name"
}

# start_fix NAME NS ARGS...: peerfix in namespace NS until it is ready;
# NAME_PID, its lines in $TMP/NAME.out; NAME_PORT when it listens.
start_fix() {
	local name=$1 ns=$2 port
	shift 2
	ip netns exec "$ns" "$PEERFIX" "$@" > "$TMP/$name.out" \
		2> "$TMP/$name.err" &
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 10 grep -q '^ready' "$TMP/$name.out"
	port=$(grep -m1 '^{"listen"' "$TMP/$name.out" | jq .port || true)
	eval "${name}_PORT=${port:-0}"
}

# fix_lines NAME KIND N: wait until the fixture printed N lines of KIND
# ("served" or "conn").
fix_lines() {
	wait_for 60 sh -c "[ \$(grep -c '^{\"$2\"' '$TMP/$1.out') -ge $3 ]"
}

# start_peers OUT ARGS...: ckb-peers until attached, $TMP/OUT.jsonl and
# $TMP/OUT.err.
start_peers() {
	local out=$1
	shift
	start_tracer "$TMP/$out.jsonl" "$TMP/$out.err" "$PEERS" "$@"
}

# same_conns JSONL FIXTURE KIND: every connection the fixture reports
# (KIND lines) has rows whose bytes and calls, summed over the intervals,
# equal the fixture's, with the fixture's addresses and ports; and the
# rows name no other connection.
same_conns() {
	local calls=${4:-calls}
	grep "^{\"$3\"" "$2" > "$TMP/fix.jsonl"
	jq -n --slurpfile rows "$1" --slurpfile fix "$TMP/fix.jsonl" \
		--arg calls "$calls" '
		[$rows[] | select(.type == "interval")] as $r |
		[$fix[] | . as $f |
		 [$r[] | select(.rport == $f.peer_port and
				.lport == $f.local_port)] as $m |
		 {conn: $f, rows: ($m | length),
		  tx: ([$m[].tx_bytes] | add), rx: ([$m[].rx_bytes] | add),
		  tx_calls: ([$m[].tx_calls] | add),
		  rx_calls: ([$m[].rx_calls] | add),
		  addrs: ([$m[] | [.raddr, .laddr]] | unique)}] as $c |
		$c[] | "\(.conn.peer_port): rows \(.rows) tx \(.tx)/\(.conn.tx) rx \(.rx)/\(.conn.rx) calls \(.tx_calls),\(.rx_calls)/\(.conn.tx_calls),\(.conn.rx_calls) addrs \(.addrs)"'
	jq -e -n --slurpfile rows "$1" --slurpfile fix "$TMP/fix.jsonl" \
		--arg calls "$calls" '
		[$rows[] | select(.type == "interval")] as $r |
		($fix | length) > 0 and
		([$r[] | [.lport, .rport]] | unique | length) == ($fix | length) and
		all($fix[]; . as $f |
		 [$r[] | select(.rport == $f.peer_port and
				.lport == $f.local_port)] as $m |
		 ($m | length) > 0 and
		 ([$m[].tx_bytes] | add) == $f.tx and
		 ([$m[].rx_bytes] | add) == $f.rx and
		 ($calls == "nocalls" or
		  (([$m[].tx_calls] | add) == $f.tx_calls and
		   ([$m[].rx_calls] | add) == $f.rx_calls)) and
		 ([$m[] | [.raddr, .laddr]] | unique) == [[$f.peer, $f.local]])'
}

# no_zero JSONL: no row or event names a zero address or port.
no_zero() {
	jq -e -s '[.[] | select(.type == "interval" or
		(.type == "event" and .peer != null))] as $r |
		($r | length) > 0 and
		all($r[]; .lport > 0 and .rport > 0 and
		    (.raddr | test("^(0\\.0\\.0\\.0|::)$") | not) and
		    (.laddr | test("^(0\\.0\\.0\\.0|::)$") | not))' "$1"
}

@test "--help shows usage and examples; every option is in the man page" {
	run "$PEERS" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--port PORT"* && "$output" == *"EXAMPLES:"* ]]
	options_in_man "$PEERS" "$top_srcdir/man/ckb-peers.8" 14
}

@test "--ebpf prints the program and its integer parameters, without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$PEERS" --ebpf -e
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "// cflags: -DSOCK_LENGTH="*" -DEVENTS=1 "* ]]
	[[ "$output" == *"TRACEPOINT_PROBE(sock, inet_sock_set_state)"* ]]
}

@test "bad usage: an unknown port, -e with -H, a bad interval (exit 2)" {
	run "$PEERS" --port http
	one_line_error 2 "unknown port 'http' for --port: want a number from 1 to 65535, p2p or rpc"
	run "$PEERS" --port 65536
	one_line_error 2 "unknown port '65536'"
	run "$PEERS" --p2p-port 0
	one_line_error 2 "unknown port '0' for --p2p-port"
	run "$PEERS" -e -H
	one_line_error 2 "-H histograms are per interval"
	run "$PEERS" -i 0
	one_line_error 2 "bad interval '0'"
}

@test "a PID without TCP sockets, and a PID that does not exist (exit 1, nothing attached)" {
	need_root
	sleep 30 &
	local pid=$!
	BGPIDS="$BGPIDS $pid"
	run "$PEERS" -p "$pid"
	one_line_error 1 "process $pid has no TCP socket (it neither listens nor is connected); pass the node's PID"
	# (the sockets are listed before anything is attached)
	run "$PEERS" -p $((0x3ffffff0))
	one_line_error 1 "no process with PID $((0x3ffffff0))"
}

@test "without tracefs: one line naming the mount that is missing (exit 1)" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1
	# shellcheck disable=SC2016
	run unshare -m sh -c 'mount --make-rprivate /
		umount /sys/kernel/tracing 2>/dev/null
		umount /sys/kernel/debug 2>/dev/null
		exec "$0" -p "$1"' "$PEERS" "$srv_PID"
	one_line_error 1 "tracefs is not mounted; mount it with"
}

@test "IPv4, inbound: each peer's bytes, calls and ports are the server's own" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1 -q 70001 -r 123457 -k 4096
	start_peers p -p "$srv_PID" -j 0.5
	start_fix cli "$ns" -C 127.0.0.1 -P "$srv_PORT" -n 4 -q 70001 \
		-r 123457 -k 8192
	fix_lines srv served 4
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	same_conns "$TMP/p.jsonl" "$TMP/srv.out" served
	no_zero "$TMP/p.jsonl"
	jq -e -s '[.[] | select(.type == "interval")] | all(.dir == "in" and
		.family == "ipv4" and .srtt_samples > 0)' "$TMP/p.jsonl"
	jq -e -s '.[-1] | .type == "summary" and .connections == 4 and
		.lost_connections == 0 and .lost_intervals == 0 and
		.unnamed == 0' "$TMP/p.jsonl"
}

@test "IPv6, outbound: each connection of a client that also listens" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L ::1 -q 3000 -r 900001
	start_fix cli "$ns" -L ::1 -C ::1 -P "$srv_PORT" -n 3 -q 3000 \
		-r 900001 -W
	start_peers p -p "$cli_PID" -j 0.5
	kill -USR1 "$cli_PID"
	wait_for 30 grep -q '^{"done"' "$TMP/cli.out"
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	same_conns "$TMP/p.jsonl" "$TMP/cli.out" conn
	no_zero "$TMP/p.jsonl"
	jq -e -s '[.[] | select(.type == "interval")] | all(.dir == "out" and
		.family == "ipv6" and .raddr == "::1")' "$TMP/p.jsonl"
}

@test "IPv6, inbound, on the P2P port: kind p2p-in, --port p2p keeps only it" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L ::1 -l 8115 -C ::1 -P 8115 -n 2 -q 100 -r 200 -W
	start_peers p -p "$srv_PID" -j --port p2p 0.5
	kill -USR1 "$srv_PID"
	fix_lines srv served 2
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	jq -c 'select(.type != "interval" or .dir == "in")' "$TMP/p.jsonl" > "$TMP/in.jsonl"
	same_conns "$TMP/in.jsonl" "$TMP/srv.out" served
	# its own outbound connections to 8115 are P2P too
	jq -e -s '[.[] | select(.type == "interval")] as $r |
		([$r[] | select(.dir == "in")] | all(.svc == "p2p" and .lport == 8115)) and
		([$r[] | select(.dir == "out")] | length > 0 and all(.svc == "p2p" and .rport == 8115))' \
		"$TMP/p.jsonl"
}

@test "--port keeps the connections with that local or remote port only" {
	need_netns
	make_ns ns
	start_fix far "$ns" -L 127.0.0.1 -q 10 -r 20
	start_fix srv "$ns" -L 127.0.0.1 -C 127.0.0.1 -P "$far_PORT" -n 2 \
		-q 10 -r 20 -W
	start_peers p -p "$srv_PID" -j --port "$far_PORT" 0.5
	start_fix cli "$ns" -C 127.0.0.1 -P "$srv_PORT" -n 3 -q 10 -r 20
	kill -USR1 "$srv_PID"
	fix_lines srv served 3
	wait_for 10 grep -q '^{"done"' "$TMP/srv.out"
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	same_conns "$TMP/p.jsonl" "$TMP/srv.out" conn
	jq -e -s "[.[] | select(.type == \"interval\")] | all(.rport == $far_PORT)" \
		"$TMP/p.jsonl"
}

@test "-e: connect, accept and close with lifetime and bytes; a reset each way" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1 -q 5000 -r 6000
	start_fix cli "$ns" -L 127.0.0.1 -C 127.0.0.1 -P "$srv_PORT" -n 3 \
		-q 5000 -r 6000 -R -W
	start_peers s -p "$srv_PID" -e -j
	local spid=$TRACER_PID f
	start_tracer "$TMP/c.jsonl" "$TMP/c.err" "$PEERS" -p "$cli_PID" -e -j
	kill -USR1 "$cli_PID"
	fix_lines srv served 3
	sleep 0.5
	stop_pid INT "$TRACER_PID"
	stop_pid INT "$spid"
	no_zero "$TMP/s.jsonl"
	no_zero "$TMP/c.jsonl"
	# server: 3 accepts and 3 closes, bytes as it counted; the aborted
	# connection's reset arrived
	jq -e -s '[.[] | select(.type == "event")] as $e |
		([$e[] | select(.event == "accept")] | length) == 3 and
		([$e[] | select(.event == "close")] | length) == 3 and
		([$e[] | select(.event == "reset-rx")] | length) == 1 and
		all($e[] | select(.event == "close"); .tx_bytes == 6000 and
		    .rx_bytes == 5000 and .lifetime_s > 0 and .dir == "in")' \
		"$TMP/s.jsonl"
	for f in $(grep '^{"served"' "$TMP/srv.out" | jq -c '[.peer_port, .tx_calls, .rx_calls, .reset]'); do
		jq -e -s --argjson f "$f" '[.[] | select(.event == "close" and
			.rport == $f[0])] | length == 1 and .[0].tx_calls == $f[1] and
			.[0].rx_calls == $f[2]' "$TMP/s.jsonl"
	done
	[ "$(grep -c '"reset":true' "$TMP/srv.out")" = 1 ]
	# client: 3 connects, 3 closes, and the reset it sent
	jq -e -s '[.[] | select(.type == "event")] as $e |
		([$e[] | select(.event == "connect")] | length) == 3 and
		([$e[] | select(.event == "close")] | length) == 3 and
		([$e[] | select(.event == "reset-tx")] | length) == 1 and
		all($e[] | select(.event == "close"); .tx_bytes == 5000 and
		    .rx_bytes == 6000 and .dir == "out")' "$TMP/c.jsonl"
	for f in $(grep '^{"conn"' "$TMP/cli.out" | jq -c '[.local_port, .peer_port]'); do
		jq -e -s --argjson f "$f" '[.[] | select(.event == "connect" and
			.lport == $f[0] and .rport == $f[1])] | length == 1' "$TMP/c.jsonl"
	done
}

@test "retransmits: a share of the server's segments dropped; the count is the namespace's TcpRetransSegs" {
	need_netns
	command -v nft >/dev/null || skip "nft (nftables) not installed"
	command -v nstat >/dev/null || skip "nstat (iproute2) not installed"
	make_ns ns1
	make_ns ns2
	ip -n "$ns1" link add vs type veth peer name vc netns "$ns2"
	ip -n "$ns1" addr add 10.231.0.1/24 dev vs
	ip -n "$ns2" addr add 10.231.0.2/24 dev vc
	ip -n "$ns1" link set vs up
	ip -n "$ns2" link set vc up
	# one segment per packet: the tracepoint fires per retransmitted
	# packet, the kernel counts segments
	ip -n "$ns1" link set dev vs gso_max_segs 1
	start_fix srv "$ns1" -L 10.231.0.1 -q 1000 -r 300000
	# the client drops 1 in 8 of the server's data segments (never a
	# handshake, never a bare ACK or FIN: only the server retransmits)
	ip netns exec "$ns2" nft -f - <<-EOF
	table inet ckbpeers {
		chain in {
			type filter hook input priority 0;
			ip saddr 10.231.0.1 tcp sport $srv_PORT ip length > 200 numgen random mod 8 == 0 counter drop
		}
	}
	EOF
	start_peers p -p "$srv_PID" -j 0.5
	start_fix cli "$ns2" -C 10.231.0.1 -P "$srv_PORT" -n 3 -q 1000 -r 300000
	fix_lines srv served 3
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	local kernel tool dropped skipped
	kernel=$(ip netns exec "$ns1" nstat -asz TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }')
	dropped=$(ip netns exec "$ns2" nft list ruleset | grep -o 'packets [0-9]*' | awk '{ print $2 }')
	tool=$(rows_sum "$TMP/p.jsonl" retrans true)
	# a retransmit timer that fires while a BPF program runs on that CPU
	# skips the probe; the kernel counts it, and so must the tool
	skipped=$(jq -s '[.[] | select(.type == "summary")] | .[0].skipped_by.tcp_retransmit_skb // 0' "$TMP/p.jsonl")
	echo "dropped $dropped, kernel TcpRetransSegs $kernel, ckb-peers $tool, skipped $skipped"
	[ "$dropped" -gt 0 ] && [ "$tool" -gt 0 ]
	[ "$tool" -le "$kernel" ] && [ $((tool + skipped)) -ge "$kernel" ]
	if [ "$skipped" -gt 0 ]; then
		grep -q "the kernel skipped [0-9]* runs of its programs (.*tcp_retransmit_skb $skipped" "$TMP/p.err"
	fi
	same_conns "$TMP/p.jsonl" "$TMP/srv.out" served
}

@test "a connection opened before the tool is reported with its peer once traffic flows" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1 -q 40000 -r 50000
	# the client connects before ready, and moves bytes on SIGUSR1
	start_fix cli "$ns" -L 127.0.0.1 -C 127.0.0.1 -P "$srv_PORT" -n 2 \
		-q 40000 -r 50000 -E -W
	start_peers p -p "$srv_PID" -j -v 0.5
	grep -q "open before tracing: 127.0.0.1:[0-9]*, local port $srv_PORT, in (fd [0-9]*, inode [0-9]*, from /proc/$srv_PID/net/tcp)" "$TMP/p.err"
	grep -q "1 listening, 1 open before" "$TMP/p.err"
	kill -USR1 "$cli_PID"
	fix_lines srv served 2
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	same_conns "$TMP/p.jsonl" "$TMP/srv.out" served
	local early
	early=$(grep -m1 '^{"conn":1' "$TMP/cli.out" | jq .local_port)
	jq -e -s --argjson p "$early" '[.[] | select(.type == "interval" and
		.rport == $p)] | length > 0 and all(.open_before_start and
		.dir == "in" and .age_s == null)' "$TMP/p.jsonl"
	no_zero "$TMP/p.jsonl"
}

@test "CKBTRACE_NO_SOCK_LENGTH=1: bytes from tcp_probe, said so; exact per peer, pre-existing one too" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L ::1 -q 60000 -r 80000
	start_fix cli "$ns" -L ::1 -C ::1 -P "$srv_PORT" -n 3 -q 60000 \
		-r 80000 -E -W
	CKBTRACE_NO_SOCK_LENGTH=1 start_peers p -p "$srv_PID" -j 0.5
	grep -q "^ckb-peers: CKBTRACE_NO_SOCK_LENGTH is set: bytes sent and received come from tcp_probe" "$TMP/p.err"
	kill -USR1 "$cli_PID"
	fix_lines srv served 3
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	# received: data_len of the segments; sent: how far snd_nxt moved,
	# seen on the peer's next segment while established (the fixture's
	# request-response exchange ends with the peer's FIN)
	same_conns "$TMP/p.jsonl" "$TMP/srv.out" served nocalls
	jq -e -s '(.[0].bytes_from == "tcp_probe") and
		([.[] | select(.type == "interval")] | all(.tx_calls == null)) and
		([.[] | select(.type == "interval" and .open_before_start)] | length > 0)' \
		"$TMP/p.jsonl"
	no_zero "$TMP/p.jsonl"
}

@test "-H: each connection's srtt histogram holds exactly its srtt samples" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1 -q 200000 -r 300000
	start_peers p -p "$srv_PID" -j -H 0.5
	start_fix cli "$ns" -C 127.0.0.1 -P "$srv_PORT" -n 2 -q 200000 -r 300000
	fix_lines srv served 2
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	same_conns "$TMP/p.jsonl" "$TMP/srv.out" served
	jq -e -s '([.[] | select(.type == "interval") | .srtt_samples] | add) as $n |
		([.[] | select(.type == "hist") | .buckets[][2]] | add) as $h |
		$n > 0 and $h == $n' "$TMP/p.jsonl"
}

@test "the table: header, a row per peer with its kind; SIGINT exits 0" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1 -l 8114 -q 2048 -r 4096
	start_tracer "$TMP/t.out" "$TMP/t.err" "$PEERS" -p "$srv_PID" 0.3
	start_fix cli "$ns" -C 127.0.0.1 -P 8114 -n 2 -q 2048 -r 4096
	fix_lines srv served 2
	wait_for 10 grep -q '^127.0.0.1:[0-9]* *8114 rpc-in ' "$TMP/t.out"
	stop_pid INT "$TRACER_PID"
	grep -q '^PEER *LPORT KIND *TX *RX CALLS RETR RST *AGE *SRTT(ms) MIN/AVG/MAX$' "$TMP/t.out"
	[ "$(grep -c '^127.0.0.1:[0-9]* *8114 rpc-in *4.0K *2.0K' "$TMP/t.out")" = 2 ]
}

@test "the target's exit ends the tool with status 1 and one line" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1
	start_tracer "$TMP/t.out" "$TMP/t.err" "$PEERS" -p "$srv_PID"
	kill -KILL "$srv_PID"
	local rc=0
	wait "$TRACER_PID" || rc=$?
	[ "$rc" -eq 1 ]
	grep -q "process $srv_PID exited; stopping" "$TMP/t.err"
}

@test "exact bytes with BTF hidden (headers of another kernel only)" {
	need_netns
	make_ns ns
	start_fix srv "$ns" -L 127.0.0.1 -q 777 -r 888
	start_nobtf "$TMP/p.jsonl" "$TMP/p.err" "$PEERS" -p "$srv_PID" -j 0.5
	start_fix cli "$ns" -C 127.0.0.1 -P "$srv_PORT" -n 2 -q 777 -r 888
	fix_lines srv served 2
	sleep 0.6
	stop_pid INT "$TRACER_PID"
	same_conns "$TMP/p.jsonl" "$TMP/srv.out" served
}
