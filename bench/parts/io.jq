# bench/parts/io.jq: the report section of part io (bench/report.sh).
include "report";

. as $all | run_info as $run | infos($part) as $i |
(measures($part) | runs) as $rs |
$run.clk_tck as $tck |
def wall($c): $rs | sel("dbsim"; $c) | map(.m.wall) | stats;
def slow($c): paired($rs | sel("dbsim"; $c); $rs | sel("dbsim"; "bare"); .m.wall);
def vs($a; $b): paired($rs | sel("dbsim"; $a); $rs | sel("dbsim"; $b); .m.wall);
def rss($c): $rs | sel("dbsim"; $c) | map(.m.rss_hwm) | stats;
def cpu($c): $rs | sel("dbsim"; $c) | map(ratio(.m.cpu; $tck) as $x | ratio($x; .m.wall) | if . == null then null else . * 100 end) | stats;

"## ckb-iolat and ckb-disklat: cost to ckb-dbsim at full speed", "",
"ckb-dbsim `-r 0 -n \($i.blocks)` (unthrottled), fresh database each run, started with `--wait`; the tracer attaches (its `Tracing` line, or a bpftrace `BEGIN` printf), then SIGUSR1 starts the workload; **wall** is SIGUSR1 to exit. ckb-iolat traces the ckb-dbsim PID (`-p`), ckb-disklat the whole system; the bpftrace scripts do the same aggregation (iolat: 13 syscalls' entry and exit, a histogram, a count and the bytes per thread name and syscall; disklat: issue to complete per device and RWBS class, with bytes), printing every second. Configurations interleaved, the order rotated each round; medians (min-max) over \($run.rounds) rounds. The part took \($i.seconds | duration).",
"", "### Goals", "",
md_table(["goal", "measured", "verdict"];
	[ ("iolat", "disklat") as $t |
	  vs("ckb-\($t)"; "bpftrace-\($t)") as $v |
	  [ "ckb-\($t) costs no more than bpftrace doing the same job (wall, per-round ratio ckb / bpftrace)",
	    "\($v | mmm(3))x; ckb-\($t) \(slow("ckb-\($t)") | mmm(3))x bare, bpftrace \(slow("bpftrace-\($t)") | mmm(3))x bare",
	    (if $v == null then "-" elif $v.med <= 1.0 then "met"
	     else "**missed** (\((($v.med - 1) * 100) | fixed(1)) % slower than bpftrace)" end) ] ] +
	[ ( ("ckb-iolat", "ckb-disklat") as $c | rss($c) as $m |
	    [ "\($c): tracer peak RSS under 8 MB", "\($m | mmm(0)) kB",
	      (if $m == null then "-" elif $m.max < 8192 then "met" else "**missed**" end) ] ) ]),
"", "### Per configuration", "",
md_table(["configuration", "wall (s)", "vs bare (per round)", "attach (s)", "tracer peak RSS (kB)", "tracer CPU (% of a core)"];
	[ ($i.configs[]) as $c |
	  [ $c, (wall($c) | mmm(2)), (if $c == "bare" then "1" else slow($c) | mmm(3) end),
	    ($rs | sel("dbsim"; $c) | map(.m.attach) | stats | mmm(2)),
	    (rss($c) | mmm(0)), (cpu($c) | mmm(2)) ] ]),
"", (notes($part) | if length > 0 then "Notes:", "", (.[] | "- \(.subject), round \(.round): \(.text)") else empty end)
