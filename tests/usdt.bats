#!/usr/bin/env bats
# ckb-usdt: listing checked against readelf, counts and decoded arguments
# checked against what the usdt-node fixture says it fired, semaphores
# enabled by the tool and released at exit, Debian's python3.11 probes,
# and bad input.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# usdt_error STATUS PATTERN: the last `run` failed that way, in one line.
usdt_error() {
	failed_one_line ckb-usdt "$@"
}

# The notes as readelf -n shows them: "provider:name loc sem args", the
# addresses in decimal.
readelf_notes() {
	local prov name loc sem args
	readelf -n "$1" | awk '
		/^ *Provider:/ { p = $2 }
		/^ *Name:/ { n = $2 }
		/^ *Location:/ { l = $2; s = $6; sub(/,$/, "", l) }
		/^ *Arguments:/ { a = $0; sub(/^ *Arguments: */, "", a)
			print p ":" n, l, s, a }' |
	while read -r name loc sem args; do
		echo "$name $((loc)) $((sem)) $args"
	done | sort
}

# The same from ckb-usdt -l.
listed_notes() {
	"$CKB_USDT" -l -b "$1" | tail -n +2 |
	while read -r name loc sem args; do
		[ "$sem" = - ] && sem=0
		echo "$name $((loc)) $((sem)) $args"
	done | sort
}

# The byte at a probe location in a running PIE (0xcc while a uprobe is
# installed there, the nop 0x90 otherwise).
probe_byte() {
	local pid=$1 vaddr=$2 exe base
	exe=$(readlink "/proc/$pid/exe")
	base=$(awk -v e="$exe" '$6 == e && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' "/proc/$pid/maps")
	dd if="/proc/$pid/mem" bs=1 skip=$((0x$base + vaddr)) count=1 \
		iflag=skip_bytes status=none | od -An -t x1 | tr -d ' '
}

probe_vaddr() {
	"$CKB_USDT" -l -j -b "$1" "$2" | jq -r .location
}

# ---- usage and bad input ----

@test "--help shows usage and examples and exits 0" {
	run "$CKB_USDT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *USAGE:* ]]
	[[ "$output" == *EXAMPLES:* ]]
	[[ "$output" == *"-p, --pid PID"* ]]
	[[ "$output" == *"PROVIDER:PROBE"* ]]
}

@test "every option in --help is in the man page" {
	options_in_man "$CKB_USDT" "$top_srcdir/man/ckb-usdt.8" 10
}

@test "--ebpf prints the fixed BPF program without root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$CKB_USDT" --ebpf -a -p 42
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "// cflags: -DEVENTS=1 -DRINGBUF_PAGES="* ]]
	[[ "${lines[1]}" == "// config[0]: the traced PID, set after loading"* ]]
	[[ "$output" == *"BPF_RINGBUF_OUTPUT(events"* ]]
	[[ "$output" == *"HANDLER(63)"* ]]
}

@test "bad interval, duration and PID are refused (exit 2)" {
	run "$CKB_USDT" -b "$USDT_NODE" -i 0
	usdt_error 2 "bad interval '0'"
	run "$CKB_USDT" -b "$USDT_NODE" -i abc
	usdt_error 2 "bad interval 'abc'"
	run "$CKB_USDT" -b "$USDT_NODE" -d -1
	usdt_error 2 "bad duration '-1'"
	run "$CKB_USDT" -p 12x
	usdt_error 2 "bad PID '12x'"
}

@test "bad probe specs are refused (exit 2)" {
	run "$CKB_USDT" -b "$USDT_NODE" net:inbound_message:d,q
	usdt_error 2 "bad format in 'net:inbound_message:d,q'"
	run "$CKB_USDT" -b "$USDT_NODE" net:inbound_message:dd
	usdt_error 2 "bad format"
	run "$CKB_USDT" -b "$USDT_NODE" net::
	usdt_error 2 "bad probe 'net::'"
	run "$CKB_USDT" -b "$USDT_NODE" :inbound_message
	usdt_error 2 "bad probe ':inbound_message'"
	run "$CKB_USDT" -b "$USDT_NODE" net:inbound_message:d,d,d,d,d,d,d,d,d,d,d,d,d
	usdt_error 2 "bad format"
}

