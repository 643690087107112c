# The fault matrix (tests/faults.bats): the table of tools, and the checks
# every row makes.  A row is one @test; it runs for the tool named by
# FAULT_TOOL (tests/run-faults sets it from the suite's file name,
# tests/faults-TOOL.fault).
#
# ---- the table: how to start each tool against a target ----
#
# A tool T is in the matrix when these functions and variables exist
# (see rdblat_* below for one entry):
#
#   T_target NAME     start a target that waits to be told to work, through
#                     ft_launch (which honours FT_THREADS, FT_EXEC, FT_NS
#                     and FT_USER); sets NAME_PID
#   T_work NAME       make the target do its known work (it starts on
#                     SIGUSR1); return once it has said what it did
#   T_finish NAME     make it exit normally, after its work
#   T_want NAME       what the target says it did: "KEY=N KEY=N ..."
#   T_got FILE        the same keys, from the tool's -j output in FILE
#   T_args PID        the tool's arguments to trace PID with JSON lines,
#                     one a line
#   T_BIN             the tool
#   T_ROUTINE         an ERE of the stderr lines it prints on every run
#                     besides "Tracing ..." (a closing count, say), or ""
#   T_TRACEFS         1 when it attaches tracepoints (no tracefs: refused)
#   T_OUTFILE         its options, the last one naming a file to write
#                     ("" when it writes none)
#
# Then: tests/faults-T.fault (one comment line), and T in FAULT_SUITES in
# Makefile.am.

# shellcheck disable=SC2034  # the table is read through ft_var
FAULT_TOOL=${FAULT_TOOL:?set FAULT_TOOL, or run through tests/run-faults}

# ---- ckb-rdblat on ckb-dbsim ----
rdblat_BIN="$top_builddir/tools/ckb-rdblat"
rdblat_ROUTINE=""
rdblat_OUTFILE=""
rdblat_TRACEFS=0
rdblat_target() { dbsim_target "$@"; }
rdblat_work() { dbsim_work "$@"; }
rdblat_finish() { kill -TERM "$(pid_of "$1")"; }
rdblat_want() { dbsim_want "$@"; }
rdblat_got() {
	echo "GET=$(interval_sum "$1" GET) TXN_COMMIT=$(interval_sum "$1" TXN_COMMIT)"
}
rdblat_args() { printf '%s\n' -p "$1" -j -o GET,TXN_COMMIT; }

# ---- ckb-slowops on ckb-dbsim, threshold 0: one event per operation ----
slowops_BIN="$top_builddir/tools/ckb-slowops"
slowops_ROUTINE="^ckb-slowops: ([0-9]+ events, [0-9]+ lost; [0-9]+ operations under the threshold|stacks \\((fp|dwarf)\\): [0-9]+ complete.*)$"
slowops_TRACEFS=0
# with stacks, for the flame page: a buffer that holds the burst
slowops_OUTFILE="--buffer-pages 4096 --flame"
slowops_target() { dbsim_target "$@"; }
slowops_work() { dbsim_work "$@"; }
slowops_finish() { kill -TERM "$(pid_of "$1")"; }
slowops_want() { dbsim_want "$@"; }
slowops_got() {
	local get commit lost
	get=$(jq -c 'select(.type == "event" and .op == "GET")' "$1" | wc -l)
	commit=$(jq -c 'select(.type == "event" and .op == "TXN_COMMIT")' "$1" | wc -l)
	# an event lost makes the counts short: say so in the result
	lost=$(jq -s '[.[] | select(.type == "summary") | .lost] | add // 0' "$1")
	echo "GET=$get TXN_COMMIT=$commit$([ "$lost" = 0 ] || echo " lost=$lost")"
}
slowops_args() { printf '%s\n' -p "$1" -j -o GET,TXN_COMMIT 0; }

# ---- ckb-usdt on usdt-node ----
usdt_BIN="$top_builddir/tools/ckb-usdt"
usdt_ROUTINE=""
usdt_OUTFILE=""
usdt_TRACEFS=0
usdt_target() {
	local t=()
	[ -z "${FT_THREADS:-}" ] || t=(-T "$FT_THREADS")
	[ -z "${FT_EXEC:-}" ] || t+=(-x "$FT_EXEC")
	ft_launch "$1" "$USDT_NODE" -w -m 40 -B 7 "${t[@]}"
}
usdt_work() { usdt_round "$1" 1; }
usdt_finish() { kill -TERM "$(pid_of "$1")"; }
usdt_want() {
	round_json "$1" 1 | jq -r '.fired | "inbound=\(.["net:inbound_message"]) round=\(.["node:round"])"'
}
usdt_got() {
	jq -r 'select(.type == "summary") | .counts |
		"inbound=\(.["net:inbound_message"] // 0) round=\(.["node:round"] // 0)"' "$1"
}
usdt_args() { printf '%s\n' -p "$1" -j net:inbound_message node:round; }

