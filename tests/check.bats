#!/usr/bin/env bats
# ckb-check on this host: every requirement passes, and each one taken
# away (tracefs, kernel headers, privileges) turns into a FAIL line with
# its remedy; --fix mounts tracefs; --probe sees a live workload.

load helpers

CHECK="$top_builddir/tools/ckb-check"
SYMBOLS="$top_builddir/tools/ckb-symbols"

setup() {
	common_setup
	cp "$DBSIM" "$TMP/dbsim"
	BIN="$TMP/dbsim"
}

teardown() {
	common_teardown
}

need_unshare() {
	need_root
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
}

# in_ns CMD...: CMD in a private mount namespace where tracefs is mounted,
# whatever the host's state.
in_ns() {
	# shellcheck disable=SC2016
	unshare -m sh -c '
		mount --make-rprivate /
		grep -q " /sys/kernel/tracing .* - tracefs " /proc/self/mountinfo ||
			mount -t tracefs nodev /sys/kernel/tracing || exit 99
		exec "$@"' sh "$@"
}

# no_tracefs CMD...: CMD in a private mount namespace without tracefs.
no_tracefs() {
	# shellcheck disable=SC2016
	unshare -m sh -c '
		mount --make-rprivate /
		umount /sys/kernel/tracing 2>/dev/null
		! grep -q " /sys/kernel/tracing .* - tracefs " /proc/self/mountinfo || exit 99
		exec "$@"' sh "$@"
}

# config_of OPTION: "OPTION=y" or "OPTION is not set", as ckb-check quotes it.
config_of() {
	local v
	v=$(zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null) || true
	grep -m1 -E "^$1=" <<< "$v" || echo "$1 is not set"
}

config_src() {
	if [ -r /proc/config.gz ]; then
		echo /proc/config.gz
	elif [ -r "/boot/config-$(uname -r)" ]; then
		echo "/boot/config-$(uname -r)"
	fi
}

# The headers line for this machine, built from /lib/modules like
# ckb-check reads it.
headers_line() {
	local r mod where="" d rel
	r=$(uname -r)
	mod=/lib/modules/$r
	for d in build source; do
		[ -e "$mod/$d" ] || continue
		if [ -z "$where" ]; then where="$mod/$d"; else where="$where, $d"; fi
		[ -L "$mod/$d" ] && where="$where -> $(readlink "$mod/$d")"
	done
	rel=$(sed -nE 's/.*UTS_RELEASE "([^"]*)".*/\1/p' "$mod"/build/include/generated/utsrelease.h \
		"$mod"/source/include/generated/utsrelease.h 2>/dev/null | head -n1)
	if [ -z "$where" ]; then
		echo "PASS  headers      in-kernel headers (/sys/kernel/kheaders.tar.xz)"
	elif [ -z "$rel" ]; then
		echo "PASS  headers      $where (version unknown)"
	elif [ "$rel" = "$r" ]; then
		echo "PASS  headers      matching: $where"
	else
		echo "PASS  headers      fallback: headers of $rel for kernel $r ($where); enough, the programs read no kernel structures"
	fi
}

# RLIMIT_MEMLOCK as ckb-check prints it: "unlimited", "64.0K", "8.0M", "512".
memlock_text() {
	local kb
	kb=$(ulimit -l)
	if [ "$kb" = unlimited ]; then
		echo unlimited
		return
	fi
	awk -v b=$((kb * 1024)) 'BEGIN {
		if (b < 1024) { print b; exit }
		for (v = b; v >= 1024 && i < 6; i++) v /= 1024
		printf(v < 10 ? "%.1f%s\n" : "%.0f%s\n", v, substr("KMGTPE", i, 1)) }'
}

# line_of NAME: the output line of one check.
line_of() {
	grep -E "^[A-Z]{4}  $1 " <<< "$output"
}

@test "--help shows usage and examples and exits 0" {
	run "$CHECK" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *USAGE:* ]]
	[[ "$output" == *EXAMPLES:* ]]
	[[ "$output" == *"--probe"* ]]
	[[ "$output" == *"Exit status:"* ]]
}

@test "every option in --help is in the man page" {
	options_in_man "$CHECK" "$top_srcdir/man/ckb-check.8" 7
}

