#!/usr/bin/env bats
# The compile cache is a trust boundary: root loads the bytecode it finds
# there.  A directory or an entry that someone else could have written is
# refused with one line and the tool compiles instead; a damaged entry is
# compiled again, never loaded; entries appear only whole, by rename().
# Every run here is ckb-rdblat -o GET on ckb-dbsim, so they share one
# entry name.

load helpers

setup() {
	need_root
	common_setup
	chmod 755 "$TMP"
	unset CKBTRACE_NO_CACHE
	export CKBTRACE_CACHE_DIR="$TMP/cache"
	start_dbsim a -n 0
}

teardown() {
	common_teardown
}

# cache_run: ckb-rdblat -v for a moment on the idle dbsim a; its status,
# stdout and stderr in status, $TMP/run.out and $TMP/run.err.
cache_run() {
	status=0
	timeout -k 5 120 "$RDBLAT" -p "$a_PID" -o GET -v -d 0.3 \
		> "$TMP/run.out" 2> "$TMP/run.err" || status=$?
	echo "status $status"
	grep -v -e '^ckb-rdblat: u' -e '^ckb-rdblat: no symbol' \
		-e '^ckb-rdblat: /' "$TMP/run.err" | grep '^ckb-rdblat: ' || true
	[ "$status" = 0 ]
	grep -q '^Tracing' "$TMP/run.err"
}

loaded() {
	grep -q "BPF programs loaded from $1" "$TMP/run.err"
}

# cache_lines: the lines about the cache in the last run.
cache_lines() {
	grep -E '^ckb-rdblat: (not using the BPF cache|not using BPF cache entry|BPF cache entry)' "$TMP/run.err" || true
}

# one_cache_line PATTERN: the last run compiled, and said PATTERN once.
one_cache_line() {
	local l
	l=$(cache_lines)
	echo "cache lines: $l"
	! loaded "$CKBTRACE_CACHE_DIR" || false
	[ "$(printf '%s' "$l" | grep -c '')" = 1 ]
	[[ "$l" == *"$1"* ]]
}

