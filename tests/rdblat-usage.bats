#!/usr/bin/env bats
# ckb-rdblat's options and bad input: each mistake gets one line naming
# the problem and the remedy, and the documented exit status.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# one_line_error STATUS PATTERN: the last `run` failed that way.
one_line_error() {
	failed_one_line ckb-rdblat "$@"
}

@test "--help shows usage and examples and exits 0" {
	run "$RDBLAT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *USAGE:* ]]
	[[ "$output" == *EXAMPLES:* ]]
	[[ "$output" == *"-p, --pid PID"* ]]
}

@test "every option in --help is in the man page" {
	options_in_man "$RDBLAT" "$top_srcdir/man/ckb-rdblat.8" 12
}

@test "--ebpf prints the BPF program without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$RDBLAT" --ebpf -p 1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "// cflags: -DDEDUP="* ]]
	[[ "$output" == *"config.lookup(&k)"* ]]
	[[ "$output" == *"BPF_TABLE(\"lru_hash\", u32, struct start_rec, start"* ]]
	[[ "$output" == *"int e_commit(struct pt_regs *ctx)"* ]] ||
		[[ "$output" == *"ENTRY(e_commit"* ]]
}

@test "interval 0 is refused (exit 2)" {
	run "$RDBLAT" 0
	one_line_error 2 "bad interval '0'"
}

@test "interval abc is refused (exit 2)" {
	run "$RDBLAT" abc
	one_line_error 2 "bad interval 'abc'"
}

@test "-i -1 and -d x are refused (exit 2)" {
	run "$RDBLAT" -i -1
	one_line_error 2 "bad interval '-1'"
	run "$RDBLAT" -d x
	one_line_error 2 "bad duration 'x'"
}

@test "a bad count is refused (exit 2)" {
	run "$RDBLAT" 1 0
	one_line_error 2 "bad count '0'"
	run "$RDBLAT" 1 many
	one_line_error 2 "bad count 'many'"
}

@test "a bad PID is refused (exit 2)" {
	run "$RDBLAT" -p 12ab
	one_line_error 2 "bad PID '12ab'"
	run "$RDBLAT" -p 0
	one_line_error 2 "bad PID '0'"
}

@test "an unknown operation is refused (exit 2)" {
	run "$RDBLAT" -o GET,FROB
	one_line_error 2 "unknown operation 'FROB'"
}

@test "-p with -b: a file the process does not map is refused (exit 1)" {
	need_root
	sleep 60 &
	BGPIDS="$BGPIDS $!"
	run "$RDBLAT" -p "$!" -b "$DBSIM"
	one_line_error 1 "process $! does not map $DBSIM"
}

@test "not root: one line naming the privileges, exit 1" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$RDBLAT" -p 1
	one_line_error 1 "need root"
}

@test "no such PID: exit 1" {
	need_root
	local pid=4194303
	while kill -0 "$pid" 2>/dev/null; do pid=$((pid - 1)); done
	run "$RDBLAT" -p "$pid"
	one_line_error 1 "no process with PID $pid"
}

@test "a process without RocksDB: exit 1" {
	need_root
	sleep 60 &
	BGPIDS="$BGPIDS $!"
	run "$RDBLAT" -p "$!"
	one_line_error 1 "uses no RocksDB"
}

@test "a stripped binary: exit 1, says it is stripped" {
	need_root
	strip -o "$TMP/ckb-stripped" "$DBSIM"
	run "$RDBLAT" -b "$TMP/ckb-stripped"
	one_line_error 1 "no RocksDB symbols in $TMP/ckb-stripped: .symtab stripped and no debug file found; install its debug symbols"
}

@test "operations the target does not have: named, with the reason" {
	need_root
	# a C API program with gets and puts but no transactions
	printf '%s\n' 'int rocksdb_get(void) { return 1; }' \
		'int rocksdb_put(void) { return 2; }' \
		'int main(void) { return rocksdb_get() + rocksdb_put(); }' > "$TMP/kv.c"
	gcc -O0 -o "$TMP/kv" "$TMP/kv.c"
	run timeout 60 "$RDBLAT" -b "$TMP/kv" -o TXN_GET,TXN_COMMIT 1 1
	one_line_error 1 "cannot probe TXN_GET,TXN_COMMIT in $TMP/kv (C API layer): no rocksdb_transaction_get_pinned_cf defined nor 3 other entry points; see ckb-symbols $TMP/kv"
	# one of them missing among others: a warning, and the rest traced
	run timeout 60 "$RDBLAT" -b "$TMP/kv" -o GET,TXN_COMMIT 0.2 1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ckb-rdblat: warning: cannot probe TXN_COMMIT in $TMP/kv: no rocksdb_transaction_commit defined; it will not be reported" ]
	[[ "${lines[1]}" == "Tracing latency of 1 RocksDB operations "* ]]
}

@test "a non-ELF file: exit 1" {
	need_root
	printf '#!/bin/sh\nexit 0\n' > "$TMP/notelf"
	run "$RDBLAT" -b "$TMP/notelf"
	one_line_error 1 "is not an ELF file"
}

@test "a missing file: exit 1" {
	need_root
	run "$RDBLAT" -b "$TMP/nothing-here"
	one_line_error 1 "no such file $TMP/nothing-here"
}

@test "-b on an executable that links librocksdb.so follows the library" {
	need_root
	local bench=${DB_BENCH:-/usr/bin/db_bench} lib
	[ -x "$bench" ] || skip "db_bench (rocksdb-tools) not installed"
	lib=$(readlink -f "$(ldd "$bench" | awk '/librocksdb/ { print $3 }')")
	run timeout 60 "$RDBLAT" -b "$bench" -o GET 0.1 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Tracing latency of 1 RocksDB operations ("*") in every process using $lib (linked by $bench)... Hit Ctrl-C to end." ]]
}

@test "an executable whose librocksdb is not there: named, with the remedy" {
	need_root
	printf 'int rocksdb_get(void) { return 0; }\n' > "$TMP/r.c"
	printf 'int rocksdb_get(void); int main(void) { return rocksdb_get(); }\n' > "$TMP/m.c"
	gcc -shared -fPIC -o "$TMP/librocksdb.so.99" -Wl,-soname,librocksdb.so.99 "$TMP/r.c"
	gcc -o "$TMP/m" "$TMP/m.c" "$TMP/librocksdb.so.99"
	rm "$TMP/librocksdb.so.99"
	run "$RDBLAT" -b "$TMP/m"
	one_line_error 1 "$TMP/m links librocksdb.so.99, which was not found; use -b with its path, or -p PID"
}

@test "no kernel headers: one line with the remedy, exit 1" {
	need_root
	"$DBSIM" -q -n 0 -r 10 --db "$TMP/h.db" &
	BGPIDS="$BGPIDS $!"
	run unshare -m sh -c 'mount -t tmpfs none /lib/modules && mount -t tmpfs none /sys/kernel && exec "$0" -p "$1"' "$RDBLAT" "$!"
	one_line_error 1 "no kernel headers for $(uname -r)"
	[[ "$output" == *"setup-host.sh"* ]]
}

@test "no processes named ckb and no -p: exit 1 with the remedy" {
	need_root
	pgrep -x ckb >/dev/null && skip "a process named ckb is running here"
	run "$RDBLAT"
	one_line_error 1 "no process named ckb"
}
