#!/usr/bin/env bats
# ckb-symbols on real binaries: every address, offset and size it prints
# is checked against nm, readelf and the file itself, computed here.

load helpers

SYMBOLS="$top_builddir/tools/ckb-symbols"
LIBROCKSDB=/usr/lib/x86_64-linux-gnu/librocksdb.so.7.8

setup() {
	common_setup
	# A private copy: the build tree's ckb-dbsim may be rebuilt meanwhile.
	cp "$DBSIM" "$TMP/dbsim"
	BIN="$TMP/dbsim"
}

teardown() {
	common_teardown
}

# The C API and tally rows of the catalog, from its source:
# "OP LAYER SYMBOL" lines.
catalog_c_rows() {
	sed -nE 's/^[[:space:]]*(CAPI|TALLY)\(OP_([A-Z_]+), "([a-z_]+)".*/\2 \1 \3/p' \
		"$top_srcdir/src/catalog.c" | awk '{ print $1, tolower($2), $3 }'
}

catalog_nrows() {
	grep -cE '^[[:space:]]*(CAPI|CXX|BG|TALLY|CXX_AUX|BG_NEED|BG_AUX)\(OP_' \
		"$top_srcdir/src/catalog.c"
}

# file_offset FILE HEXADDR: the file offset of an address, through the
# PT_LOAD segment that maps it from the file (readelf -l).
file_offset() {
	local a=$((16#$2)) off va fs
	while read -r off va fs; do
		off=$((off)) va=$((va)) fs=$((fs))
		if [ "$a" -ge "$va" ] && [ "$a" -lt $((va + fs)) ]; then
			printf '0x%x\n' $((a - va + off))
			return 0
		fi
	done < <(readelf -lW "$1" | awk '$1 == "LOAD" { print $2, $3, $5 }')
	return 1
}

# expected_site FILE SYMBOL [NM-FLAGS]: "0xADDR 0xOFFSET SIZE" from nm -S.
expected_site() {
	local file=$1 sym=$2 addr size
	shift 2
	read -r addr size < <(nm -S --defined-only "$@" "$file" |
		awk -v s="$sym" '$4 == s { print $1, $2; exit }')
	[ -n "$addr" ] || return 1
	printf '0x%x %s %d\n' $((16#$addr)) "$(file_offset "$file" "$addr")" \
		$((16#$size))
}

# reported_site TEXT SYMBOL: "0xADDR 0xOFFSET SIZE" of ckb-symbols' line.
reported_site() {
	sed 's/^[* ] //' <<< "$1" | awk -v s="$2" '$3 == s { print $4, $5, $6; exit }'
}

# Defined function symbols "MANGLED HEXADDR" of both tables (readelf -s).
defined_funcs() {
	readelf -sW "$1" | awk '($4 == "FUNC" || $4 == "IFUNC") && $7 != "UND" { sub(/@.*/, "", $8); print $8, $2 }'
}

count_capi() {
	defined_funcs "$1" | awk '$1 ~ /^rocksdb_/' | sort -u | wc -l
}

count_cxx() {
	defined_funcs "$1" | awk '$1 ~ /^_Z.*7rocksdb/' | c++filt |
		grep '^rocksdb::' | sort -u | wc -l
}

table_entries() {
	readelf -sW "$1" | sed -nE "s/^Symbol table '\\$2' contains ([0-9]+) entries:/\\1/p"
}

@test "--help shows usage and examples and exits 0" {
	run "$SYMBOLS" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *USAGE:* ]]
	[[ "$output" == *EXAMPLES:* ]]
	[[ "$output" == *"-p, --pid PID"* ]]
	[[ "$output" == *"Exit status:"* ]]
}

@test "every option in --help is in the man page" {
	options_in_man "$SYMBOLS" "$top_srcdir/man/ckb-symbols.8" 4
}

@test "static RocksDB (ckb-dbsim): the file facts equal readelf's and stat's" {
	run "$SYMBOLS" "$BIN"
	echo "$output" | head -12
	[ "$status" -eq 0 ]
	local id size dwarf
	id=$(readelf -n "$BIN" | awk '/Build ID:/ { print $3 }')
	size=$(stat -c %s "$BIN")
	readelf -SW "$BIN" | grep -q ' \.debug_info ' && dwarf="yes (.debug_info)" || dwarf=no
	readelf -h "$BIN" | grep -q 'Type: *DYN'
	readelf -lW "$BIN" | grep -q INTERP
	[ "${lines[0]}" = "file        $BIN" ]
	[ "${lines[1]}" = "class       ELF64" ]
	[ "${lines[2]}" = "machine     x86-64" ]
	[ "${lines[3]}" = "type        PIE executable" ]
	[ "${lines[4]}" = "build-id    $id" ]
	[[ "${lines[5]}" == "size        $size bytes ("*")" ]]
	[ "${lines[6]}" = ".symtab     yes, $(table_entries "$BIN" .symtab) symbols (not stripped)" ]
	[ "${lines[7]}" = ".dynsym     $(table_entries "$BIN" .dynsym) symbols" ]
	[ "${lines[8]}" = "DWARF       $dwarf" ]
	[ "${lines[9]}" = "symbols     .symtab and .dynsym" ]
	[ "${lines[10]}" = "rocksdb     static: $(count_capi "$BIN") rocksdb_* and $(count_cxx "$BIN") rocksdb:: functions defined in .symtab" ]
	[ "${lines[11]}" = "layer       C API (rows marked * are what ckb-rdblat attaches)" ]
	[[ "$output" == *"core        5/5 resolved"* ]]
}

@test "static RocksDB: every C API row's address, offset and size equal nm's and readelf's, marked *" {
	run "$SYMBOLS" "$BIN"
	[ "$status" -eq 0 ]
	local op layer sym want got n=0
	while read -r op layer sym; do
		want=$(expected_site "$BIN" "$sym")
		got=$(reported_site "$output" "$sym")
		[ "$got" = "$want" ] || { echo "$sym: nm says $want, ckb-symbols $got"; false; }
		grep -qE "^\* $op +$layer +$sym +0x" <<< "$output"
		n=$((n + 1))
	done < <(catalog_c_rows)
	echo "$n rows checked"
	[ "$n" -ge 40 ]
	[ "$n" -eq "$(catalog_c_rows | wc -l)" ]
}

@test "static RocksDB: C++ rows by demangled prefix equal nm -C's functions; not attached" {
	run "$SYMBOLS" -j "$BIN"
	[ "$status" -eq 0 ]
	local sym want got n=0
	for sym in 'rocksdb::DBImpl::GetImpl(' 'rocksdb::DBImpl::WriteImpl(' \
		   'rocksdb::DBImpl::NewIterator(' 'rocksdb::FlushJob::Run(' \
		   'rocksdb::DBImpl::DelayWrite(' 'rocksdb::CompactionJob::Run()'; do
		want=$(nm -S -C --defined-only "$BIN" | grep -F " $sym" |
			while read -r a z _ name; do
				[[ "$name" == "$sym"* && "$name" != *"[clone"* && "$name" != *")::"* ]] &&
					echo "$((16#$a)) $((16#$z))"
			done | sort | tr '\n' ' ')
		# the overloads of a function may be rows of their own
		got=$(jq -r --arg s "$sym" '.catalog[] | select(.symbol | startswith($s)) | .sites[] | "\(.address) \(.size)"' <<< "$output" | sort | tr '\n' ' ')
		echo "$sym: nm $want, ckb-symbols $got"
		[ -n "$got" ]
		[ "$got" = "$want" ]
		n=$((n + 1))
	done
	[ "$n" -eq 6 ]
	[ "$(jq '[.catalog[] | select(.layer == "cxx" and .probed)] | length' <<< "$output")" -eq 0 ]
	[ "$(jq '[.catalog[] | select(.layer == "bg" and (.probed | not))] | length' <<< "$output")" -eq 0 ]
}

@test "-j: one JSON document, every catalog row, sites equal the text report's" {
	run "$SYMBOLS" -j "$BIN"
	[ "$status" -eq 0 ]
	jq -e . <<< "$output" > /dev/null
	[ "$(jq '.catalog | length' <<< "$output")" -eq "$(catalog_nrows)" ]
	[ "$(jq -r '.rocksdb, .layer, .files[0].path, .files[0].build_id' <<< "$output" | tr '\n' ' ')" = \
	  "static C API $BIN $(readelf -n "$BIN" | awk '/Build ID:/ { print $3 }') " ]
	[ "$(jq -c .core <<< "$output")" = '{"resolved":["GET","TXN_GET","TXN_PUT","WRITE","TXN_COMMIT"],"missing":[]}' ]
	[ "$(jq '.files[0].size' <<< "$output")" -eq "$(stat -c %s "$BIN")" ]
	local text want got
	text=$("$SYMBOLS" "$BIN")
	want=$(sed -nE 's/^[* ] ([A-Z_]+) +[a-z]+ +(rocksdb_[a-z_]+) +(0x[0-9a-f]+) +(0x[0-9a-f]+) +([0-9]+)$/\2 \3 \4 \5/p' <<< "$text" | sort)
	got=$(jq -r '.catalog[] | select(.layer == "capi" or .layer == "tally") | .symbol as $s | .sites[] | "\($s) \(.address) \(.offset) \(.size)"' <<< "$output" |
		while read -r s a o z; do printf '%s 0x%x 0x%x %d\n' "$s" "$a" "$o" "$z"; done | sort)
	[ "$(wc -l <<< "$want")" -ge 40 ]
	[ "$got" = "$want" ]
}

@test "-j: each row's entry and return programs are catalog.c's, and exist in the BPF source" {
	run "$SYMBOLS" -j "$BIN"
	[ "$status" -eq 0 ]
	local want got names n
	# the rows whose symbol is one literal (the C API's): as in catalog.c
	want=$(sed -nE 's/^[[:space:]]*(CAPI|TALLY)\(OP_[A-Z_]+, "([^"]+)", (NULL|"([a-z_0-9]+)"), (NULL|"([a-z_0-9]+)")\),$/\2|\4|\6/p' \
		"$top_srcdir/src/catalog.c")
	got=$(jq -r '.catalog[] | select(.layer == "capi" or .layer == "tally") | "\(.symbol)|\(.entry // "")|\(.return // "")"' <<< "$output")
	[ "$(jq '.catalog | length' <<< "$output")" -eq "$(catalog_nrows)" ]
	[ "$(wc -l <<< "$want")" -ge 60 ]
	[ "$got" = "$want" ]
	# a timing row probes both ends; the others at least one
	[ "$(jq '[.catalog[] | select((.layer == "capi" or .layer == "cxx" or .layer == "bg") and (.entry == null or .return == null))] | length' <<< "$output")" -eq 0 ]
	[ "$(jq '[.catalog[] | select(.entry == null and .return == null)] | length' <<< "$output")" -eq 0 ]
	names=$(jq -r '[.catalog[] | .entry, .return | select(. != null)] | unique[]' <<< "$output")
	n=0
	for f in $names; do
		grep -qE "^(ENTRY|RETURN|TALLY)\($f,|^int $f\(" "$top_srcdir/programs/rocksdb_ops.bpf.h" ||
			{ echo "no BPF program $f"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -ge 40 ]
	[ "$(jq -c '[.ops[] | select(.needs != []) | {name, needs}]' <<< "$output")" = \
	  '[{"name":"TXN_COMMIT","needs":["TXN_PUT","TXN_DELETE"]},{"name":"STALL_STOP","needs":["STALL_DELAY"]}]' ]
	[ "$(jq -c '[.ops[] | select(.core) | .name]' <<< "$output")" = "$(jq -c '.core.resolved + .core.missing' <<< "$output")" ]
	[ "$(jq '.ops | length' <<< "$output")" -eq 18 ]
	# what a test needs to go from an operation to its C API functions
	[ "$(jq -r '.ops[] | select(.name == "TXN_GET_FOR_UPDATE") | .capi | join(" ")' <<< "$output")" = \
	  "rocksdb_transaction_get_pinned_for_update_cf rocksdb_transaction_get_pinned_for_update rocksdb_transaction_get_for_update_cf rocksdb_transaction_get_for_update" ]
}

@test "-a lists every rocksdb_* function with nm's address and size" {
	run "$SYMBOLS" -j -a "$BIN"
	[ "$status" -eq 0 ]
	local want got
	want=$(nm -S --defined-only "$BIN" | awk '$3 ~ /^[TtWi]$/ && $4 ~ /^rocksdb_/ { print $4, $1, $2 }' |
		while read -r n a s; do echo "$n $((16#$a)) $((16#$s))"; done | sort -u)
	got=$(jq -r '.functions[] | select(.defined and (.name | startswith("rocksdb_"))) | "\(.name) \(.address) \(.size)"' <<< "$output" | sort)
	echo "nm: $(wc -l <<< "$want"), ckb-symbols: $(wc -l <<< "$got")"
	[ "$(wc -l <<< "$want")" -gt 500 ]
	[ "$got" = "$want" ]
	[ "$(jq '[.functions[] | select(.mangled != null)] | length' <<< "$output")" -eq "$(count_cxx "$BIN")" ]
	local total
	total=$(jq '.functions | length' <<< "$output")
	run "$SYMBOLS" -a "$BIN"
	[ "$status" -eq 0 ]
	grep -qx "functions in $BIN: $total" <<< "$output"
	grep -qE '^  0x[0-9a-f]+ +0x[0-9a-f]+ +[0-9]+  rocksdb::DBImpl::GetImpl\(' <<< "$output"
}

@test "stripped copy: .symtab no, every row missing, exit 3 naming the strip" {
	strip -o "$TMP/stripped" "$BIN"
	run "$SYMBOLS" "$TMP/stripped"
	echo "$output" | head -14
	[ "$status" -eq 3 ]
	[ "${lines[6]}" = ".symtab     no (stripped)" ]
	[ "${lines[8]}" = "DWARF       no" ]
	[ "${lines[9]}" = "symbols     .dynsym only: .symtab stripped, no debug file found" ]
	[ "${lines[10]}" = "rocksdb     unknown: no .symtab and no debug file, but the file mentions rocksdb (a stripped static build?)" ]
	[ "$(grep -cE ' missing$' <<< "$output")" -eq "$(catalog_nrows)" ]
	# which layer a stripped program uses cannot be told: C++, its core
	[[ "$output" == *"core        0/3 resolved (C++ layer); missing: GET WRITE ITER"* ]]
	[ "${lines[-1]}" = "ckb-symbols: no RocksDB symbols in $TMP/stripped: .symtab stripped and no debug file found; install its debug symbols, or use a build that keeps .symtab" ]
}

@test "dynamic RocksDB (db_bench): librocksdb.so found, both layers, sites in the library, core resolved: exit 0" {
	local bench=${DB_BENCH:-/usr/bin/db_bench} lib
	[ -x "$bench" ] || skip "db_bench (rocksdb-tools) not installed"
	lib=$(readlink -f "$(ldd "$bench" | awk '/librocksdb/ { print $3 }')")
	run "$SYMBOLS" "$bench"
	echo "$output" | head -24
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"file        $lib"$'\n'"class       ELF64"$'\n'"machine     x86-64"$'\n'"type        shared library"* ]]
	[[ "$output" == *"rocksdb     dynamic: "*" imports, NEEDED $(readelf -d "$bench" | sed -nE 's/.*Shared library: \[(librocksdb[^]]*)\].*/\1/p'), found $lib"* ]]
	# librocksdb.so holds the C API too: both layers, deduplicated
	[[ "$output" == *"layer       C API + C++ (rows marked * are what ckb-rdblat attaches)"* ]]
	[[ "$output" == *"core        6/6 resolved (C API + C++ layer)"* ]]
	! grep -q '^ckb-symbols:' <<< "$output"
	local sym want got
	for sym in rocksdb_get rocksdb_transaction_commit rocksdb_write; do
		want=$(expected_site "$lib" "$sym" -D)
		got=$(reported_site "$output" "$sym")
		echo "$sym: nm -D $want, ckb-symbols $got"
		[ "$got" = "$want" ]
		grep -qE "^\* [A-Z_]+ +capi +$sym +0x.* $(basename "$lib")$" <<< "$output"
	done
	grep -qE '^\* GET +cxx +rocksdb::DBImpl::GetImpl\(.* 0x' <<< "$output"
}

@test "librocksdb.so itself: a library with both layers, exit 0" {
	[ -e "$LIBROCKSDB" ] || skip "librocksdb.so.7.8 (librocksdb-dev) not installed"
	local lib
	lib=$(readlink -f "$LIBROCKSDB")
	run "$SYMBOLS" "$LIBROCKSDB"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "file        $lib" ]
	[ "${lines[3]}" = "type        shared library" ]
	if readelf -SW "$lib" | grep -q ' \.symtab '; then
		[[ "${lines[6]}" == ".symtab     yes, "* ]]
	else
		[ "${lines[6]}" = ".symtab     no (stripped)" ]
	fi
	[ "${lines[7]}" = ".dynsym     $(table_entries "$lib" .dynsym) symbols" ]
	grep -qx "rocksdb     library: $(count_capi "$lib") rocksdb_\* and $(count_cxx "$lib") rocksdb:: functions defined in .dynsym" <<< "$output"
	grep -qx "layer       C API + C++ (rows marked \* are what ckb-rdblat attaches)" <<< "$output"
	local sym
	for sym in rocksdb_get_pinned_cf rocksdb_transaction_get_pinned_cf rocksdb_writebatch_put_cf; do
		[ "$(reported_site "$output" "$sym")" = "$(expected_site "$lib" "$sym" -D)" ]
	done
	grep -qE '^\* GET +capi +rocksdb_get_pinned_cf ' <<< "$output"
	grep -qE '^\* GET +cxx +rocksdb::DBImpl::GetImpl\(.* 0x' <<< "$output"
}

@test "-p PID: the running executable and the librocksdb.so it maps, found by its symbols" {
	[ -e "$LIBROCKSDB" ] || skip "librocksdb.so.7.8 (librocksdb-dev) not installed"
	command -v python3 >/dev/null || skip "python3 not installed"
	python3 -c 'import ctypes, sys, time; ctypes.CDLL(sys.argv[1]); print("ready", flush=True); time.sleep(60)' \
		"$LIBROCKSDB" > "$TMP/py.out" &
	BGPIDS="$BGPIDS $!"
	local pid=$! lib exe
	wait_for 30 grep -q ready "$TMP/py.out"
	lib=$(readlink -f "$LIBROCKSDB")
	exe=$(readlink "/proc/$pid/exe")
	run "$SYMBOLS" -p "$pid"
	echo "$output" | head -22
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "file        $exe" ]
	[[ "$output" == *$'\n'"file        $lib"$'\n'* ]]
	[[ "$output" == *"rocksdb     dynamic: 0 imports, mapped $lib"* ]]
	[ "$(reported_site "$output" rocksdb_transaction_commit)" = "$(expected_site "$lib" rocksdb_transaction_commit -D)" ]
}