@test "on this machine every requirement passes: the exact lines, exit 0" {
	need_unshare
	[ -e /sys/kernel/kheaders.tar.xz ] || [ -e "/lib/modules/$(uname -r)/build" ] ||
		skip "no kernel headers here; run contrib/setup-host.sh"
	local src sites kp btf
	src=$(config_src)
	sites=$("$SYMBOLS" -j "$BIN" | jq '[.catalog[] | select(.probed) | .sites | length] | add')
	if [ -e /sys/bus/event_source/devices/kprobe ]; then
		kp="available; not used: the tools need only uprobes and tracepoints"
	else
		kp="not available; not needed: the tools use only uprobes and tracepoints"
	fi
	if [ -e /sys/kernel/btf/vmlinux ]; then btf="/sys/kernel/btf/vmlinux present"; else btf="no /sys/kernel/btf/vmlinux"; fi
	run in_ns "$CHECK" -b "$BIN"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 15 ]
	[ "$(line_of kernel)" = "PASS  kernel       Linux $(uname -r) x86_64 (config: ${src:-none found, features probed directly})" ]
	if [ -n "$src" ]; then
		[ "$(line_of bpf)" = "PASS  bpf          bpf(2) system call present ($(config_of CONFIG_BPF_SYSCALL))" ]
		[ "$(line_of uprobes)" = "PASS  uprobes      uprobe PMU at /sys/bus/event_source/devices/uprobe ($(config_of CONFIG_UPROBE_EVENTS))" ]
		[ "$(line_of tracepoints)" = "PASS  tracepoints  tracepoint PMU at /sys/bus/event_source/devices/tracepoint ($(config_of CONFIG_TRACEPOINTS))" ]
		[ "$(line_of perf)" = "PASS  perf         perf events present; perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid) does not limit root or CAP_PERFMON ($(config_of CONFIG_PERF_EVENTS))" ]
		[ "$(line_of kprobes)" = "INFO  kprobes      $kp ($(config_of CONFIG_KPROBES))" ]
	fi
	[ "$(line_of jit)" = "PASS  jit          BPF JIT enabled (net.core.bpf_jit_enable=$(cat /proc/sys/net/core/bpf_jit_enable))" ]
	[ "$(line_of btf)" = "INFO  btf          $btf; not needed: the programs compile against kernel headers and read no kernel structures" ]
	[ "$(line_of headers)" = "$(headers_line)" ]
	[ "$(line_of tracefs)" = "PASS  tracefs      mounted on /sys/kernel/tracing" ]
	[ "$(line_of privileges)" = "PASS  privileges   root" ]
	[ "$(line_of memlock)" = "INFO  memlock      RLIMIT_MEMLOCK $(memlock_text); not used for BPF memory since Linux 5.11 (memory cgroup accounting)" ]
	[[ "$(line_of libbcc)" =~ ^"PASS  libbcc       compiled and loaded a test program with a map in "[0-9]+\.[0-9]" s"$ ]]
	[ "$(line_of target)" = "PASS  target       $BIN (every process using it)" ]
	[ "$(line_of symbols)" = "PASS  symbols      5/5 core operations resolved (C API, $sites probe sites in 1 file)" ]
	! grep -qE '^(FAIL|WARN) ' <<< "$output"
}

@test "-j: JSON lines, one per check and a summary that counts them" {
	need_unshare
	run in_ns "$CHECK" -j -b "$BIN"
	[ "$status" -eq 0 ]
	local n
	n=$(jq -c 'select(.type == "check")' <<< "$output" | wc -l)
	[ "$n" -eq 15 ]
	[ "$(jq -c 'select(type == "object" and (.type | type) == "string")' <<< "$output" | wc -l)" -eq "${#lines[@]}" ]
	[ "$(jq -r 'select(.type == "summary") | .pass + .warn + .fail + .info' <<< "$output")" -eq "$n" ]
	[ "$(jq -r 'select(.type == "summary") | .fail' <<< "$output")" -eq 0 ]
	[ "$(jq -r 'select(.name == "tracefs") | .status + " " + .detail' <<< "$output")" = "PASS mounted on /sys/kernel/tracing" ]
	[ "$(jq -r 'select(.name == "privileges") | .remedy' <<< "$output")" = null ]
}

@test "tracefs unmounted: FAIL with the mount command, exit 1" {
	need_unshare
	run no_tracefs "$CHECK" -b "$BIN"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(line_of tracefs)" = "FAIL  tracefs      not mounted on /sys/kernel/tracing (tracepoint tools need it); mount -t tracefs nodev /sys/kernel/tracing (or run ckb-check --fix)" ]
	[ "$(grep -c '^FAIL ' <<< "$output")" -eq 1 ]
}

