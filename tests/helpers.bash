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

# The C API functions behind each operation (what ckb-dbsim's counts name).
declare -gA FNS=(
	[GET]="rocksdb_get_pinned_cf rocksdb_get_pinned rocksdb_get_cf rocksdb_get"
	[TXN_GET]="rocksdb_transaction_get_pinned_cf rocksdb_transaction_get_pinned rocksdb_transaction_get_pinned_for_update_cf rocksdb_transaction_get_for_update_cf rocksdb_transaction_get_cf rocksdb_transaction_get_for_update rocksdb_transaction_get"
	[PUT]="rocksdb_put_cf rocksdb_put"
	[TXN_PUT]="rocksdb_transaction_put_cf rocksdb_transaction_put"
	[DELETE]="rocksdb_delete_cf rocksdb_delete"
	[TXN_DELETE]="rocksdb_transaction_delete_cf rocksdb_transaction_delete"
	[WRITE]="rocksdb_write"
	[TXN_COMMIT]="rocksdb_transaction_commit"
	[ITER]="rocksdb_create_iterator_cf rocksdb_create_iterator rocksdb_transaction_create_iterator_cf rocksdb_transaction_create_iterator rocksdb_iter_seek rocksdb_iter_seek_to_first rocksdb_iter_seek_to_last rocksdb_iter_seek_for_prev"
)

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