@test "-p PID of a static program: the same catalog as the file" {
	"$BIN" -q -n 0 -r 10 --db "$TMP/p.db" &
	BGPIDS="$BGPIDS $!"
	local pid=$!
	wait_for 30 test -d "$TMP/p.db"
	run "$SYMBOLS" -p "$pid"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "file        $BIN" ]
	[ "$(grep -E '^[* ] ' <<< "$output")" = "$("$SYMBOLS" "$BIN" | grep -E '^[* ] ')" ]
}

@test "a 32-bit x86 ELF (gcc -m32): ELF32, Intel 80386, nothing probed, exit 3" {
	printf 'void _start(void) { for (;;); }\nint rocksdb_get(void) { return 1; }\n' > "$TMP/x32.c"
	gcc -m32 -nostdlib -static -o "$TMP/x32" "$TMP/x32.c" 2>/dev/null ||
		skip "gcc cannot build 32-bit x86 code here"
	run "$SYMBOLS" "$TMP/x32"
	echo "$output" | head -12
	[ "$status" -eq 3 ]
	[ "${lines[1]}" = "class       ELF32" ]
	[ "${lines[2]}" = "machine     Intel 80386" ]
	[ "${lines[3]}" = "type        executable" ]
	grep -qx "layer       none: ckb-rdblat probes x86-64 ELF64 programs only" <<< "$output"
	[ "$(reported_site "$output" rocksdb_get)" = "$(expected_site "$TMP/x32" rocksdb_get)" ]
	! grep -qE '^\* ' <<< "$output"
	[ "${lines[-1]}" = "ckb-symbols: $TMP/x32 is an ELF32 Intel 80386 file; ckb-rdblat probes x86-64 ELF64 programs only" ]
}

