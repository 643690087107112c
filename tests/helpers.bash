# Shared set-up for the end-to-end suites: real probes on real processes.
# Every background process is killed and every temp file removed in
# teardown; every wait is bounded.

RDBLAT="${top_builddir:?}/tools/ckb-rdblat"
DBSIM="$top_builddir/tools/ckb-dbsim"

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root to load BPF programs and attach uprobes"
}

common_setup() {
	TMP=$(mktemp -d /tmp/ckbtrace-test.XXXXXX)
	BGPIDS=""
}

# The first line of an ASan, LSan or UBSan report.
SAN_REPORT='^(==[0-9]+==ERROR: [A-Za-z]+Sanitizer|[^ ]+:[0-9]+:[0-9]+: runtime error: |SUMMARY: [A-Za-z]+Sanitizer)'

common_teardown() {
	local p rc=0
	for p in $BGPIDS; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in $BGPIDS; do
		wait "$p" 2>/dev/null || true
	done
	# A build with --enable-sanitizers: a report in anything a tool
	# wrote (stderr kept in $TMP, or the last `run`) fails the test, even
	# when the exit status hid it.  Regular files only: a FIFO would
	# block grep.
	local kept=()
	for p in "$TMP"/*; do
		[ -f "$p" ] && [ ! -L "$p" ] && kept+=("$p")
	done
	if { [ "${#kept[@]}" -gt 0 ] && grep -sqIE "$SAN_REPORT" "${kept[@]}"; } ||
	   grep -qE "$SAN_REPORT" <<< "${output:-}"; then
		echo "sanitizer report:" >&2
		[ "${#kept[@]}" -gt 0 ] && grep -shIE -A12 "$SAN_REPORT" "${kept[@]}" >&2
		grep -E -A12 "$SAN_REPORT" <<< "${output:-}" >&2
		rc=1
	fi
	rm -rf "$TMP"
	return "$rc"
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
wait_for() {
	local limit=$(( $1 * 10 )) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		if [ "$i" -ge "$limit" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# start_dbsim NAME ARGS...: a dbsim that opens its DB and waits for
# SIGUSR1; sets NAME_PID and leaves counts in $TMP/NAME.counts.json.
start_dbsim() {
	local name=$1
	shift
	"$DBSIM" --wait --linger -q --db "$TMP/$name.db" \
		--counts "$TMP/$name.counts.json" "$@" \
		> "$TMP/$name.out" 2> "$TMP/$name.err" &
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 30 grep -q '^ready' "$TMP/$name.out"
}

# run_dbsim NAME: start the workload and wait for its counts.
run_dbsim() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 120 test -s "$TMP/$1.counts.json"
}

# start_tracer STDOUT STDERR CMD...: a tracer in the background until it
# says it is attached; sets TRACER_PID.
start_tracer() {
	local out=$1 err=$2
	shift 2
	rm -f "$out" "$err"
	"$@" > "$out" 2> "$err" &
	TRACER_PID=$!
	BGPIDS="$BGPIDS $TRACER_PID"
	wait_for 60 grep -q '^Tracing' "$err" || {
		cat "$err" >&2
		return 1
	}
}

# start_nobtf STDOUT STDERR CMD...: like start_tracer, with CMD in a
# private mount namespace where /sys/kernel/btf/vmlinux reads empty;
# skips when the kernel has no BTF to hide.
start_nobtf() {
	local out=$1 err=$2
	shift 2
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
	[ -s /sys/kernel/btf/vmlinux ] || skip "this kernel has no BTF to hide"
	# shellcheck disable=SC2016
	unshare -m sh -c 'mount --make-rprivate /
		mount --bind /dev/null /sys/kernel/btf/vmlinux
		[ ! -s /sys/kernel/btf/vmlinux ] || exit 99
		exec "$@"' sh "$@" > "$out" 2> "$err" &
	TRACER_PID=$!
	BGPIDS="$BGPIDS $TRACER_PID"
	wait_for 60 grep -q '^Tracing' "$err" || {
		cat "$err" >&2
		return 1
	}
}

# start_rdblat OUT ARGS...: ckb-rdblat in the background until attached.
start_rdblat() {
	local out=$1
	shift
	start_tracer "$TMP/$out.jsonl" "$TMP/$out.err" "$RDBLAT" "$@" &&
		RDBLAT_PID=$TRACER_PID
}

# The C API functions behind each operation (what ckb-dbsim's counts
# name), as the catalog has them: from ckb-symbols -j, so that the tests
# and the tools cannot disagree.
declare -gA FNS=()
while IFS=$'\t' read -r _op _fns; do
	FNS[$_op]=$_fns
done < <("$top_builddir/tools/ckb-symbols" -j "$DBSIM" 2>/dev/null |
	jq -r '.ops[] | select(.capi | length > 0) |
		[.name, (.capi | join(" "))] | @tsv')
unset _op _fns

# stop_pid SIGNAL PID: signal a tracer and return its exit status.
stop_pid() {
	kill "-$1" "$2"
	local rc=0
	wait "$2" || rc=$?
	return "$rc"
}

# stop_rdblat SIGNAL: the same for the last start_rdblat.
stop_rdblat() {
	stop_pid "$1" "$RDBLAT_PID"
}

# failed_one_line TOOL STATUS [PATTERN]: the last `run` exited with STATUS
# and printed one line, "TOOL: ...", that contains PATTERN.
failed_one_line() {
	echo "status $status: $output"
	[ "$status" -eq "$2" ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "$1: "* ]]
	[[ "$output" == *${3:-}* ]]
}

# Sum of the interval counts of one op in a JSON-lines file.
interval_sum() {
	jq -s --arg op "$2" \
		'[.[] | select(.type == "interval" and .op == $op) | .count] | add // 0' \
		"$1"
}

interval_bytes() {
	jq -s --arg op "$2" \
		'[.[] | select(.type == "interval" and .op == $op) | .bytes] | add // 0' \
		"$1"
}

# interval_field JSONL OP FIELD: the sum of a field (hits, misses,
# errors, files, keys) over the intervals of one op.
interval_field() {
	jq -s --arg op "$2" --arg f "$3" \
		'[.[] | select(.type == "interval" and .op == $op) | .[$f]] | add // 0' \
		"$1"
}

summary_count() {
	jq -s --arg op "$2" '.[] | select(.type == "summary") | .counts[$op]' "$1"
}

# Sum of the given functions' call counts in a dbsim counts file.
calls_of() {
	local file=$1
	shift
	jq --arg fns "$*" '. as $c | [ $fns | splits(" +") | $c.calls[.] // 0 ] | add' \
		"$file"
}

bytes_of() {
	local file=$1
	shift
	jq --arg fns "$*" '. as $c | [ $fns | splits(" +") | $c.bytes[.] // 0 ] | add' \
		"$file"
}

# The first byte at a symbol of a running PIE or non-PIE executable, read
# from the live process image (0xcc while a uprobe is installed there).
live_byte() {
	local pid=$1 sym=$2 exe vaddr base addr
	exe=$(readlink "/proc/$pid/exe")
	vaddr=$(nm "$exe" | awk -v s="$sym" '$3 == s { print $1; exit }')
	base=$(awk -v e="$exe" '$6 == e && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' "/proc/$pid/maps")
	if [ "$(od -An -t x2 -j 16 -N 2 "$exe" | tr -d ' ')" = 0002 ]; then
		base=0
	fi
	addr=$(( 0x$base + 0x$vaddr ))
	dd if="/proc/$pid/mem" bs=1 skip="$addr" count=1 iflag=skip_bytes \
		status=none 2>/dev/null | od -An -t x1 | tr -d ' '
}

# ---- ckb-usdt (tests/usdt.bats) ----
CKB_USDT="$top_builddir/tools/ckb-usdt"
USDT_NODE="${USDT_NODE:-$top_builddir/tests/fixtures/usdt-node}"

# start_usdt_node NAME ARGS...: a usdt-node that runs one round per
# SIGUSR1; sets NAME_PID, its JSON lines go to $TMP/NAME.out.
start_usdt_node() {
	local name=$1
	shift
	rm -f "$TMP/$name.out" "$TMP/$name.err"
	"$USDT_NODE" -w "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 10 grep -q '^ready' "$TMP/$name.out"
}

# usdt_round NAME N: run round N of a usdt-node and wait for its line.
usdt_round() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 20 grep -q "^{\"round\":$2," "$TMP/$1.out"
}

# round_json NAME N: the JSON line of round N.
round_json() {
	grep "^{\"round\":$2," "$TMP/$1.out"
}

# start_usdt OUT ARGS...: ckb-usdt in the background until attached;
# stdout to $TMP/OUT.out, stderr to $TMP/OUT.err, its PID in USDT_PID.
start_usdt() {
	local out=$1
	shift
	rm -f "$TMP/$out.out" "$TMP/$out.err"
	"$CKB_USDT" "$@" > "$TMP/$out.out" 2> "$TMP/$out.err" &
	USDT_PID=$!
	BGPIDS="$BGPIDS $USDT_PID"
	wait_for 60 grep -q '^Tracing' "$TMP/$out.err" || {
		cat "$TMP/$out.err" >&2
		return 1
	}
}

# stop_usdt SIGNAL: signal ckb-usdt and return its exit status.
stop_usdt() {
	stop_pid "$1" "$USDT_PID"
}

# options_in_man TOOL PAGE MIN: every long option --help shows is in the
# man page, there are at least MIN of them, and the page has the sections
# of the BCC layout.
options_in_man() {
	local opt sec missing=0 checked=0
	for sec in NAME SYNOPSIS DESCRIPTION REQUIREMENTS OPTIONS EXAMPLES SOURCE "SEE ALSO"; do
		grep -q "^\.SH $sec" "$2" || {
			echo "no $sec section in $2"
			missing=$((missing + 1))
		}
	done
	for opt in $("$1" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
		grep -q -- "${opt//-/\\\\-}" "$2" || {
			echo "missing from $2: $opt"
			missing=$((missing + 1))
		}
		checked=$((checked + 1))
	done
	echo "$checked options checked"
	[ "$checked" -ge "$3" ] && [ "$missing" -eq 0 ]
}

# ---- ckb-iolat, ckb-disklat (tests/iolat.bats, tests/disklat.bats) ----
IOLAT="$top_builddir/tools/ckb-iolat"
DISKLAT="$top_builddir/tools/ckb-disklat"
IOFIX="${IOFIX:-$top_builddir/tests/fixtures/iofix}"

# start_iofix NAME ARGS...: an iofix that waits for SIGUSR1 before its
# I/O; sets NAME_PID; its output goes to $TMP/NAME.out.
start_iofix() {
	local name=$1
	shift
	rm -f "$TMP/$name.out"
	"$IOFIX" -W "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 10 grep -q '^ready' "$TMP/$name.out"
}

# run_iofix NAME: do the I/O and wait for its counts line.
run_iofix() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 60 grep -q '^{' "$TMP/$1.out"
}

# iofix_count NAME FIELD: a count from the fixture's own line.
iofix_count() {
	grep '^{' "$TMP/$1.out" | jq -r ".$2"
}

# rows_sum JSONL FIELD SELECT: sum FIELD over the interval rows that jq
# expression SELECT picks (e.g. '.thread == "x" and .syscall == "fsync"').
rows_sum() {
	jq -s "[.[] | select(.type == \"interval\") | select($3) | .$2] | add // 0" "$1"
}

# ---- ckb-offcpu, ckb-profile (tests/offcpu.bats, tests/profile.bats) ----
OFFCPU="$top_builddir/tools/ckb-offcpu"
PROFILE="$top_builddir/tools/ckb-profile"
CPUFIX="${CPUFIX:-$top_builddir/tests/fixtures/cpufix}"
CPUFIX_NOFP="${CPUFIX_NOFP:-$top_builddir/tests/fixtures/cpufix-nofp}"

# start_cpufix NAME [-b BINARY] ARGS...: a cpufix that waits for SIGUSR1,
# then stays after its JSON line until killed; sets NAME_PID.
start_cpufix() {
	local name=$1 bin=$CPUFIX
	shift
	if [ "${1:-}" = -b ]; then
		bin=$2
		shift 2
	fi
	rm -f "$TMP/$name.out"
	"$bin" -W -L "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 10 grep -q '^ready' "$TMP/$name.out"
}

# run_cpufix NAME: start its threads and wait for what they did.
run_cpufix() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 60 grep -q '^{' "$TMP/$1.out"
}

# cpufix_field NAME FIELD: a value of the fixture's JSON line (jq path).
cpufix_field() {
	grep '^{' "$TMP/$1.out" | jq -r ".$2"
}

# stack_sum JSONL FIELD SELECT: FIELD summed over the "stack" rows that
# jq expression SELECT picks.
stack_sum() {
	jq -s "[.[] | select(.type == \"stack\") | select($3) | .$2] | add // 0" "$1"
}

# within PCT GOT WANT: GOT is within PCT percent of WANT (integers).
within() {
	echo "got $2, want $3 +- $1%"
	[ "$3" -gt 0 ] &&
		[ $(( ($2 - $3) * 100 )) -le $(( $1 * $3 )) ] &&
		[ $(( ($3 - $2) * 100 )) -le $(( $1 * $3 )) ]
}

# bpf_ids PID: the ids of the BPF programs and maps process PID holds,
# as "prog:N" and "map:N" words, from its fdinfo.
bpf_ids() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "prog_id:" { print "prog:" $2 } $1 == "map_id:" { print "map:" $2 }' \
			"$f" 2>/dev/null
	done
}

# bpf_id_exists prog:N | map:N: the kernel still has that program or map.
bpf_id_exists() {
	bpftool "${1%%:*}" show id "${1#*:}" > /dev/null 2>&1
}

# none_left IDS...: none of the programs and maps is left (the kernel
# frees them shortly after the last fd closes).
none_left() {
	local id
	for id in "$@"; do
		if bpf_id_exists "$id"; then
			return 1
		fi
	done
}

# detach_check TOOL SIGNAL WANT_STATUS ARGS...: TOOL attaches to a fresh
# cpufix; the signal ends it with WANT_STATUS, and then not one of the
# BPF programs and maps it held exists, nor its perf events.
detach_check() {
	local tool=$1 sig=$2 want=$3 ids rc=0
	shift 3
	command -v bpftool > /dev/null || skip "bpftool not installed"
	start_cpufix d -S 60000
	start_tracer "$TMP/d.out" "$TMP/d.err" "$tool" -p "$d_PID" "$@"
	run_cpufix_async d
	ids=$(bpf_ids "$TRACER_PID")
	echo "ids: $ids"
	[ -n "$ids" ]
	for id in $ids; do bpf_id_exists "$id"; done
	[ "$(ls -l /proc/"$TRACER_PID"/fd | grep -c 'perf_event')" -ge 1 ]
	kill "-$sig" "$TRACER_PID"
	wait "$TRACER_PID" || rc=$?
	echo "status $rc"
	[ "$rc" -eq "$want" ]
	# shellcheck disable=SC2086
	wait_for 10 none_left $ids
}

# run_cpufix_async NAME: start its threads without waiting for the end.
run_cpufix_async() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
}
