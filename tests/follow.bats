#!/usr/bin/env bats
# --follow: ckb-rdblat and ckb-slowops stay on a node that is killed,
# restarted and upgraded.  Counts per process equal what each process
# says it did; the gap reported lies within what the test measured.

load helpers

setup() {
	need_root
	common_setup
	[ -x "${DBSIM_REBUILT:-}" ] || skip "no rebuilt ckb-dbsim fixture (make check builds it)"
	# the node's executable lives where the test can replace it
	cp "$DBSIM" "$TMP/ckb-dbsim"
	NODE="$TMP/ckb-dbsim"
}

teardown() {
	common_teardown
}

now_ms() {
	local t=$EPOCHREALTIME
	echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 ))
}

# node N ARGS...: start instance N of the node (waiting for SIGUSR1);
# sets N_PID like start_dbsim.
node() {
	local n=$1
	shift
	DBSIM=$NODE start_dbsim "$n" "$@"
}

# reattached_to PID FILE: FILE has a reattach object for PID.
reattached_to() {
	jq -e --argjson p "$1" 'select(.type == "reattach" and .pid == $p)' \
		"$2" > /dev/null 2>&1
}

# per-pid interval sum of one op
pid_sum() {
	jq -s --arg op "$2" --argjson p "$3" \
		'[.[] | select(.type == "interval" and .op == $op and .pid == $p) | .count] | add // 0' \
		"$1"
}

# check_pid JSONL COUNTS PID: every C API op of that process, exact (the
# ops not probed by default: none reported).
check_pid() {
	local op want got called=0 probed
	probed=$(jq -r 'select(.type == "start") | .ops | join(" ")' "$1")
	for op in "${!FNS[@]}"; do
		# shellcheck disable=SC2086
		want=$(calls_of "$2" ${FNS[$op]})
		got=$(pid_sum "$1" "$op" "$3")
		echo "PID $3 $op: workload $want, reported $got"
		if [[ " $probed " == *" $op "* ]]; then
			[ "$got" = "$want" ]
			[ "$want" -gt 0 ] && called=$((called + 1))
		else
			[ "$got" = 0 ]
		fi
	done
	[ "$called" -ge 9 ]
}

# restart OUT NAME KILLED_AT: start node NAME after the previous one was
# killed at KILLED_AT (ms), wait for the tracer to take it, check the
# gap it reports against the test's own clock, and run its workload.
restart() {
	local out=$1 name=$2 killed=$3 started seen pid gap lag
	shift 3
	started=$(now_ms)
	node "$name" "$@"
	eval "pid=\$${name}_PID"
	wait_for 10 reattached_to "$pid" "$out"
	seen=$(now_ms)
	gap=$(jq -r --argjson p "$pid" 'select(.type == "reattach" and .pid == $p) | .gap_ms' "$out")
	lag=$(jq -r --argjson p "$pid" 'select(.type == "reattach" and .pid == $p) | .lag_ms' "$out")
	echo "PID $pid: killed at $killed, started $started, reattach seen $seen; gap $gap ms, lag $lag ms"
	# the gap runs from seeing the old process gone (after the kill) to
	# attaching the new one (before the line was seen)
	awk -v g="$gap" -v hi=$((seen - killed)) 'BEGIN { exit !(g <= hi) }'
	# and it covers the time the node was down, less the tool's 50 ms
	# liveness poll (with room for a loaded machine)
	awk -v g="$gap" -v lo=$((started - killed - 300)) 'BEGIN { exit !(g >= lo) }'
	awk -v l="$lag" 'BEGIN { exit !(l >= 0) }'
	run_dbsim "$name"
}