# ---- ckb-iolat on iofix ----
iolat_BIN="$top_builddir/tools/ckb-iolat"
iolat_ROUTINE=""
iolat_OUTFILE=""
iolat_TRACEFS=1
iolat_target() {
	local t=()
	[ -z "${FT_THREADS:-}" ] || t=(-T "$FT_THREADS")
	[ -z "${FT_EXEC:-}" ] || t+=(-x "$FT_EXEC")
	ft_launch "$1" "$IOFIX" -W -t ft-io -s 5 -w 9 "${t[@]}" "$FT_WORK/$1.data"
}
iolat_work() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 60 grep -q '^{' "$TMP/$1.out"
}
iolat_finish() { kill -USR1 "$(pid_of "$1")"; }
iolat_want() {
	grep '^{' "$TMP/$1.out" | jq -r '"fsync=\(.fsync) pwrite64=\(.pwrite64)"'
}
iolat_got() {
	echo "fsync=$(rows_sum "$1" count '.thread == "ft-io" and .syscall == "fsync"')" \
	     "pwrite64=$(rows_sum "$1" count '.thread == "ft-io" and .syscall == "pwrite64"')"
}
iolat_args() { printf '%s\n' -p "$1" -j -s fsync,pwrite64; }

# ---- ckb-disklat on iofix writing with O_DIRECT to a loop device ----
disklat_BIN="$top_builddir/tools/ckb-disklat"
disklat_ROUTINE="^ckb-disklat: [0-9]+ requests; [0-9]+ still in flight at exit, [0-9]+ completions of requests issued before the start$"
disklat_TRACEFS=1
disklat_OUTFILE=""
disklat_target() {
	local t=()
	[ -z "${FT_THREADS:-}" ] || t=(-T "$FT_THREADS")
	[ -z "${FT_EXEC:-}" ] || t+=(-x "$FT_EXEC")
	ft_loop
	ft_launch "$1" "$IOFIX" -W -t ft-io -w 9 -k 4096 -o d "${t[@]}" "$FT_LOOP"
}
disklat_work() { iolat_work "$@"; }
disklat_finish() { iolat_finish "$@"; }
disklat_want() {
	grep '^{' "$TMP/$1.out" | jq -r '"WS=\(.pwrite64)"'
}
disklat_got() {
	echo "WS=$(rows_sum "$1" count '.rwbs == "WS" and (.time // "device") == "device"')"
}
disklat_args() { printf '%s\n' -d "$FT_LOOP" -p "$1" -j; }

# ft_loop: a 64 MiB loop device over a file in $TMP, in FT_LOOP (once per
# test; detached in teardown).
ft_loop() {
	[ -z "${FT_LOOP:-}" ] || return 0
	command -v losetup >/dev/null || skip "losetup (util-linux) not installed"
	truncate -s 64M "$TMP/disk.img"
	FT_LOOP=$(losetup -f --show "$TMP/disk.img") ||
		skip "cannot make a loop device here"
	chmod 666 "$FT_LOOP"
}

# ---- ckb-peers on peerfix: a process that listens and connects ----
peers_BIN="$top_builddir/tools/ckb-peers"
peers_ROUTINE=""
peers_TRACEFS=1
peers_OUTFILE=""
PEERFIX="${PEERFIX:-$top_builddir/tests/fixtures/peerfix}"
peers_target() {
	local t=()
	[ -z "${FT_THREADS:-}" ] || t=(-T "$FT_THREADS")
	[ -z "${FT_EXEC:-}" ] || t+=(-x "$FT_EXEC")
	peers_server
	# it listens too, so it has a TCP socket before it is told to connect
	ft_launch "$1" "$PEERFIX" -W -L 127.0.0.1 -C 127.0.0.1 -P "$FT_SRV_PORT" \
		-n 3 -q 1000 -r 2000 "${t[@]}"
}
peers_work() {
	kill -USR1 "$(pid_of "$1")"
	wait_for 60 grep -q '^{"done"' "$TMP/$1.out"
}
peers_finish() { kill -TERM "$(pid_of "$1")"; }
peers_want() {
	grep '^{"conn"' "$TMP/$1.out" | jq -s -r \
		'"conns=\(length) tx=\([.[].tx] | add) rx=\([.[].rx] | add)"'
}
peers_got() {
	jq -s -r --argjson port "$FT_SRV_PORT" \
		'[.[] | select(.type == "interval" and .rport == $port)] |
		"conns=\([.[] | .lport] | unique | length) tx=\([.[].tx_bytes] | add // 0) rx=\([.[].rx_bytes] | add // 0)"' "$1"
}
peers_args() { printf '%s\n' -p "$1" -j; }