@test "no target, -p with -b, -l with -a are refused (exit 2)" {
	run "$CKB_USDT" net:inbound_message
	usdt_error 2 "no target: pass -p PID or -b PATH"
	run "$CKB_USDT" -p 1 -b /bin/true
	usdt_error 2 "exclusive"
	run "$CKB_USDT" -l -a -b /bin/true
	usdt_error 2 "exclusive"
}

@test "-l matches readelf -n: names, locations, semaphores, argument specs" {
	local want got
	want=$(readelf_notes "$USDT_NODE")
	got=$(listed_notes "$USDT_NODE")
	echo "readelf:"; echo "$want"; echo "ckb-usdt:"; echo "$got"
	[ "$(echo "$want" | wc -l)" -eq 4 ]
	[ "$got" = "$want" ]
	[[ "$got" == *"net:outbound_message "*" -4@(%rdi) 8@8(%rdi) 8@16(%rdi) 8@24(%rdi)"* ]]
}

@test "-l matches readelf -n on python3.11 (8 probes, all behind semaphores)" {
	[ -x /usr/bin/python3.11 ] || skip "python3.11 (Debian package python3) not installed"
	local want got
	want=$(readelf_notes /usr/bin/python3.11)
	got=$(listed_notes /usr/bin/python3.11)
	echo "$got"
	[ "$(echo "$want" | wc -l)" -ge 8 ]
	[ "$got" = "$want" ]
	[ "$(echo "$got" | awk '$3 == 0' | wc -l)" -eq 0 ]
}

@test "-l works without root and -j gives parsed args and file offsets" {
	# a copy nobody may read, wherever the build tree lives
	chmod 711 "$TMP"
	install -m 0644 "$USDT_NODE" "$TMP/usdt-node"
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$CKB_USDT" -l -j -b "$TMP/usdt-node"
	[ "$status" -eq 0 ]
	echo "$output" > "$TMP/l.jsonl"
	[ "$(jq -s length "$TMP/l.jsonl")" -eq 4 ]
	jq -e -s 'all(.[]; .type == "probe")' "$TMP/l.jsonl"
	# node:round: two constants, a register (the round number, fire_round's
	# first argument), a rip-relative global
	jq -e -s '.[] | select(.name == "round") | .args |
		.[0].kind == "const" and .[0].value == 70016 and .[0].size == -4 and
		.[1].value == -1 and .[2].kind == "reg" and .[2].reg == "rdi" and
		.[3].kind == "unsupported"' "$TMP/l.jsonl"
	jq -e -s '.[] | select(.name == "outbound_message") | .args[1] |
		.kind == "mem" and .reg == "rdi" and .offset == 8 and .size == 8' "$TMP/l.jsonl"
	# file offsets through the sections that hold them
	local sem off want addr fo
	sem=$(jq -r 'select(.name == "outbound_message") | .semaphore' "$TMP/l.jsonl")
	off=$(jq -r 'select(.name == "outbound_message") | .semaphore_offset' "$TMP/l.jsonl")
	read -r addr fo < <(readelf -SW "$USDT_NODE" | sed 's/^ *\[ *[0-9]*\] *//' |
		awk '$1 == ".probes" { print $3, $4 }')
	want=$((sem - 0x$addr + 0x$fo))
	echo "semaphore 0x$(printf %x "$sem") at file offset $off, sections say $want"
	[ "$off" -gt 0 ] && [ "$off" = "$want" ]
}

@test "-l with a pattern lists only the matching probes" {
	run "$CKB_USDT" -l -b "$USDT_NODE" 'net:*'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" == *net:inbound_message* ]]
	[[ "$output" == *net:outbound_message* ]]
	[[ "$output" != *validation* ]]
	run "$CKB_USDT" -l -b "$USDT_NODE" block_connected
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == validation:block_connected* ]]
}

