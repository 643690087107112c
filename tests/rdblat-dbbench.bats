#!/usr/bin/env bats
# ckb-rdblat on RocksDB as a shared library: Debian's db_bench (C++ API
# only) and a C API program, both through librocksdb.so, traced with -b on
# the library so that processes started after attaching are counted.

load helpers

setup() {
	need_root
	common_setup
	DB_BENCH=${DB_BENCH:-/usr/bin/db_bench}
	[ -x "$DB_BENCH" ] || skip "db_bench (rocksdb-tools) not installed"
	LIB=$(ldd "$DB_BENCH" | awk '/librocksdb/ { print $3 }')
	[ -n "$LIB" ] || skip "db_bench does not link librocksdb.so"
}

teardown() {
	common_teardown
}

# ops_of BENCH: the operation count db_bench printed for one benchmark.
ops_of() {
	awk -v b="$1" '$1 == b { for (i = 1; i <= NF; i++) if ($i == "operations;") print $(i - 1) }' "$TMP/bench.out"
}

@test "db_bench: WRITE, GET and ITER equal the operations db_bench reports" {
	start_rdblat r -b "$LIB" -j
	timeout 300 "$DB_BENCH" --benchmarks=fillrandom,readrandom,seekrandom \
		--num=30000 --reads=20000 --seek_nexts=1 --threads=1 \
		--db="$TMP/bench.db" > "$TMP/bench.out" 2>&1
	sleep 1.2
	stop_rdblat INT
	cat "$TMP/bench.out" | grep operations
	local w g s
	w=$(ops_of fillrandom)
	g=$(ops_of readrandom)
	s=$(ops_of seekrandom)
	echo "db_bench: $w writes, $g reads, $s seeks; reported $(interval_sum "$TMP/r.jsonl" WRITE), $(interval_sum "$TMP/r.jsonl" GET), $(interval_sum "$TMP/r.jsonl" ITER)"
	[ "$w" = 30000 ] && [ "$g" = 20000 ] && [ "$s" = 20000 ]
	[ "$(interval_sum "$TMP/r.jsonl" WRITE)" = "$w" ]
	[ "$(interval_sum "$TMP/r.jsonl" GET)" = "$g" ]
	[ "$(interval_sum "$TMP/r.jsonl" ITER)" = "$s" ]
	[ "$(interval_sum "$TMP/r.jsonl" ITER_SEEK)" = "$s" ]
	[ "$(jq -r 'select(.type == "start") | .layer' "$TMP/r.jsonl")" = "C API + C++" ]
	# "(F of N found)": the reads that found their key are GET's hits
	local found
	found=$(awk '$1 == "readrandom" { sub(/.*\(/, ""); print $1 }' "$TMP/bench.out")
	echo "db_bench found $found; reported hits $(interval_field "$TMP/r.jsonl" GET hits), misses $(interval_field "$TMP/r.jsonl" GET misses)"
	[ "$found" -gt 0 ]
	[ "$(interval_field "$TMP/r.jsonl" GET hits)" = "$found" ]
	[ "$(interval_field "$TMP/r.jsonl" GET misses)" = $((g - found)) ]
	[ "$(interval_field "$TMP/r.jsonl" GET errors)" = 0 ]
}

@test "db_bench: a memtable that fills up is flushed, and FLUSH sees it" {
	start_rdblat r -b "$LIB" -j -o FLUSH,WRITE
	timeout 300 "$DB_BENCH" --benchmarks=fillseq --num=40000 --value_size=400 \
		--write_buffer_size=1048576 --threads=1 --db="$TMP/bench.db" \
		> "$TMP/bench.out" 2>&1
	sleep 1.2
	stop_rdblat INT
	local flushes
	flushes=$(grep -c '"event": "flush_started"' "$TMP/bench.db/LOG")
	echo "LOG: $flushes flushes; reported $(interval_sum "$TMP/r.jsonl" FLUSH)"
	[ "$flushes" -gt 3 ]
	[ "$(interval_sum "$TMP/r.jsonl" FLUSH)" = "$flushes" ]
	[ "$(interval_sum "$TMP/r.jsonl" WRITE)" = 40000 ]
}

@test "a C API program on librocksdb.so: counted once, not again at the C++ layer" {
	[ -x "$CAPI_DYN" ] || skip "tests/fixtures/capi-dyn not built"
	start_rdblat r -b "$LIB" -j
	timeout 120 "$CAPI_DYN" "$TMP/capi.db" 5000 > "$TMP/capi.json"
	sleep 1.2
	stop_rdblat INT
	cat "$TMP/capi.json"
	echo "reported PUT $(interval_sum "$TMP/r.jsonl" PUT) GET $(interval_sum "$TMP/r.jsonl" GET) WRITE $(interval_sum "$TMP/r.jsonl" WRITE)"
	[ "$(interval_sum "$TMP/r.jsonl" PUT)" = "$(jq .rocksdb_put "$TMP/capi.json")" ]
	[ "$(interval_sum "$TMP/r.jsonl" GET)" = "$(jq .rocksdb_get "$TMP/capi.json")" ]
	[ "$(interval_sum "$TMP/r.jsonl" WRITE)" = "$(jq .rocksdb_write "$TMP/capi.json")" ]
	# 5000 puts and a batch of 5000 puts of a 9-byte key and 5-byte value
	[ "$(interval_bytes "$TMP/r.jsonl" PUT)" = 70000 ]
	[ "$(interval_bytes "$TMP/r.jsonl" WRITE)" = 70000 ]
}
