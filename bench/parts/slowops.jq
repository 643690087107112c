# bench/parts/slowops.jq: the report section of part slowops (bench/report.sh).
include "report";

def opt(f): if . == null then null else f end;
# Per run (an object of `runs`); null where a measurement is missing.
def tool_run: if .m.tool_ticks_stop != null and .m.tool_ticks_attach != null
	then .m.tool_ticks_stop - .m.tool_ticks_attach else null end;
def evs: ratio(.m.events; .m.wall);
def ops_s: ratio(.m.ops; .m.wall);
def blocks_s: ratio(.m.blocks; .m.wall);
def tool_cpu($t): ratio(.m.tool_ticks_stop; $t);
def tool_cpu_run($t): ratio(tool_run; $t);
def sim_cpu($t): ratio(.m.sim_ticks; $t);
def p100k($t): if (.m.events // 0) > 0 and .m.tool_ticks_stop != null
	then .m.tool_ticks_stop / $t / .m.events * 100000 else null end;
def p100k_run($t): if (.m.events // 0) > 0 and tool_run != null
	then tool_run / $t / .m.events * 100000 else null end;
def busy_tool($t): if .m.sim_ticks != null and tool_run != null and .m.wall
	then (.m.sim_ticks + tool_run) / $t / .m.wall else null end;
def busy_bare($t): ratio(.m.sim_ticks; $t) as $c | ratio($c; .m.wall);
def pct($t): ratio(tool_run; $t) as $c | ratio($c; .m.wall) | opt(. * 100);
# stats of f over the runs, as "median (min-max)" with $n decimals
def s($n; f): map(f) | stats | mmm($n);

. as $all | run_info as $run | infos($part) as $i |
(measures($part) | runs) as $rs |
$run.clk_tck as $tck |
$i.ops as $ops |
($i.full_configs // []) as $FC | ($i.rate_configs // []) as $RC |
($i.calibration // {}) as $cal |
def cmd($w; $c): $i["cmd:\($w):\($c)"] | opt("`\(.)`") // "no tracer";
# "L N": runs of $c with events lost, runs with a summary
def loss($r): { l: ($r | map(select((.m.lost // 0) > 0)) | length),
	       n: ($r | map(select(.m.events != null)) | length) };

"## ckb-slowops: events delivered, CPU per event, cost at a CKB-like rate", "",
"Every run: fresh databases; ckb-dbsim started with `--wait --linger`, ckb-slowops attached (its `Tracing` line), then SIGUSR1 starts the workload; **wall** is SIGUSR1 to the last ckb-dbsim's summary line (polled every 10 ms). Then 0.3 s for the tracer to empty its buffer, its utime+stime read from `/proc/PID/stat` (**tool CPU**, clock ticks of 1/\($tck) s), SIGINT, its JSON summary read (`events` delivered, `lost`, `under_threshold`). ckb-slowops writes JSON lines into a file (`-j ... > FILE`) and traces `-o \($ops)` (every operation ckb-dbsim's own thread makes). Configurations are interleaved, the order rotated each round; medians (min-max) over \($run.rounds) rounds. The ckb-slowops part took \($i.seconds | duration) of this run.",
"", "### Goals", "",
( [ ("ring", "ring-x2") as $c | ($rs | sel("full"; $c)) as $r | ($r | map(evs) | stats) as $e |
    select($e != null) | loss($r) as $L |
    { c: $c, e: $e, l: $L.l, n: $L.n } ] ) as $g |
( $g | map(select(.l == 0 and .n > 0)) | max_by(.e.med) ) as $best |
( $g | map(select(.l > 0)) ) as $lossy |
( $rs | sel("rate"; "slowops-0") ) as $r0 |
( $r0 | map(pct($tck)) | stats ) as $p |
md_table(["goal", "measured (median, min-max over rounds)", "verdict"];
	[ [ "goal: >= 200000 events/s delivered with zero loss through the BPF ring buffer (threshold 0, default 256 pages)",
	    ($g | map("\(.c): \(.e.med | fixed(0)) events/s (\(.e.min | fixed(0))-\(.e.max | fixed(0))), lost in \(.l) of \(.n) runs") | join("; ") | if . == "" then "-" else . end),
	    (if $best != null and $best.e.med >= 200000 then "met (\($best.c))"
	     elif ($lossy | length) > 0 then "**missed**: events lost on the ring buffer path (\($lossy | map(.c) | join(", "))) at \($lossy[-1].e.med | fixed(0)) events/s"
	     elif $best != null then "**not reached**: the fastest workload here (\($best.c)) made only \($best.e.med | fixed(0)) events/s, all delivered; 200k events/s was never produced on this \($run.ncpu)-CPU machine, so the goal is neither shown nor refuted (see CPU busy below)"
	     else "-" end) ],
	  [ "goal: ckb-slowops under 1 % of one core at ~10k events/s (threshold 0, ring buffer, `-p PID`)",
	    "\($p | opt(.med) | fixed(2)) % (\($p | opt(.min) | fixed(2))-\($p | opt(.max) | fixed(2))) of one core, at \($r0 | s(0; evs)) events/s delivered",
	    (if $p == null then "-" elif $p.med < 1 then "met"
	     else "**missed** by \($p.med - 1 | fixed(2)) points of a core" end) ] ]),

"", "### 1-2. Events per second at full speed, loss, CPU per 100k events", "",
"ckb-dbsim `-r 0 -n \($i.full_blocks)` (unthrottled) per process, threshold 0: every traced operation is an event. One process is traced with `-p PID`; two processes (`-x2`, started together) with `-b` on the ckb-dbsim binary, to produce more events per second than one process can. **events/s**: the summary's `events` over the wall time. **ops/s made**: the traced operations ckb-dbsim counted (`--counts`) over the wall time (for bare runs, what the workload makes without probes). **tool CPU**: ckb-slowops' utime+stime at stop, start-up included (its BCC compile runs in a child and is not included); **per 100k events**: that over the events, ×100000; **excl. start-up**: only the CPU used from attach to stop. **CPU busy**: (ckb-dbsim CPU during the workload + tool CPU from attach to stop) / wall, in CPUs: this machine has \($run.ncpu), so near \($run.ncpu) the producers and the tracer fight for them, and the events/s are what the contended machine gives, not the tracer's ceiling.",
"",
md_table(["config", "command", "events/s", "ops/s made", "events per run", "lost per run: median (max)", "runs with loss", "tool CPU s", "CPU s per 100k events", "excl. start-up", "CPU busy, CPUs"];
	[ $FC[] as $c | ($rs | sel("full"; $c)) as $r |
	  if ($c | startswith("bare")) then
	    [ $c, "\($i["procs:full:" + $c] // 1) ckb-dbsim, no tracer", "-", ($r | s(0; ops_s)),
	      "-", "-", "-", "-", "-", "-", ($r | s(2; busy_bare($tck))) ]
	  else
	    ($r | map(.m.lost) | stats) as $lost | loss($r) as $L |
	    [ $c, cmd("full"; $c), ($r | s(0; evs)), ($r | s(0; ops_s)), ($r | s(0; .m.events)),
	      (if $lost == null then "-" else "\($lost.med | fixed(0)) (\($lost.max | fixed(0)))" end),
	      "\($L.l) of \($L.n)", ($r | s(2; tool_cpu($tck))), ($r | s(3; p100k($tck))),
	      ($r | s(3; p100k_run($tck))), ($r | s(2; busy_tool($tck))) ]
	  end ]),
"",
"`DBSIM` is the ckb-dbsim binary both processes run; `-8p`: `--buffer-pages 8` (32 KiB; with `--perf-buffer` per CPU) instead of the default 256 (1 MiB), for contrast.",

"", "### 3. A CKB-like rate: ckb-dbsim -r \($i.rate)", "",
( ratio($cal.ops; $cal.blocks) as $opb | ratio($cal.calls; $cal.blocks) as $cpb |
  "One ckb-dbsim `-r \($i.rate) -n \($i.rate_blocks)`: \($opb | fixed(1)) traced operations and \($cpb | fixed(1)) rocksdb_* calls per block (its counts), so about \($opb | opt(. * $i.rate) | fixed(0)) operations/s and \($cpb | opt(. * $i.rate) | fixed(0)) calls/s (rate \(if $i.rate_source == "derived" then "derived: \($i.target_ops) operations/s at \($opb | fixed(1)) traced operations per block" else $i.rate_source end); -r 220, about 10k rocksdb_* calls/s counting every call, housekeeping included, would give only about \($opb | opt(. * 220) | fixed(0)) traced operations/s). ckb-slowops `-p PID -j -o \($ops)` at its default threshold (10 ms: nothing is that slow here, so almost no events) and at threshold 0 (every operation an event). **wall** and **ckb-dbsim CPU** (utime+stime of all its threads over the workload: the uprobe traps and BPF programs run in its threads and count there) against bare; the wall time stays near blocks/rate as long as ckb-dbsim keeps up. **tool CPU**: ckb-slowops' utime+stime from attach to stop, and as % of one core over the wall time." ),
"",
( $rs | sel("rate"; "bare") ) as $bare |
md_table(["config", "wall s", "vs bare", "ckb-dbsim CPU s", "vs bare", "blocks/s", "traced ops/s", "events/s delivered", "lost", "tool CPU s", "tool % of one core", "tool CPU s per 100k events"];
	[ $RC[] as $c | ($rs | sel("rate"; $c)) as $r |
	  [ $c, ($r | s(3; .m.wall)),
	    (ratio($r | map(.m.wall) | med; $bare | map(.m.wall) | med) | fixed(3)),
	    ($r | s(2; sim_cpu($tck))),
	    (ratio($r | map(sim_cpu($tck)) | med; $bare | map(sim_cpu($tck)) | med) | fixed(3)),
	    ($r | s(0; blocks_s)), ($r | s(0; ops_s)) ] +
	  (if $c == "bare" then ["-", "-", "-", "-", "-"]
	   else [ ($r | s(0; evs)), ($r | s(0; .m.lost)), ($r | s(2; tool_cpu_run($tck))),
		  ($r | s(2; pct($tck))), ($r | s(3; p100k_run($tck))) ] end) ]),
"",
( $RC[] | select(. != "bare") | "- **\(.)**: \(cmd("rate"; .))" ),
"",
ratio($i.rate_blocks; $i.rate) as $secs |
"Tool CPU is counted in clock ticks (1/\($tck) s): over a \($i.rate_blocks)-block run at -r \($i.rate) (about \($secs | fixed(1)) s) one tick is about \(ratio(100; $secs) | opt(. / $tck) | fixed(2)) % of a core.",

"", "### Correctness on the side", "",
"Each traced run: ckb-slowops' `events` + `lost` + `under_threshold` against the operations ckb-dbsim counted (`--counts`, the rocksdb_* functions of the \($ops) operations, from the catalog), and the event lines in its output against `events`.",
"",
( ($rs | map(select(.m.events != null)) | length) as $n |
  notes($part) | if length == 0 then "- every run (\($n) traced): both equal, and every ckb-dbsim made its blocks."
  else (.[] | "- \(.workload) \(.subject) round \(.round): \(.text)") end ),
"",
md_details("every ckb-slowops run: workload (full speed, fixed rate), config, round, wall s, events, lost, under threshold, event lines, tool ticks at attach, tool ticks at stop, ckb-dbsim ticks during the workload, traced operations, rocksdb_* calls, blocks, ckb-dbsim's own seconds (slowest process), attach s, probes, 1-min load average before the run";
	$rs | sort_by(.seq // 0, .round) |
	  map(.m as $m | [ .workload, .subject, .round, ($m.wall | fixed(6)) ] +
		[ ("events", "lost", "under_threshold", "event_lines", "tool_ticks_attach",
		   "tool_ticks_stop", "sim_ticks", "ops", "calls", "blocks") as $k | $m[$k] // "-" ] +
		[ ($m.sim_secs | fixed(3)), ($m.attach | fixed(6)),
		  (if $m.probes == null then "-" else "\($m.probes) \(.u.probes)" end), (.load | fixed(2)) ] |
	      map(tostring) | join("\t")))
