#!/usr/bin/env bats
# ckb-profile against cpufix's spinning thread (spin_leaf <- spin_mid <-
# spin_top <- spin_thread): at least 90% of that thread's samples are in
# spin_leaf with that caller chain, walked by frame pointers (a build with
# them) or through .eh_frame (a build without); every sample is counted,
# as the traced process's, idle or another process's.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

one_line_error() {
	failed_one_line ckb-profile "$@"
}

# The share (percent) of fix-spin's samples whose user stack starts
# spin_leaf, spin_mid, spin_top, spin_thread (in JSON FILE), and their count.
chain_pct() {
	jq -s '[.[] | select(.type == "stack" and .thread == "fix-spin")] as $r |
		($r | map(.samples) | add // 0) as $all |
		($r | map(select((.user | length) >= 4 and
			(.user[0:4] | map(sub("\\+0x[0-9a-f]+ \\(.*\\)$"; ""))) ==
			["spin_leaf", "spin_mid", "spin_top", "spin_thread"]) |
			.samples) | add // 0) as $in |
		if $all == 0 then "0 0" else "\($in * 100 / $all | floor) \($all)" end' \
		-r "$1"
}

@test "--help shows usage and examples; every option is in the man page" {
	run "$PROFILE" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"-F, --frequency HZ"* && "$output" == *"EXAMPLES:"* ]]
	options_in_man "$PROFILE" "$top_srcdir/man/ckb-profile.8" 16
}

@test "--ebpf prints the program and its integer parameters, without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$PROFILE" --ebpf -F 99 --stack fp -K
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "// cflags: -DWANT_USER=0 -DWANT_KERNEL=1 -DSTACK_ENTRIES=16384 -DMAX_ROWS=16384 -DSTACK_MODE=1" ]
	[ "${lines[1]}" = "// perf event: cpu-clock, 99 Hz, every CPU" ]
	run "$PROFILE" --ebpf --stack dwarf --stack-size 4096
	[[ "${lines[0]}" == "// cflags: -DWANT_USER=1 -DWANT_KERNEL=1 -DSTACK_ENTRIES=16384 -DMAX_ROWS=16384 -DSTACK_MODE=2 -DSTACK_BYTES=4096 -DBUFFER_PAGES="[0-9]* ]]
	[[ "$output" == *"int profile_sample(struct bpf_perf_event_data *ctx)"* ]]
}

@test "bad usage: -F 0, -F 100000 and other values, one line, exit 2" {
	run "$PROFILE" -F 0
	one_line_error 2 "bad frequency '0': want 1 to 10000 samples a second"
	run "$PROFILE" -F 100000
	one_line_error 2 "bad frequency '100000': want 1 to 10000 samples a second"
	run "$PROFILE" -F 99x
	one_line_error 2 "bad frequency '99x'"
	run "$PROFILE" --stack frames
	one_line_error 2 "bad --stack 'frames': want fp, dwarf or auto"
	run "$PROFILE" --stack dwarf --stack-size 100
	one_line_error 2 "bad --stack-size '100'"
	run "$PROFILE" --stack fp --stack-size 4096
	one_line_error 2 "--stack-size is for dwarf stacks"
	run "$PROFILE" --stack dwarf -K
	one_line_error 2 "--stack dwarf walks user stacks, which -K leaves out"
	run "$PROFILE" 5 6
	one_line_error 2 "unexpected argument '6'"
}

@test "a PID that is gone (exit 1, one line)" {
	need_root
	local pid=$((0x3ffffff0))
	run "$PROFILE" -p "$pid"
	one_line_error 1 "no process with PID $pid"
}

@test "a spinning function: >= 90% of its thread's samples, with its callers (frame pointers)" {
	need_root
	start_cpufix a -S 3000
	start_tracer "$TMP/p.jsonl" "$TMP/p.err" "$PROFILE" -p "$a_PID" -F 99 -j -v
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	grep -q '^ckb-profile: stacks: fp (auto: .*cpufix has .eh_frame; ' "$TMP/p.err"
	local pct n
	read -r pct n <<< "$(chain_pct "$TMP/p.jsonl")"
	echo "$pct% of $n samples"
	[ "$n" -ge 30 ] && [ "$pct" -ge 90 ]
	jq -e -s '.[0].stack_method == "fp" and .[-1].stack_method == "fp"' "$TMP/p.jsonl"
}