# peers_server: the server the peerfix targets connect to (once per
# test), its port in FT_SRV_PORT.
peers_server() {
	[ -z "${FT_SRV_PORT:-}" ] || return 0
	"$PEERFIX" -L 127.0.0.1 > "$TMP/peersrv.out" 2> "$TMP/peersrv.err" &
	BGPIDS="$BGPIDS $!"
	wait_for 10 grep -q '^ready' "$TMP/peersrv.out"
	FT_SRV_PORT=$(jq -r 'select(.listen) | .port' < <(grep '^{' "$TMP/peersrv.out"))
}

# ---- ckb-offcpu on cpufix: nanosleeps (S) and vfork waits (D) ----
# Counted by thread name, state and kernel stack, which stay right after
# the target exec()s or exits (its user frames may not).
offcpu_BIN="$top_builddir/tools/ckb-offcpu"
offcpu_ROUTINE=""
offcpu_TRACEFS=1
offcpu_OUTFILE="--flame"
cpufix_target() {
	local t=()
	[ -z "${FT_THREADS:-}" ] || t=(-T "$FT_THREADS")
	[ -z "${FT_EXEC:-}" ] || t+=(-x "$FT_EXEC")
	ft_launch "$@" "${t[@]}"
}
offcpu_target() { cpufix_target "$1" "$CPUFIX" -W -L -s 6 -V 3 -D 10; }
offcpu_work() {
	kill -USR1 "$(pid_of "$1")"
	wait_for 60 grep -q '^{' "$TMP/$1.out"
}
# a second SIGUSR1 ends its lingering: exit 0
offcpu_finish() { kill -USR1 "$(pid_of "$1")"; }
offcpu_want() {
	grep '^{' "$TMP/$1.out" | jq -r '"sleep=\(.sleeps) vfork=\(.vforks) threads=\(.threads)"'
}
offcpu_got() {
	echo "sleep=$(stack_sum "$1" blocks '.thread == "fix-sleep" and .state == "S" and any(.kernel[]; contains("do_nanosleep"))')" \
	     "vfork=$(stack_sum "$1" blocks '.thread == "fix-vfork" and .state == "D" and any(.kernel[]; contains("vfork"))')" \
	     "threads=$(offcpu_sleepers "$1")"
}
# The fix-t threads seen off CPU inside their one nanosleep: each once at
# least.  Counted by thread, in any state, because a busy machine may
# preempt a thread between arming the timer and schedule(), and when the
# timer fires before it runs again it never sleeps in S at all: its
# nanosleep is then one "R" block (or an R and an S block).
offcpu_sleepers() {
	jq -s '[.[] | select(.type == "stack" and .thread == "fix-t" and
		any(.kernel[]; contains("do_nanosleep"))) | .tid] | unique | length' "$1"
}
offcpu_args() { printf '%s\n' -p "$1" -j; }

