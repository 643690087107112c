#!/usr/bin/env bats
# The stability kit, two minutes of it: ckb-rdblat --follow --prometheus
# and ckb-slowops --follow on ckb-dbsim at a CKB-like rate, restarted
# every 30 s.  The test checks what the kit does: both tracers run to
# the end, lose nothing, re-attach after every restart, and the report
# has every budget row.  Whether the CPU, RSS and time budgets are met is
# a measurement (contrib/stability/report-1h, bench/RESULTS.md), not
# asserted here: a sanitizer build or a busy machine changes it.

load helpers

setup() {
	need_root
	common_setup
	command -v curl > /dev/null || skip "no curl"
	command -v gnuplot > /dev/null || skip "no gnuplot (Debian package gnuplot-nox)"
}

teardown() {
	common_teardown
}

@test "contrib/stability: 2 minutes, 3 restarts: no crash, nothing lost, every restart re-attached, every budget reported" {
	OUT="$TMP/run" BARE=20 RESTART_EVERY=30 SAMPLE=10 TOOLS_DIR="$top_builddir/tools" \
		timeout 400 bash "$top_srcdir/contrib/stability/run.sh" 120
	local rc=0
	bash "$top_srcdir/contrib/stability/report.sh" "$TMP/run" || rc=$?
	cat "$TMP/run/verdicts.tsv"
	# 0: every budget passed; 3: some failed (measurements, see above)
	[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]
	local b
	for b in "tracer CPU" "tracer peak RSS" "ckb-rdblat peak RSS with --prometheus" \
		"events lost" "node slowdown" "re-attach after a restart" "no crash" \
		"RSS growth after warm-up"; do
		grep "^$b" "$TMP/run/verdicts.tsv" | grep -Eq '	(PASS|FAIL)$' || {
			echo "budget row missing: $b"
			return 1
		}
	done
	for b in "events lost" "no crash"; do
		grep "^$b" "$TMP/run/verdicts.tsv" | grep -q 'PASS$' || {
			echo "failed: $b"
			return 1
		}
	done
	# 3 restarts, each re-attached by both tracers
	[ "$(jq -s '[.[] | select(.type == "kill")] | length' "$TMP/run/events.jsonl")" = 3 ]
	[ "$(jq -s '[.[] | select(.type == "reattach")] | length' "$TMP/run/rdblat.jsonl")" = 3 ]
	[ "$(jq -s '[.[] | select(.type == "reattach")] | length' "$TMP/run/slowops.jsonl")" = 3 ]
	# every 10 s sampled, the tracers' operations seen on /metrics
	[ "$(jq -s '[.[] | select(.phase == "traced")] | length' "$TMP/run/samples.jsonl")" -ge 12 ]
	jq -se '[.[] | select(.phase == "traced") | .rdblat.ops] | max > 0' "$TMP/run/samples.jsonl"
	# the report and its plots
	grep -q '^| tracer CPU' "$TMP/run/REPORT.md"
	local p
	for p in rss cpu node nodecpu lost reattach; do
		[ "$(head -c 4 "$TMP/run/$p.png" | od -An -c | tr -d ' ')" = '211PNG' ]
		grep -q "($p.png)" "$TMP/run/REPORT.md"
	done
	# the soak table for bench/RESULTS.md
	run bash "$top_srcdir/contrib/stability/report.sh" "$TMP/run" --table
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[2]}" == "| ckb-rdblat |"* ]] && [[ "${lines[3]}" == "| ckb-slowops |"* ]]
	# nothing left running
	! pgrep -f "$TMP/run/bin/" > /dev/null
}

@test "contrib/stability: bad duration is one line, exit 2" {
	run bash "$top_srcdir/contrib/stability/run.sh" 5
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "stability: bad DURATION '5'"* ]]
	run bash "$top_srcdir/contrib/stability/report.sh" "$TMP/nothing"
	[ "$status" -eq 1 ]
	[[ "$output" == "stability report: no $TMP/nothing/run.json"* ]]
}