@test "a spinning function without frame pointers: --stack auto unwinds through .eh_frame" {
	need_root
	start_cpufix a -b "$CPUFIX_NOFP" -S 3000
	start_tracer "$TMP/d.jsonl" "$TMP/d.err" "$PROFILE" -p "$a_PID" -F 99 -j -v
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/d.err"
	grep -q '^ckb-profile: stacks: dwarf (auto: .*cpufix-nofp has .eh_frame; 0 of ' "$TMP/d.err"
	local pct n
	read -r pct n <<< "$(chain_pct "$TMP/d.jsonl")"
	echo "$pct% of $n samples"
	[ "$n" -ge 30 ] && [ "$pct" -ge 90 ]
	jq -e -s '.[0].stack_method == "dwarf" and .[-1].dwarf.lost == 0 and
		.[-1].dwarf.sent == .[-1].ours - .[-1].dwarf.in_kernel' "$TMP/d.jsonl"
	grep -q '^ckb-profile: stacks (dwarf): [0-9]* samples in user mode unwound, [0-9]* complete' "$TMP/d.err"
}

@test "every sample is counted: the process's, idle, other processes'; -f sums to the process's" {
	need_root
	start_cpufix a -S 2000
	start_tracer "$TMP/f.folded" "$TMP/f.err" "$PROFILE" -p "$a_PID" -F 99 -f --stack fp
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/f.err"
	local line all ours idle other folded
	line=$(grep "^ckb-profile: [0-9]* samples: [0-9]* of PID $a_PID (" "$TMP/f.err")
	read -r all ours idle other <<< "$(echo "$line" |
		sed -E 's/^ckb-profile: ([0-9]+) samples: ([0-9]+) of PID .*\), ([0-9]+) idle, ([0-9]+) of other processes$/\1 \2 \3 \4/')"
	echo "all $all ours $ours idle $idle other $other"
	[ "$all" -eq $((ours + idle + other)) ]
	folded=$(awk '{ s += $NF } END { print s + 0 }' "$TMP/f.folded")
	[ "$folded" -eq "$ours" ]
	grep -q '^fix-spin;.*;spin_thread (cpufix);spin_top (cpufix);spin_mid (cpufix);spin_leaf (cpufix) [0-9]*$' "$TMP/f.folded"
}

@test "a stack map too small: the stacks it could not keep in -v, and no sample dropped" {
	need_root
	start_cpufix a -S 2000
	start_tracer "$TMP/s.jsonl" "$TMP/s.err" "$PROFILE" -p "$a_PID" -F 199 -j -v \
		--stack fp --stack-storage-size 1
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/s.err"
	local ufull kfull
	ufull=$(jq -s '.[-1].stacks.full.user' "$TMP/s.jsonl")
	kfull=$(jq -s '.[-1].stacks.full.kernel' "$TMP/s.jsonl")
	[ "$(jq -s '.[-1].stacks.kept' "$TMP/s.jsonl")" = 1 ]
	[ $((ufull + kfull)) -gt 0 ]
	grep -q "^ckb-profile: 1 stacks kept, $ufull user and $kfull kernel ones not (the stack map was full);" "$TMP/s.err"
	grep -q "^ckb-profile: $ufull user and $kfull kernel stacks not kept: the stack map was full (1 stacks); raise --stack-storage-size$" "$TMP/s.err"
	# rows without a stack still count their samples
	jq -e -s '([.[] | select(.type == "stack") | .samples] | add) == .[-1].ours and
		any(.[]; .type == "stack" and .user_missing == "stack map full")' \
		"$TMP/s.jsonl"
}