@test "--fix mounts tracefs (in a private mount namespace), exit 0" {
	need_unshare
	local before
	before=$(grep -c ' /sys/kernel/tracing .* - tracefs ' /proc/self/mountinfo || true)
	# shellcheck disable=SC2016
	run no_tracefs sh -c '"$0" --fix -b "$1"; echo "exit $?"; test -d /sys/kernel/tracing/events && echo "events present"' "$CHECK" "$BIN"
	echo "$output"
	[ "$(line_of tracefs)" = "PASS  tracefs      mounted on /sys/kernel/tracing (by --fix)" ]
	[ "${lines[-2]}" = "exit 0" ]
	[ "${lines[-1]}" = "events present" ]
	[ "$(grep -c ' /sys/kernel/tracing .* - tracefs ' /proc/self/mountinfo || true)" = "$before" ]
}

@test "kernel headers hidden: FAIL for headers and libbcc with the remedy, exit 1" {
	need_unshare
	[ ! -e /sys/kernel/kheaders.tar.xz ] || skip "this kernel has in-kernel headers (CONFIG_IKHEADERS) that cannot be hidden"
	run in_ns sh -c 'mount -t tmpfs none /lib/modules && exec "$0" -b "$1"' "$CHECK" "$BIN"
	echo "$output"
	[ "$status" -eq 1 ]
	local r
	r=$(uname -r)
	[ "$(line_of headers)" = "FAIL  headers      no kernel headers for $r in /lib/modules/$r/build; run contrib/setup-host.sh (links Debian's linux-headers-amd64) or install this kernel's headers" ]
	[ "$(line_of libbcc)" = "FAIL  libbcc       cannot compile without kernel headers; install kernel headers (see headers)" ]
	[ "$(grep -c '^FAIL ' <<< "$output")" -eq 2 ]
}

@test "not root: privileges FAIL, libbcc still compiles, exit 1" {
	need_root
	chmod 755 "$TMP"
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$CHECK" -b "$BIN"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(line_of privileges)" = "FAIL  privileges   uid 65534 without CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN: cannot load BPF programs; run with sudo" ]
	if [ -e "/lib/modules/$(uname -r)/build" ]; then
		[[ "$(line_of libbcc)" =~ ^"PASS  libbcc       compiled a test program in "[0-9.]+" s (not loaded: needs the privileges above)"$ ]]
	fi
	[ "$(line_of symbols | cut -c1-4)" = PASS ]
}

@test "--probe: ckb-rdblat sees a running workload, and nothing stays attached" {
	need_unshare
	"$BIN" -q -n 0 -r 100 --db "$TMP/p.db" > /dev/null 2>&1 &
	BGPIDS="$BGPIDS $!"
	local pid=$!
	wait_for 30 test -d "$TMP/p.db"
	sleep 0.5
	run in_ns timeout 300 "$CHECK" -p "$pid" --probe -j
	echo "$output" | jq -c 'select(.name == "probe" or .name == "detach" or .type == "summary")'
	[ "$status" -eq 0 ]
	local count detail
	count=$(jq -r 'select(.name == "probe") | .count' <<< "$output")
	detail=$(jq -r 'select(.name == "probe") | .detail' <<< "$output")
	[ "$(jq -r 'select(.name == "probe") | .status' <<< "$output")" = PASS ]
	[ "$count" -gt 0 ]
	[[ "$detail" =~ ^"ckb-rdblat attached "[0-9]+" probes and saw $count operations in 2 s: " ]]
	[[ "$detail" == *"TXN_COMMIT "[1-9]* ]]
	local sites
	sites=$("$SYMBOLS" -j -p "$pid" | jq '[.catalog[] | select(.probed) | .sites | length] | add')
	[ "$(jq -r 'select(.name == "detach") | .status + " " + .detail' <<< "$output")" = \
	  "PASS nothing left attached: all $sites probe sites in PID $pid match the file, uprobe_events names none" ]
	[ "$(live_byte "$pid" rocksdb_transaction_commit)" != cc ]
	kill -0 "$pid"
}

@test "--probe on an idle process: WARN, no operations, exit 0 when nothing else fails" {
	need_unshare
	start_dbsim a -n 10
	run in_ns timeout 300 "$CHECK" -p "$a_PID" --probe
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$(line_of probe)" =~ ^"WARN  probe        ckb-rdblat attached "[0-9]+" probes and saw no RocksDB operations in 2 s; probe again while the node is busy"$ ]]
	[[ "$(line_of detach)" == "PASS  detach       nothing left attached: all "*" probe sites in PID $a_PID match the file, uprobe_events names none" ]]
}

