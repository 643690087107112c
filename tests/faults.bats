#!/usr/bin/env bats
# The fault matrix: one row per fault, run for one tool (FAULT_TOOL; the
# table of tools is in tests/faults.bash).  In every row the tool ends
# within a bounded time with the documented status and at most one line
# naming the problem and its remedy, its -j output parses line by line to
# the end, and afterwards nothing of its run is left: no process, no BPF
# program, link or map it held, no uprobe_events line on the target, no
# breakpoint in the target's code.  Where the tool traces, it reports
# exactly what the target says it did.

load helpers
load faults

# One compile cache for the whole suite: warm after the first row.
setup_file() {
	FT_CACHE=$(mktemp -d /tmp/ckbtrace-faults.XXXXXX)
	export FT_CACHE
}

teardown_file() {
	rm -rf "$FT_CACHE"
}

setup() {
	fault_setup
}

teardown() {
	fault_teardown
}

# traced_run PREFIX...: trace target a under PREFIX (a command), make it
# work, stop the tool with SIGINT: exit 0, exact counts, quiet, clean.
traced_run() {
	FT_PREFIX=("$@")
	ft target a
	ft_trace t a
	ft work a
	ft_signal t INT 60
	echo "status $FT_RC"
	cat "$TMP/t.err"
	[ "$FT_RC" = 0 ]
	ft_exact t a
	ft_json t
	ft_quiet t
	ft_clean t a
}

# refused PATTERN PREFIX...: the tool under PREFIX on target a exits 1
# with one line containing PATTERN, and leaves nothing.
refused() {
	local pattern=$1 args
	shift
	FT_PREFIX=("$@")
	ft target a
	mapfile -t args < <(ft args "$a_PID")
	ft_run t 60 "${args[@]}"
	ft_one_line t 1 "$pattern"
	ft_json t
	ft_clean t a
}

# compiling OUT: the tool, with a cache of its own that is empty, started
# on target a; returns once its compiler process runs.
compiling() {
	local args
	export CKBTRACE_CACHE_DIR="$FT_WORK/cold"
	mapfile -t args < <(ft args "$a_PID")
	ft_spawn "$1" "${args[@]}"
	local pid
	eval "pid=\$${1}_PID"
	wait_for 30 pgrep -P "$pid" >/dev/null
}

# ---- the target ----

@test "target SIGKILLed mid-trace: exit 1, one line, nothing left" {
	ft target a
	ft_trace t a
	kill -USR1 "$a_PID"
	sleep 0.2
	kill -KILL "$a_PID"
	ft_exit t 30
	ft_one_line t 1 "process $a_PID exited; stopping"
	ft_json t
	ft_clean t a
}

@test "target exits normally: exact counts, exit 1, one line" {
	ft target a
	ft_trace t a
	ft work a
	ft finish a
	ft_exit t 30
	ft_one_line t 1 "process $a_PID exited; stopping"
	ft_exact t a
	ft_json t
	ft_clean t a
}

@test "target exec()s another program: exact counts, exit 1, one line" {
	FT_EXEC="exec sleep 120"
	ft target a
	ft_trace t a
	ft work a
	wait_for 10 sh -c "readlink /proc/$a_PID/exe | grep -q sleep"
	ft_exit t 30
	ft_one_line t 1 "process $a_PID now runs"
	ft_exact t a
	ft_json t
	ft_clean t a
}

@test "target has 1000 threads, each making a traced call: exact counts" {
	FT_THREADS=1000
	traced_run
}

@test "target in a mount namespace of its own, binary only in /proc/PID/root: exact counts" {
	FT_NS=1
	traced_run
}

# ---- the tracer ----

@test "tracer SIGKILLed while attached: nothing left, and a new run starts clean" {
	ft target a
	ft_trace t a
	kill -USR1 "$a_PID"
	kill -KILL "$t_PID"
	ft_exit t 30
	[ "$FT_RC" = 137 ]
	ft_clean t a
	ft target b
	ft_trace u b
	ft work b
	ft_signal u INT 60
	[ "$FT_RC" = 0 ]
	ft_exact u b
	ft_json u
	ft_quiet u
	ft_clean u b
}

@test "tracer SIGKILLed while compiling: the compiler goes too, and a new run starts clean" {
	ft target a
	compiling t
	kill -KILL "$t_PID"
	ft_exit t 30
	[ "$FT_RC" = 137 ]
	ft_clean t a
	! ls -A "$CKBTRACE_CACHE_DIR" 2>/dev/null | grep -v '\.bpf$' || false
	ft_trace u a
	ft work a
	ft_signal u INT 60
	[ "$FT_RC" = 0 ]
	ft_exact u a
	ft_json u
	ft_quiet u
	ft_clean u a
}

