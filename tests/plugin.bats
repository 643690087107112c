#!/usr/bin/env bats
# RocksDB inside a dlopen()ed plugin (Debian's librocksdb.a, C++ API only,
# .symtab stripped): found by its symbols with -p, every operation exact
# against what the plugin says it did, including transactions, iterators,
# an ingest and write stalls; a stripped copy resolved through its
# .gnu_debuglink; -p with -b; a deleted plugin.

load helpers

SYMBOLS="$top_builddir/tools/ckb-symbols"

setup() {
	need_root
	[ -x "${PLUGIN_DIR:-}/rdb-host" ] ||
		skip "the plugin fixture was not built: it needs ld.lld (apt-get install lld)"
	HOST="$PLUGIN_DIR/rdb-host"
	PLUGIN="$PLUGIN_DIR/librdbplug.so"
	HIDDEN="$PLUGIN_DIR/librdbplug-hidden.so"
	common_setup
}

teardown() {
	common_teardown
}

# start_host NAME PLUGIN ARGS...: the host with the plugin, waiting for
# SIGUSR1; sets NAME_PID, counts go to $TMP/NAME.counts.json.
start_host() {
	local name=$1 plugin=$2
	shift 2
	"$HOST" "$plugin" --db "$TMP/$name.db" --counts "$TMP/$name.counts.json" \
		--wait --linger "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	BGPIDS="$BGPIDS $!"
	eval "${name}_PID=$!"
	wait_for 30 grep -q '^ready' "$TMP/$name.out" || {
		cat "$TMP/$name.err" >&2
		return 1
	}
}

# run_host NAME: start its workload and wait for its counts.
run_host() {
	local pid
	eval "pid=\$${1}_PID"
	kill -USR1 "$pid"
	wait_for 120 test -s "$TMP/$1.counts.json"
}

# fixture OP FIELD COUNTS: what the plugin says (0 when it did none).
fixture() {
	jq --arg op "$1" --arg f "$2" '.ops[$op][$f] // 0' "$3"
}

# check_all JSONL COUNTS: every operation the plugin counts, with its
# hits, misses, errors and bytes; keys, files and stalls.
check_all() {
	local op f want got n=0
	for op in $(jq -r '.ops | keys[]' "$2"); do
		for f in count hits misses errors bytes; do
			case "$f:$op" in
			hits:*|misses:*)
				[[ " GET TXN_GET TXN_GET_FOR_UPDATE " == *" $op "* ]] || continue ;;
			errors:ITER*) continue ;;
			bytes:ITER|bytes:ITER_SEEK|bytes:TXN_ROLLBACK) continue ;;
			esac
			want=$(fixture "$op" "$f" "$2")
			if [ "$f" = count ]; then
				got=$(interval_sum "$1" "$op")
			else
				got=$(interval_field "$1" "$op" "$f")
			fi
			echo "$op $f: plugin $want, reported $got"
			[ "$got" = "$want" ]
			n=$((n + 1))
		done
		[ "$(summary_count "$1" "$op")" = "$(fixture "$op" count "$2")" ]
	done
	echo "$n values checked"
	[ "$n" -ge 35 ]
	want=$(jq .iter_keys "$2")
	echo "keys read through iterators: plugin $want, reported $(interval_field "$1" ITER_NEXT keys)"
	[ "$want" -gt 0 ] && [ "$(interval_field "$1" ITER_NEXT keys)" = "$want" ]
	want=$(jq .ingest_files "$2")
	echo "files ingested: plugin $want, reported $(interval_field "$1" INGEST files)"
	[ "$want" = 3 ] && [ "$(interval_field "$1" INGEST files)" = "$want" ]
	want=$(jq .stall_delays "$2")
	echo "delayed writes: plugin $want, reported $(interval_sum "$1" STALL_DELAY)"
	[ "$(interval_sum "$1" STALL_DELAY)" = "$want" ]
	[ "$(summary_count "$1" STALL_DELAY)" = "$want" ]
	want=$(jq .stall_stops "$2")
	echo "stopped writes: plugin $want, reported $(interval_sum "$1" STALL_STOP)"
	[ "$(interval_sum "$1" STALL_STOP)" = "$want" ]
	[ "$(summary_count "$1" STALL_STOP)" = "$want" ]
}

@test "-p finds RocksDB in a dlopen()ed plugin: every row exact, with hits, misses, errors, bytes, stalls" {
	start_host a "$PLUGIN"
	start_rdblat r -p "$a_PID" -j -o all
	run_host a
	sleep 1.2
	stop_rdblat INT
	cat "$TMP/r.err"
	[ "$(jq -r 'select(.type == "start") | .layer' "$TMP/r.jsonl")" = "C++" ]
	[ "$(jq -c 'select(.type == "start") | .unprobed' "$TMP/r.jsonl")" = "{}" ]
	check_all "$TMP/r.jsonl" "$TMP/a.counts.json"
	# the stalls the plugin forced did happen
	[ "$(jq .stall_stops "$TMP/a.counts.json")" = 2 ]
	[ "$(jq .stall_delays "$TMP/a.counts.json")" -gt 0 ]
	# a transactional write is not counted again as the DB write under it
	[ "$(interval_sum "$TMP/r.jsonl" WRITE)" = 0 ]
}

