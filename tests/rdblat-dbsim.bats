#!/usr/bin/env bats
# ckb-rdblat against ckb-dbsim (RocksDB linked statically, C API only):
# the counts it reports equal what the workload says it did, op by op.

load helpers

setup() {
	need_root
	common_setup
}

teardown() {
	common_teardown
}

# check_counts JSONL COUNTS: every op with C API functions, interval
# sums and summary; an op the run did not probe is null in the summary.
check_counts() {
	local op want got sum checked=0 called=0 probed
	probed=$(jq -r 'select(.type == "start") | .ops | join(" ")' "$1")
	for op in "${!FNS[@]}"; do
		checked=$((checked + 1))
		# shellcheck disable=SC2086
		want=$(calls_of "$2" ${FNS[$op]})
		got=$(interval_sum "$1" "$op")
		sum=$(summary_count "$1" "$op")
		echo "$op: workload $want, intervals $got, summary $sum"
		[ "$want" -gt 0 ] && called=$((called + 1))
		if [[ " $probed " == *" $op "* ]]; then
			[ "$got" = "$want" ]
			[ "$sum" = "$want" ]
		else
			[ "$got" = 0 ]
			[ "$sum" = null ]
		fi
	done
	echo "$checked ops checked, $called called by the workload"
	[ "$checked" -ge 14 ]
	[ "$called" -ge 13 ]
}

@test "counts equal the workload's own, op by op, over a whole run" {
	start_dbsim a -n 1500 -r 0
	start_rdblat r -p "$a_PID" -j
	run_dbsim a
	stop_rdblat INT
	check_counts "$TMP/r.jsonl" "$TMP/a.counts.json"
}

@test "the same exact counts through perf-event uprobes (no uprobe_multi links)" {
	start_dbsim a -n 800 -r 0
	CKBTRACE_NO_UPROBE_MULTI=1 start_rdblat r -p "$a_PID" -j -o all
	grep -q ' probes, ' "$TMP/r.err"
	run_dbsim a
	stop_rdblat INT
	check_counts "$TMP/r.jsonl" "$TMP/a.counts.json"
}

@test "SIGINT with perf-event uprobes: exit 0 and the breakpoints gone" {
	CKBTRACE_NO_UPROBE_MULTI=1 check_clean_stop INT
}

@test "bytes equal the workload's own: values read, keys and values written, commits, batches" {
	start_dbsim a -n 800 -r 0
	start_rdblat r -p "$a_PID" -j -o GET,TXN_GET,TXN_GET_FOR_UPDATE,PUT,TXN_PUT,DELETE,TXN_DELETE,WRITE,TXN_COMMIT
	run_dbsim a
	stop_rdblat INT
	local op want got
	for op in GET TXN_GET TXN_GET_FOR_UPDATE PUT TXN_PUT DELETE TXN_DELETE; do
		# shellcheck disable=SC2086
		want=$(bytes_of "$TMP/a.counts.json" ${FNS[$op]})
		got=$(interval_bytes "$TMP/r.jsonl" "$op")
		echo "$op bytes: workload $want, reported $got"
		[ "$want" -gt 0 ]
		[ "$got" = "$want" ]
	done
	want=$(jq .commit_bytes "$TMP/a.counts.json")
	got=$(interval_bytes "$TMP/r.jsonl" TXN_COMMIT)
	echo "TXN_COMMIT bytes: workload $want, reported $got"
	[ "$want" -gt 0 ] && [ "$got" = "$want" ]
	want=$(jq .write_bytes "$TMP/a.counts.json")
	got=$(interval_bytes "$TMP/r.jsonl" WRITE)
	echo "WRITE bytes: workload $want, reported $got"
	[ "$want" -gt 0 ] && [ "$got" = "$want" ]
}