# warm: fill the cache; ENTRY is its one entry.
warm() {
	cache_run
	ENTRY=$(ls "$CKBTRACE_CACHE_DIR"/*.bpf)
	[ -f "$ENTRY" ]
}

# exact_run: a whole ckb-rdblat run on a new workload: GET counted exactly.
exact_run() {
	RUNS=$((${RUNS:-0} + 1))
	local b="b$RUNS" pid
	start_dbsim "$b" -n 200 -r 0 --seed 7
	pid=$(eval "echo \$${b}_PID")
	start_rdblat r -p "$pid" -j -o GET -v
	run_dbsim "$b"
	stop_rdblat INT
	kill -TERM "$pid"
	local want got
	# shellcheck disable=SC2086
	want=$(calls_of "$TMP/$b.counts.json" ${FNS[GET]})
	got=$(interval_sum "$TMP/r.jsonl" GET)
	echo "GET: workload $want, reported $got"
	[ "$want" -gt 0 ] && [ "$got" = "$want" ]
	cp "$TMP/r.err" "$TMP/run.err"
}

# ---- what a good cache looks like ----

@test "a new cache: directory 0700, one entry 0600, both root's, no temporary file; the next run loads it" {
	warm
	[ "$(stat -c '%a %u %F' "$CKBTRACE_CACHE_DIR")" = "700 0 directory" ]
	[ "$(stat -c '%a %u %F' "$ENTRY")" = "600 0 regular file" ]
	[ "$(ls -A "$CKBTRACE_CACHE_DIR" | wc -l)" = 1 ]
	[ -z "$(cache_lines)" ]
	cache_run
	loaded "$ENTRY"
	[ -z "$(cache_lines)" ]
}

@test "a symlink to a directory of root's, mode 0700, is followed" {
	mkdir -m 700 "$TMP/real"
	ln -s "$TMP/real" "$CKBTRACE_CACHE_DIR"
	warm
	cache_run
	loaded "$CKBTRACE_CACHE_DIR/"
	[ -z "$(cache_lines)" ]
}

# ---- unsafe directories ----

# refused_dir PATTERN: a warm entry is in the directory, the run compiles
# and says PATTERN once, and the directory is left as it was.
refused_dir() {
	local before
	before=$(ls -lAn --time-style=+%s.%N "$TMP/real" 2>/dev/null || true)
	cache_run
	one_cache_line "$1"
	[[ "$(cache_lines)" == *"; compiling instead (set CKBTRACE_CACHE_DIR to a directory only you can write)" ]]
	[ "$(ls -lAn --time-style=+%s.%N "$TMP/real" 2>/dev/null || true)" = "$before" ]
}

# unsafe_dir: the warm cache moved to $TMP/real, which the caller makes
# unsafe; CKBTRACE_CACHE_DIR points there.
unsafe_dir() {
	warm
	mv "$CKBTRACE_CACHE_DIR" "$TMP/real"
	export CKBTRACE_CACHE_DIR="$TMP/real"
}

@test "a cache directory owned by another user is refused, in one line" {
	unsafe_dir
	chown 65534 "$TMP/real"
	refused_dir "not using the BPF cache $TMP/real: it belongs to uid 65534, not to uid 0"
}

@test "a group-writable cache directory is refused" {
	unsafe_dir
	chmod 770 "$TMP/real"
	refused_dir "not using the BPF cache $TMP/real: others can write it (mode 0770)"
}

@test "a world-writable cache directory is refused, sticky bit or not" {
	unsafe_dir
	chmod 777 "$TMP/real"
	refused_dir "others can write it (mode 0777)"
	chmod 1777 "$TMP/real"
	refused_dir "others can write it (mode 1777)"
}

@test "a symlink to a world-writable directory, or to another user's, is refused" {
	unsafe_dir
	chmod 777 "$TMP/real"
	ln -s "$TMP/real" "$TMP/link"
	export CKBTRACE_CACHE_DIR="$TMP/link"
	refused_dir "not using the BPF cache $TMP/link: others can write it (mode 0777)"
	chmod 700 "$TMP/real"
	chown 65534 "$TMP/real"
	refused_dir "it belongs to uid 65534, not to uid 0"
}

@test "an unprivileged user who pre-creates the directory (and plants an entry) is refused" {
	warm
	# a place anyone may create in, like /tmp
	mkdir -m 1777 "$TMP/pub"
	install -m 644 "$ENTRY" "$TMP/planted"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		sh -c 'mkdir -m 700 "$1" && cp "$2" "$1/$3"' sh "$TMP/pub/cache" \
		"$TMP/planted" "${ENTRY##*/}"
	[ "$(stat -c %u "$TMP/pub/cache/${ENTRY##*/}")" = 65534 ]
	export CKBTRACE_CACHE_DIR="$TMP/pub/cache"
	cache_run
	one_cache_line "not using the BPF cache $TMP/pub/cache: it belongs to uid 65534, not to uid 0"
	# nothing written there for the user to find either
	[ "$(ls -A "$TMP/pub/cache")" = "${ENTRY##*/}" ]
	# nor as a symlink to a directory of the user's
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		ln -s "$TMP/pub/cache" "$TMP/pub/cache2"
	export CKBTRACE_CACHE_DIR="$TMP/pub/cache2"
	cache_run
	one_cache_line "it belongs to uid 65534, not to uid 0"
}

@test "a cache directory that cannot be made is said once, and the tool works" {
	: > "$TMP/file"
	export CKBTRACE_CACHE_DIR="$TMP/file/cache"
	cache_run
	one_cache_line "not using the BPF cache $TMP/file/cache: cannot create it: Not a directory"
}

# ---- unsafe entries: refused, compiled, and replaced by a good one ----

# refused_entry WHY: the entry was tampered with; the run compiles and
# says WHY once; the run after it loads a whole entry of root's again.
refused_entry() {
	cache_run
	one_cache_line "not using BPF cache entry $ENTRY: $1; compiling instead"
	cache_run
	loaded "$ENTRY"
	[ "$(stat -c '%a %u %F' "$ENTRY")" = "600 0 regular file" ]
}

@test "an entry that is a symlink (to a good entry) is not followed" {
	warm
	mkdir -m 700 "$TMP/elsewhere"
	mv "$ENTRY" "$TMP/elsewhere/"
	ln -s "$TMP/elsewhere/${ENTRY##*/}" "$ENTRY"
	refused_entry "it is a symbolic link"
}

@test "an entry owned by another user is refused" {
	warm
	chown 65534 "$ENTRY"
	refused_entry "it belongs to uid 65534, not to uid 0"
}

@test "a group- or world-writable entry is refused" {
	warm
	chmod 620 "$ENTRY"
	refused_entry "others can write it (mode 0620)"
	chmod 602 "$ENTRY"
	refused_entry "others can write it (mode 0602)"
}

@test "an entry that is a FIFO is refused without waiting for a writer" {
	warm
	rm "$ENTRY"
	mkfifo -m 600 "$ENTRY"
	refused_entry "it is not a regular file"
}

@test "an entry that is a directory is refused, run after run" {
	warm
	rm "$ENTRY"
	mkdir -m 700 "$ENTRY"
	cache_run
	one_cache_line "not using BPF cache entry $ENTRY: it is not a regular file"
	cache_run
	one_cache_line "not using BPF cache entry $ENTRY: it is not a regular file"
}

# ---- damaged entries: compiled again, never loaded ----

# damaged: the run compiles, says the entry is damaged, counts exactly;
# the next run loads the rewritten entry.
damaged() {
	exact_run
	one_cache_line "BPF cache entry $ENTRY is damaged (truncated or altered); compiling again"
	cache_run
	loaded "$ENTRY"
}

@test "a truncated entry (half, one byte short, empty) is compiled again" {
	warm
	local size
	size=$(stat -c %s "$ENTRY")
	truncate -s $((size / 2)) "$ENTRY"
	damaged
	truncate -s $((size - 1)) "$ENTRY"
	damaged
	truncate -s 0 "$ENTRY"
	damaged
}

# flip OFFSET: one bit of the entry, at byte OFFSET.
flip() {
	local b
	b=$(od -An -t u1 -j "$1" -N 1 "$ENTRY" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 4)))" |
		dd of="$ENTRY" bs=1 seek="$1" conv=notrunc status=none
}

