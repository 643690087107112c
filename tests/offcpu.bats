#!/usr/bin/env bats
# ckb-offcpu against cpufix: threads block a known number of times for a
# known time in known functions (nanosleep, a pipe read, a vfork parent's
# uninterruptible wait); the tool's count for each stack is exact and its
# total within 10% of what the fixture timed around its calls.

load helpers

setup() {
	common_setup
}

teardown() {
	local rc=0
	common_teardown || rc=$?
	# the root bind of the chroot row, once its processes are gone: never
	# under $TMP, which common_teardown removes
	if [ -n "${ROOT_MNT:-}" ]; then
		umount -R "$ROOT_MNT" && rmdir "$ROOT_MNT" || rc=1
	fi
	return "$rc"
}

one_line_error() {
	failed_one_line ckb-offcpu "$@"
}

# rows of one fixture thread, state and functions in its stacks
sel() { # THREAD STATE USER_FN KERNEL_FN
	echo ".thread == \"$1\" and .state == \"$2\" and
		any(.user[]; startswith(\"$3+\")) and
		any(.kernel[]; contains(\"$4\"))"
}

@test "--help shows usage and examples; every option is in the man page" {
	run "$OFFCPU" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"-m, --min-block US"* && "$output" == *"EXAMPLES:"* ]]
	options_in_man "$OFFCPU" "$top_srcdir/man/ckb-offcpu.8" 15
}

@test "--ebpf prints the program and its integer parameters, without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$OFFCPU" --ebpf -m 1000 -M 5000 -U --stack-storage-size 64
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "// cflags: -DWANT_USER=1 -DWANT_KERNEL=0 -DSTACK_ENTRIES=64 -DMAX_ROWS=16384 -DMIN_NS=1000000ULL -DMAX_NS=5000000ULL" ]
	[[ "$output" == *"TRACEPOINT_PROBE(sched, sched_switch)"* ]]
	[[ "$output" == *"TRACEPOINT_PROBE(sched, sched_wakeup)"* ]]
}

@test "bad usage: one line, exit 2" {
	run "$OFFCPU" -m 5000 -M 1000
	one_line_error 2 "--max-block 1000 us is below --min-block 5000 us"
	run "$OFFCPU" -m 1.5
	one_line_error 2 "bad --min-block '1.5'"
	run "$OFFCPU" -U -K
	one_line_error 2 "-U and -K are exclusive"
	run "$OFFCPU" -f -j
	one_line_error 2 "-f and -j are exclusive"
	run "$OFFCPU" --stack dwarf
	one_line_error 2 "--stack dwarf cannot be done at sched_switch"
	run "$OFFCPU" --stack-storage-size 0
	one_line_error 2 "bad --stack-storage-size '0'"
	run "$OFFCPU" 0
	one_line_error 2 "bad duration '0'"
	run "$OFFCPU" -p 12ab
	one_line_error 2 "bad PID '12ab'"
}

@test "a PID that is gone, and a zombie (exit 1, one line)" {
	need_root
	local pid=$((0x3ffffff0))
	run "$OFFCPU" -p "$pid"
	one_line_error 1 "no process with PID $pid"
	sh -c 'sleep 0.2 & exec sleep 30' &
	local parent=$! child
	BGPIDS="$BGPIDS $parent"
	child=$(wait_for 5 pgrep -P "$parent" >/dev/null && pgrep -P "$parent")
	wait_for 5 grep -q '^State:.*Z' "/proc/$child/status"
	run "$OFFCPU" -p "$child"
	one_line_error 1 "process $child is a zombie"
}

@test "without tracefs: one line naming the mount (exit 1)" {
	need_root
	start_cpufix a -s 1
	# shellcheck disable=SC2016
	run unshare -m sh -c 'mount --make-rprivate /
		umount /sys/kernel/tracing 2>/dev/null
		umount /sys/kernel/debug 2>/dev/null
		exec "$0" -p "$1"' "$OFFCPU" "$a_PID"
	one_line_error 1 "tracefs is not mounted; mount it with"
}

