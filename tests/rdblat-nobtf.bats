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
	local op fns want got
	for op in TXN_GET:rocksdb_transaction_get_pinned_cf,rocksdb_transaction_get_for_update_cf \
		  TXN_PUT:rocksdb_transaction_put_cf TXN_COMMIT:rocksdb_transaction_commit \
		  GET:rocksdb_get_pinned_cf,rocksdb_get_pinned,rocksdb_get_cf WRITE:rocksdb_write; do
		fns=${op#*:}
		want=$(calls_of "$TMP/a.counts.json" ${fns//,/ })
		got=$(interval_sum "$TMP/r.jsonl" "${op%%:*}")
		echo "${op%%:*}: workload $want, reported $got"
		[ "$want" -gt 0 ]
		[ "$got" = "$want" ]
	done
}
