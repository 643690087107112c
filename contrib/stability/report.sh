#!/bin/bash
# contrib/stability/report.sh OUT [--table]: the report of a run of
# contrib/stability/run.sh.  Writes OUT/REPORT.md with gnuplot PNGs
# (OUT/*.png) and a pass/fail line per budget, and OUT/verdicts.tsv
# (budget, limit, measured, PASS/FAIL) for scripts.  With --table, only
# prints the soak table of bench/RESULTS.md (per tool: RSS after warm-up
# and at the end, growth, peak RSS, CPU, lost events) to stdout.
#
# The budgets (an earlier CKB tracer's, to beat): tracer CPU <= 3% of a
# core, RSS <= 50 MB (ckb-rdblat with --prometheus: < 8 MB), events lost
# < 0.1%, node slowdown < 1% (its CPU time per block, traced against
# bare), re-attach <= 1 s after a restart (new process started ->
# probes attached), no crash, RSS growth after warm-up <= 5 MB.
set -euo pipefail

die() { echo "stability report: $*" >&2; exit 1; }
[ $# -ge 1 ] || { echo "usage: contrib/stability/report.sh OUT [--table]" >&2; exit 2; }
OUT=$1
TABLE=${2:-}
for f in run.json samples.jsonl events.jsonl rdblat.jsonl slowops.jsonl; do
	[ -s "$OUT/$f" ] || [ "$f" = events.jsonl ] || die "no $OUT/$f; run contrib/stability/run.sh first"
done
command -v jq > /dev/null || die "no jq"

# Every number of the report, computed once.
jq -n --slurpfile run "$OUT/run.json" --slurpfile s "$OUT/samples.jsonl" \
	--slurpfile ev "$OUT/events.jsonl" \
	--slurpfile rd <(jq -c 'select(.type == "reattach" or .type == "summary")' "$OUT/rdblat.jsonl") \
	--slurpfile sl <(jq -c 'select(.type == "reattach" or .type == "summary")' "$OUT/slowops.jsonl") '
	$run[0] as $r | ($r.clk_tck) as $clk |
	[$s[] | select(.phase == "traced")] as $t |
	[$s[] | select(.phase == "bare")] as $b |
	($r.traced_end - $r.traced_begin) as $wall |
	# warm-up: the first 10% of the traced time, at least 60 s (capped
	# at half the run)
	([([60, $wall * 0.1] | max), $wall / 2] | min) as $warm |
	def pairs($xs): [range(1; $xs | length) as $i | [$xs[$i - 1], $xs[$i]]];
	def tool($k): [$t[] | select(.[$k].rss_kb != null)] as $v |
		($v | first) as $a | ($v | last) as $z |
		([$v[] | select(.t >= $r.traced_begin + $warm)] | first // $z) as $w |
		{ samples: ($v | length),
		  cpu_pct: (if ($z.t - $a.t) > 0 then
			(($z[$k].cpu_ticks - $a[$k].cpu_ticks) / $clk / ($z.t - $a.t) * 100) else null end),
		  peak_kb: ([$v[][$k].hwm_kb] | max),
		  rss_warm_kb: $w[$k].rss_kb, warm_t: ($w.t - $r.traced_begin),
		  rss_end_kb: $z[$k].rss_kb,
		  growth_kb: (([$v[] | select(.t >= $w.t) | .[$k].rss_kb] | max) - $w[$k].rss_kb) };
	def node($xs): [pairs($xs)[] | select(.[0].node.pid == .[1].node.pid and
			.[0].node.blocks != null and .[1].node.blocks != null)] as $p |
		{ blocks: ([$p[] | .[1].node.blocks - .[0].node.blocks] | add // 0),
		  ticks: ([$p[] | .[1].node.cpu_ticks - .[0].node.cpu_ticks] | add // 0),
		  secs: ([$p[] | .[1].t - .[0].t] | add // 0) } |
		. + { blocks_per_s: (if .secs > 0 then .blocks / .secs else null end),
		      cpu_ms_per_block: (if .blocks > 0 then .ticks / $clk * 1000 / .blocks else null end) };
	($t | last) as $last |
	[$ev[] | select(.type == "kill")] as $kills |
	[$rd[] | select(.type == "reattach")] as $rr |
	[$sl[] | select(.type == "reattach")] as $sr |
	# the slowdown compares the same process (before the first restart):
	# the database grows all run long, and a reopened one is slower
	(node($b)) as $nb |
	(node([$t[] | select(.node.pid == ($b | first // {node: {}}).node.pid)])) as $nt |
	(node($t)) as $nall |
	# every process'"'"'s operations: the summary (the metrics hold the
	# current process and the one before)
	([$rd[] | select(.type == "summary") | .counts[]] | add) as $ops |
	{ run: $r, wall: $wall, warm: $warm,
	  rdblat: tool("rdblat"), slowops: tool("slowops"),
	  ops: $ops, ops_per_s: (if $wall > 0 and $ops then $ops / $wall else null end),
	  rdblat_lost: $last.rdblat.lost, slowops_lost: $last.slowops.lost,
	  slow: $last.slowops.slow,
	  node_bare: $nb, node_traced: $nt,
	  slowdown_pct: (if $nb.cpu_ms_per_block and $nt.cpu_ms_per_block then
		($nt.cpu_ms_per_block / $nb.cpu_ms_per_block - 1) * 100 else null end),
	  throughput_pct: (if $nb.blocks_per_s and $nt.blocks_per_s then
		($nt.blocks_per_s / $nb.blocks_per_s - 1) * 100 else null end),
	  restarts: ($kills | length), kills: $kills,
	  rdblat_reattach: $rr, slowops_reattach: $sr,
	  max_lag_ms: ([$rr[].lag_ms, $sr[].lag_ms] | max),
	  max_gap_ms: ([$rr[].gap_ms, $sr[].gap_ms] | max),
	  node_all: $nall,
	  # a tracer is gone when /proc has no CPU time for it (an RSS line
	  # can be missed by one read of /proc/PID/status)
	  alive: ([$t[] | select(.rdblat.cpu_ticks == null or .slowops.cpu_ticks == null)] | length == 0)
	}' > "$OUT/numbers.json"

N=$OUT/numbers.json
num() { jq -r "$1" "$N"; }
mb() { awk -v k="$1" 'BEGIN { if (k == "null" || k == "") print "-"; else printf "%.1f MB", k / 1024 }'; }
kb() { awk -v k="$1" 'BEGIN { if (k == "null" || k == "") print "-"; else printf "%+d kB", k }'; }
pct() { awk -v v="$1" -v d="${2:-2}" 'BEGIN { if (v == "null" || v == "") print "-"; else printf "%.*f%%", d, v }'; }

if [ "$TABLE" = --table ]; then
	echo "| tool | RSS after warm-up | RSS at the end | growth after warm-up | peak RSS | CPU (of one core) | events lost |"
	echo "|---|---|---|---|---|---|---|"
	for k in rdblat slowops; do
		lost=$(num ".${k}_lost")
		echo "| ckb-$k | $(mb "$(num ".$k.rss_warm_kb")") | $(mb "$(num ".$k.rss_end_kb")") | $(kb "$(num ".$k.growth_kb")") | $(mb "$(num ".$k.peak_kb")") | $(pct "$(num ".$k.cpu_pct")") | $lost |"
	done
	exit 0
fi

# ---- verdicts ----
: > "$OUT/verdicts.tsv"
verdict() {	# NAME LIMIT MEASURED OK(0/1)
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$([ "$4" = 1 ] && echo PASS || echo FAIL)" >> "$OUT/verdicts.tsv"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "null" && a != "" && a + 0 <= b + 0) }' && echo 1 || echo 0; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "null" && a != "" && a + 0 < b + 0) }' && echo 1 || echo 0; }

rc=$(num '.rdblat.cpu_pct'); sc=$(num '.slowops.cpu_pct')
both=$(awk -v a="$rc" -v b="$sc" 'BEGIN { print a + b }')
verdict "tracer CPU, ckb-rdblat + ckb-slowops (share of one core)" "<= 3%" \
	"$(pct "$both") ($(pct "$rc") + $(pct "$sc"))" "$(le "$both" 3)"
rp=$(num '.rdblat.peak_kb'); sp=$(num '.slowops.peak_kb')
verdict "tracer peak RSS" "<= 50 MB" "$(mb "$rp"), $(mb "$sp")" \
	"$(( $(le "$rp" 51200) & $(le "$sp" 51200) ))"
verdict "ckb-rdblat peak RSS with --prometheus" "< 8 MB" "$(mb "$rp")" "$(lt "$rp" 8192)"
ops=$(num '.ops'); rl=$(num '.rdblat_lost'); slow=$(num '.slow'); sl=$(num '.slowops_lost')
loss=$(awk -v a="$rl" -v b="$ops" -v c="$sl" -v d="$slow" 'BEGIN { x = b > 0 ? a / b : 0; y = (c + d) > 0 ? c / (c + d) : 0; print (x > y ? x : y) * 100 }')
verdict "events lost" "< 0.1%" "$rl of $ops operations, $sl of $((slow + sl)) slow events" "$(lt "$loss" 0.1)"
sd=$(num '.slowdown_pct')
if [ "$(num '.run.own_node')" = true ] && [ "$sd" != null ]; then
	verdict "node slowdown (its CPU time per block, traced vs bare, the same process)" "< 1%" \
		"$(pct "$sd" 1) ($(num '.node_bare.cpu_ms_per_block * 1000 | round / 1000') -> $(num '.node_traced.cpu_ms_per_block * 1000 | round / 1000') ms per block)" \
		"$(lt "$sd" 1)"
fi
nr=$(num '.restarts'); rr=$(num '.rdblat_reattach | length'); sr=$(num '.slowops_reattach | length')
lag=$(num '.max_lag_ms')
if [ "$nr" -gt 0 ]; then
	ok=$(le "$lag" 1000)
	[ "$rr" = "$nr" ] && [ "$sr" = "$nr" ] || ok=0
	verdict "re-attach after a restart (new process started -> attached)" "<= 1 s" \
		"max $(num '.max_lag_ms | round') ms; $rr and $sr of $nr restarts re-attached" "$ok"
fi
ok=0
[ "$(num '.run.rdblat_exit')" = 0 ] && [ "$(num '.run.slowops_exit')" = 0 ] && [ "$(num .alive)" = true ] && ok=1
verdict "no crash (both tracers ran to the end, exit 0)" "none" \
	"exit $(num '.run.rdblat_exit') and $(num '.run.slowops_exit')" "$ok"
rg=$(num '.rdblat.growth_kb'); sg=$(num '.slowops.growth_kb')
verdict "RSS growth after warm-up (first $(num '.warm | round') s)" "<= 5 MB" \
	"$(kb "$rg"), $(kb "$sg")" "$(( $(le "$rg" 5120) & $(le "$sg" 5120) ))"

# ---- plots ----
jq -r --argjson tb "$(num '.run.traced_begin')" --argjson clk "$(num '.run.clk_tck')" -s '
	. as $s | range(1; length) as $i | $s[$i - 1] as $a | $s[$i] as $b |
	($b.t - $a.t) as $dt |
	[ ($b.t - $tb),
	  ($b.rdblat.rss_kb // "NaN" | if . == "NaN" then . else . / 1024 end),
	  ($b.slowops.rss_kb // "NaN" | if . == "NaN" then . else . / 1024 end),
	  (if $a.rdblat.cpu_ticks and $b.rdblat.cpu_ticks then ($b.rdblat.cpu_ticks - $a.rdblat.cpu_ticks) / $clk / $dt * 100 else "NaN" end),
	  (if $a.slowops.cpu_ticks and $b.slowops.cpu_ticks then ($b.slowops.cpu_ticks - $a.slowops.cpu_ticks) / $clk / $dt * 100 else "NaN" end),
	  (if $a.node.pid == $b.node.pid and $a.node.blocks and $b.node.blocks then ($b.node.blocks - $a.node.blocks) / $dt else "NaN" end),
	  (if $a.rdblat.ops and $b.rdblat.ops and $b.rdblat.ops >= $a.rdblat.ops then ($b.rdblat.ops - $a.rdblat.ops) / $dt / 1000 else "NaN" end),
	  (($b.rdblat.lost // 0) + ($b.slowops.lost // 0)),
	  (if $a.node.pid == $b.node.pid and $b.node.blocks and $a.node.blocks and $b.node.blocks > $a.node.blocks
	   then ($b.node.cpu_ticks - $a.node.cpu_ticks) / $clk * 1000 / ($b.node.blocks - $a.node.blocks) else "NaN" end)
	] | @tsv' "$OUT/samples.jsonl" > "$OUT/plot.tsv"
jq -r --argjson tb "$(num '.run.traced_begin')" 'select(.type == "kill") | .t - $tb' \
	"$OUT/events.jsonl" > "$OUT/restarts.tsv"
jq -r '.rdblat_reattach as $r | .slowops_reattach as $s |
	range(0; [$r, $s] | map(length) | max) as $i |
	[$i + 1, ($r[$i].gap_ms // "NaN"), ($r[$i].lag_ms // "NaN"),
	 ($s[$i].gap_ms // "NaN"), ($s[$i].lag_ms // "NaN")] | @tsv' "$N" > "$OUT/reattach.tsv"
PLOTS=""
if command -v gnuplot > /dev/null; then
	marks=$(awk '{ printf "set arrow from %s, graph 0 to %s, graph 1 nohead lc rgb \"#bbbbbb\" dt 2\n", $1, $1 }' "$OUT/restarts.tsv")
	common="set terminal pngcairo size 900,360 font 'sans,10'; set grid; set key outside right; set xlabel 'seconds since the tracers started (dashed: node restarts; left of 0: node alone)'"
	gnuplot 2> "$OUT/gnuplot.log" <<-EOF
	$common
	$marks
	set output '$OUT/rss.png'
	set title 'Tracer resident memory'
	set ylabel 'MB'
	set yrange [0:*]
	plot '$OUT/plot.tsv' using 1:2 with lines lw 2 title 'ckb-rdblat', '' using 1:3 with lines lw 2 title 'ckb-slowops', 8 with lines dt 3 lc rgb 'red' title '8 MB'
	set output '$OUT/cpu.png'
	set title 'Tracer CPU, per sample'
	set ylabel '% of one core'
	plot '$OUT/plot.tsv' using 1:4 with lines lw 2 title 'ckb-rdblat', '' using 1:5 with lines lw 2 title 'ckb-slowops', 3 with lines dt 3 lc rgb 'red' title 'budget 3%'
	set output '$OUT/node.png'
	set title 'The node: blocks per second, and RocksDB operations traced'
	set ylabel 'blocks/s'
	set y2label 'thousand operations/s'
	set y2tics
	plot '$OUT/plot.tsv' using 1:6 with lines lw 2 title 'blocks/s', '' using 1:7 axes x1y2 with lines lw 2 title 'ops/s traced (ckb-rdblat)'
	unset y2label; unset y2tics
	set output '$OUT/nodecpu.png'
	set title 'The node: CPU time per block'
	set ylabel 'ms per block'
	plot '$OUT/plot.tsv' using 1:9 with linespoints title 'CPU per block'
	set output '$OUT/lost.png'
	set title 'Events lost (both tracers, cumulative)'
	set ylabel 'events'
	set yrange [0:1<*]
	plot '$OUT/plot.tsv' using 1:8 with steps lw 2 title 'lost'
	unset arrow
	set output '$OUT/reattach.png'
	set title 'Re-attach after each restart'
	set xlabel 'restart'
	set ylabel 'ms'
	set style data linespoints
	plot '$OUT/reattach.tsv' using 1:3 lw 2 title 'ckb-rdblat: started -> attached', '' using 1:2 title 'ckb-rdblat: gone -> attached', '' using 1:5 lw 2 title 'ckb-slowops: started -> attached', '' using 1:4 title 'ckb-slowops: gone -> attached', 1000 with lines dt 3 lc rgb 'red' title 'budget 1 s'
	EOF
	PLOTS="rss cpu node nodecpu lost"
	[ "$(num '.restarts')" -gt 0 ] && PLOTS="$PLOTS reattach"
fi

# ---- the report ----
{
	echo "# ckbtrace stability run: $(num '.run.duration_s') s"
	echo
	echo "$(num '.run.date'), revision $(num '.run.revision'), kernel $(num '.run.kernel'), $(num '.run.ncpu') x $(num '.run.cpu'); load average $(num '.run.load_begin') at the start, $(num '.run.load_end') at the end."
	[ -z "$(num '.run.note')" ] || { echo; echo "$(num '.run.note')"; }
	echo
	if [ "$(num '.run.own_node')" = true ]; then
		echo "The node: \`ckb-dbsim -r $(num '.run.rate')\` (RocksDB linked statically, C API, CKB-shaped), $(num '.run.bare_s') s alone, then $(num '.run.duration_s') s under \`ckb-rdblat --follow --prometheus ... -j -i $(num '.run.sample_s')$( [ -z "$(num '.run.duty')" ] || echo " --duty $(num '.run.duty')")\` and \`ckb-slowops --follow --prometheus ... -j -m $(num '.run.slow_ms')\`, restarted $(num '.restarts') times (every $(num '.run.restart_every_s') s, SIGKILL and SIGTERM in turn, same database). Both tracers were scraped every $(num '.run.sample_s') s."
	else
		echo "The node: a running process, traced for $(num '.run.duration_s') s under \`ckb-rdblat --follow --prometheus\` and \`ckb-slowops --follow --prometheus\`."
	fi
	echo
	if [ "$(num '.restarts')" -gt 0 ] && [ "$(num '.run.own_node')" = true ]; then
		echo "The node's slowdown compares its CPU per block bare and traced in the same process, before the first restart: the database grows all run long and a reopened one is slower (over all the traced samples: $(num '.node_all.cpu_ms_per_block // 0 | . * 1000 | round / 1000') ms per block, $(num '.node_all.blocks_per_s // 0 | . * 10 | round / 10') blocks/s). The cost of the probes alone, against a fresh database each time, is in make bench (part duty)."
		echo
	fi
	echo "Traced: $(num '.ops') RocksDB operations ($(num '.ops_per_s | round') a second), $(num '.slow') slow ones (>= $(num '.run.slow_ms') ms). Node: $(num '.node_bare.blocks_per_s // 0 | . * 10 | round / 10') blocks/s bare, $(num '.node_traced.blocks_per_s // 0 | . * 10 | round / 10') traced ($(pct "$(num '.throughput_pct')" 1))."
	echo
	echo "## Budgets"
	echo
	echo "| budget | limit | measured | |"
	echo "|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | **%s** |\n", $1, $2, $3, $4 }' "$OUT/verdicts.tsv"
	echo
	echo "## Per tool"
	echo
	bash "$0" "$OUT" --table
	echo
	echo "Warm-up: the first $(num '.warm | round') s of tracing; growth is the largest RSS after it, less the RSS at its end."
	if [ "$(num '.restarts')" -gt 0 ]; then
		echo
		echo "## Re-attaches"
		echo
		echo "| restart | signal | ckb-rdblat gap / lag (ms) | ckb-slowops gap / lag (ms) |"
		echo "|---|---|---|---|"
		jq -r '. as $n | range(0; .restarts) as $i |
			"| \($i + 1) | \($n.kills[$i].signal) | \($n.rdblat_reattach[$i].gap_ms // "-") / \($n.rdblat_reattach[$i].lag_ms // "-") | \($n.slowops_reattach[$i].gap_ms // "-") / \($n.slowops_reattach[$i].lag_ms // "-") |"' "$N"
		echo
		echo "gap: the old process seen gone -> the new one attached; lag: the new process started -> attached (the re-attach budget)."
	fi
	for p in $PLOTS; do
		echo
		echo "![$p]($p.png)"
	done
	echo
	echo "Files: samples.jsonl (every $(num '.run.sample_s') s), events.jsonl (restarts), rdblat.jsonl and slowops.jsonl (the tools' output), run.json, numbers.json (what this report computed), verdicts.tsv."
} > "$OUT/REPORT.md"
cat "$OUT/verdicts.tsv"
grep -q 'FAIL$' "$OUT/verdicts.tsv" && exit 3 || exit 0