@test "--thread and -U: only matching threads, no kernel frames" {
	need_root
	start_cpufix a -S 1500 -s 50 -D 2
	start_tracer "$TMP/t.jsonl" "$TMP/t.err" "$PROFILE" -p "$a_PID" -F 99 -j -U \
		-t 'fix-sp*' --stack fp
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	jq -e -s '[.[] | select(.type == "stack") | .thread] | unique == ["fix-spin"]' \
		"$TMP/t.jsonl"
	jq -e -s '[.[] | select(.type == "stack") | .kernel == [] and
		.kernel_missing == "not taken"] | all' "$TMP/t.jsonl"
}

@test "the text report: top functions, then the top stacks" {
	need_root
	start_cpufix a -S 1500
	start_tracer "$TMP/r.out" "$TMP/r.err" "$PROFILE" -p "$a_PID" -F 99 -n 2
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	cat "$TMP/r.out"
	grep -q "^On-CPU samples of PID $a_PID (.*cpufix) at 99 Hz over [0-9.]* s: [0-9]* samples, [0-9]* stacks$" "$TMP/r.out"
	grep -q '^ SAMPLES    PCT  FUNCTION$' "$TMP/r.out"
	grep -q '^ *[0-9]* *[0-9.]*%  spin_leaf (cpufix)$' "$TMP/r.out"
	grep -q '^#1 fix-spin: [0-9]* samples' "$TMP/r.out"
	grep -A4 '^#1 fix-spin' "$TMP/r.out" | tr -d ' ' | tr '\n' '|' |
		grep -q 'spin_leaf(cpufix)|spin_mid(cpufix)|spin_top(cpufix)|spin_thread(cpufix)|'
}

@test "Rust names demangled, v0 and legacy, in a Rust program's stacks" {
	need_root
	[ -n "${RUSTC:-}" ] && [ "$RUSTC" != no ] || skip "rustc not installed"
	cat > "$TMP/rustfix.rs" <<'EOF'
use std::time::{Duration, Instant};

#[inline(never)]
fn spin_leaf(n: u64) -> u64 {
    let mut x = 0u64;
    for i in 0..n {
        // volatile: the loop stays (std::hint::black_box needs Rust 1.66)
        unsafe { std::ptr::write_volatile(&mut x, x.wrapping_add(i)) };
    }
    x
}

#[inline(never)]
fn spin_mid(end: Instant) -> u64 {
    let mut t = 0;
    while Instant::now() < end {
        t += spin_leaf(1_000_000);
    }
    t
}

fn main() {
    println!("ready");
    let h = std::thread::Builder::new().name("rs-spin".into())
        .spawn(|| spin_mid(Instant::now() + Duration::from_millis(60000)))
        .unwrap();
    println!("{}", h.join().unwrap() % 2);
}
EOF
	local v rp
	# v0 by flag; legacy is stable rustc's default (asking for it by
	# flag is unstable)
	"$RUSTC" -O -C symbol-mangling-version=v0 -C force-frame-pointers=yes \
		-o "$TMP/rustfix-v0" "$TMP/rustfix.rs"
	"$RUSTC" -O -C force-frame-pointers=yes -o "$TMP/rustfix-legacy" \
		"$TMP/rustfix.rs"
	nm "$TMP/rustfix-v0" | grep -q ' _RNvCs[0-9A-Za-z_]*_7rustfix9spin_leaf$'
	local kinds="v0 legacy"
	if ! nm "$TMP/rustfix-legacy" | grep -q ' _ZN7rustfix9spin_leaf17h[0-9a-f]*E$'; then
		echo "# this rustc's default mangling is not legacy: v0 only" >&3
		kinds=v0
	fi
	for v in $kinds; do
		"$TMP/rustfix-$v" > "$TMP/rs.out" &
		rp=$!
		BGPIDS="$BGPIDS $rp"
		wait_for 10 grep -q '^ready' "$TMP/rs.out"
		run "$PROFILE" -p "$rp" -F 99 -f --stack fp 1.5
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"rs-spin;"*";rustfix::spin_mid (rustfix-$v);rustfix::spin_leaf (rustfix-$v) "* ]]
		kill "$rp"
	done
}