@test "a run that never stalls reports no stall, and says 0, not null" {
	start_host a "$PLUGIN" --stops 0 --delays 0 -n 4
	start_rdblat r -p "$a_PID" -j -o STALL,PUT,TXN_COMMIT
	run_host a
	sleep 1.2
	stop_rdblat INT
	[ "$(jq .stall_stops "$TMP/a.counts.json")" = 0 ]
	[ "$(jq .stall_delays "$TMP/a.counts.json")" = 0 ]
	[ "$(summary_count "$TMP/r.jsonl" STALL_DELAY)" = 0 ]
	[ "$(summary_count "$TMP/r.jsonl" STALL_STOP)" = 0 ]
	[ "$(summary_count "$TMP/r.jsonl" PUT)" = "$(fixture PUT count "$TMP/a.counts.json")" ]
	[ "$(summary_count "$TMP/r.jsonl" TXN_COMMIT)" = "$(fixture TXN_COMMIT count "$TMP/a.counts.json")" ]
}

@test "by default ITER_NEXT is not probed: null in the summary, said on the start line and in the table" {
	start_host a "$PLUGIN" --stops 0 --delays 0 -n 4
	start_rdblat r -p "$a_PID" -j
	grep -q '^Not probed: ITER_NEXT (off by default' "$TMP/r.err"
	run_host a
	stop_rdblat INT
	[ "$(summary_count "$TMP/r.jsonl" ITER_NEXT)" = null ]
	[ "$(summary_count "$TMP/r.jsonl" ITER_SEEK)" = "$(fixture ITER_SEEK count "$TMP/a.counts.json")" ]
	[[ "$(jq -r 'select(.type == "start") | .unprobed.ITER_NEXT' "$TMP/r.jsonl")" == "off by default"* ]]
	start_rdblat t -p "$a_PID" 1 1
	wait "$RDBLAT_PID"
	grep -q 'not probed: ITER_NEXT$' "$TMP/t.jsonl"
}

@test "a stripped plugin with a separate debug file: its symbols found through .gnu_debuglink" {
	run "$SYMBOLS" -j "$HIDDEN"
	echo "$output" | jq -c '.files[0] | {symtab, debuglink, debug_file, debug_found_by}'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.files[0].debug_found_by')" = .gnu_debuglink ]
	[ "$(echo "$output" | jq -r '.files[0].debug_file')" = "$HIDDEN.debug" ]
	[ "$(echo "$output" | jq -r '.rocksdb')" = embedded ]
	# without the debug file nothing of RocksDB is visible in it
	[ "$(readelf --dyn-syms -W "$HIDDEN" | grep -c 'DBImpl')" = 0 ]
	start_host a "$HIDDEN" --stops 1 --delays 0
	start_rdblat r -p "$a_PID" -j -o all
	run_host a
	sleep 1.2
	stop_rdblat INT
	check_all "$TMP/r.jsonl" "$TMP/a.counts.json"
	run "$SYMBOLS" -p "$a_PID"
	echo "$output" | grep -E '^(file|symbols|rocksdb) '
	[[ "$output" == *"symbols     $HIDDEN.debug (.gnu_debuglink)"* ]]
}

@test "without its debug file the stripped plugin is named, with the remedy" {
	cp "$HIDDEN" "$TMP/libalone.so"
	start_host a "$TMP/libalone.so" -n 2
	run timeout 60 "$RDBLAT" -p "$a_PID" -b "$TMP/libalone.so" 1 1
	failed_one_line ckb-rdblat 1 "no debug file found for librdbplug-hidden.so.debug"
	[[ "$output" == *"install its debug symbols"* ]]
}

@test "-p PID -b PLUGIN: only that object, counted in that process only" {
	start_host a "$PLUGIN" --stops 0 --delays 0 -n 6
	start_host b "$PLUGIN" --stops 0 --delays 0 -n 10
	start_rdblat r -p "$b_PID" -b "$PLUGIN" -j -o TXN_PUT,TXN_COMMIT,GET
	grep -q "in PID $b_PID ($PLUGIN)" "$TMP/r.err"
	run_host a
	run_host b
	sleep 1.2
	stop_rdblat INT
	local op
	for op in TXN_PUT TXN_COMMIT GET; do
		echo "$op: a $(fixture $op count "$TMP/a.counts.json"), b $(fixture $op count "$TMP/b.counts.json"), reported $(interval_sum "$TMP/r.jsonl" $op)"
		[ "$(interval_sum "$TMP/r.jsonl" $op)" = "$(fixture $op count "$TMP/b.counts.json")" ]
	done
	run "$RDBLAT" -p "$a_PID" -b "$DBSIM" 1 1
	failed_one_line ckb-rdblat 1 "does not map $DBSIM"
}