@test "target and symbol failures name the remedy, exit 1" {
	need_unshare
	local pid=4194303
	while kill -0 "$pid" 2>/dev/null; do pid=$((pid - 1)); done
	run in_ns "$CHECK" -p "$pid"
	[ "$status" -eq 1 ]
	[ "$(line_of target)" = "FAIL  target       no process with PID $pid; check it with pgrep -x ckb" ]
	[ -z "$(line_of symbols)" ]
	run in_ns "$CHECK" -b "$TMP/nothing-here"
	[ "$status" -eq 1 ]
	[ "$(line_of target)" = "FAIL  target       no such file $TMP/nothing-here; pass the node executable or its librocksdb.so" ]
	printf '#!/bin/sh\n' > "$TMP/notelf"
	run in_ns "$CHECK" -b "$TMP/notelf"
	[ "$status" -eq 1 ]
	[ "$(line_of symbols)" = "FAIL  symbols      $TMP/notelf is not an ELF file; pass the node executable or librocksdb.so" ]
	strip -o "$TMP/stripped" "$BIN"
	run in_ns "$CHECK" -b "$TMP/stripped"
	[ "$status" -eq 1 ]
	[ "$(line_of symbols)" = "FAIL  symbols      no RocksDB symbols in $TMP/stripped: .symtab stripped and no debug file found; install its debug symbols, or use a build that keeps .symtab" ]
	# an executable whose librocksdb is not where the dynamic linker looks
	printf 'int rocksdb_get(void) { return 0; }\n' > "$TMP/r.c"
	printf 'int rocksdb_get(void); int main(void) { return rocksdb_get(); }\n' > "$TMP/m.c"
	gcc -shared -fPIC -o "$TMP/librocksdb.so.99" -Wl,-soname,librocksdb.so.99 "$TMP/r.c"
	gcc -o "$TMP/m" "$TMP/m.c" "$TMP/librocksdb.so.99"
	rm "$TMP/librocksdb.so.99"
	run in_ns "$CHECK" -b "$TMP/m"
	[ "$status" -eq 1 ]
	[ "$(line_of symbols)" = "FAIL  symbols      $TMP/m links librocksdb.so.99, which was not found; use -b with its path, or -p PID" ]
	run in_ns "$CHECK" --probe -b "$TMP/stripped"
	[ "$(line_of probe)" = "FAIL  probe        nothing to probe: no target with RocksDB symbols; pass -p PID or -b PATH of a RocksDB program" ]
}

@test "no target given: the one process named ckb, WARN when there is none" {
	need_unshare
	if ! pgrep -x ckb >/dev/null; then
		run in_ns "$CHECK"
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(line_of target)" = "WARN  target       no process named ckb; start the node, or pass -p PID or -b PATH" ]
		[ -z "$(line_of symbols)" ]
	fi
	cp "$BIN" "$TMP/ckb"
	DBSIM="$TMP/ckb" start_dbsim a -n 10
	run in_ns "$CHECK"
	echo "$output"
	[ "$status" -eq 0 ]
	# the path as the kernel names it: under a chroot it carries the
	# chroot's own prefix
	[[ "$(line_of target)" == "PASS  target       PID $a_PID ("*"$TMP/ckb)" ]]
	[[ "$(line_of symbols)" == "PASS  symbols      5/5 core operations resolved (C API, "* ]]
	DBSIM="$TMP/ckb" start_dbsim b -n 10
	run in_ns "$CHECK"
	[ "$status" -eq 1 ]
	[[ "$(line_of target)" == "FAIL  target       2 processes named ckb (PIDs "*"); pick one with -p PID" ]]
	[[ "$(line_of target)" == *" $a_PID"* && "$(line_of target)" == *" $b_PID"* ]]
}

@test "bad usage (exit 2)" {
	run "$CHECK" -p 1 -b /bin/true
	[ "$status" -eq 2 ]
	[ "$output" = "ckb-check: -p and -b are exclusive; see ckb-check --help" ]
	run "$CHECK" -p x
	[ "$status" -eq 2 ]
	[ "$output" = "ckb-check: bad PID 'x': want a process id; see ckb-check --help" ]
	run "$CHECK" extra
	[ "$status" -eq 2 ]
	[ "$output" = "ckb-check: unexpected argument 'extra'; see ckb-check --help" ]
	run "$CHECK" --frob
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "ckb-check: see ckb-check --help" ]
}