@test "flushes and compactions equal the events in RocksDB's own LOG" {
	start_dbsim a -n 3000 -r 0 --write-buffer 64 --compact-every 400
	start_rdblat r -p "$a_PID" -j -o FLUSH,COMPACTION
	run_dbsim a
	# The LOG is buffered: the counts written after the database closes
	# hold every event.  The tracer stays attached through the close.
	rm "$TMP/a.counts.json"
	kill -TERM "$a_PID"
	local rc=0
	wait "$RDBLAT_PID" || rc=$?
	[ "$rc" -eq 1 ]
	jq -e 'select(.type == "summary") | .reason == "target exited"' "$TMP/r.jsonl"
	wait_for 30 test -s "$TMP/a.counts.json"
	local f c
	f=$(jq .log.flush_started "$TMP/a.counts.json")
	c=$(jq .log.compaction_started "$TMP/a.counts.json")
	echo "LOG: $f flushes, $c compactions; reported $(interval_sum "$TMP/r.jsonl" FLUSH), $(interval_sum "$TMP/r.jsonl" COMPACTION)"
	[ "$f" -gt 0 ] && [ "$c" -gt 0 ]
	[ "$(interval_sum "$TMP/r.jsonl" FLUSH)" = "$f" ]
	[ "$(interval_sum "$TMP/r.jsonl" COMPACTION)" = "$c" ]
}

@test "every output line is one JSON object with a type" {
	start_dbsim a -n 300 -r 0
	start_rdblat r -p "$a_PID" -j -H -i 0.2
	run_dbsim a
	stop_rdblat TERM
	local lines typed
	lines=$(wc -l < "$TMP/r.jsonl")
	typed=$(jq -c 'select(type == "object" and (.type | type) == "string")' "$TMP/r.jsonl" | wc -l)
	echo "$lines lines, $typed typed objects"
	[ "$lines" -gt 3 ]
	[ "$typed" = "$lines" ]
	[ "$(jq -s '[.[] | select(.type == "hist")] | length' "$TMP/r.jsonl")" -gt 0 ]
	[ "$(jq -s '[.[] | select(.type == "hist") | .buckets[][2]] | add' "$TMP/r.jsonl")" = \
	  "$(jq -s '[.[] | select(.type == "interval") | .count] | add' "$TMP/r.jsonl")" ]
}

@test "-p traces only that process when two identical workloads run" {
	start_dbsim a -n 600 -r 0 --seed 1
	start_dbsim b -n 900 -r 0 --seed 2
	start_rdblat r -p "$b_PID" -j
	run_dbsim a
	run_dbsim b
	stop_rdblat INT
	check_counts "$TMP/r.jsonl" "$TMP/b.counts.json"
}

@test "-b on the executable counts every process running it, started after attaching too" {
	start_rdblat r -b "$DBSIM" -j
	start_dbsim a -n 400 -r 0 --seed 3
	start_dbsim b -n 700 -r 0 --seed 4
	run_dbsim a
	run_dbsim b
	stop_rdblat INT
	local want got
	want=$(calls_of "$TMP/a.counts.json" rocksdb_transaction_commit)
	want=$((want + $(calls_of "$TMP/b.counts.json" rocksdb_transaction_commit)))
	got=$(interval_sum "$TMP/r.jsonl" TXN_COMMIT)
	echo "commits: workloads $want, reported $got"
	[ "$got" = "$want" ]
}

# Ctrl-C and SIGTERM: exit 0, final report, and the breakpoints gone.
check_clean_stop() {
	start_dbsim a -n 0 -r 200
	start_rdblat r -p "$a_PID" -j
	kill -USR1 "$a_PID"
	[ "$(live_byte "$a_PID" rocksdb_transaction_commit)" = cc ]
	local nperf
	nperf=$(ls -l "/proc/$RDBLAT_PID/fd" | grep -cE 'perf_event|bpf_link' || true)
	echo "uprobe perf events or links while tracing: $nperf"
	[ "$nperf" -gt 10 ]
	sleep 1.5
	local rc=0
	stop_rdblat "$1" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(live_byte "$a_PID" rocksdb_transaction_commit)" != cc ]
	[ "$(live_byte "$a_PID" rocksdb_transaction_get_pinned_cf)" != cc ]
	if [ -r /sys/kernel/tracing/uprobe_events ]; then
		! grep -q ckb-dbsim /sys/kernel/tracing/uprobe_events
	fi
	jq -e 'select(.type == "summary") | .reason == "signal"' "$TMP/r.jsonl"
	[ "$(interval_sum "$TMP/r.jsonl" TXN_COMMIT)" -gt 0 ]
}

@test "SIGINT prints the final interval, exits 0 and leaves no uprobe behind" {
	check_clean_stop INT
}

@test "SIGTERM prints the final interval, exits 0 and leaves no uprobe behind" {
	check_clean_stop TERM
}

