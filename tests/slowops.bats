#!/usr/bin/env bats
# ckb-slowops against ckb-dbsim: slow operations made on purpose inside
# RocksDB's own call are reported exactly, and every event is either
# delivered or counted as lost.

load helpers

SLOWOPS="${top_builddir:?}/tools/ckb-slowops"

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# every operation with C API functions: what c_api_total counts
C_API_OPS=$(IFS=,; echo "${!FNS[*]}")

# start_slowops OUT ARGS...: ckb-slowops in the background until attached.
start_slowops() {
	local out=$1
	shift
	start_tracer "$TMP/$out.out" "$TMP/$out.err" "$SLOWOPS" "$@" &&
		SLOW_PID=$TRACER_PID
}

stop_slowops() {
	stop_pid INT "$1"
}

# The number of C API operations the workload made, from its counts.
c_api_total() {
	local op n=0
	for op in "${!FNS[@]}"; do
		# shellcheck disable=SC2086
		n=$((n + $(calls_of "$1" ${FNS[$op]})))
	done
	echo "$n"
}

@test "K slow gets made on purpose: exactly K lines and K JSON objects, each right" {
	need_root
	start_dbsim a -n 200 -r 0 --slow 6 --slow-ms 50
	start_slowops t -p "$a_PID" -o GET 40000
	local tpid=$SLOW_PID
	start_slowops j -p "$a_PID" -o GET -m 40 -j
	local jpid=$SLOW_PID
	run_dbsim a
	stop_slowops "$tpid"
	stop_slowops "$jpid"
	cat "$TMP/t.out"
	local cf
	cf=$(jq '.cf_ids.slow' "$TMP/a.counts.json")
	[ "$(jq .slow.count "$TMP/a.counts.json")" = 6 ]
	# table: a header and six rows
	[ "$(head -n1 "$TMP/t.out" | awk '{ print $1, $4, $5, $6, $7, $8 }')" = "PID OP LAT(ms) CF KLEN BYTES" ]
	[ "$(tail -n +2 "$TMP/t.out" | wc -l)" = 6 ]
	[ "$(tail -n +2 "$TMP/t.out" | awk -v pid="$a_PID" -v cf="$cf" \
		'$1 == pid && $4 == "GET" && $5 >= 50 && $6 == cf && $7 == 13 && $8 == 100 && $9 == "-"' | wc -l)" = 6 ]
	# JSON: six events with the same facts, and a summary
	[ "$(jq -c 'select(.type == "event")' "$TMP/j.out" | wc -l)" = 6 ]
	[ "$(jq -c --argjson cf "$cf" 'select(.type == "event" and .op == "GET" and .lat_ns >= 50000000 and .cf == $cf and .klen == 13 and .bytes == 100 and .err == false)' "$TMP/j.out" | wc -l)" = 6 ]
	jq -e 'select(.type == "summary") | .events == 6 and .lost == 0' "$TMP/j.out"
	grep -q '^ckb-slowops: 6 events, 0 lost; [0-9]* operations under the threshold$' "$TMP/t.err"
}

@test "the column family ids read through the handle match RocksDB's own" {
	need_root
	start_dbsim a -n 100 -r 0
	start_slowops j -p "$a_PID" -o TXN_PUT -j 0
	run_dbsim a
	stop_slowops "$SLOW_PID"
	# dbsim puts headers into "1", bodies into "2", transactions into "3".."8"
	local want got
	want=$(jq -c '[.cf_ids["1"], .cf_ids["2"], .cf_ids["3"]] | sort' "$TMP/a.counts.json")
	got=$(jq -s -c '[.[] | select(.type == "event") | .cf] | unique | map(select(. == 2 or . == 3 or . == 4))' "$TMP/j.out")
	echo "ids of CF 1,2,3: $want; seen: $got"
	[ "$got" = "$want" ]
	[ "$(jq -s '[.[] | select(.type == "event" and .cf == null)] | length' "$TMP/j.out")" = 0 ]
}

# threshold_zero PATH-OPTION...: every operation is an event or lost.
threshold_zero() {
	start_dbsim a -n 600 -r 0
	start_slowops j -p "$a_PID" -o "$C_API_OPS" -j "$@" 0
	run_dbsim a
	stop_slowops "$SLOW_PID"
	local n events lost under
	n=$(c_api_total "$TMP/a.counts.json")
	events=$(jq -c 'select(.type == "event")' "$TMP/j.out" | wc -l)
	lost=$(jq 'select(.type == "summary") | .lost' "$TMP/j.out")
	under=$(jq 'select(.type == "summary") | .under_threshold' "$TMP/j.out")
	echo "workload $n operations; $events events, $lost lost, $under under"
	[ "$n" -gt 10000 ]
	[ "$under" = 0 ]
	[ "$lost" = 0 ]
	[ "$events" = "$n" ]
	[ "$(jq 'select(.type == "summary") | .events' "$TMP/j.out")" = "$events" ]
}

@test "threshold 0, ring buffer: N operations give N events and no loss" {
	need_root
	threshold_zero
}

@test "threshold 0, perf buffer: N operations give N events and no loss" {
	need_root
	threshold_zero --perf-buffer
}

