#!/usr/bin/env bats
# --duty PCT: probes attached for part of every interval; counts
# extrapolated from the time really attached and marked as estimates.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

@test "--duty 50: estimates marked, traced counts consistent, the estimate near the workload's own count" {
	need_root
	start_dbsim a -n 2400 -r 300
	start_rdblat r -p "$a_PID" -j --duty 50 -i 0.5
	run_dbsim a
	stop_rdblat INT
	# every interval is an estimate, with the share of it traced
	jq -c 'select(.type == "interval") | select((.estimated == true and .traced_fraction > 0 and
		.traced_fraction <= 1 and .traced_count <= .count) | not)' "$TMP/r.jsonl" | head -5
	[ "$(jq -s '[.[] | select(.type == "interval")] | length' "$TMP/r.jsonl")" -gt 10 ]
	jq -se '[.[] | select(.type == "interval")] | all(.estimated == true and
		.traced_fraction > 0 and .traced_fraction <= 1 and .traced_count <= .count)' "$TMP/r.jsonl"
	# the calls seen add up, and are fewer than the calls made
	local seen want est frac
	seen=$(jq -s '[.[] | select(.type == "interval" and .op == "TXN_PUT") | .traced_count] | add' "$TMP/r.jsonl")
	[ "$seen" = "$(jq -s '.[] | select(.type == "summary") | .traced_counts.TXN_PUT' "$TMP/r.jsonl")" ]
	want=$(calls_of "$TMP/a.counts.json" ${FNS[TXN_PUT]})
	est=$(jq -s '[.[] | select(.type == "interval" and .op == "TXN_PUT") | .count] | add' "$TMP/r.jsonl")
	frac=$(jq -s '.[] | select(.type == "summary") | .traced_fraction' "$TMP/r.jsonl")
	echo "TXN_PUT: workload $want, seen $seen, estimated $est; traced $frac of the time"
	[ "$seen" -lt "$want" ]
	# half the time, give or take the attach time and the slices' phase
	awk -v f="$frac" 'BEGIN { exit !(f > 0.3 && f < 0.6) }'
	# a steady stream: the estimate within 25% of the truth
	awk -v e="$est" -v w="$want" 'BEGIN { d = e / w - 1; exit !(d > -0.25 && d < 0.25) }'
	jq -se '.[] | select(.type == "start") | .duty_pct == 50' "$TMP/r.jsonl"
	jq -se '.[] | select(.type == "summary") | .estimated == true' "$TMP/r.jsonl"
}

@test "--duty: the table marks estimates with ~ and says how much was traced" {
	need_root
	start_dbsim a -n 0 -r 200
	kill -USR1 "$a_PID"
	run timeout 60 "$RDBLAT" -p "$a_PID" --duty 30 1 2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ TXN_PUT\ +~[0-9]+\ +~[0-9.]+ ]]
	[[ "$output" == *"~ estimated from "*"% of the time"* ]]
}

@test "--duty: the probes are detached between slices" {
	need_root
	start_dbsim a -n 0 -r 100
	kill -USR1 "$a_PID"
	# a 10% slice of 4 s intervals: 0.4 s attached in each 4 s
	start_rdblat r -p "$a_PID" -j --duty 10 -i 4
	local i attached=0 detached=0
	for i in $(seq 40); do
		if [ "$(live_byte "$a_PID" rocksdb_transaction_commit)" = cc ]; then
			attached=$((attached + 1))
		else
			detached=$((detached + 1))
		fi
		sleep 0.2
	done
	stop_rdblat INT
	echo "breakpoint seen $attached times, absent $detached times"
	[ "$detached" -gt 20 ]
	[ "$(live_byte "$a_PID" rocksdb_transaction_commit)" != cc ]
}

@test "--duty: bad values are bad usage; without uprobe_multi links one line, exit 1" {
	run "$RDBLAT" -p 1 --duty 0
	failed_one_line ckb-rdblat 2 "bad --duty '0'"
	run "$RDBLAT" -p 1 --duty 100
	failed_one_line ckb-rdblat 2 "bad --duty '100'"
	run "$RDBLAT" -p 1 --duty 1 0.5
	failed_one_line ckb-rdblat 2 "under 10 ms"
	need_root
	start_dbsim a -n 0 -r 10
	CKBTRACE_NO_UPROBE_MULTI=1 run timeout 30 "$RDBLAT" -p "$a_PID" --duty 10 1 1
	failed_one_line ckb-rdblat 1 "--duty needs uprobe_multi links"
}