@test "the traced process exiting ends the run with exit 1 and a message" {
	"$DBSIM" -q -n 0 -r 100 -d 3 --db "$TMP/x.db" &
	BGPIDS="$BGPIDS $!"
	local p=$!
	run timeout 60 "$RDBLAT" -p "$p" 1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"process $p exited"* ]]
	[[ "$output" == *TXN_COMMIT* ]]
}

@test "with neither -p nor -b the one process named ckb is traced" {
	cp "$DBSIM" "$TMP/ckb"
	DBSIM="$TMP/ckb" start_dbsim a -n 200 -r 0
	start_rdblat r -j
	run_dbsim a
	stop_rdblat INT
	[ "$(jq -r 'select(.type == "start") | .pid' "$TMP/r.jsonl")" = "$a_PID" ]
	[ "$(interval_sum "$TMP/r.jsonl" TXN_COMMIT)" = \
	  "$(calls_of "$TMP/a.counts.json" rocksdb_transaction_commit)" ]
}

@test "two processes named ckb and no -p: one error naming both, exit 1" {
	cp "$DBSIM" "$TMP/ckb"
	DBSIM="$TMP/ckb" start_dbsim a -n 10
	DBSIM="$TMP/ckb" start_dbsim b -n 10
	run timeout 30 "$RDBLAT" 1 1
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"2 processes named ckb"*"$a_PID"*"-p PID"* ]] ||
		[[ "$output" == *"2 processes named ckb"*"$b_PID"*"-p PID"* ]]
	[[ "$output" == *"$a_PID"* && "$output" == *"$b_PID"* ]]
}

@test "table output: header, one row per op seen, under 80 columns" {
	start_dbsim a -n 400 -r 0
	start_rdblat t -p "$a_PID" -T
	run_dbsim a
	stop_rdblat INT
	cat "$TMP/t.jsonl"
	grep -q '^OP  *COUNT  *OPS/S  *AVG  *P50  *P99  *MAX  *BYTES$' "$TMP/t.jsonl"
	grep -q '^TXN_COMMIT ' "$TMP/t.jsonl"
	grep -Eq '^[0-9]{2}:[0-9]{2}:[0-9]{2}$' "$TMP/t.jsonl"
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$TMP/t.jsonl")" -lt 80 ]
	local total
	total=$(awk '$1 == "TXN_COMMIT" { s += $2 } END { print s }' "$TMP/t.jsonl")
	[ "$total" = "$(calls_of "$TMP/a.counts.json" rocksdb_transaction_commit)" ]
}

@test "compile cache: the second run loads the stored program, and counts stay exact" {
	export CKBTRACE_CACHE_DIR="$TMP/cache"
	start_dbsim a -n 10 -r 0
	run timeout 60 "$RDBLAT" -v -p "$a_PID" 0.2 1
	[ "$status" -eq 0 ]
	[[ "$output" != *"loaded from"* ]]
	[ "$(ls "$TMP/cache" | wc -l)" = 1 ]
	[ "$(stat -c %a "$TMP/cache")" = 700 ]
	start_dbsim b -n 700 -r 0
	CKBTRACE_CACHE_DIR="$TMP/cache" start_rdblat r -v -p "$b_PID" -j
	grep -q "BPF programs loaded from $TMP/cache/" "$TMP/r.err"
	run_dbsim b
	stop_rdblat INT
	check_counts "$TMP/r.jsonl" "$TMP/b.counts.json"
}

@test "compile cache: a damaged entry is compiled again, a group-writable directory is not used" {
	export CKBTRACE_CACHE_DIR="$TMP/cache"
	start_dbsim a -n 10 -r 0
	run timeout 60 "$RDBLAT" -p "$a_PID" 0.2 1
	[ "$status" -eq 0 ]
	local entry
	entry=$(ls "$TMP/cache"/*.bpf)
	truncate -s 100 "$entry"
	run timeout 60 "$RDBLAT" -v -p "$a_PID" -j 0.2 1
	[ "$status" -eq 0 ]
	[[ "$output" != *"loaded from"* ]]
	[ "$(stat -c %s "$entry")" -gt 100 ]
	chmod 770 "$TMP/cache"
	run timeout 60 "$RDBLAT" -v -p "$a_PID" 0.2 1
	[ "$status" -eq 0 ]
	[[ "$output" != *"loaded from"* ]]
}
