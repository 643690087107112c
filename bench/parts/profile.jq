# bench/parts/profile.jq: the report section of part profile (bench/report.sh).
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

"## ckb-profile: cost to ckb-dbsim at full speed, 49 and 99 Hz", "",
"ckb-dbsim `-r 0 -n \($i.blocks)` (unthrottled), fresh database each run, started with `--wait`; the tracer attaches (its `Tracing`/`Sampling` line, or a bpftrace `BEGIN` printf), then SIGUSR1 starts the workload; **wall** is SIGUSR1 to exit. ckb-profile: `\($i["cmd:ckb-profile"])`; with dwarf: `\($i["cmd:ckb-profile-dwarf"])`; bpftrace: \($i["cmd:bpftrace"]); profile-bpfcc: `\($i["cmd:profile-bpfcc"])`. **tracer CPU while tracing**: its own CPU from attach to the workload's end, as % of a core over the wall time (the BPF program runs in the sampled tasks and shows in wall); **whole life**: its own CPU from launch to exit, the report at the end included (not a compile child's). Configurations interleaved, the order rotated each round; medians (min-max) over \($run.rounds) rounds. The part took \($i.seconds | duration).",
"", "### Goals", "",
md_table(["goal", "measured", "verdict"];
	[ ( ("49", "99") as $hz | ("bpftrace-\($hz)", "profile-bpfcc-\($hz)") as $p |
	  select(has($p)) |
	    vs("ckb-profile-\($hz)"; $p) as $v |
	    [ "ckb-profile at \($hz) Hz costs no more than \($p) (wall, per-round ratio)",
	      "\($v | mmm(3))x; ckb-profile \(slow("ckb-profile-\($hz)") | mmm(3))x bare, \($p) \(slow($p) | mmm(3))x bare",
	      (if $v == null then "-" elif $v.med <= 1.0 then "met"
	       else "**missed** (\((($v.med - 1) * 100) | fixed(1)) % slower)" end) ] ),
	  ( (["ckb-profile-49", 8], ["ckb-profile-99", 8], ["ckb-profile-99-dwarf", 16]) as [$c, $mb] |
	    rss($c) as $m |
	    [ "\($c): tracer peak RSS under \($mb) MB", "\($m | mmm(0)) kB",
	      (if $m == null then "-" elif $m.max < $mb * 1024 then "met" else "**missed**" end) ] ),
	  ( ("ckb-profile-99", "ckb-profile-99-dwarf") as $c | pct($c; "cpu_run") as $m |
	    [ "\($c): tracer CPU while tracing under 1% of a core", "\($m | mmm(2)) %",
	      (if $m == null then "-" elif $m.med < 1 then "met" else "**missed**" end) ] ) ]),
"", "### Per configuration", "",
md_table(["configuration", "wall (s)", "vs bare (per round)", "attach (s)", "tracer peak RSS (kB)", "tracer CPU while tracing (% of a core)", "tracer CPU, whole life (% of a core)", "end report (s)"];
	[ ($i.configs[]) as $c | select(has($c)) |
	  [ $c, (wall($c) | mmm(2)), (if $c == "bare" then "1" else slow($c) | mmm(3) end),
	    ($rs | sel("dbsim"; $c) | map(.m.attach) | stats | mmm(2)),
	    (rss($c) | mmm(0)), (pct($c; "cpu_run") | mmm(2)), (pct($c; "cpu") | mmm(2)),
	    ($rs | sel("dbsim"; $c) | map(.m.stop) | stats | mmm(2)) ] ]),
"", (notes($part) | if length > 0 then "Notes:", "", (.[] | "- \(.subject), round \(.round): \(.text)") else empty end)
