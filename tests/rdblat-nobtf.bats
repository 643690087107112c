#!/usr/bin/env bats
# No BTF: with /sys/kernel/btf/vmlinux hidden in a private mount namespace,
# BCC still compiles against the kernel headers and the counts stay exact.

load helpers

setup() {
	need_root
	common_setup
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
}

teardown() {
	common_teardown
}

@test "exact counts with /sys/kernel/btf/vmlinux hidden" {
	start_dbsim a -n 700 -r 0
	# shellcheck disable=SC2016
	unshare -m sh -c '
		mount --make-rprivate /
		if [ -e /sys/kernel/btf/vmlinux ]; then
			mount --bind /dev/null /sys/kernel/btf/vmlinux
		fi
		[ ! -s /sys/kernel/btf/vmlinux ] || exit 99
		exec "$0" -p "$1" -j' "$RDBLAT" "$a_PID" \
		> "$TMP/r.jsonl" 2> "$TMP/r.err" &
	RDBLAT_PID=$!
	BGPIDS="$BGPIDS $RDBLAT_PID"
	wait_for 60 grep -q '^Tracing' "$TMP/r.err" || { cat "$TMP/r.err"; false; }
	[ -s /sys/kernel/btf/vmlinux ] || skip "this kernel has no BTF to hide"
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