# ---- ckb-profile on cpufix: a thread spinning in a known call chain ----
# Samples are not counts a target can state: what it says is that it
# spun, and the tool must have seen it there, at least 90% of that
# thread's samples in spin_leaf <- spin_mid <- spin_top <- spin_thread.
profile_BIN="$top_builddir/tools/ckb-profile"
profile_ROUTINE="^ckb-profile: [0-9]+ samples: [0-9]+ of PID [0-9]+ \([0-9]+ without a user stack\), [0-9]+ idle, [0-9]+ of other processes$"
profile_TRACEFS=0
profile_OUTFILE="--flame"
profile_target() { cpufix_target "$1" "$CPUFIX" -W -L -S 1500 -D 5; }
profile_work() { offcpu_work "$@"; }
profile_finish() { offcpu_finish "$@"; }
profile_want() {
	grep '^{' "$TMP/$1.out" | jq -r '"spin=\(if .spin_ns > 0 then 1 else 0 end)"'
}
profile_got() {
	jq -s -r '[.[] | select(.type == "stack" and .thread == "fix-spin")] as $r |
		($r | map(.samples) | add // 0) as $all |
		($r | map(select((.user | length) >= 4 and
			(.user[0:4] | map(sub("\\+0x[0-9a-f]+ \\(.*\\)$"; ""))) ==
			["spin_leaf", "spin_mid", "spin_top", "spin_thread"]) |
			.samples) | add // 0) as $in |
		if $all >= 10 and $in * 10 >= $all * 9 then "spin=1"
		else "spin=0 (\($in) of \($all) samples in the chain)" end' "$1"
}
profile_args() { printf '%s\n' -p "$1" -j -F 99; }

# ---- ckb-dbsim, shared by the RocksDB tools ----
dbsim_target() {
	local t=()
	[ -z "${FT_THREADS:-}" ] || t=(--threads "$FT_THREADS")
	[ -z "${FT_EXEC:-}" ] || t+=(--exec "$FT_EXEC")
	ft_launch "$1" "$DBSIM" --wait --linger -q -n 150 -r 0 \
		--db "$FT_WORK/$1.db" --counts "$FT_WORK/$1.counts.json" "${t[@]}"
}
dbsim_work() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 120 test -s "$FT_WORK/$1.counts.json"
}
dbsim_want() {
	# shellcheck disable=SC2086
	echo "GET=$(calls_of "$FT_WORK/$1.counts.json" ${FNS[GET]})" \
	     "TXN_COMMIT=$(calls_of "$FT_WORK/$1.counts.json" rocksdb_transaction_commit)"
}

# ---- running things ----

# pid_of NAME: NAME_PID.
pid_of() {
	local v="${1}_PID"
	echo "${!v}"
}

# ft F ARGS...: the current tool's entry F.
ft() {
	local f="${FAULT_TOOL}_$1"
	shift
	"$f" "$@"
}

# ft_var NAME: the current tool's variable NAME.
ft_var() {
	local v="${FAULT_TOOL}_$1"
	echo "${!v}"
}

fault_setup() {
	need_root
	command -v bpftool >/dev/null ||
		skip "bpftool is not installed (contrib/setup-host.sh installs it)"
	common_setup
	chmod 755 "$TMP"
	FT_WORK="$TMP/w"
	mkdir -m 1777 "$FT_WORK"
	TOOL_BIN=$(ft_var BIN)
	TOOL_NAME=$(basename "$TOOL_BIN")
	# the suite's own cache (setup_file), warm after the first compile
	export CKBTRACE_CACHE_DIR="${FT_CACHE:-$FT_WORK}/cache"
	unset CKBTRACE_NO_CACHE CKBTRACE_NO_UPROBE_MULTI
	FT_THREADS="" FT_EXEC="" FT_NS="" FT_USER="" FT_LOOP="" FT_SRV_PORT=""
}

fault_teardown() {
	common_teardown
	[ -z "${FT_LOOP:-}" ] || losetup -d "$FT_LOOP" 2>/dev/null || true
}

# ft_launch NAME PROGRAM ARGS...: start a target that prints "ready" and
# waits; stdout to $TMP/NAME.out.  FT_NS=1: in a mount namespace of its
# own, its executable copied to a tmpfs only that namespace sees, so the
# tools reach it only through /proc/PID/root.  FT_USER=UID: as that user.
ft_launch() {
	local name=$1 prog=$2
	shift 2
	local pre=()
	[ -z "$FT_USER" ] || pre=(setpriv --reuid="$FT_USER" --regid="$FT_USER" --clear-groups)
	rm -f "$TMP/$name.out" "$TMP/$name.err"
	if [ -n "$FT_NS" ]; then
		mkdir -p "$TMP/ns-$name"
		# shellcheck disable=SC2016
		"${pre[@]}" unshare -m --propagation private sh -c '
			d=$1; p=$2; shift 2
			mount -t tmpfs ft-ns "$d" && cp "$p" "$d/" &&
			exec "$d/${p##*/}" "$@"' sh "$TMP/ns-$name" "$prog" "$@" \
			> "$TMP/$name.out" 2> "$TMP/$name.err" &
	else
		"${pre[@]}" "$prog" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	fi
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 30 grep -q '^ready' "$TMP/$name.out" || {
		cat "$TMP/$name.err" >&2
		return 1
	}
}

# ft_watch PID FILE: until PID exits, note every BPF program, link and map
# it or a child of it (the compiler) holds, and every child, into FILE.
ft_watch() {
	local pid=$1 file=$2 p
	: > "$file"
	while kill -0 "$pid" 2>/dev/null; do
		for p in "$pid" $(pgrep -P "$pid" 2>/dev/null); do
			[ "$p" = "$pid" ] || echo "child $p"
			grep -hsE '^(prog_id|link_id|map_id):' "/proc/$p/fdinfo/"* 2>/dev/null
		done | sort -u | sort -u - "$file" > "$file.new"
		mv "$file.new" "$file"
		sleep 0.1
	done
}

# ft_spawn OUT ARGS...: the tool with ARGS in the background, stdout to
# $TMP/OUT.out and stderr to $TMP/OUT.err (FT_STDOUT overrides the
# first), under FT_PREFIX (a command array: env, setpriv, unshare...);
# sets OUT_PID and starts its watcher.
ft_spawn() {
	local out=$1
	shift
	rm -f "$TMP/$out.out" "$TMP/$out.err"
	"${FT_PREFIX[@]}" "$TOOL_BIN" "$@" > "${FT_STDOUT:-$TMP/$out.out}" 2> "$TMP/$out.err" &
	local pid=$!
	BGPIDS="$BGPIDS $pid"
	eval "${out}_PID=$pid"
	ft_watch "$pid" "$TMP/$out.ids" &
	BGPIDS="$BGPIDS $!"
}

# ft_attached OUT: wait until the tool said it is tracing and its
# programs are seen; fail at once if it exits instead.
ft_attached() {
	local pid
	pid=$(pid_of "$1")
	wait_for 90 ft_tracing_or_gone "$1" "$pid"
	grep -q '^Tracing' "$TMP/$1.err" || {
		echo "$TOOL_NAME ended before tracing:" >&2
		cat "$TMP/$1.err" >&2
		return 1
	}
	wait_for 10 grep -q '^prog_id' "$TMP/$1.ids"
}

# ft_tracing_or_gone OUT PID: the tool said "Tracing", or it exited.
ft_tracing_or_gone() {
	grep -q '^Tracing' "$TMP/$1.err" || ! kill -0 "$2" 2>/dev/null ||
		grep -q '^State:.*Z' "/proc/$2/status" 2>/dev/null
}

# ft_start OUT ARGS...: ft_spawn and ft_attached.
ft_start() {
	ft_spawn "$@" && ft_attached "$1"
}

# ft_trace OUT NAME: the tool on target NAME, as its table entry says.
ft_trace() {
	local pid args
	eval "pid=\$${2}_PID"
	mapfile -t args < <(ft args "$pid")
	ft_start "$1" "${args[@]}"
}

# ft_exit OUT LIMIT: wait at most LIMIT seconds for the tool to exit and
# set FT_RC to its status; a tool still running then has hung.
ft_exit() {
	local pid i=0
	eval "pid=\$${1}_PID"
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $(($2 * 10)) ]; do
		if grep -q "^State:.*Z" "/proc/$pid/status" 2>/dev/null; then
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$i" -ge $(($2 * 10)) ]; then
		echo "$TOOL_NAME still running after $2 s: hung" >&2
		cat "$TMP/$1.err" >&2
		kill -KILL "$pid" 2>/dev/null || true
		return 1
	fi
	FT_RC=0
	wait "$pid" || FT_RC=$?
}