@test "exact counts per stack and state; totals within 10% of the fixture's" {
	need_root
	start_cpufix a -s 10 -r 10 -V 10 -D 20
	start_tracer "$TMP/o.jsonl" "$TMP/o.err" "$OFFCPU" -p "$a_PID" -j
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	local got
	# nanosleep: asleep (S) in do_nanosleep, called from fix_sleep
	got=$(stack_sum "$TMP/o.jsonl" blocks "$(sel fix-sleep S fix_sleep do_nanosleep)")
	[ "$got" = 10 ]
	within 10 "$(stack_sum "$TMP/o.jsonl" total_ns "$(sel fix-sleep S fix_sleep do_nanosleep)")" \
		"$(cpufix_field a sleep_ns)"
	# a pipe read: asleep in pipe_read, called from fix_read
	got=$(stack_sum "$TMP/o.jsonl" blocks "$(sel fix-pipe S fix_read pipe_read)")
	[ "$got" = 10 ]
	within 10 "$(stack_sum "$TMP/o.jsonl" total_ns "$(sel fix-pipe S fix_read pipe_read)")" \
		"$(cpufix_field a read_ns)"
	# a vfork parent: uninterruptible (D) until the child exits
	got=$(stack_sum "$TMP/o.jsonl" blocks "$(sel fix-vfork D fix_vfork vfork)")
	[ "$got" = 10 ]
	within 10 "$(stack_sum "$TMP/o.jsonl" total_ns "$(sel fix-vfork D fix_vfork vfork)")" \
		"$(cpufix_field a vfork_ns)"
	# each row names the thread it was: the fixture's own thread ids
	jq -e -s --argjson t "$(cpufix_field a tids)" '[.[] | select(.type ==
		"stack" and (.thread | startswith("fix-")) and .thread != "fix-feed")
		| .tid == $t[.thread]] | length > 0 and all' "$TMP/o.jsonl"
	# the blocks are the fixture's 20 ms, not more; nothing was lost
	jq -e -s '[.[] | select(.type == "stack" and .thread == "fix-sleep" and
		.state == "S") | .max_ns] | max < 40000000' "$TMP/o.jsonl"
	jq -e -s '.[0].type == "start" and .[0].stack_method == "fp" and
		(.[-1] | .type == "summary" and .lost_rows == 0 and
		.lost_starts == 0 and .missed_ends == 0 and .stacks.full.user == 0 and
		.stacks.full.kernel == 0)' "$TMP/o.jsonl"
}

@test "-m and -M keep blocks by length and count the others" {
	need_root
	start_cpufix a -s 6 -D 20
	start_tracer "$TMP/m.jsonl" "$TMP/m.err" "$OFFCPU" -p "$a_PID" -j -m 15000
	local mpid=$TRACER_PID
	start_tracer "$TMP/x.jsonl" "$TMP/x.err" "$OFFCPU" -p "$a_PID" -j -M 5000
	local xpid=$TRACER_PID
	run_cpufix a
	stop_pid INT "$mpid"
	stop_pid INT "$xpid"
	[ "$(stack_sum "$TMP/m.jsonl" blocks "$(sel fix-sleep S fix_sleep do_nanosleep)")" = 6 ]
	jq -e -s '[.[] | select(.type == "stack") | .max_ns >= 15000000 and
		.total_ns >= 15000000 * .blocks] | all' "$TMP/m.jsonl"
	[ "$(stack_sum "$TMP/x.jsonl" blocks "$(sel fix-sleep S fix_sleep do_nanosleep)")" = 0 ]
	jq -e -s '.[-1].over_max >= 6 and ([.[] | select(.type == "stack") |
		.max_ns <= 5000000] | all)' "$TMP/x.jsonl"
}