@test "a foreign-architecture ELF64 (e_machine patched to AArch64): exit 3" {
	cp "$BIN" "$TMP/arm"
	printf '\267\000' | dd of="$TMP/arm" bs=1 seek=18 conv=notrunc status=none
	readelf -h "$TMP/arm" | grep -q 'Machine: *AArch64'
	run "$SYMBOLS" -j "$TMP/arm"
	[ "$status" -eq 3 ]
	jq -e . <<< "${lines[0]}" > /dev/null
	[ "$(jq -r '.files[0].machine, .files[0].e_machine, .layer' <<< "${lines[0]}" | tr '\n' ' ')" = "AArch64 183 null " ]
	[ "$(jq '[.catalog[] | select(.probed)] | length' <<< "${lines[0]}")" -eq 0 ]
	[ "${lines[1]}" = "ckb-symbols: $TMP/arm is an ELF64 AArch64 file; ckb-rdblat probes x86-64 ELF64 programs only" ]
}

@test "USDT notes equal readelf -n's: provider, name, location, semaphore, arguments" {
	local f=${USDT_NODE:-$top_builddir/tests/fixtures/usdt-node}
	[ -x "$f" ] || skip "the usdt-node fixture is not built"
	run "$SYMBOLS" -j "$f"
	[ "$status" -eq 3 ]
	local want got
	want=$(readelf -n "$f" | awk '
		/Provider:/ { p = $2 } /Name:/ { n = $2 }
		/Location:/ { gsub(",", ""); l = $2; s = $6 }
		/Arguments:/ { sub(/^ *Arguments: */, ""); printf "%s:%s %d %d %s\n", p, n, l, s, $0 }')
	got=$(jq -r '.usdt[] | "\(.provider):\(.name) \(.pc) \(.semaphore) \(.argspec)"' <<< "${lines[0]}")
	echo "readelf:"; echo "$want"; echo "ckb-symbols:"; echo "$got"
	[ "$(wc -l <<< "$want")" -ge 2 ]
	[ "$got" = "$want" ]
	[ "$(jq '[.usdt[] | select(.semaphore != 0)] | length' <<< "${lines[0]}")" -ge 1 ]
	local pc pco sem semo
	while read -r pc pco sem semo; do
		[ "$(printf '0x%x' "$pco")" = "$(file_offset "$f" "$(printf '%x' "$pc")")" ]
		[ "$sem" = 0 ] ||
			[ "$(printf '0x%x' "$semo")" = "$(file_offset "$f" "$(printf '%x' "$sem")")" ]
	done < <(jq -r '.usdt[] | "\(.pc) \(.pc_offset) \(.semaphore) \(.semaphore_offset)"' <<< "${lines[0]}")
	run "$SYMBOLS" "$f"
	[[ "$output" == *"usdt        $(wc -l <<< "$want") probes in $f"* ]]
}

@test "python3.11's USDT probes: the count readelf -n gives, semaphores with file offsets" {
	local py=/usr/bin/python3.11
	[ -x "$py" ] || skip "python3.11 not installed"
	local n
	n=$(readelf -n "$py" | grep -c 'Provider:' || true)
	[ "$n" -gt 0 ] || skip "this python3.11 has no USDT probes"
	run "$SYMBOLS" -j "$py"
	[ "$status" -eq 3 ]
	[ "$(jq '.usdt | length' <<< "${lines[0]}")" -eq "$n" ]
	[ "$(jq '[.usdt[] | select(.semaphore != 0 and .semaphore_offset == 0)] | length' <<< "${lines[0]}")" -eq 0 ]
}

# one_line_error STATUS TEXT: the last `run` failed with exactly that line.
one_line_error() {
	echo "status $status: $output"
	[ "$status" -eq "$1" ]
	[ "${#lines[@]}" -eq 1 ]
	[ "${lines[0]}" = "ckb-symbols: $2" ]
}

@test "bad input: not ELF, empty, truncated, missing, directory, no such PID (exit 2)" {
	printf '#!/bin/sh\nexit 0\n' > "$TMP/notelf"
	run "$SYMBOLS" "$TMP/notelf"
	one_line_error 2 "$TMP/notelf is not an ELF file; pass the node executable or its librocksdb.so"
	: > "$TMP/empty"
	run "$SYMBOLS" "$TMP/empty"
	one_line_error 2 "$TMP/empty is not an ELF file; pass the node executable or its librocksdb.so"
	head -c 100000 "$BIN" > "$TMP/trunc"
	run "$SYMBOLS" "$TMP/trunc"
	one_line_error 2 "$TMP/trunc is a truncated or corrupt ELF file; copy the binary again"
	head -c $(( $(stat -c %s "$BIN") - 4096 )) "$BIN" > "$TMP/trunc2"
	run "$SYMBOLS" "$TMP/trunc2"
	one_line_error 2 "$TMP/trunc2 is a truncated or corrupt ELF file; copy the binary again"
	run "$SYMBOLS" "$TMP/nothing-here"
	one_line_error 2 "no such file $TMP/nothing-here; pass the node executable or its librocksdb.so"
	run "$SYMBOLS" "$TMP"
	one_line_error 2 "$TMP is not a regular file; pass the node executable or its librocksdb.so"
	local pid=4194303
	while kill -0 "$pid" 2>/dev/null; do pid=$((pid - 1)); done
	run "$SYMBOLS" -p "$pid"
	one_line_error 2 "no process with PID $pid; check it with pgrep -x ckb"
}

# check_damaged SEED RC: one damaged copy's run, as the man page says:
# 0 or 3 with a report (and one line on stderr for 3), 2 with one line
# naming a corrupt or non-ELF file and no report; no other status.
check_damaged() {
	local seed=$1 rc=$2 what=$3 nerr
	nerr=$(wc -l < "$TMP/m.err")
	case $rc in
	0)
		[ "$nerr" -eq 0 ] && [ -s "$TMP/m.out" ]
		;;
	3)
		[ "$nerr" -eq 1 ] && [ -s "$TMP/m.out" ] &&
			grep -q '^ckb-symbols: ' "$TMP/m.err"
		;;
	2)
		[ "$nerr" -eq 1 ] && [ ! -s "$TMP/m.out" ] &&
			grep -qxE "ckb-symbols: $TMP/m is (a truncated or corrupt ELF file; copy the binary again|not an ELF file; pass the node executable or its librocksdb.so)" "$TMP/m.err"
		;;
	*)
		false
		;;
	esac || {
		echo "seed $seed ($what): exit $rc; reproduce with: $ELFMUTATE $seed $DBSIM copy && ckb-symbols copy"
		head -c 2000 "$TMP/m.err"
		return 1
	}
	# -j: one JSON document that jq reads to its end
	if [ "$rc" != 2 ] && [ "$(( seed % 2 ))" = 0 ]; then
		jq -e '.files | length >= 1' "$TMP/m.out" > /dev/null || {
			echo "seed $seed ($what): -j output is not one JSON document"
			return 1
		}
	fi
}

