# bench/parts/unwind.sh: what user stacks cost ckb-slowops -U, frame
# pointers (the kernel walks them) against DWARF (the top of the stack
# copied into each event and unwound in ckb-slowops through .eh_frame by
# libdwfl): events delivered per second and tool CPU per event at full
# speed, tool CPU and loss at 20k events/s, peak RSS with DWARF state for
# a ~60 MB binary; then, once, libdwfl against libunwind's remote API on
# one copied stack (bench/unwind-libs.c).  See bench/README.md, part
# unwind.  No report section of its own: generic_section.

# shellcheck shell=bash
# shellcheck disable=SC2153  # SLOWOPS is set by tool_copy

UNWIND_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UNWIND_CONFIGS="fp-full dwarf-full fp-20k dwarf-20k dwarf-20k-60MB"

unwind_check() {
	local d=10
	[ "$QUICK" = 1 ] || d=1
	UNWIND_N=${UNWIND_N:-$((100000 / d))}
	UNWIND_RATE=${UNWIND_RATE:-20000}
	UNWIND_RATE_N=${UNWIND_RATE_N:-$((100000 / d))}
	UNWIND_LIBS_N=${UNWIND_LIBS_N:-$((100000 / d))}
	if [[ ! $UNWIND_N$UNWIND_RATE$UNWIND_RATE_N$UNWIND_LIBS_N =~ ^[0-9]+$ ]] ||
	   [ "$UNWIND_N" -lt 1 ] || [ "$UNWIND_RATE" -lt 1 ] ||
	   [ "$UNWIND_RATE_N" -lt 1 ] || [ "$UNWIND_LIBS_N" -lt 1 ]; then
		die "UNWIND_N, UNWIND_RATE, UNWIND_RATE_N and UNWIND_LIBS_N must be whole numbers >= 1"
	fi
	need cc awk
	tool_copy SLOWOPS ckb-slowops
	[ -f "$UNWIND_SRC/tests/fixtures/stackchain.c" ] ||
		die "no tests/fixtures/stackchain.c under $UNWIND_SRC"
	[ -f src/libckbtrace.a ] || die "no src/libckbtrace.a; run make first"
}

# The fixtures: with and without frame pointers, and the ~60 MB binary
# (80k generated functions with CFI, 20 MB of padding, no DWARF).
unwind_prepare() {
	local rocksdb libs=(-lstdc++ -lm -lpthread -lsnappy -llz4 -lzstd -lbz2 -lz -ldl)
	rocksdb=$(cc -print-file-name=librocksdb.a)
	[ -f "$rocksdb" ] || die "no librocksdb.a; install librocksdb-dev"
	log "unwind: building the stack fixtures and a ~60 MB binary"
	cc -O2 -fno-omit-frame-pointer -o "$PW/chain-fp" \
		"$UNWIND_SRC/tests/fixtures/stackchain.c" "$rocksdb" "${libs[@]}"
	cc -O2 -fomit-frame-pointer -o "$PW/chain-nofp" \
		"$UNWIND_SRC/tests/fixtures/stackchain.c" "$rocksdb" "${libs[@]}"
	awk 'BEGIN {
		print "\t.section .note.GNU-stack,\"\",@progbits"
		print "\t.text"
		for (i = 0; i < 80000; i++) {
			n = sprintf("_ZN3ckb5chain7service%05d14ChainService13process_block17h%08x%08xE",
				    i, i * 2654435761 % 4294967296, i * 7919)
			printf "\t.globl %s\n\t.type %s, @function\n\t.p2align 4\n%s:\n", n, n, n
			printf "\t.cfi_startproc\n\tpush %%rbx\n\t.cfi_adjust_cfa_offset 8\n"
			printf "\t.cfi_offset rbx, -16\n\tlea %d(%%rdi), %%rax\n\t.skip 280, 0x90\n", i % 100
			printf "\tpop %%rbx\n\t.cfi_adjust_cfa_offset -8\n\tret\n\t.cfi_endproc\n"
			printf "\t.size %s, .-%s\n", n, n
		}
		print "\t.section .rodata"
		print "\t.globl big_padding"
		print "big_padding:"
		print "\t.skip 20000000, 1"
	}' > "$PW/big.s"
	cc -O2 -fomit-frame-pointer -o "$PW/chain-60MB" \
		"$UNWIND_SRC/tests/fixtures/stackchain.c" "$PW/big.s" "$rocksdb" "${libs[@]}"
	UNWIND_BIG_MB=$(( $(stat -c %s "$PW/chain-60MB") / 1048576 ))
	info "header:unwind" "ckb-slowops -U: fp against dwarf; a ${UNWIND_BIG_MB} MB binary; libdwfl against libunwind"
	info "big_binary_mb" "$UNWIND_BIG_MB"
	info "configs" "$UNWIND_CONFIGS"
	UNWIND_LIBUNWIND=0
	if cc -O2 -fomit-frame-pointer -I src -o "$PW/unwind-libs" \
		"$UNWIND_SRC/bench/unwind-libs.c" src/libckbtrace.a \
		-lunwind-x86_64 -lunwind -ldw -lelf -liberty -lstdc++ -lpthread 2> "$PW/libs.err"; then
		UNWIND_LIBUNWIND=1
	fi
}

