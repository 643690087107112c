# bench/parts/duty.jq: the report section of part duty (bench/report.sh).
include "report";

def opt(f): if . == null then null else f end;
def bps: ratio(.m.blocks; .m.wall);
def cpb: ratio(.m.sim_ticks; .m.blocks);
def s($n; f): map(f) | stats | mmm($n);

. as $all | run_info as $run | infos($part) as $i |
(measures($part) | runs) as $rs |
($rs | sel("ckb-like"; "bare")) as $b | ($rs | sel("ckb-like"; "always")) as $a |
($rs | sel("ckb-like"; "duty")) as $d |
($rs | sel("full"; "bare")) as $fb | ($rs | sel("full"; "floor")) as $ff |
($rs | sel("full"; "always")) as $fa |
($run.clk_tck // 100) as $tck |
"## Always on: ckb-rdblat attached all the time, or --duty \($i.pct)", "",
"**ckb-like**: ckb-dbsim at \($i.rate) blocks/s (about 10k RocksDB operations a second) for \($i.secs) s per run, bare, under `\($i["cmd:always"])` and under `\($i["cmd:duty"])`. **blocks/s**: what it made (its own counts, SIGUSR2); **CPU ms/block**: its utime+stime per block, the cost at a fixed rate. **full**: ckb-dbsim unthrottled, \($i.blocks) blocks, its own wall time; the floor is bpftrace with empty bodies on exactly ckb-rdblat's probe points. Medians (min-max) over \($run.rounds) rounds, interleaved; per-round ratios pair runs of one round.",
"", "### Goals", "",
md_table(["goal", "measured", ""];
  [ (paired($d; $b; bps) | opt(.med) as $r | ["--duty \($i.pct): throughput loss < 1% (blocks/s vs bare)", "\($r | opt((1 - .) * 100) | fixed(2))% (per round \(paired($d; $b; bps) | mmm(4)))", verdict($r | opt((1 - .) * 100); 1; 2; "%")]),
    (paired($d; $b; cpb) | opt(.med) as $r | ["--duty \($i.pct): CPU per block vs bare (the cost at a fixed rate)", "\($r | opt((. - 1) * 100) | fixed(2))% (per round \(paired($d; $b; cpb) | mmm(4)))", verdict($r | opt((. - 1) * 100); 1; 2; "%")]),
    (paired($a; $b; cpb) | opt(.med) as $r | ["always attached: CPU per block vs bare (for comparison)", "\($r | opt((. - 1) * 100) | fixed(2))%", "-"]),
    ( $i.ops[] as $op | ("p50", "p99") as $p |
      ($d | map(.m["\($p)_ns:\($op)"]) | med) as $dv | ($a | map(.m["\($p)_ns:\($op)"]) | med) as $av |
      ratio($dv; $av) as $r |
      ["--duty \($i.pct): \($op) \($p) within 10% of always", "\($dv | opt(. / 1000) | fixed(2)) us vs \($av | opt(. / 1000) | fixed(2)) us (\($r | opt((. - 1) * 100) | fixed(1))%)",
       (if $r == null then "-" elif ($r - 1 | fabs) <= 0.10 then "met" else "missed" end)] ),
    (paired($fa; $ff; .m.wall) | opt(.med) as $r | ["full speed: always attached within 1.05x of the floor (wall)", "\($r | fixed(3))x (per round \(paired($fa; $ff; .m.wall) | mmm(3)))", verdict($r; 1.05; 3; "x")]),
    (paired($fa; $ff; cpb) | opt(.med) as $r | ["full speed: the same, as ckb-dbsim CPU per block (less sensitive to other load)", "\($r | fixed(3))x (per round \(paired($fa; $ff; cpb) | mmm(3)))", verdict($r; 1.05; 3; "x")])
  ]),
"", "### Runs", "",
md_table(["workload", "config", "blocks/s", "CPU ms/block", "wall s", "tracer peak RSS MB"];
  [ (["ckb-like", "bare", $b], ["ckb-like", "always", $a], ["ckb-like", "duty \($i.pct)", $d],
     ["full", "bare", $fb], ["full", "floor", $ff], ["full", "always", $fa]) |
    [.[0], .[1], (.[2] | s(1; bps)), (.[2] | s(3; cpb | opt(. / $tck * 1000))),
     (.[2] | s(3; .m.wall)), (.[2] | s(1; .m.tracer_peak_rss | opt(. / 1024)))] ]),
( notes($part) | if length == 0 then empty else
  "", "Notes:", "", (.[] | "- \(.workload) \(.subject) round \(.round): \(.text)") end )