@test "rdblat --follow: SIGKILL twice, then an upgraded binary; counts exact per process" {
	node a -n 300 -r 0
	start_rdblat r -p "$a_PID" --follow -j -i 0.5
	run_dbsim a
	local t
	kill -KILL "$a_PID"; t=$(now_ms); sleep 0.4
	restart "$TMP/r.jsonl" b "$t" -n 250 -r 0
	kill -KILL "$b_PID"; t=$(now_ms); sleep 0.2
	restart "$TMP/r.jsonl" c "$t" -n 200 -r 0
	# the upgrade: a new file renamed over the old one, as packages do
	cp "$DBSIM_REBUILT" "$NODE.new"
	mv "$NODE.new" "$NODE"
	kill -KILL "$c_PID"; t=$(now_ms); sleep 0.3
	restart "$TMP/r.jsonl" d "$t" -n 220 -r 0
	stop_rdblat INT
	grep -q "PID $b_PID (.*) attached [0-9]* ms after PID $a_PID exited" "$TMP/r.err"
	[ "$(jq -s '[.[] | select(.type == "reattach")] | length' "$TMP/r.jsonl")" = 3 ]
	[ "$(jq -r --argjson p "$c_PID" 'select(.type == "reattach" and .pid == $p) | .rebuilt' "$TMP/r.jsonl")" = false ]
	[ "$(jq -r --argjson p "$d_PID" 'select(.type == "reattach" and .pid == $p) | .rebuilt' "$TMP/r.jsonl")" = true ]
	[ "$(jq -r --argjson p "$d_PID" 'select(.type == "reattach" and .pid == $p) | .build_id' "$TMP/r.jsonl")" = \
	  "$(readelf -n "$DBSIM_REBUILT" | awk '/Build ID/ { print $3 }')" ]
	check_pid "$TMP/r.jsonl" "$TMP/a.counts.json" "$a_PID"
	check_pid "$TMP/r.jsonl" "$TMP/b.counts.json" "$b_PID"
	check_pid "$TMP/r.jsonl" "$TMP/c.counts.json" "$c_PID"
	check_pid "$TMP/r.jsonl" "$TMP/d.counts.json" "$d_PID"
	# counters carry on: the summary holds all four processes
	local want
	want=$(( $(calls_of "$TMP/a.counts.json" rocksdb_transaction_commit) +
		 $(calls_of "$TMP/b.counts.json" rocksdb_transaction_commit) +
		 $(calls_of "$TMP/c.counts.json" rocksdb_transaction_commit) +
		 $(calls_of "$TMP/d.counts.json" rocksdb_transaction_commit) ))
	[ "$(summary_count "$TMP/r.jsonl" TXN_COMMIT)" = "$want" ]
	jq -e 'select(.type == "summary") | .restarts == 3' "$TMP/r.jsonl"
	# the first interval after each restart says what was not traced
	local p
	for p in "$b_PID" "$c_PID" "$d_PID"; do
		jq -se --argjson p "$p" '[.[] | select(.type == "interval" and .pid == $p)][0].untraced_ms ==
			([.[] | select(.type == "reattach" and .pid == $p)][0].gap_ms | floor)' "$TMP/r.jsonl"
	done
}

@test "rdblat --follow with the default target: waits for a process named ckb, then follows it" {
	cp "$DBSIM" "$TMP/ckb"
	NODE="$TMP/ckb"
	"$RDBLAT" --follow -j > "$TMP/r.jsonl" 2> "$TMP/r.err" &
	RDBLAT_PID=$!
	BGPIDS="$BGPIDS $RDBLAT_PID"
	wait_for 20 grep -q "no process named ckb yet; waiting" "$TMP/r.err"
	node a -n 150 -r 0
	wait_for 60 grep -q '^Tracing' "$TMP/r.err"
	run_dbsim a
	local t
	kill -KILL "$a_PID"; t=$(now_ms); sleep 0.2
	restart "$TMP/r.jsonl" b "$t" -n 100 -r 0
	stop_rdblat INT
	check_pid "$TMP/r.jsonl" "$TMP/a.counts.json" "$a_PID"
	check_pid "$TMP/r.jsonl" "$TMP/b.counts.json" "$b_PID"
}

@test "rdblat without --follow still stops when the process exits" {
	node a -n 50 -r 0
	start_rdblat r -p "$a_PID" -j
	kill -KILL "$a_PID"
	local rc=0
	wait "$RDBLAT_PID" || rc=$?
	[ "$rc" -eq 1 ]
	grep -q "process $a_PID exited; stopping" "$TMP/r.err"
	! grep -q reattach "$TMP/r.jsonl"
}

@test "slowops --follow: slow operations of every process, none lost" {
	node a -n 20 -r 0 --slow 2 --slow-ms 30
	start_tracer "$TMP/s.jsonl" "$TMP/s.err" "$top_builddir/tools/ckb-slowops" \
		-p "$a_PID" --follow -j -m 20
	local sp=$TRACER_PID t
	run_dbsim a
	kill -KILL "$a_PID"; t=$(now_ms); sleep 0.2
	node b -n 20 -r 0 --slow 3 --slow-ms 30
	wait_for 10 reattached_to "$b_PID" "$TMP/s.jsonl"
	run_dbsim b
	stop_pid INT "$sp"
	[ "$(jq -s --argjson p "$a_PID" '[.[] | select(.type == "event" and .pid == $p and .op == "GET")] | length' "$TMP/s.jsonl")" = 2 ]
	[ "$(jq -s --argjson p "$b_PID" '[.[] | select(.type == "event" and .pid == $p and .op == "GET")] | length' "$TMP/s.jsonl")" = 3 ]
	jq -e 'select(.type == "summary") | .lost == 0' "$TMP/s.jsonl"
}

@test "--follow with -b is bad usage: one line, exit 2" {
	run "$RDBLAT" -b "$DBSIM" --follow
	failed_one_line ckb-rdblat 2 "--follow is for -p"
	run "$top_builddir/tools/ckb-slowops" -b "$DBSIM" --follow
	failed_one_line ckb-slowops 2 "--follow is for -p"
}
