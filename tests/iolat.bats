#!/usr/bin/env bats
# ckb-iolat against iofix: a thread of a known name makes a known number of
# fsync, pwrite64 and pread64 calls of a known size on a known file; the
# counts and bytes reported per thread and per file equal the fixture's.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# one_line_error STATUS PATTERN
one_line_error() {
	failed_one_line ckb-iolat "$@"
}

@test "--help shows usage and examples; every option is in the man page" {
	run "$IOLAT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"-p, --pid PID"* && "$output" == *"EXAMPLES:"* ]]
	options_in_man "$IOLAT" "$top_srcdir/man/ckb-iolat.8" 12
}

@test "--ebpf prints the program and its integer parameters, without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$IOLAT" --ebpf -F -s fsync,pwrite64
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "// cflags: -DBY_FILE=1 -DREPORT_MASK=17" ]
	[[ "$output" == *"TRACEPOINT_PROBE(syscalls, sys_enter_openat)"* ]]
}

@test "bad usage: unknown syscall, bad interval, bad PID (exit 2)" {
	run "$IOLAT" -s fsync,frobnicate
	one_line_error 2 "unknown syscall 'frobnicate'"
	run "$IOLAT" -i 0
	one_line_error 2 "bad interval '0'"
	run "$IOLAT" -p 12ab
	one_line_error 2 "bad PID '12ab'"
}

@test "a PID that does not exist, and a zombie without threads (exit 1)" {
	need_root
	local pid=$((0x3ffffff0))
	run "$IOLAT" -p "$pid"
	one_line_error 1 "no process with PID $pid"
	# a child that exited and was not reaped: no threads are left
	sh -c 'sleep 0.2 & exec sleep 30' &
	local parent=$! child
	BGPIDS="$BGPIDS $parent"
	child=$(wait_for 5 pgrep -P "$parent" >/dev/null && pgrep -P "$parent")
	wait_for 5 grep -q '^State:.*Z' "/proc/$child/status"
	run "$IOLAT" -p "$child"
	one_line_error 1 "process $child is a zombie"
}

@test "without tracefs: one line naming the mount that is missing (exit 1)" {
	need_root
	start_iofix a -s 1 "$TMP/f"
	# shellcheck disable=SC2016
	run unshare -m sh -c 'mount --make-rprivate /
		umount /sys/kernel/tracing 2>/dev/null
		umount /sys/kernel/debug 2>/dev/null
		exec "$0" -p "$1"' "$IOLAT" "$a_PID"
	one_line_error 1 "tracefs is not mounted; mount it with"
}

@test "per thread: exact fsync, pwrite64, pread64 counts and bytes of the named thread" {
	need_root
	start_iofix a -t iolat-t1 -s 7 -w 13 -r 11 -k 8192 "$TMP/data"
	start_tracer "$TMP/i.jsonl" "$TMP/i.err" "$IOLAT" -p "$a_PID" -j
	run_iofix a
	stop_pid INT "$TRACER_PID"
	local sel='.thread == "iolat-t1"' want got
	for sc in fsync pwrite64 pread64; do
		want=$(iofix_count a "$sc")
		got=$(rows_sum "$TMP/i.jsonl" count "$sel and .syscall == \"$sc\"")
		echo "$sc: fixture $want, reported $got"
		[ "$want" -gt 0 ] && [ "$got" = "$want" ]
	done
	got=$(rows_sum "$TMP/i.jsonl" bytes "$sel and .syscall == \"pwrite64\"")
	[ "$got" = $((13 * 8192)) ]
	got=$(rows_sum "$TMP/i.jsonl" bytes "$sel and .syscall == \"pread64\"")
	[ "$got" = $((11 * 8192)) ]
	# the summary agrees with the intervals, and nothing was lost
	jq -e -s '.[-1] | .type == "summary" and .counts.fsync >= 7 and
		.lost_keys == 0 and .lost_buckets == 0 and .lost_starts == 0' "$TMP/i.jsonl"
}