@test "an entry with one bit flipped (header, bytecode, last byte) is compiled again" {
	warm
	local size off
	size=$(stat -c %s "$ENTRY")
	for off in 3 $((size / 2)) $((size - 1)); do
		cp "$ENTRY" "$TMP/before"
		flip "$off"
		! cmp -s "$ENTRY" "$TMP/before" || false
		damaged
	done
}

@test "an entry of another build, copied over this build's name, is compiled again, never loaded" {
	# the entry of ckb-rdblat -o PUT (other programs) under the -o GET name
	warm
	timeout -k 5 120 "$RDBLAT" -p "$a_PID" -o PUT -d 0.3 >/dev/null 2>&1
	local other
	other=$(ls "$CKBTRACE_CACHE_DIR"/*.bpf | grep -vxF "$ENTRY")
	[ "$(printf '%s\n' "$other" | wc -l)" = 1 ] && [ -f "$other" ]
	cp "$other" "$ENTRY"
	exact_run
	one_cache_line "BPF cache entry $ENTRY was written for another build (renamed or copied?); compiling again"
	cache_run
	loaded "$ENTRY"
}

# ---- writes are atomic ----

@test "an entry is written to a temporary file in the directory, then renamed: never opened for writing by its name" {
	command -v strace >/dev/null || skip "strace is not installed"
	# in a --enable-sanitizers build: LeakSanitizer cannot run under
	# ptrace, so no leak check for this one run
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -e trace=openat,rename,renameat,renameat2,unlink,unlinkat \
		-o "$TMP/trace" "$RDBLAT" -p "$a_PID" -o GET -d 0.3 >/dev/null 2>&1
	ENTRY=$(ls "$CKBTRACE_CACHE_DIR"/*.bpf)
	local name=${ENTRY##*/}
	grep -E "$name|cache" "$TMP/trace"
	# the directory is opened as one, and entries are opened through it
	grep -qE "openat\(AT_FDCWD, \"$CKBTRACE_CACHE_DIR\", O_RDONLY\|O_CLOEXEC\|O_DIRECTORY" "$TMP/trace"
	# the lookup: relative to the directory, never following a symlink
	grep -qE "openat\([0-9]+, \"$name\", O_RDONLY\|O_NONBLOCK\|O_NOFOLLOW\|O_CLOEXEC\) = -1 ENOENT" "$TMP/trace"
	# the write: a new temporary file beside it, then rename()
	grep -qE "openat\([0-9]+, \"\.$name\.[0-9]+\.tmp\", O_WRONLY\|O_CREAT\|O_EXCL\|O_NOFOLLOW\|O_CLOEXEC, 0600\) = [0-9]+" "$TMP/trace"
	grep -qE "renameat2?\([0-9]+, \"\.$name\.[0-9]+\.tmp\", [0-9]+, \"$name\"" "$TMP/trace"
	# never opened for writing under its own name
	! grep -E "\"$name\", O_WRONLY|\"$name\", O_RDWR" "$TMP/trace" || false
	[ "$(ls -A "$CKBTRACE_CACHE_DIR")" = "$name" ]
}

@test "four tools filling one empty cache at once: each works, one whole entry, no temporary file" {
	local i pids=""
	for i in 1 2 3 4; do
		"$RDBLAT" -p "$a_PID" -o GET -d 0.3 > /dev/null 2> "$TMP/c$i.err" &
		pids="$pids $!"
	done
	BGPIDS="$BGPIDS $pids"
	for i in $pids; do
		wait "$i"
	done
	for i in 1 2 3 4; do
		grep -q '^Tracing' "$TMP/c$i.err"
		! grep -q 'cache' "$TMP/c$i.err" || false
	done
	[ "$(ls -A "$CKBTRACE_CACHE_DIR" | wc -l)" = 1 ]
	ENTRY=$(ls "$CKBTRACE_CACHE_DIR"/*.bpf)
	cache_run
	loaded "$ENTRY"
}

@test "a temporary file left by a killed writer is ignored" {
	warm
	local name=${ENTRY##*/}
	head -c 100 "$ENTRY" > "$CKBTRACE_CACHE_DIR/.$name.99999.tmp"
	cache_run
	loaded "$ENTRY"
	rm "$ENTRY"
	cache_run
	[ "$(stat -c '%a %u %F' "$ENTRY")" = "600 0 regular file" ]
	cache_run
	loaded "$ENTRY"
}

@test "CKBTRACE_NO_CACHE=1: neither read nor written" {
	warm
	rm "$ENTRY"
	CKBTRACE_NO_CACHE=1 cache_run
	[ -z "$(ls -A "$CKBTRACE_CACHE_DIR")" ]
	[ -z "$(cache_lines)" ]
}
