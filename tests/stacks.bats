#!/usr/bin/env bats
# ckb-slowops -U: user stacks through frame pointers (fp) and through CFI
# (dwarf), against fixtures whose call chain is known:
# main -> outer -> middle -> inner -> rocksdb_get_pinned_cf.  Every event
# carries its stack, or a reason for having none that the summary counts.

load helpers

SLOWOPS="${top_builddir:?}/tools/ckb-slowops"
FIX="${STACKCHAIN_DIR:-$top_builddir/tests/fixtures}"
CHAIN='["inner","middle","outer","main"]'

setup() {
	common_setup
	[ -x "$FIX/stackchain-nofp" ] || skip "tests/fixtures/stackchain-* not built (make check builds them)"
}

teardown() {
	common_teardown
}

# start_chain NAME BINARY ARGS...: a stackchain that waits for SIGUSR1;
# sets NAME_PID.
start_chain() {
	local name=$1 bin=$2
	shift 2
	"$bin" --db "$TMP/$name.db" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 30 grep -q '^ready' "$TMP/$name.out"
}

# run_chain NAME: make its gets and wait for its counts.
run_chain() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 60 grep -q '"gets"' "$TMP/$1.out"
}

chain_gets() {
	grep '"gets"' "$TMP/$1.out" | jq .gets
}

# start_slowops OUT ARGS...: ckb-slowops in the background until attached.
start_slowops() {
	local out=$1
	shift
	start_tracer "$TMP/$out.out" "$TMP/$out.err" "$SLOWOPS" "$@" &&
		SLOW_PID=$TRACER_PID
}

# The function names of each event's stack, one JSON array per line.
stack_names() {
	jq -c 'select(.type == "event") | [.stack[] | split(" (")[0] | split("+")[0]]' "$1"
}

# events_with_chain FILE: events whose first four frames are the chain.
events_with_chain() {
	jq -c --argjson chain "$CHAIN" 'select(.type == "event" and
		([.stack[] | split("+")[0]] | .[0:4]) == $chain and
		.stack_end == "ok")' "$1" | wc -l
}

summary_field() {
	jq -c "select(.type == \"summary\") | $2" "$1"
}

@test "no frame pointers, auto: dwarf, and all four fixture frames in order for every slow event" {
	need_root
	start_chain c "$FIX/stackchain-nofp" -n 5 --slow-ms 30
	start_slowops j -p "$c_PID" -o GET -m 20 -U -j -v
	local jpid=$SLOW_PID
	start_slowops p -p "$c_PID" -o GET -m 20 -U -j --perf-buffer
	local ppid=$SLOW_PID
	start_slowops f -p "$c_PID" -o GET -m 20 -f
	local fpid=$SLOW_PID
	run_chain c
	stop_pid INT "$jpid"
	stop_pid INT "$ppid"
	stop_pid INT "$fpid"
	stack_names "$TMP/j.out"
	cat "$TMP/f.out"
	[ "$(chain_gets c)" = 5 ]
	[ "$(jq -c 'select(.type == "event")' "$TMP/j.out" | wc -l)" = 5 ]
	[ "$(events_with_chain "$TMP/j.out")" = 5 ]
	# past main: libc, then _start, where the CFI ends the stack
	[ "$(jq -c 'select(.type == "event" and (.stack[-1] | startswith("_start+")))' "$TMP/j.out" | wc -l)" = 5 ]
	[ "$(summary_field "$TMP/j.out" .stack_method)" = '"dwarf"' ]
	[ "$(summary_field "$TMP/j.out" .stacks.ok)" = 5 ]
	grep -q '^ckb-slowops: stacks: dwarf (auto: .*stackchain-nofp has .eh_frame; ' "$TMP/j.err"
	grep -q '^ckb-slowops: stacks (dwarf): 5 complete$' "$TMP/j.err"
	# the same through per-CPU perf buffers
	[ "$(events_with_chain "$TMP/p.out")" = 5 ]
	# folded: one stack, outermost first, the chain before the operation
	[ "$(wc -l < "$TMP/f.out")" = 1 ]
	grep -Eq '^stackchain-nofp;_start[^;]*;.*;main[^;]*;outer[^;]*;middle[^;]*;inner[^;]*;GET [0-9]+$' "$TMP/f.out"
	[ "$(awk '{ print $NF }' "$TMP/f.out")" -ge 150000 ]
}