# unwind_run ROUND CONFIG: one traced run of the fixture.
unwind_run() {
	local r=$1 cfg=$2 bin mode gets rate fpid i t0 t1 ticks0 hwm
	case $cfg in
	fp-full) bin=chain-fp mode=fp gets=$UNWIND_N rate=0 ;;
	dwarf-full) bin=chain-nofp mode=dwarf gets=$UNWIND_N rate=0 ;;
	fp-20k) bin=chain-fp mode=fp gets=$UNWIND_RATE_N rate=$UNWIND_RATE ;;
	dwarf-20k) bin=chain-nofp mode=dwarf gets=$UNWIND_RATE_N rate=$UNWIND_RATE ;;
	dwarf-20k-60MB) bin=chain-60MB mode=dwarf gets=$UNWIND_RATE_N rate=$UNWIND_RATE ;;
	esac
	run_begin
	"$PW/$bin" --db "$RD/db" -n "$gets" --slow-ms 0 --rate "$rate" \
		> "$RD/chain.out" 2> "$RD/chain.err" &
	fpid=$!
	bg_add "$fpid"
	i=0
	until has_line "$RD/chain.out" ready; do
		kill -0 "$fpid" 2> /dev/null || die "unwind: $bin exited: $(cat "$RD/chain.err")"
		[ $i -lt 6000 ] || die "unwind: $bin never got ready"
		nap 0.01; i=$((i + 1))
	done
	if ! tracer_start "$RD" err Tracing "$SLOWOPS" -p "$fpid" -o GET -U -j \
		--stack "$mode" 0; then
		note "$cfg" ckb-slowops "$r" "the tracer did not attach"
		kill -TERM "$fpid"; wait_gone "$fpid" 10; bg_del "$fpid"
		return 0
	fi
	cpu_ticks "$TR_PID"; ticks0=$TICKS
	now_us; t0=$NOW_US
	kill -USR1 "$fpid"
	until has_text "$RD/chain.out" '"gets"'; do
		kill -0 "$fpid" 2> /dev/null || break
		nap 0.01
	done
	now_us; t1=$NOW_US
	nap 0.5
	cpu_ticks "$TR_PID"
	proc_snap "$TR_PID"; hwm=${SNAP%% *}
	tracer_stop
	kill -TERM "$fpid" 2> /dev/null || true
	wait_gone "$fpid" 30
	bg_del "$fpid"
	local events lost ok
	events=$(jq 'select(.type == "summary") | .events' "$RD/out")
	lost=$(jq 'select(.type == "summary") | .lost' "$RD/out")
	ok=$(jq 'select(.type == "summary") | .stacks.ok' "$RD/out")
	[ "$ok" = "$events" ] || note "$cfg" ckb-slowops "$r" "$ok of $events stacks complete"
	emit ckb-slowops "$cfg" "$r" wall "$(us_to_s $((t1 - t0)))" s \
		gets "$gets" count events "$events" count lost "$lost" count \
		complete "$ok" count tool_ticks "$((TICKS - ticks0))" ticks \
		tool_us_per_event "$(awk -v t=$((TICKS - ticks0)) -v h="$CLK_TCK" -v e="$events" \
			'BEGIN { if (e > 0) printf "%.2f", t / h / e * 1e6; else print "-" }')" us \
		events_per_s "$(awk -v e="$events" -v w=$((t1 - t0)) \
			'BEGIN { if (w > 0) printf "%.0f", e / (w / 1e6); else print "-" }')" "1/s" \
		tool_cpu_pct "$(awk -v t=$((TICKS - ticks0)) -v h="$CLK_TCK" -v w=$((t1 - t0)) \
			'BEGIN { if (w > 0) printf "%.1f", t / h / (w / 1e6) * 100; else print "-" }')" "%" \
		peak_rss "$hwm" kB
}

unwind_round() {
	local cfg
	for cfg in $(rotated "$1" $UNWIND_CONFIGS); do
		unwind_run "$1" "$cfg"
	done
}

unwind_finish() {
	local lib line
	if [ "$UNWIND_LIBUNWIND" != 1 ]; then
		note libraries unwind-libs 0 "not built (libunwind-dev missing?): $(head -c 200 "$PW/libs.err")"
		return 0
	fi
	run_begin
	for lib in dw lu; do
		line=$("$PW/unwind-libs" "$UNWIND_LIBS_N" "$lib")
		emit "$(jq -r .lib <<< "$line")" libraries 0 \
			frames "$(jq .frames <<< "$line")" count \
			cpu_ns_per_stack "$(jq .cpu_ns_per_stack <<< "$line")" ns \
			ns_per_stack "$(jq .ns_per_stack <<< "$line")" ns \
			peak_rss "$(jq .maxrss_kb <<< "$line")" kB
	done
	line=$("$PW/unwind-libs" 100 | tail -n 1)
	[ "$(jq .same_frames <<< "$line")" = true ] ||
		note libraries unwind-libs 0 "libdw and libunwind gave different frames"
}