@test "a probe the target lacks: exit 1, names the listing command" {
	run "$CKB_USDT" -l -b "$USDT_NODE" net:no_such_probe
	usdt_error 1 "no probe matches 'net:no_such_probe' in $USDT_NODE; list them with ckb-usdt -l -b"
	need_root
	run "$CKB_USDT" -b "$USDT_NODE" net:inbound_message nope:nope
	usdt_error 1 "no probe matches 'nope:nope'"
}

@test "a format longer than the probe's arguments: exit 1" {
	need_root
	run "$CKB_USDT" -a -b "$USDT_NODE" validation:block_connected:d,d,d,d,d
	usdt_error 1 "has 5 fields but validation:block_connected has 4 arguments"
}

@test "a binary without USDT notes: exit 1" {
	run "$CKB_USDT" -l -b "$FIXTURE_PIE"
	usdt_error 1 "no USDT probes in $FIXTURE_PIE (no .note.stapsdt section)"
	need_root
	run "$CKB_USDT" -b "$FIXTURE_PIE"
	usdt_error 1 "no USDT probes in"
}

@test "a non-ELF file and a missing file: exit 1" {
	printf '#!/bin/sh\nexit 0\n' > "$TMP/notelf"
	run "$CKB_USDT" -l -b "$TMP/notelf"
	usdt_error 1 "$TMP/notelf is not an ELF file"
	run "$CKB_USDT" -l -b "$TMP/nothing"
	usdt_error 1 "no such file $TMP/nothing"
}

@test "tracing without root: one line naming the privileges, exit 1" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$CKB_USDT" -b "$USDT_NODE"
	usdt_error 1 "need root"
}

@test "no such PID: exit 1" {
	need_root
	local pid=4194303
	while kill -0 "$pid" 2>/dev/null; do pid=$((pid - 1)); done
	run "$CKB_USDT" -p "$pid"
	usdt_error 1 "no process with PID $pid"
}

@test "more than 64 probe locations: exit 1" {
	need_root
	{
		echo '#include <sys/sdt.h>'
		echo 'int main(int argc, char **argv) { long x = argc; (void)argv;'
		for i in $(seq 0 64); do echo "DTRACE_PROBE1(many, p$i, x); x += $i;"; done
		echo 'return (int)(x & 1); }'
	} > "$TMP/many.c"
	cc -O2 -o "$TMP/many" "$TMP/many.c"
	[ "$("$CKB_USDT" -l -b "$TMP/many" | wc -l)" -eq 66 ]
	run "$CKB_USDT" -b "$TMP/many"
	usdt_error 1 "more than 64 probe locations selected; name fewer probes"
}

# ---- counting ----

@test "counts equal what the fixture fired, probe by probe, semaphore probe included" {
	need_root
	start_usdt_node a -m 40 -B 7
	usdt_round a 1
	round_json a 1 | jq -e '.semaphore == 0 and .fired["net:outbound_message"] == 0'
	start_usdt c -p "$a_PID" -j
	usdt_round a 2
	stop_usdt INT
	local r2 probe want got sum
	r2=$(round_json a 2)
	echo "$r2" | jq -c .fired
	echo "$r2" | jq -e '.semaphore == 1'
	for probe in net:inbound_message net:outbound_message validation:block_connected node:round; do
		want=$(echo "$r2" | jq --arg p "$probe" '.fired[$p]')
		got=$(jq -s --arg p "$probe" '[.[] | select(.type == "interval" and .probe == $p) | .count] | add // 0' "$TMP/c.out")
		sum=$(jq -s --arg p "$probe" '.[] | select(.type == "summary") | .counts[$p]' "$TMP/c.out")
		echo "$probe: fired $want, intervals $got, summary $sum"
		[ "$want" -gt 0 ]
		[ "$got" = "$want" ] && [ "$sum" = "$want" ]
	done
	jq -e -s '.[-1] | .type == "summary" and .reason == "signal" and .lost_events == 0' "$TMP/c.out"
	jq -e -s '.[0] | .type == "start" and .locations == 4' "$TMP/c.out"
}