@test "a plugin deleted after it was loaded (as RocksJava does) is still found and probed" {
	cp "$PLUGIN" "$TMP/librocksdbjni-tmp.so"
	start_host a "$TMP/librocksdbjni-tmp.so" --stops 0 --delays 0 -n 6
	rm "$TMP/librocksdbjni-tmp.so"
	grep -q 'librocksdbjni-tmp.so (deleted)' "/proc/$a_PID/maps"
	start_rdblat r -p "$a_PID" -j -o TXN_PUT,TXN_GET,ITER_SEEK
	run_host a
	sleep 1.2
	stop_rdblat INT
	local op
	for op in TXN_PUT TXN_GET ITER_SEEK; do
		[ "$(interval_sum "$TMP/r.jsonl" $op)" = "$(fixture $op count "$TMP/a.counts.json")" ]
	done
}

@test "ckb-symbols -p: RocksDB embedded in the plugin, C++ core resolved, exit 0" {
	start_host a "$PLUGIN" -n 2
	run "$SYMBOLS" -p "$a_PID"
	echo "$output" | grep -E '^(rocksdb|layer|core) '
	[ "$status" -eq 0 ]
	[[ "$output" == *"rocksdb     embedded:"* ]]
	[[ "$output" == *"mapped $PLUGIN"* ]]
	run "$SYMBOLS" -j -p "$a_PID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '.core.missing')" = "[]" ]
	[ "$(echo "$output" | jq -c '.core.resolved')" = '["GET","TXN_GET","TXN_PUT","WRITE","TXN_COMMIT","ITER"]' ]
	[ "$(echo "$output" | jq -r '.files[1].symbols_from')" = "$PLUGIN" ]
}

@test "a stripped plugin whose debug file is under a debug directory: found by build-id" {
	local id
	id=$(readelf -n "$HIDDEN" | awk '/Build ID:/ { print $3 }')
	[ -n "$id" ]
	# a copy whose .gnu_debuglink names nothing beside it
	cp "$HIDDEN" "$TMP/libcopy.so"
	mkdir -p "$TMP/debug/.build-id/${id:0:2}"
	cp "$HIDDEN.debug" "$TMP/debug/.build-id/${id:0:2}/${id:2}.debug"
	CKBTRACE_DEBUG_DIRS="$TMP/nowhere:$TMP/debug" run "$SYMBOLS" -j "$TMP/libcopy.so"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.files[0].debug_found_by')" = build-id ]
	[ "$(echo "$output" | jq -r '.files[0].debug_file')" = "$TMP/debug/.build-id/${id:0:2}/${id:2}.debug" ]
	# a debug file of another build is not taken
	cp "$PLUGIN" "$TMP/debug/.build-id/${id:0:2}/${id:2}.debug"
	CKBTRACE_DEBUG_DIRS="$TMP/debug" run "$SYMBOLS" -j "$TMP/libcopy.so"
	[ "$status" -eq 3 ]
	[ "$(echo "$output" | jq -r '.files[0].debug_file')" = null ]
}

@test "-p remembers per build-id which mapped objects hold RocksDB" {
	local id
	id=$(readelf -n "$PLUGIN" | awk '/Build ID:/ { print $3 }')
	mkdir -m 0700 "$TMP/cache"
	start_host a "$PLUGIN" -n 2
	CKBTRACE_OBJECTS_CACHE="$TMP/cache/objects" run "$SYMBOLS" -p "$a_PID"
	[ "$status" -eq 0 ]
	cat "$TMP/cache/objects"
	[ "$(stat -c '%a %u' "$TMP/cache/objects")" = "600 0" ]
	grep -qx "$id 1" "$TMP/cache/objects"
	# libc holds no RocksDB
	id=$(readelf -n "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)" | awk '/Build ID:/ { print $3 }')
	grep -qxE "$id(\+d)? 0" "$TMP/cache/objects"
	# a second look answers the same from the file, and adds nothing
	local before
	before=$(wc -l < "$TMP/cache/objects")
	CKBTRACE_OBJECTS_CACHE="$TMP/cache/objects" run "$SYMBOLS" -p "$a_PID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mapped $PLUGIN"* ]]
	# a directory others may write is not used
	mkdir -m 0777 "$TMP/open"
	CKBTRACE_OBJECTS_CACHE="$TMP/open/objects" run "$SYMBOLS" -p "$a_PID"
	[ "$status" -eq 0 ]
	[ ! -e "$TMP/open/objects" ]
	[ "$(wc -l < "$TMP/cache/objects")" = "$before" ]
}