@test "200 damaged copies of ckb-dbsim (elfmutate seeds 1-200): exit 0, 2 or 3, never a crash or hang" {
	[ -x "${ELFMUTATE:-}" ] || { echo "ELFMUTATE not built (make check builds it)"; return 1; }
	local seed rc what json n0=0 n2=0 n3=0 ntrunc=0
	for seed in $(seq 1 200); do
		what=$("$ELFMUTATE" "$seed" "$BIN" "$TMP/m" | tr '\n' ' ')
		json=
		[ "$(( seed % 2 ))" = 0 ] && json=-j
		rc=0
		timeout -k 5 60 "$SYMBOLS" $json "$TMP/m" > "$TMP/m.out" 2> "$TMP/m.err" || rc=$?
		check_damaged "$seed" "$rc" "$what"
		# a copy cut short has lost its section headers (at the end)
		if [[ "$what" == *"truncated to "* ]]; then
			ntrunc=$((ntrunc + 1))
			[ "$rc" -eq 2 ] || { echo "seed $seed ($what): exit $rc, want 2"; return 1; }
		fi
		case $rc in 0) n0=$((n0 + 1)) ;; 2) n2=$((n2 + 1)) ;; 3) n3=$((n3 + 1)) ;; esac
	done
	echo "exit 0: $n0, exit 2: $n2 ($ntrunc truncated), exit 3: $n3"
	[ $((n0 + n2 + n3)) -eq 200 ]
	# seed % 8 == 0 truncates: 25 of them at least
	[ "$ntrunc" -ge 25 ]
}

@test "bad usage (exit 2)" {
	run "$SYMBOLS"
	one_line_error 2 "no BINARY and no -p PID; see ckb-symbols --help"
	run "$SYMBOLS" -p 12ab
	one_line_error 2 "bad PID '12ab': want a process id; see ckb-symbols --help"
	run "$SYMBOLS" -p 1 "$BIN"
	one_line_error 2 "give a BINARY or -p PID, not both; see ckb-symbols --help"
	run "$SYMBOLS" "$BIN" "$BIN"
	one_line_error 2 "unexpected argument '$BIN'; see ckb-symbols --help"
	run "$SYMBOLS" --frob
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "ckb-symbols: see ckb-symbols --help" ]
}

@test "no root needed for a file; an unreadable one is a runtime error (exit 1)" {
	chmod 755 "$TMP"
	chmod 644 "$BIN"
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$SYMBOLS" "$BIN"
	[ "$status" -eq 0 ]
	[[ "$output" == *"core        5/5 resolved"* ]]
	chmod 000 "$BIN"
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$SYMBOLS" "$BIN"
	one_line_error 1 "cannot read $BIN: Permission denied"
}