# tiny_buffer PATH-OPTION...: the output is not read for a while, the
# one-page buffer fills, and events + lost still equals N.
tiny_buffer() {
	start_dbsim a -n 600 -r 0
	"$SLOWOPS" -p "$a_PID" -o "$C_API_OPS" -j --buffer-pages 1 "$@" 0 \
		2> "$TMP/j.err" | { sleep 4; cat; } > "$TMP/j.out" &
	BGPIDS="$BGPIDS $!"
	local pipe=$!
	wait_for 60 grep -q '^Tracing' "$TMP/j.err"
	run_dbsim a
	sleep 5
	pkill -INT -f "^$SLOWOPS -p $a_PID " || true
	wait "$pipe"
	local n events lost
	n=$(c_api_total "$TMP/a.counts.json")
	events=$(jq -c 'select(.type == "event")' "$TMP/j.out" | wc -l)
	lost=$(jq 'select(.type == "summary") | .lost' "$TMP/j.out")
	echo "workload $n operations; $events events, $lost lost"
	cat "$TMP/j.err"
	[ "$lost" -gt 0 ]
	[ $((events + lost)) = "$n" ]
	grep -q 'events lost: the buffer was full; raise --buffer-pages' "$TMP/j.err"
	[ "$(jq -s '[.[] | select(.type == "lost") | .lost] | add' "$TMP/j.out")" = "$lost" ]
}

@test "a one-page ring buffer that fills: lost > 0, events + lost = N, and said" {
	need_root
	tiny_buffer
}

@test "a one-page perf buffer that fills: lost > 0, events + lost = N, and said" {
	need_root
	tiny_buffer --perf-buffer
}

@test "-U: the stack of a slow get holds the dbsim function that made it" {
	need_root
	start_dbsim a -n 50 -r 0 --slow 2 --slow-ms 30
	start_slowops j -p "$a_PID" -o GET -m 25 -U -j
	run_dbsim a
	stop_slowops "$SLOW_PID"
	jq -c 'select(.type == "event") | .stack' "$TMP/j.out"
	[ "$(jq -c 'select(.type == "event")' "$TMP/j.out" | wc -l)" = 2 ]
	[ "$(jq -c 'select(.type == "event" and any(.stack[]; startswith("slow_op")))' "$TMP/j.out" | wc -l)" = 2 ]
}

@test "-f: folded stacks end in the operation and sum the latency" {
	need_root
	start_dbsim a -n 50 -r 0 --slow 3 --slow-ms 30
	start_slowops f -p "$a_PID" -o GET -m 25 -f
	run_dbsim a
	stop_slowops "$SLOW_PID"
	cat "$TMP/f.out"
	[ "$(wc -l < "$TMP/f.out")" = 1 ]
	grep -Eq '^ckb-dbsim;.*;slow_op[^;]*;GET [0-9]+$' "$TMP/f.out"
	[ "$(awk '{ print $NF }' "$TMP/f.out")" -ge 90000 ]
}

@test "default threshold: operations under 10 ms are counted, not printed" {
	need_root
	start_dbsim a -n 300 -r 0
	start_slowops t -p "$a_PID" -o "$C_API_OPS"
	run_dbsim a
	stop_slowops "$SLOW_PID"
	local n printed under
	n=$(c_api_total "$TMP/a.counts.json")
	printed=$(tail -n +2 "$TMP/t.out" | wc -l)
	under=$(sed -n 's/^ckb-slowops: [0-9]* events, 0 lost; \([0-9]*\) operations under the threshold$/\1/p' "$TMP/t.err")
	echo "workload $n, printed $printed, under $under"
	[ -n "$under" ]
	[ $((printed + under)) = "$n" ]
}

@test "SIGTERM: exit 0, summary, and the breakpoints gone" {
	need_root
	start_dbsim a -n 0 -r 100
	start_slowops t -p "$a_PID"
	kill -USR1 "$a_PID"
	[ "$(live_byte "$a_PID" rocksdb_transaction_commit)" = cc ]
	kill -TERM "$SLOW_PID"
	local rc=0
	wait "$SLOW_PID" || rc=$?
	[ "$rc" = 0 ]
	[ "$(live_byte "$a_PID" rocksdb_transaction_commit)" != cc ]
	grep -q ' events, 0 lost; ' "$TMP/t.err"
}

bad_usage() {
	run "$SLOWOPS" "$@"
	failed_one_line ckb-slowops 2
}

@test "a negative or non-numeric threshold is refused (exit 2)" {
	bad_usage -p 1 -- -5
	[[ "$output" == *"bad threshold '-5'"* ]]
	bad_usage -p 1 10ms
	[[ "$output" == *"bad threshold '10ms'"* ]]
	bad_usage -p 1 -m x
	[[ "$output" == *"bad threshold 'x'"* ]]
}

@test "-m and a positional threshold together are refused (exit 2)" {
	bad_usage -p 1 -m 5 500
	[[ "$output" == *"threshold given twice"* ]]
}

@test "--buffer-pages that is not a power of two is refused (exit 2)" {
	bad_usage -p 1 --buffer-pages 3
	[[ "$output" == *"power of two"* ]]
	bad_usage -p 1 --buffer-pages 0
}

@test "--ebpf shows the threshold as an integer parameter, without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$SLOWOPS" --ebpf -m 7 -U
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"-DTHRESHOLD_NS=7000000 -DPERF_BUFFER=0 -DBUFFER_PAGES=256 -DSTACK_MODE=1"* ]]
	[[ "$output" == *"BPF_RINGBUF_OUTPUT(events, BUFFER_PAGES)"* ]]
}

@test "every option in --help is in the man page" {
	options_in_man "$SLOWOPS" "$top_srcdir/man/ckb-slowops.8" 13
}