@test "--thread keeps the threads whose name matches" {
	need_root
	start_cpufix a -s 3 -r 3 -D 10
	start_tracer "$TMP/t.jsonl" "$TMP/t.err" "$OFFCPU" -p "$a_PID" -j -t 'fix-s*'
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	jq -e -s '[.[] | select(.type == "stack") | .thread] | unique == ["fix-sleep"]' \
		"$TMP/t.jsonl"
	[ "$(stack_sum "$TMP/t.jsonl" blocks "$(sel fix-sleep S fix_sleep do_nanosleep)")" = 3 ]
	jq -e -s '.[-1].filtered_rows > 0' "$TMP/t.jsonl"
}

@test "-f folds thread, user and kernel frames and the state; --flame writes the page" {
	need_root
	start_cpufix a -s 8 -V 4 -D 20
	start_tracer "$TMP/f.folded" "$TMP/f.err" "$OFFCPU" -p "$a_PID" -f \
		--flame "$TMP/f.html"
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/f.folded" "$TMP/f.err"
	local line us
	line=$(grep '^fix-sleep;.*;sleep_thread (cpufix);fix_sleep (cpufix);[_a-z]*clock_nanosleep (libc\.so\.6);.*do_nanosleep_\[k\];.*;S [0-9]*$' "$TMP/f.folded")
	[ "$(echo "$line" | wc -l)" = 1 ]
	us=${line##* }
	within 10 "$us" $(( $(cpufix_field a sleep_ns) / 1000 ))
	grep -q '^fix-vfork;.*;fix_vfork (cpufix);[_a-z]*vfork (libc\.so\.6);.*_\[k\];D [0-9]*$' "$TMP/f.folded"
	# every line is a folded stack ckb-flame reads
	"$top_builddir/tools/ckb-flame" -o "$TMP/g.html" < "$TMP/f.folded"
	[ -s "$TMP/f.html" ]
	grep -q 'fix_sleep (cpufix)' "$TMP/f.html"
	grep -q 'Off-CPU time of PID' "$TMP/f.html"
}

@test "a stack map too small: the stacks it could not keep counted, said, in -v and the rows" {
	need_root
	start_cpufix a -s 10 -r 10 -V 5 -D 10
	start_tracer "$TMP/s.jsonl" "$TMP/s.err" "$OFFCPU" -p "$a_PID" -j -v \
		--stack-storage-size 2
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/s.err"
	local ufull kfull kept
	ufull=$(jq -s '.[-1].stacks.full.user' "$TMP/s.jsonl")
	kfull=$(jq -s '.[-1].stacks.full.kernel' "$TMP/s.jsonl")
	kept=$(jq -s '.[-1].stacks.kept' "$TMP/s.jsonl")
	[ "$kept" = 2 ] && [ $((ufull + kfull)) -gt 0 ]
	grep -q "^ckb-offcpu: .* blocks counted, .*; 2 stacks kept, $ufull user and $kfull kernel ones not (the stack map was full);" "$TMP/s.err"
	grep -q "^ckb-offcpu: $ufull user and $kfull kernel stacks not kept: the stack map was full (2 stacks); raise --stack-storage-size$" "$TMP/s.err"
	# the blocks are counted all the same, under a stack that says why:
	# exactly the fixture's reads, with their stacks or without
	jq -e -s 'any(.[]; .type == "stack" and (.user_missing == "stack map full" or
		.kernel_missing == "stack map full"))' "$TMP/s.jsonl"
	[ "$(stack_sum "$TMP/s.jsonl" blocks '.thread == "fix-pipe" and .state == "S" and
		(.kernel_missing == "stack map full" or any(.kernel[]; contains("pipe_read")))')" = 10 ]
}

@test "the text report: the top stacks with their frames, and the totals line" {
	need_root
	start_cpufix a -s 5 -D 20
	start_tracer "$TMP/r.out" "$TMP/r.err" "$OFFCPU" -p "$a_PID" -n 3
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/r.out"
	grep -q "^Off-CPU time of PID $a_PID (.*cpufix) over [0-9.]* s: [0-9.]* ms in [0-9]* blocks, [0-9]* stacks$" "$TMP/r.out"
	grep -q "^#[123] fix-sleep (TID $(cpufix_field a 'tids["fix-sleep"]')) S sleeping: [0-9.]* ms off CPU in 5 blocks, max [0-9.]* ms" "$TMP/r.out"
	grep -q '^    do_nanosleep$' "$TMP/r.out"
	grep -q '^    fix_sleep (cpufix)$' "$TMP/r.out"
	[ "$(grep -c '^#' "$TMP/r.out")" -le 3 ]
}