@test "perf event uprobes (CKBTRACE_NO_UPROBE_MULTI): same counts, semaphore included" {
	need_root
	start_usdt_node a -m 8 -B 2
	CKBTRACE_NO_UPROBE_MULTI=1 start_usdt c -v -p "$a_PID" -j
	grep -q "as perf event uprobes" "$TMP/c.err"
	usdt_round a 1
	stop_usdt INT
	round_json a 1 | jq -e '.semaphore == 1'
	jq -e -s '.[-1].counts | .["net:inbound_message"] == 8 and
		.["net:outbound_message"] == 8 and
		.["validation:block_connected"] == 2 and .["node:round"] == 1' "$TMP/c.out"
	usdt_round a 2
	round_json a 2 | jq -e '.semaphore == 0 and .fired["net:outbound_message"] == 0'
}

@test "the semaphore is released and the probes removed when ckb-usdt exits" {
	need_root
	local vaddr
	start_usdt_node a -m 5 -B 1
	vaddr=$(probe_vaddr "$USDT_NODE" net:inbound_message)
	[ "$(probe_byte "$a_PID" "$vaddr")" = 90 ]
	start_usdt c -p "$a_PID"
	[ "$(probe_byte "$a_PID" "$vaddr")" = cc ]
	usdt_round a 1
	round_json a 1 | jq -e '.semaphore == 1 and .fired["net:outbound_message"] == 5'
	stop_usdt TERM
	[ "$(probe_byte "$a_PID" "$vaddr")" = 90 ]
	usdt_round a 2
	round_json a 2 | jq -e '.semaphore == 0 and .fired["net:outbound_message"] == 0'
}

@test "the table: a row per probe that fired, totals at exit" {
	need_root
	start_usdt_node a -m 12 -B 3
	start_usdt c -p "$a_PID" -i 60 'net:*'
	usdt_round a 1
	stop_usdt INT
	cat "$TMP/c.out"
	grep -qE '^PROBE +COUNT +PER/S$' "$TMP/c.out"
	grep -qE '^net:inbound_message +12 ' "$TMP/c.out"
	grep -qE '^Total over [0-9.]+ s:$' "$TMP/c.out"
	[ "$(grep -cE '^net:outbound_message +12$' "$TMP/c.out")" -eq 1 ]
	! grep -q validation "$TMP/c.out"
}

@test "-p counts only that process" {
	need_root
	start_usdt_node a -m 10 -B 2
	start_usdt_node b -m 25 -B 4
	start_usdt c -p "$a_PID" -j net:inbound_message
	usdt_round a 1
	usdt_round b 1
	stop_usdt INT
	jq -e -s '.[-1].counts["net:inbound_message"] == 10' "$TMP/c.out"
}

@test "-b counts every process running the binary, started later, semaphore included" {
	need_root
	cp "$USDT_NODE" "$TMP/node-copy"
	start_usdt c -b "$TMP/node-copy" -j
	"$TMP/node-copy" -m 6 -B 2 > "$TMP/r1.json"
	"$TMP/node-copy" -m 9 -B 1 > "$TMP/r2.json"
	stop_usdt INT
	jq -e '.semaphore == 1' "$TMP/r1.json" "$TMP/r2.json"
	jq -e -s '.[-1].counts | .["net:inbound_message"] == 15 and
		.["net:outbound_message"] == 15 and
		.["validation:block_connected"] == 3 and .["node:round"] == 2' "$TMP/c.out"
}

@test "the traced process exits: exit 1, says so, summary reason" {
	need_root
	start_usdt_node a -m 3 -B 1
	start_usdt c -p "$a_PID" -j
	usdt_round a 1
	kill -TERM "$a_PID"
	local rc=0
	timeout 20 tail --pid="$USDT_PID" -f /dev/null || true
	wait "$USDT_PID" || rc=$?
	cat "$TMP/c.err"
	[ "$rc" -eq 1 ]
	grep -q "^ckb-usdt: process $a_PID exited; stopping$" "$TMP/c.err"
	jq -e -s '.[-1] | .reason == "target exited" and .counts["net:inbound_message"] == 3' "$TMP/c.out"
}