# ft_signal OUT SIG LIMIT: signal the tool, wait for its exit.
ft_signal() {
	local pid
	eval "pid=\$${1}_PID"
	kill "-$2" "$pid"
	ft_exit "$1" "$3"
}

# ft_run OUT LIMIT ARGS...: the tool in the foreground, bounded; FT_RC.
ft_run() {
	local out=$1 limit=$2
	shift 2
	ft_spawn "$out" "$@"
	ft_exit "$out" "$limit"
}

# ---- the checks of every row ----

# ft_exact OUT NAME: the tool reported exactly what target NAME says it
# did, and it did something.
ft_exact() {
	local want got
	want=$(ft want "$2")
	got=$(ft got "$TMP/$1.out")
	echo "$TOOL_NAME on $2: target says '$want', tool says '$got'"
	[[ "$want" =~ =[1-9] ]]
	[ "$got" = "$want" ]
}

# ft_json OUT: every line of the output is a whole JSON object with a
# "type", to the end.
ft_json() {
	local f="$TMP/$1.out" lines typed
	[ -s "$f" ] || return 0
	[ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || {
		echo "the output ends inside a line"
		return 1
	}
	lines=$(wc -l < "$f")
	typed=$(jq -c 'select(type == "object" and (.type | type) == "string")' "$f" | wc -l)
	echo "$lines lines, $typed typed JSON objects"
	[ "$typed" = "$lines" ]
}

# ft_stderr OUT: the tool's stderr without the banner and routine lines.
# The lines a kernel tool prints when the kernel did not run one of its
# programs (skipped runs, a block whose end was not seen): what the row
# is about is the fault and the exit, and the counts are checked apart,
# so such a line is not counted as one of the row's lines.
FT_KERNEL_LOSS='^ckb-[a-z]+: (the kernel skipped [0-9]+ runs of its programs .*|[0-9]+ blocks not counted: the kernel did not run the program when the thread came back on the CPU)$'

ft_stderr() {
	local routine
	routine=$(ft_var ROUTINE)
	if [ -n "$routine" ]; then
		grep -v '^Tracing ' "$TMP/$1.err" | grep -vE "$routine" |
			grep -vE "$FT_KERNEL_LOSS" || true
	else
		grep -v '^Tracing ' "$TMP/$1.err" | grep -vE "$FT_KERNEL_LOSS" || true
	fi
}

# ft_quiet OUT: nothing on stderr but the banner and routine lines.
ft_quiet() {
	local rest
	rest=$(ft_stderr "$1")
	[ -z "$rest" ] || {
		echo "unexpected on stderr: $rest"
		return 1
	}
}

# ft_one_line OUT STATUS PATTERN: the tool exited with STATUS after one
# line, "ckb-x: ...PATTERN...", besides the banner and routine lines.
ft_one_line() {
	local rest n
	rest=$(ft_stderr "$1")
	n=$(printf '%s' "$rest" | grep -c '' || true)
	echo "status $FT_RC, $n line(s): $rest"
	[ "$FT_RC" = "$2" ]
	[ "$n" = 1 ]
	[[ "$rest" == "$TOOL_NAME: "* ]]
	[[ "$rest" == *"$3"* ]]
}

# ft_pristine PID: the executable code of PID is byte for byte its file:
# no breakpoint (uprobe) is installed in it.
ft_pristine() {
	local pid=$1 exe start end off len
	exe=$(readlink "/proc/$pid/exe") || return 0
	while read -r start end off; do
		len=$((0x$end - 0x$start))
		cmp -s <(dd if="/proc/$pid/mem" bs=64K iflag=skip_bytes,count_bytes \
				skip=$((0x$start)) count="$len" status=none) \
			<(dd if="/proc/$pid/exe" bs=64K iflag=skip_bytes,count_bytes \
				skip=$((0x$off)) count="$len" status=none) || {
			echo "the code of PID $pid at 0x$start differs from $exe: a breakpoint is left"
			return 1
		}
	done < <(awk -v e="$exe" '$2 ~ /x/ && $6 == e { split($1, a, "-"); print a[1], a[2], $3 }' "/proc/$pid/maps")
}

# ft_clean OUT NAME: nothing of this tool run is left: no process it
# started, none of the BPF programs, links and maps it held, no
# uprobe_events line on the target, no breakpoint in the target.
ft_clean() {
	local ids="$TMP/$1.ids" pid exe kind id left i
	eval "pid=\$${2}_PID"
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null || echo "/nonexistent/$2")
	for i in $(seq 150); do
		left=""
		while read -r kind id; do
			case $kind in
			child) kill -0 "$id" 2>/dev/null && left="$left process $id" ;;
			prog_id:) bpftool prog show id "$id" >/dev/null 2>&1 && left="$left prog $id" ;;
			link_id:) bpftool link show id "$id" >/dev/null 2>&1 && left="$left link $id" ;;
			map_id:) bpftool map show id "$id" >/dev/null 2>&1 && left="$left map $id" ;;
			esac
		done < "$ids"
		[ -n "$left" ] || break
		sleep 0.1
	done
	echo "$(grep -c _id "$ids") BPF objects and $(grep -c child "$ids") child processes seen; left after 15 s:${left:- none}"
	[ -z "$left" ]
	! grep -F -e "$exe" -e "/proc/$pid/" /sys/kernel/tracing/uprobe_events 2>/dev/null || false
	if kill -0 "$pid" 2>/dev/null; then
		ft_pristine "$pid"
	fi
}

# ft_ours_seen OUT: the watcher saw this run's BPF programs.
ft_ours_seen() {
	grep -q '^prog_id' "$TMP/$1.ids"
}
