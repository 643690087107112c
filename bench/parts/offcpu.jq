# bench/parts/offcpu.jq: the report section of part offcpu (bench/report.sh).
include "report";

. as $all | run_info as $run | infos($part) as $i |
(measures($part) | runs) as $rs |
$run.clk_tck as $tck |
def wall($c): $rs | sel("dbsim"; $c) | map(.m.wall) | stats;
def slow($c): paired($rs | sel("dbsim"; $c); $rs | sel("dbsim"; "bare"); .m.wall);
def vs($a; $b): paired($rs | sel("dbsim"; $a); $rs | sel("dbsim"; $b); .m.wall);
def rss($c): $rs | sel("dbsim"; $c) | map(.m.rss_hwm) | stats;
def pct($c; $k): $rs | sel("dbsim"; $c) | map(ratio(.m[$k]; $tck) as $x | ratio($x; .m.wall) | if . == null then null else . * 100 end) | stats;
def has($c): ($rs | sel("dbsim"; $c) | length) > 0;

"## ckb-offcpu: cost to ckb-dbsim at full speed", "",
"ckb-dbsim `-r 0 -n \($i.blocks)` (unthrottled), fresh database each run, started with `--wait`; the tracer attaches (its `Tracing` line, or a bpftrace `BEGIN` printf), then SIGUSR1 starts the workload; **wall** is SIGUSR1 to exit. Every tracer runs a BPF program on every context switch of the machine (sched_switch) and keeps the PID's. ckb-offcpu: `\($i["cmd:ckb-offcpu"])`; bpftrace: \($i["cmd:bpftrace"]); offcputime-bpfcc: `\($i["cmd:offcputime-bpfcc"])`. **tracer CPU while tracing**: its own CPU from attach to the workload's end, as % of a core over the wall time (the BPF programs themselves run in the switching tasks and show in wall); **whole life**: its own CPU from launch to exit, the report at the end included (not a compile child's). Configurations interleaved, the order rotated each round; medians (min-max) over \($run.rounds) rounds. The part took \($i.seconds | duration).",
"", "### Goals", "",
md_table(["goal", "measured", "verdict"];
	[ ( ("bpftrace", "offcputime-bpfcc") as $p |
	  if has($p) then
	    vs("ckb-offcpu"; $p) as $v |
	    [ "ckb-offcpu costs no more than \($p) doing the same job (wall, per-round ratio)",
	      "\($v | mmm(3))x; ckb-offcpu \(slow("ckb-offcpu") | mmm(3))x bare, \($p) \(slow($p) | mmm(3))x bare",
	      (if $v == null then "-" elif $v.med <= 1.0 then "met"
	       else "**missed** (\((($v.med - 1) * 100) | fixed(1)) % slower)" end) ]
	  else [ "ckb-offcpu costs no more than \($p)", "\($p) did not run (see the notes)", "-" ] end ),
	  ( rss("ckb-offcpu") as $m |
	    [ "ckb-offcpu: tracer peak RSS under 8 MB", "\($m | mmm(0)) kB",
	      (if $m == null then "-" elif $m.max < 8192 then "met" else "**missed**" end) ] ) ]),
"", "### Per configuration", "",
md_table(["configuration", "wall (s)", "vs bare (per round)", "attach (s)", "tracer peak RSS (kB)", "tracer CPU while tracing (% of a core)", "tracer CPU, whole life (% of a core)", "end report (s)"];
	[ ($i.configs[]) as $c | select(has($c)) |
	  [ $c, (wall($c) | mmm(2)), (if $c == "bare" then "1" else slow($c) | mmm(3) end),
	    ($rs | sel("dbsim"; $c) | map(.m.attach) | stats | mmm(2)),
	    (rss($c) | mmm(0)), (pct($c; "cpu_run") | mmm(2)), (pct($c; "cpu") | mmm(2)),
	    ($rs | sel("dbsim"; $c) | map(.m.stop) | stats | mmm(2)) ] ]),
"", (notes($part) | if length > 0 then "Notes:", "", (.[] | "- \(.subject), round \(.round): \(.text)") else empty end)
