#!/usr/bin/env bats
# ckb-disklat against a loop device the test makes: iofix writes a known
# number of requests of a known size with O_DIRECT, O_DSYNC, or buffered
# then fsync, and the rows per RWBS class count exactly those.

load helpers

setup() {
	common_setup
	LOOP=""
}

teardown() {
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
	common_teardown
}

one_line_error() {
	failed_one_line ckb-disklat "$@"
}

# make_loop: a 64 MiB loop device over a file in $TMP, in $LOOP.
make_loop() {
	need_root
	command -v losetup >/dev/null || skip "losetup (util-linux) not installed"
	truncate -s 64M "$TMP/disk.img"
	LOOP=$(losetup -f --show "$TMP/disk.img") ||
		skip "cannot make a loop device here"
}

# trace_loop OUT ARGS...: ckb-disklat on $LOOP, JSON lines to $TMP/OUT.
trace_loop() {
	local out=$1
	shift
	start_tracer "$TMP/$out.jsonl" "$TMP/$out.err" "$DISKLAT" -d "$LOOP" -j "$@"
}

# class_sum FILE FIELD RWBS: FIELD summed over the device-time rows of
# one RWBS class.
class_sum() {
	rows_sum "$1" "$2" ".rwbs == \"$3\" and (.time // \"device\") == \"device\""
}

@test "--help shows usage and examples; every option is in the man page" {
	run "$DISKLAT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"-d, --device NAME"* && "$output" == *"EXAMPLES:"* ]]
	options_in_man "$DISKLAT" "$top_srcdir/man/ckb-disklat.8" 12
}

@test "--ebpf prints the program and its integer parameters, without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$DISKLAT" --ebpf -Q -c
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "// cflags: -DDEV=0 -DQUEUE=1 -DBY_COMM=1" ]
	[[ "$output" == *"TRACEPOINT_PROBE(block, block_rq_complete)"* ]]
}

@test "bad usage: an unknown device, a bad interval (exit 2)" {
	run "$DISKLAT" -d nosuchdisk0
	one_line_error 2 "no block device 'nosuchdisk0'; lsblk lists them"
	run "$DISKLAT" -d ../sda
	one_line_error 2 "bad device '../sda'"
	run "$DISKLAT" 0
	one_line_error 2 "bad interval '0'"
}

@test "a PID that does not exist (exit 1)" {
	need_root
	local pid=$((0x3ffffff0))
	run "$DISKLAT" -p "$pid"
	one_line_error 1 "no process with PID $pid"
}

@test "without tracefs: one line naming the mount that is missing (exit 1)" {
	need_root
	# shellcheck disable=SC2016
	run unshare -m sh -c 'mount --make-rprivate /
		umount /sys/kernel/tracing 2>/dev/null
		umount /sys/kernel/debug 2>/dev/null
		exec "$0"' "$DISKLAT"
	one_line_error 1 "tracefs is not mounted; mount it with"
}

@test "O_DIRECT: exactly N requests of K bytes, and nothing left over" {
	make_loop
	start_iofix a -w 9 -k 65536 -o d "$LOOP"
	trace_loop d
	run_iofix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/d.jsonl"
	# direct I/O is a sync write
	[ "$(class_sum "$TMP/d.jsonl" count WS)" = 9 ]
	[ "$(class_sum "$TMP/d.jsonl" bytes WS)" = $((9 * 65536)) ]
	jq -e -s '[.[] | select(.type == "interval") | .rwbs] | unique == ["WS"]' "$TMP/d.jsonl"
	jq -e -s '.[-1] | .type == "summary" and .requests == 9 and
		.in_flight_at_exit == 0 and .lost_untracked == 0' "$TMP/d.jsonl"
}

@test "O_DSYNC buffered writes: each a sync write (WS) and a flush (FF)" {
	make_loop
	start_iofix a -w 5 -k 8192 -o s "$LOOP"
	trace_loop s
	run_iofix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/s.jsonl"
	[ "$(class_sum "$TMP/s.jsonl" count WS)" = 5 ]
	[ "$(class_sum "$TMP/s.jsonl" bytes WS)" = $((5 * 8192)) ]
	[ "$(class_sum "$TMP/s.jsonl" count FF)" = 5 ]
}

@test "fsync after buffered writes: the writes and one flush" {
	make_loop
	start_iofix a -b 3 -k 4096 "$LOOP"
	trace_loop b
	run_iofix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/b.jsonl"
	[ "$(rows_sum "$TMP/b.jsonl" bytes '(.rwbs | startswith("W"))')" = $((3 * 4096)) ]
	[ "$(class_sum "$TMP/b.jsonl" count FF)" = 1 ]
}

@test "-Q times the queue apart; -c names the issuing task; -p keeps its own requests" {
	make_loop
	start_iofix a -w 4 -k 4096 -o d "$LOOP"
	trace_loop q -Q -c -p "$a_PID"
	run_iofix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/q.jsonl"
	[ "$(rows_sum "$TMP/q.jsonl" count '.rwbs == "WS" and .time == "device" and .comm == "iofix-worker"')" = 4 ]
	# the queue rows are the same requests, when they went through a queue
	[ "$(rows_sum "$TMP/q.jsonl" count '.time == "queue"')" -le 4 ]
	jq -e -s '.[0] | .type == "start" and .queue and .comm' "$TMP/q.jsonl"
}

@test "-p: requests of another process are not counted" {
	make_loop
	start_iofix a -w 3 -k 4096 -o d "$LOOP"
	start_iofix b -w 6 -k 4096 -o d "$LOOP"
	trace_loop p -p "$a_PID"
	run_iofix a
	run_iofix b
	stop_pid INT "$TRACER_PID"
	[ "$(class_sum "$TMP/p.jsonl" count WS)" = 3 ]
}

@test "the table and -H histograms: every request in a bucket" {
	make_loop
	start_iofix a -w 7 -k 4096 -o d "$LOOP"
	start_tracer "$TMP/t.out" "$TMP/t.err" "$DISKLAT" -d "$LOOP" -H 0.5
	run_iofix a
	wait_for 10 grep -q "^$(basename "$LOOP") *WS " "$TMP/t.out"
	stop_pid INT "$TRACER_PID"
	grep -q '^DEVICE *RWBS *COUNT *OPS/S *AVG *P50 *P99 *MAX *BYTES$' "$TMP/t.out"
	[ "$(awk -v d="$(basename "$LOOP")" '$1 == d && $2 == "WS" { n += $3 } END { print n }' "$TMP/t.out")" = 7 ]
	grep -q "^$(basename "$LOOP") WS latency (us):" "$TMP/t.out"
}

@test "exact counts with BTF hidden (headers of another kernel only)" {
	make_loop
	start_iofix a -w 5 -k 4096 -o d "$LOOP"
	start_nobtf "$TMP/n.jsonl" "$TMP/n.err" "$DISKLAT" -d "$LOOP" -j
	run_iofix a
	stop_pid INT "$TRACER_PID"
	[ "$(class_sum "$TMP/n.jsonl" count WS)" = 5 ]
}