@test "the target's exit: the report still names the frames, exit 1" {
	need_root
	start_cpufix a -S 60000
	start_tracer "$TMP/e.jsonl" "$TMP/e.err" "$PROFILE" -p "$a_PID" -F 99 -j --stack fp
	run_cpufix_async a
	sleep 1.5
	kill -KILL "$a_PID"
	local rc=0
	wait "$TRACER_PID" || rc=$?
	[ "$rc" -eq 1 ]
	grep -q "process $a_PID exited; stopping" "$TMP/e.err"
	local pct n
	read -r pct n <<< "$(chain_pct "$TMP/e.jsonl")"
	echo "$pct% of $n samples"
	[ "$n" -ge 10 ] && [ "$pct" -ge 90 ]
}

@test "with BTF hidden (headers of another kernel only)" {
	need_root
	start_cpufix a -S 2000
	start_nobtf "$TMP/n.jsonl" "$TMP/n.err" "$PROFILE" -p "$a_PID" -F 99 -j --stack fp
	run_cpufix a
	stop_pid INT "$TRACER_PID"
	local pct n
	read -r pct n <<< "$(chain_pct "$TMP/n.jsonl")"
	echo "$pct% of $n samples"
	[ "$n" -ge 20 ] && [ "$pct" -ge 90 ]
}

# As on a fresh Debian with the checkout in /root (0700): the program's
# directory is one the user may not search, and it runs by a relative
# path from there.  The tool, as that user with CAP_BPF and CAP_PERFMON
# only, can open neither the path nor map_files: it opens /proc/PID/exe.
@test "its own user's program, in a directory that user may not search: frames named, fp and dwarf" {
	need_root
	local priv="$TMP/priv" caps st
	chmod 755 "$TMP"
	mkdir -m 1777 "$TMP/w"
	mkdir -m 700 "$priv"
	cp "$CPUFIX" "$priv/cpufix"
	chmod 755 "$priv/cpufix"
	caps=(setpriv --reuid=65534 --regid=65534 --clear-groups
		--inh-caps=-all,+bpf,+perfmon --ambient-caps=-all,+bpf,+perfmon)
	for st in fp dwarf; do
		rm -f "$TMP/a.out"
		(cd "$priv" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
			./cpufix -W -L -S 2000 > "$TMP/a.out" 2> "$TMP/a.err") &
		a_PID=$!
		BGPIDS="$BGPIDS $a_PID"
		wait_for 10 grep -q '^ready' "$TMP/a.out"
		! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "/proc/$a_PID/root$priv/cpufix"
		# setpriv itself executes the tool: a path under /root is found
		# while it still holds root's capabilities, as in the fault matrix
		CKBTRACE_CACHE_DIR="$TMP/w/cache" "${caps[@]}" "$PROFILE" -p "$a_PID" \
			-F 99 -j --stack "$st" > "$TMP/p.jsonl" 2> "$TMP/p.err" &
		TRACER_PID=$!
		BGPIDS="$BGPIDS $TRACER_PID"
		wait_for 60 grep -q '^Tracing' "$TMP/p.err" || {
			cat "$TMP/p.err"
			return 1
		}
		run_cpufix a
		stop_pid INT "$TRACER_PID"
		kill -USR1 "$a_PID"
		wait "$a_PID"
		local pct n
		read -r pct n <<< "$(chain_pct "$TMP/p.jsonl")"
		echo "$st: $pct% of $n samples"
		[ "$n" -ge 20 ] && [ "$pct" -ge 90 ]
	done
}

@test "nothing of it is left after SIGINT (exit 0)" {
	need_root
	detach_check "$PROFILE" INT 0 -F 99 --stack fp
}

@test "nothing of it is left after SIGTERM, with dwarf stacks (exit 0)" {
	need_root
	detach_check "$PROFILE" TERM 0 -F 99 --stack dwarf
}

@test "nothing of it is left after SIGKILL" {
	need_root
	detach_check "$PROFILE" KILL 137 -F 99
}
