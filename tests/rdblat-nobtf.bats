#!/usr/bin/env bats
# No BTF: with /sys/kernel/btf/vmlinux hidden in a private mount namespace,
# BCC still compiles against the kernel headers and the counts stay exact.

load helpers

setup() {
	need_root
	common_setup
}

teardown() {
	common_teardown
}

@test "exact counts with /sys/kernel/btf/vmlinux hidden" {
	start_dbsim a -n 700 -r 0
	start_nobtf "$TMP/r.jsonl" "$TMP/r.err" "$RDBLAT" -p "$a_PID" -j
	RDBLAT_PID=$TRACER_PID
	run_dbsim a
	stop_rdblat INT
	local op want got
	for op in TXN_GET TXN_GET_FOR_UPDATE TXN_PUT TXN_COMMIT GET WRITE; do
		# shellcheck disable=SC2086
		want=$(calls_of "$TMP/a.counts.json" ${FNS[$op]})
		got=$(interval_sum "$TMP/r.jsonl" "$op")
		echo "$op: workload $want, reported $got"
		[ "$want" -gt 0 ]
		[ "$got" = "$want" ]
	done
}