@test "per file (-F): exact counts on the file, and a reused fd number is another file" {
	need_root
	start_iofix a -s 3 -w 5 -r 4 -R 2 "$TMP/data"
	start_tracer "$TMP/i.jsonl" "$TMP/i.err" "$IOLAT" -p "$a_PID" -F -j
	run_iofix a
	stop_pid INT "$TRACER_PID"
	local f="$TMP/data"
	[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$f\" and .syscall == \"fsync\"")" = 3 ]
	[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$f\" and .syscall == \"pwrite64\"")" = 5 ]
	[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$f\" and .syscall == \"pread64\"")" = 4 ]
	[ "$(rows_sum "$TMP/i.jsonl" bytes ".file == \"$f\" and .syscall == \"pwrite64\"")" = $((5 * 4096)) ]
	# the fixture closed the file and opened data.1 then data.2 on the
	# same fd number: one pwrite64 each, and the close goes to the file
	# it closed
	[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$f\" and .syscall == \"close\"")" = 1 ]
	for n in 1 2; do
		[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$f.$n\" and .syscall == \"pwrite64\"")" = 1 ]
		[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$f.$n\" and .syscall == \"openat\"")" = 1 ]
		[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$f.$n\" and .syscall == \"close\"")" = 1 ]
	done
}

@test "-F names a file opened before the tool started" {
	need_root
	start_iofix a -w 2 "$TMP/data"
	start_tracer "$TMP/i.jsonl" "$TMP/i.err" "$IOLAT" -p "$a_PID" -F -j -v
	# stdout of the fixture is $TMP/a.out, open since before the tool
	grep -q "is $TMP/a.out" "$TMP/i.err"
	run_iofix a
	stop_pid INT "$TRACER_PID"
	[ "$(rows_sum "$TMP/i.jsonl" count ".file == \"$TMP/a.out\" and .syscall == \"write\"")" -ge 1 ]
}

@test "-s keeps only the syscalls asked for; -H histograms hold every call" {
	need_root
	start_iofix a -t iolat-t2 -s 4 -S 6 -w 9 "$TMP/data"
	start_tracer "$TMP/i.jsonl" "$TMP/i.err" "$IOLAT" -p "$a_PID" -j -H -s fsync,fdatasync
	run_iofix a
	stop_pid INT "$TRACER_PID"
	jq -e -s '[.[] | select(.type == "interval") | .syscall] | unique ==
		["fdatasync", "fsync"]' "$TMP/i.jsonl"
	[ "$(rows_sum "$TMP/i.jsonl" count '.thread == "iolat-t2" and .syscall == "fdatasync"')" = 6 ]
	local inbuckets
	inbuckets=$(jq -s '[.[] | select(.type == "hist" and .thread == "iolat-t2" and
		.syscall == "fsync") | .buckets[][2]] | add' "$TMP/i.jsonl")
	[ "$inbuckets" = 4 ]
}

@test "the table: a row for the thread and syscall, SIGINT exits 0" {
	need_root
	start_iofix a -t iolat-t3 -s 2 "$TMP/data"
	start_tracer "$TMP/i.out" "$TMP/i.err" "$IOLAT" -p "$a_PID" 0.2
	run_iofix a
	wait_for 10 grep -q '^iolat-t3 *fsync ' "$TMP/i.out"
	stop_pid INT "$TRACER_PID"
	grep -q '^THREAD *SYSCALL *COUNT *OPS/S *AVG *P50 *P99 *MAX *BYTES$' "$TMP/i.out"
	[ "$(awk '$1 == "iolat-t3" && $2 == "fsync" { n += $3 } END { print n }' "$TMP/i.out")" = 2 ]
}

@test "the target's exit ends the tool with status 1 and one line" {
	need_root
	start_iofix a -s 1 "$TMP/data"
	start_tracer "$TMP/i.out" "$TMP/i.err" "$IOLAT" -p "$a_PID"
	kill -KILL "$a_PID"
	local rc=0
	wait "$TRACER_PID" || rc=$?
	[ "$rc" -eq 1 ]
	grep -q "process $a_PID exited; stopping" "$TMP/i.err"
}

@test "exact counts with BTF hidden (headers of another kernel only)" {
	need_root
	start_iofix a -t iolat-t4 -s 5 -w 3 "$TMP/data"
	start_nobtf "$TMP/i.jsonl" "$TMP/i.err" "$IOLAT" -p "$a_PID" -j
	run_iofix a
	stop_pid INT "$TRACER_PID"
	[ "$(rows_sum "$TMP/i.jsonl" count '.thread == "iolat-t4" and .syscall == "fsync"')" = 5 ]
	[ "$(rows_sum "$TMP/i.jsonl" count '.thread == "iolat-t4" and .syscall == "pwrite64"')" = 3 ]
}