@test "-d ends the run with exit 0" {
	need_root
	start_usdt_node a
	local rc=0
	timeout 60 "$CKB_USDT" -p "$a_PID" -j -d 0.5 > "$TMP/d.out" 2> "$TMP/d.err" || rc=$?
	[ "$rc" -eq 0 ]
	jq -e -s '.[-1] | .type == "summary" and .reason == "duration"' "$TMP/d.out"
}

# ---- arguments ----

@test "-a -j decodes every argument exactly: ints, strings, constants" {
	need_root
	start_usdt_node a -m 30 -B 6
	start_usdt c -p "$a_PID" -a -j net:inbound_message:d,s,s,d \
		net:outbound_message:d,s,s node:round 'validation:*'
	usdt_round a 1
	stop_usdt INT
	jq -s -c '[.[] | select(.type == "event" and .probe != "node:round") |
		[.probe, .args]]' "$TMP/c.out" > "$TMP/got.json"
	round_json a 1 | jq -c '[.events[] | [.probe,
		[.args[] | if type == "string" then .[0:63] else . end]]]' > "$TMP/want.json"
	jq length "$TMP/want.json"
	[ "$(jq length "$TMP/want.json")" -eq 66 ]
	diff "$TMP/want.json" "$TMP/got.json"
	# the long message type is cut at 63 bytes
	jq -e -s '[.[] | select(.type == "event") | .args[2] | select(type == "string" and length == 63)] | length == 12' "$TMP/c.out"
	# $70016, $-1, a register, and the rip-relative one unavailable
	jq -e -s -c '.[] | select(.probe == "node:round") | .args == [70016, -1, 1, null]' "$TMP/c.out"
	jq -e -s '.[-1] | .type == "summary" and .lost_events == 0 and .counts["net:inbound_message"] == 30'  "$TMP/c.out"
}

@test "-a prints one line per firing with quoted strings" {
	need_root
	start_usdt_node a -m 3 -B 1
	start_usdt c -p "$a_PID" -a net:inbound_message:d,s,s,x validation:block_connected
	usdt_round a 1
	stop_usdt INT
	cat "$TMP/c.out"
	grep -qE '^TIME +PID +TID +PROBE +ARGS$' "$TMP/c.out"
	grep -qE "^[0-9:]{8} +$a_PID +$a_PID +net:inbound_message +1 \"10\.0\.0\.1:8333\" \"version\" 0x18$" "$TMP/c.out"
	grep -qE "^[0-9:]{8} +$a_PID +$a_PID +net:inbound_message +3 \"10\.0\.0\.3:8333\" \"ping\" 0x32$" "$TMP/c.out"
	grep -qE "^[0-9:]{8} +$a_PID +$a_PID +validation:block_connected +1 1 1000000 -1$" "$TMP/c.out"
}

# ---- python3.11 ----

# A script that waits for SIGUSR1, then calls ckb_usdt_marker N times;
# with "profile", under a no-op profiler (Python 3.11 fires function__entry
# only while a profiler, a tracer or its line probe is active: cpython
# issue 98894).
write_py() {
	cat > "$TMP/calls.py" <<EOF
import os, signal, sys
n = int(sys.argv[1])
def ckb_usdt_marker(i):
    return i + 1
def noop(frame, event, arg):
    pass
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
print("ready", os.getpid(), flush=True)
signal.sigwait({signal.SIGUSR1})
if sys.argv[2] == "profile":
    sys.setprofile(noop)
total = 0
for i in range(n):
    total += ckb_usdt_marker(i)
sys.setprofile(None)
print("done", total, flush=True)
signal.sigwait({signal.SIGUSR1})
EOF
}