@test "the frame-pointer build gives the same frames with --stack fp, and auto picks fp for it" {
	need_root
	start_chain c "$FIX/stackchain-fp" -n 5 --slow-ms 30
	start_slowops j -p "$c_PID" -o GET -m 20 -U -j --stack fp
	local jpid=$SLOW_PID
	start_slowops a -p "$c_PID" -o GET -m 20 -U -j -v
	local apid=$SLOW_PID
	run_chain c
	stop_pid INT "$jpid"
	stop_pid INT "$apid"
	stack_names "$TMP/j.out"
	[ "$(chain_gets c)" = 5 ]
	[ "$(jq -c 'select(.type == "event")' "$TMP/j.out" | wc -l)" = 5 ]
	[ "$(events_with_chain "$TMP/j.out")" = 5 ]
	[ "$(summary_field "$TMP/j.out" .stack_method)" = '"fp"' ]
	[ "$(events_with_chain "$TMP/a.out")" = 5 ]
	grep -q '^ckb-slowops: stacks: fp (auto: .*stackchain-fp has .eh_frame; ' "$TMP/a.err"
}

# dbsim_frames FILE: the ckb-dbsim frames of each event up to main,
# suffixes dropped (slow_op.constprop.0 -> slow_op), one JSON array per
# line.  (Past main, the frame-pointer walk stops in libc, which keeps
# none; the CFI goes on to _start.)
dbsim_frames() {
	jq -c 'select(.type == "event") | [.stack[] | select(test("\\(ckb-dbsim(-nofp)?\\)$")) |
		split(" ")[0] | split("+")[0] | split(".")[0]] | .[0:(index("main") + 1)]' "$1"
}

@test "ckb-dbsim without frame pointers (dwarf) gives the frames ckb-dbsim with them gives under --stack fp" {
	need_root
	DBSIM="$FIX/ckb-dbsim-nofp" start_dbsim n -n 30 -r 0 --slow 3 --slow-ms 30
	start_slowops n -p "$n_PID" -o GET -m 25 -U -j
	local npid=$SLOW_PID
	start_dbsim f -n 30 -r 0 --slow 3 --slow-ms 30
	start_slowops f -p "$f_PID" -o GET -m 25 -U -j --stack fp
	local fpid=$SLOW_PID
	run_dbsim n
	run_dbsim f
	stop_pid INT "$npid"
	stop_pid INT "$fpid"
	dbsim_frames "$TMP/n.out"
	dbsim_frames "$TMP/f.out"
	[ "$(summary_field "$TMP/n.out" .stack_method)" = '"dwarf"' ]
	[ "$(summary_field "$TMP/f.out" .stack_method)" = '"fp"' ]
	[ "$(dbsim_frames "$TMP/n.out" | wc -l)" = 3 ]
	[ "$(dbsim_frames "$TMP/f.out" | wc -l)" = 3 ]
	# the same chain from both, every time: slow_op first, main last
	[ "$(dbsim_frames "$TMP/n.out" | sort -u)" = "$(dbsim_frames "$TMP/f.out" | sort -u)" ]
	[ "$(dbsim_frames "$TMP/n.out" | sort -u | wc -l)" = 1 ]
	dbsim_frames "$TMP/n.out" | head -n1 | jq -e '.[0] == "slow_op" and .[-1] == "main" and length >= 2'
}

# Issue 7, item 11: one stack id shared by queued events was deleted
# after the first read, and the others came out with "stack":[].
@test "500 gets through one call chain, queued faster than read: 500 events, each with the chain (fp)" {
	need_root
	start_chain c "$FIX/stackchain-fp" -n 500 --slow-ms 0
	start_slowops j -U -j -v -p "$c_PID" 0
	run_chain c
	stop_pid INT "$SLOW_PID"
	[ "$(chain_gets c)" = 500 ]
	grep -q '^ckb-slowops: stacks: fp (auto: ' "$TMP/j.err"
	[ "$(jq -c 'select(.type == "event" and .op == "GET")' "$TMP/j.out" | wc -l)" = 500 ]
	[ "$(events_with_chain "$TMP/j.out")" = 500 ]
	[ "$(jq -c 'select(.type == "event" and (.stack | length) == 0)' "$TMP/j.out" | wc -l)" = 0 ]
	[ "$(summary_field "$TMP/j.out" .lost)" = 0 ]
	local events
	events=$(summary_field "$TMP/j.out" .events)
	[ "$(summary_field "$TMP/j.out" .stacks.ok)" = "$events" ]
}