# stopped_compiling SIG: SIG during the compile ends the tool with 0.
stopped_compiling() {
	ft target a
	compiling t
	kill "-$1" "$t_PID"
	ft_exit t 60
	cat "$TMP/t.err"
	[ "$FT_RC" = 0 ]
	ft_json t
	ft_quiet t
	ft_clean t a
}

@test "SIGINT during the compile: exit 0, nothing left" {
	stopped_compiling INT
}

@test "SIGTERM during the compile: exit 0, nothing left" {
	stopped_compiling TERM
}

@test "SIGHUP during the compile: exit 0, nothing left" {
	stopped_compiling HUP
}

@test "stdout a pipe closed after one line (| head -1), target working: exit 0, quiet" {
	mkfifo "$TMP/pipe"
	head -1 < "$TMP/pipe" > "$TMP/head.out" &
	BGPIDS="$BGPIDS $!"
	FT_STDOUT="$TMP/pipe"
	ft target a
	ft_trace t a
	ft work a
	ft_exit t 30
	[ "$FT_RC" = 0 ]
	ft_quiet t
	[ "$(wc -l < "$TMP/head.out")" = 1 ]
	jq -e 'type == "object"' "$TMP/head.out"
	ft_clean t a
}

@test "stdout a pipe nobody reads any more, target idle: exit 0, quiet" {
	mkfifo "$TMP/pipe"
	true < "$TMP/pipe" &
	BGPIDS="$BGPIDS $!"
	FT_STDOUT="$TMP/pipe"
	ft target a
	local args
	mapfile -t args < <(ft args "$a_PID")
	ft_run t 30 "${args[@]}"
	[ "$FT_RC" = 0 ]
	ft_quiet t
	ft_clean t a
}

@test "stdout /dev/full: exit 1, one line" {
	FT_STDOUT=/dev/full
	ft target a
	ft_trace t a
	ft work a
	ft_exit t 30
	ft_one_line t 1 "No space left on device"
	ft_clean t a
}