# py_run N MODE ARGS...: run calls.py under ckb-usdt -p PID -j ARGS; the
# JSON lines end up in $TMP/py.out.
py_run() {
	local n=$1 mode=$2 pid
	shift 2
	rm -f "$TMP/calls.out"
	/usr/bin/python3.11 "$TMP/calls.py" "$n" "$mode" > "$TMP/calls.out" &
	pid=$!
	BGPIDS="$BGPIDS $pid"
	wait_for 20 grep -q '^ready' "$TMP/calls.out"
	# attach only once it sleeps in sigwait (rt_sigtimedwait, 128), so
	# that no Python code of its start-up runs under the probes
	wait_for 20 grep -q '^128 ' "/proc/$pid/syscall"
	start_usdt py -p "$pid" -j "$@"
	kill -USR1 "$pid"
	wait_for 60 grep -q '^done' "$TMP/calls.out"
	stop_usdt INT
	kill -USR1 "$pid"
}

py_count() {
	jq -s --arg p "$1" '.[-1].counts[$p]' "$TMP/py.out"
}

@test "python3.11: ckb-usdt -p PID python:function__entry counts every call" {
	need_root
	[ -x /usr/bin/python3.11 ] || skip "python3.11 (Debian package python3) not installed"
	write_py
	py_run 0 profile python:function__entry
	[ "$(py_count python:function__entry)" -eq 0 ]
	py_run 777 profile python:function__entry
	[ "$(py_count python:function__entry)" -eq 777 ]
}

@test "python3.11: function__entry with the line probe counts N plus a constant" {
	# without a profiler, 3.11 fires function__entry only with its line probe
	need_root
	[ -x /usr/bin/python3.11 ] || skip "python3.11 (Debian package python3) not installed"
	write_py
	local base n500
	py_run 0 plain python:function__entry python:line
	base=$(py_count python:function__entry)
	py_run 500 plain python:function__entry python:line
	n500=$(py_count python:function__entry)
	echo "0 calls: $base entries; 500 calls: $n500 entries"
	[ "$((n500 - base))" -eq 500 ]
}

@test "python3.11: -a decodes the function name, file and line of each entry" {
	need_root
	[ -x /usr/bin/python3.11 ] || skip "python3.11 (Debian package python3) not installed"
	write_py
	local line
	line=$(grep -n '^def ckb_usdt_marker' "$TMP/calls.py" | cut -d: -f1)
	py_run 300 profile -a python:function__entry:s,s,d
	jq -e -s --arg f "$TMP/calls.py" --argjson l "$line" '
		[.[] | select(.type == "event" and .args[1] == "ckb_usdt_marker")] |
		length == 300 and all(.[]; .args[0] == $f and .args[2] == $l)' "$TMP/py.out"
	jq -e -s '.[-1].lost_events == 0' "$TMP/py.out"
}

@test "-p reads the notes of every object the process maps: libstdcxx:throw in libstdc++, counted exactly" {
	need_root
	[ -x "${CXX_THROW:-}" ] || skip "tests/fixtures/cxx-throw not built"
	local lib n=2500
	lib=$(ldd "$CXX_THROW" | awk '/libstdc\+\+/ { print $3 }')
	readelf -n "$lib" | grep -q 'Name: throw' ||
		skip "$lib has no libstdcxx USDT probes"
	"$CXX_THROW" "$n" > "$TMP/x.out" &
	BGPIDS="$BGPIDS $!"
	local pid=$!
	wait_for 10 grep -q '^ready' "$TMP/x.out"
	# the executable has no probes of its own
	! readelf -n "$CXX_THROW" | grep -q stapsdt
	run "$CKB_USDT" -l -p "$pid"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$(realpath "$lib"):"* ]]
	[[ "$output" == *"libstdcxx:throw "* ]]
	start_usdt c -p "$pid" -j libstdcxx:throw libstdcxx:catch
	kill -USR1 "$pid"
	wait_for 30 grep -q '"throws"' "$TMP/x.out"
	stop_usdt INT
	cat "$TMP/x.out"
	jq -e -s --argjson n "$n" '.[-1].counts["libstdcxx:throw"] == $n and
		.[-1].counts["libstdcxx:catch"] == $n' "$TMP/c.out"
}