@test "500 gets through one call chain, dwarf: every delivered event has the chain, the rest are counted lost" {
	need_root
	start_chain c "$FIX/stackchain-nofp" -n 500 --slow-ms 0
	start_slowops j -U -j -p "$c_PID" -o GET 0
	run_chain c
	stop_pid INT "$SLOW_PID"
	local events lost
	events=$(summary_field "$TMP/j.out" .events)
	lost=$(summary_field "$TMP/j.out" .lost)
	echo "$events events, $lost lost"
	[ "$(chain_gets c)" = 500 ]
	[ $((events + lost)) = 500 ]
	[ "$(events_with_chain "$TMP/j.out")" = "$events" ]
	[ "$(summary_field "$TMP/j.out" .stacks.ok)" = "$events" ]
}

@test "a stack deeper than the copy: each event says truncated, the summary counts it; --stack-size 32768 gets it whole" {
	need_root
	start_chain c "$FIX/stackchain-nofp" -n 4 --slow-ms 30 --deep 16
	start_slowops j -p "$c_PID" -o GET -m 20 -U -j
	local jpid=$SLOW_PID
	start_slowops t -p "$c_PID" -o GET -m 20 -U
	local tpid=$SLOW_PID
	start_slowops w -p "$c_PID" -o GET -m 20 -U -j --stack-size 32768
	local wpid=$SLOW_PID
	run_chain c
	stop_pid INT "$jpid"
	stop_pid INT "$tpid"
	stop_pid INT "$wpid"
	[ "$(chain_gets c)" = 4 ]
	# 16 frames of 1 KiB between middle and inner: 8 KiB reach inner and
	# some of them, not main
	[ "$(jq -c 'select(.type == "event" and .stack_end == "truncated" and
		(.stack[0] | startswith("inner+")) and (.stack[1] | startswith("deep+")) and
		([.stack[] | select(startswith("main+"))] | length) == 0)' "$TMP/j.out" | wc -l)" = 4 ]
	[ "$(summary_field "$TMP/j.out" .stacks.truncated)" = 4 ]
	[ "$(summary_field "$TMP/j.out" .stacks.ok)" = 0 ]
	grep -q '^ckb-slowops: stacks (dwarf): 0 complete, 4 truncated (deeper than the 8192-byte copy)$' "$TMP/j.err"
	grep -q '^ckb-slowops: 4 stacks were deeper than the 8192 bytes copied; raise --stack-size$' "$TMP/j.err"
	[ "$(grep -c '^        \[truncated: deeper than the 8192-byte copy\]$' "$TMP/t.out")" = 4 ]
	# 32 KiB: inner, 16 deep frames, middle, outer, main
	[ "$(jq -c 'select(.type == "event" and .stack_end == "ok") |
		[.stack[] | split("+")[0]] | select(.[0] == "inner" and
		([.[1:17][] | select(. == "deep")] | length) == 16 and .[17:20] == ["middle","outer","main"])' \
		"$TMP/w.out" | wc -l)" = 4 ]
	[ "$(summary_field "$TMP/w.out" .stack_bytes)" = 32768 ]
}

@test "a binary without CFI: auto falls back to fp and says so; --stack dwarf counts no_cfi for every event" {
	need_root
	command -v objcopy > /dev/null || skip "objcopy (binutils) not installed"
	objcopy --strip-debug --remove-section=.eh_frame \
		--remove-section=.eh_frame_hdr "$FIX/stackchain-dyn" "$TMP/stackchain-nocfi"
	! readelf -S "$TMP/stackchain-nocfi" | grep -q 'eh_frame\|debug_frame'
	start_chain c "$TMP/stackchain-nocfi" -n 3 --slow-ms 30
	start_slowops j -p "$c_PID" -o GET -m 20 -U -j --stack dwarf
	local jpid=$SLOW_PID
	start_slowops a -p "$c_PID" -o GET -m 20 -U -j -v
	local apid=$SLOW_PID
	run_chain c
	stop_pid INT "$jpid"
	stop_pid INT "$apid"
	[ "$(chain_gets c)" = 3 ]
	# the first frame is named, and nothing is made up past it
	[ "$(jq -c 'select(.type == "event" and .stack_end == "no_cfi" and
		(.stack | length) == 1 and (.stack[0] | startswith("inner+")))' "$TMP/j.out" | wc -l)" = 3 ]
	[ "$(summary_field "$TMP/j.out" .stacks.no_cfi)" = 3 ]
	grep -q '^ckb-slowops: stacks (dwarf): 0 complete, 3 no_cfi (code without CFI)$' "$TMP/j.err"
	grep -q '^ckb-slowops: stacks: fp (auto: .*stackchain-nocfi has no CFI; ' "$TMP/a.err"
	[ "$(summary_field "$TMP/a.out" .stack_method)" = '"fp"' ]
}

@test "a frame in anonymous (JIT) memory: counted as anon, never a crash" {
	need_root
	start_chain c "$FIX/stackchain-nofp" -n 3 --slow-ms 30 --jit
	start_slowops j -p "$c_PID" -o GET -m 20 -U -j
	run_chain c
	stop_pid INT "$SLOW_PID"
	[ "$(chain_gets c)" = 3 ]
	[ "$(jq -c 'select(.type == "event" and .stack_end == "anon" and
		.stack == ["[unknown] ([anon])"])' "$TMP/j.out" | wc -l)" = 3 ]
	[ "$(summary_field "$TMP/j.out" .stacks.anon)" = 3 ]
	grep -q '^ckb-slowops: stacks (dwarf): 0 complete, 3 anon (code in anonymous memory (JIT))$' "$TMP/j.err"
}

# unmapped_case MODE-ARGS...: the tracer is stopped while the fixture
# maps the plugin, makes its gets through it and dlclose()s it; then the
# tracer goes on.
unmapped_case() {
	start_chain c "$FIX/stackchain-nofp" -n 3 --slow-ms 30 --plugin "$FIX/stackplugin.so"
	start_slowops j -p "$c_PID" -o GET -m 20 -U -j "$@"
	kill -STOP "$SLOW_PID"
	run_chain c
	! grep -q stackplugin.so "/proc/$c_PID/maps"
	kill -CONT "$SLOW_PID"
	sleep 0.5
	stop_pid INT "$SLOW_PID"
	cat "$TMP/j.err"
	[ "$(chain_gets c)" = 3 ]
	grep '"plugin_closed":true' "$TMP/c.out"
	[ "$(jq -c 'select(.type == "event" and .stack_end == "unmapped" and
		.stack == ["[unknown] (?)"])' "$TMP/j.out" | wc -l)" = 3 ]
	[ "$(summary_field "$TMP/j.out" .stacks.unmapped)" = 3 ]
	grep -q ', 3 unmapped (code unmapped before unwinding)$' "$TMP/j.err"
}

@test "a library unmapped between the sample and the unwind: counted as unmapped (dwarf)" {
	need_root
	unmapped_case --stack dwarf
}

@test "a library unmapped between the sample and the unwind: counted as unmapped (fp)" {
	need_root
	unmapped_case --stack fp
}

bad_usage() {
	run "$SLOWOPS" "$@"
	failed_one_line ckb-slowops 2
}

@test "a bad --stack or --stack-size is refused (exit 2)" {
	bad_usage -p 1 -U --stack lbr
	[[ "$output" == *"bad --stack 'lbr': want fp, dwarf or auto"* ]]
	bad_usage -p 1 -U --stack-size 100
	[[ "$output" == *"bad --stack-size '100'"* ]]
	bad_usage -p 1 -U --stack-size 4099
	bad_usage -p 1 -U --stack-size 65536
}

@test "--ebpf with --stack dwarf: the stack copy's size as an integer parameter, without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$SLOWOPS" --ebpf -U --stack dwarf --stack-size 4096
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"-DBUFFER_PAGES=512 -DSTACK_MODE=2 -DSTACK_BYTES=4096 "* ]]
	[[ "$output" == *"bpf_probe_read_user(r->tail, STACK_BYTES"* ]]
}