# The tracers write to stdout: a file on a full file system behind it.
@test "stdout redirected to a file on a full file system: exit 1, one line" {
	mkdir "$TMP/full"
	# shellcheck disable=SC2016
	FT_PREFIX=(unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=64k ft-full "$0" || exit 99
		dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null
		exec "$@" > "$0/out"' "$TMP/full")
	ft target a
	ft_trace t a
	ft work a
	ft_exit t 30
	ft_one_line t 1 "No space left on device"
	ft_clean t a
}

# outfile_spawn PREFIX...: the tool with its output file option naming
# $TMP/out/page.html, under PREFIX (which makes $TMP/out a file system
# that fails), on target a.
outfile_spawn() {
	local opt args
	opt=$(ft_var OUTFILE)
	[ -n "$opt" ] || skip "$TOOL_NAME writes no file (it has no -o FILE)"
	mkdir "$TMP/out"
	FT_PREFIX=("$@")
	ft target a
	mapfile -t args < <(ft args "$a_PID")
	# shellcheck disable=SC2086
	ft_spawn t $opt "$TMP/out/page.html" "${args[@]}"
}

@test "its output file (-o FILE) on a read-only file system: exit 1 at once, one line" {
	# shellcheck disable=SC2016
	outfile_spawn unshare -m --propagation private sh -c '
		mount -t tmpfs -o ro,size=64k ft-ro "$0" || exit 99
		exec "$@"' "$TMP/out"
	ft_exit t 60
	ft_one_line t 1 "Read-only file system"
	ft_clean t a
}

@test "its output file (-o FILE) on a full file system: exit 1, one line, no partial file" {
	# shellcheck disable=SC2016
	outfile_spawn unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=64k ft-full "$0" || exit 99
		dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null
		(sleep 600 & echo $! > "$0.keeper")
		exec "$@"' "$TMP/out"
	ft_attached t
	# a process that keeps the namespace, to look at the file system after
	local keeper
	keeper=$(cat "$TMP/out.keeper")
	BGPIDS="$BGPIDS $keeper"
	ft work a
	ft_signal t INT 60
	ft_one_line t 1 "No space left on device"
	ft_exact t a
	ft_json t
	ls -A "/proc/$keeper/root$TMP/out"
	[ "$(ls -A "/proc/$keeper/root$TMP/out")" = fill ]
	ft_clean t a
}

@test "ulimit -n 64: exact counts, or one line saying to raise it" {
	FT_PREFIX=(sh -c 'ulimit -n 64 && exec "$@"' sh)
	ft target a
	local args
	mapfile -t args < <(ft args "$a_PID")
	ft_spawn t "${args[@]}"
	wait_for 60 ft_tracing_or_gone t "$t_PID"
	if grep -q '^Tracing' "$TMP/t.err"; then
		echo "# $TOOL_NAME traced within 64 descriptors" >&3
		ft work a
		ft_signal t INT 60
		[ "$FT_RC" = 0 ]
		ft_exact t a
		ft_quiet t
	else
		echo "# $TOOL_NAME needs more than 64 descriptors" >&3
		ft_exit t 30
		ft_one_line t 1 "raise ulimit -n"
	fi
	ft_json t
	ft_clean t a
}

@test "ulimit -n 12: exit 1, one line saying to raise it" {
	refused "raise ulimit -n" sh -c 'ulimit -n 12 && exec "$@"' sh
}

@test "ulimit -l 64, compiling: exact counts" {
	export CKBTRACE_NO_CACHE=1
	traced_run sh -c 'ulimit -l 64 && exec "$@"' sh
}

# ---- several tracers ----

# tracers N: N tools on one target at once, each exact.
tracers() {
	local i
	ft target a
	for i in $(seq "$1"); do
		ft_trace "t$i" a
	done
	ft work a
	for i in $(seq "$1"); do
		ft_signal "t$i" INT 60
		[ "$FT_RC" = 0 ]
	done
	for i in $(seq "$1"); do
		ft_exact "t$i" a
		ft_json "t$i"
		ft_quiet "t$i"
		ft_clean "t$i" a
	done
}

@test "two tracers on one target: exact counts in each" {
	tracers 2
}

@test "ten tracers on one target: exact counts in each" {
	tracers 10
}

# ---- the host ----

# In a mount namespace of the tool's own, so the host's tracefs stays.
NO_TRACEFS=(unshare -m --propagation private sh -c '
	umount /sys/kernel/debug/tracing 2>/dev/null
	umount /sys/kernel/tracing 2>/dev/null
	umount /sys/kernel/debug 2>/dev/null
	[ ! -e /sys/kernel/tracing/trace ] && [ ! -e /sys/kernel/debug/tracing/trace ] || exit 99
	exec "$@"' sh)

@test "tracefs unmounted: exact counts, or one line when tracepoints need it" {
	if [ "$(ft_var TRACEFS)" = 1 ]; then
		refused "tracefs is not mounted; mount it with" "${NO_TRACEFS[@]}"
	else
		traced_run "${NO_TRACEFS[@]}"
	fi
}

@test "kernel headers missing, nothing cached: exit 1, one line" {
	export CKBTRACE_CACHE_DIR="$FT_WORK/cold"
	# shellcheck disable=SC2016
	refused "no kernel headers for $(uname -r)" \
		unshare -m --propagation private sh -c '
		mount -t tmpfs ft-nohdr "/lib/modules/$(uname -r)" || exit 99
		exec "$@"' sh
}

@test "CKBTRACE_NO_UPROBE_MULTI=1: exact counts" {
	traced_run env CKBTRACE_NO_UPROBE_MULTI=1
}

@test "an unprivileged user: exit 1, one line" {
	refused "need root (or CAP_BPF with CAP_PERFMON)" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
}

# tracefs is root's alone (mode 0700) unless mounted otherwise: a tool
# with tracepoints says so; uprobes need only the two capabilities.
@test "a user with only CAP_BPF and CAP_PERFMON, tracing its own process: exact counts" {
	FT_USER=65534
	export CKBTRACE_CACHE_DIR="$FT_WORK/nobody-cache"
	local caps=(setpriv --reuid=65534 --regid=65534 --clear-groups
		--inh-caps=-all,+bpf,+perfmon --ambient-caps=-all,+bpf,+perfmon)
	if [ "$(ft_var TRACEFS)" = 1 ] &&
	   ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x /sys/kernel/tracing/events; then
		refused "Permission denied; run as root" "${caps[@]}"
	else
		traced_run "${caps[@]}"
	fi
}

@test "a user with only CAP_BPF and CAP_PERFMON, on another user's process: exit 1, one line" {
	refused "cannot inspect PID" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all,+bpf,+perfmon --ambient-caps=-all,+bpf,+perfmon
	ft_one_line t 1 "run as root, or as the user it runs as"
}