@test "the target's exit: the report still names the frames, exit 1" {
	need_root
	start_cpufix a -s 4 -D 10
	start_tracer "$TMP/e.jsonl" "$TMP/e.err" "$OFFCPU" -p "$a_PID" -j
	run_cpufix a
	kill -KILL "$a_PID"
	local rc=0
	wait "$TRACER_PID" || rc=$?
	[ "$rc" -eq 1 ]
	grep -q "process $a_PID exited; stopping" "$TMP/e.err"
	cat "$TMP/e.err" "$TMP/e.jsonl"
	[ "$(stack_sum "$TMP/e.jsonl" blocks "$(sel fix-sleep S fix_sleep do_nanosleep)")" = 4 ]
	jq -e -s '.[-1].reason == "target exited"' "$TMP/e.jsonl"
}

@test "exact counts with BTF hidden (headers of another kernel only)" {
	need_root
	start_cpufix a -s 5 -V 3 -D 10
	start_nobtf "$TMP/n.jsonl" "$TMP/n.err" "$OFFCPU" -p "$a_PID" -j
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	[ "$(stack_sum "$TMP/n.jsonl" blocks "$(sel fix-sleep S fix_sleep do_nanosleep)")" = 5 ]
	[ "$(stack_sum "$TMP/n.jsonl" blocks "$(sel fix-vfork D fix_vfork vfork)")" = 3 ]
}

# The target in a chroot, the tracer in that chroot and a mount namespace
# of its own (as in a container, or a fresh Debian in a chroot): the
# paths in /proc/PID/maps are then not ones the tracer can open, neither
# directly nor under /proc/PID/root, and the frames are named through
# /proc/PID/map_files instead.
@test "tracer and target in a chroot, the tracer in its own mount namespace: frames still named" {
	need_root
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
	ROOT_MNT=$(mktemp -d /tmp/ckbtrace-root.XXXXXX)
	mount --rbind / "$ROOT_MNT"
	mount --make-rslave "$ROOT_MNT"
	chroot "$ROOT_MNT" "$CPUFIX" -W -L -s 5 -D 10 > "$TMP/a.out" 2> "$TMP/a.err" &
	a_PID=$!
	BGPIDS="$BGPIDS $a_PID"
	wait_for 10 grep -q '^ready' "$TMP/a.out"
	# shellcheck disable=SC2016
	chroot "$ROOT_MNT" unshare -m sh -c 'mount --make-rprivate / && exec "$@"' \
		sh "$OFFCPU" -p "$a_PID" -j > "$TMP/c.jsonl" 2> "$TMP/c.err" &
	TRACER_PID=$!
	BGPIDS="$BGPIDS $TRACER_PID"
	wait_for 60 grep -q '^Tracing' "$TMP/c.err"
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/c.err"
	grep fix-sleep "$TMP/c.jsonl"
	[ "$(stack_sum "$TMP/c.jsonl" blocks "$(sel fix-sleep S fix_sleep do_nanosleep)")" = 5 ]
	jq -e -s '[.[] | select(.type == "stack" and .thread == "fix-sleep") | .user[]] |
		any(startswith("fix_sleep+") and endswith(" (cpufix)"))' \
		"$TMP/c.jsonl"
}

@test "nothing of it is left after SIGINT (exit 0)" {
	need_root
	detach_check "$OFFCPU" INT 0
}

@test "nothing of it is left after SIGTERM (exit 0)" {
	need_root
	detach_check "$OFFCPU" TERM 0
}

@test "nothing of it is left after SIGKILL" {
	need_root
	detach_check "$OFFCPU" KILL 137
}
