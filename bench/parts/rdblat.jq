# bench/parts/rdblat.jq: the report section of part rdblat (bench/report.sh).
include "report";

def mb: if type == "number" then . / 1024 else null end;
def opt(f): if . == null then null else f end;

def workload_title($w; $i):
	if $w == "A" then "A: db_bench fillrandom,readrandom (C++ API through \($i.lib))"
	else "B: ckb-dbsim (CKB-shaped, C API, RocksDB linked statically)" end;

def config_desc($w; $c; $i):
	{ "bare": "no tracer",
	  "floor": "bpftrace, empty uprobe/uretprobe bodies on exactly ckb-rdblat's probe points\(if $w == "B" then ", `-p PID`" else "" end)",
	  "ckb-rdblat": (if $w == "A" then "`ckb-rdblat -j -i 1 -b LIB -o \($i.a_ops)` (JSON lines into a file, for the count check)"
		else "`ckb-rdblat -j -i 1 -p PID` (JSON lines into a file, for the count check)" end),
	  "bpftrace": "on entry `@s_OP[tid] = nsecs`, on return `@lat_OP = hist(nsecs - @s_OP[tid]); delete(@s_OP[tid])` (one map per operation: bpftrace 0.17 emits a misaligned stack store for some string keys such as \"TXN_PUT\", which the verifier rejects); the byte-tally probes update/delete `@pending[obj]`",
	  "funclatency": "`funclatency-bpfcc -F -r\(if $w == "B" then " -p PID" else "" end) 'PATH:^(f1|f2|...)$'`, one invocation for all the functions"
	}[$c] // $c;

. as $all | run_info as $run | infos($part) as $i |
(measures($part) | runs) as $rs |
$run.clk_tck as $tck |
($i.configs // ["bare", "floor", "ckb-rdblat", "bpftrace", "funclatency"]) as $C |
["A", "B"] as $W |
def wall_stats($w; $c): $rs | sel($w; $c) | map(.m.wall) | stats;

"## Goals", "",
md_table(["goal", "workload", "measured (median, min-max)", "verdict on the median"];
	[ ($W[] as $w |
	    (wall_stats($w; "ckb-rdblat") | opt(.med)) as $m |
	    (wall_stats($w; "floor") | opt(.med)) as $f |
	    paired($rs | sel($w; "ckb-rdblat"); $rs | sel($w; "floor"); .m.wall) as $pr |
	    ["ckb-rdblat wall time / floor wall time <= 1.05", $w,
	     "\(ratio($m; $f) | fixed(3)) (ratio of medians); per round \($pr | mmm(3))",
	     verdict(ratio($m; $f); 1.05; 3; "")]),
	  ($W[] as $w | ($rs | sel($w; "ckb-rdblat") | map(.m.attach) | stats) as $s |
	    ["ckb-rdblat launch-to-attached <= 0.3 s", $w,
	     "\($s | opt(.med) | fixed(3)) s (\($s | opt(.min) | fixed(3))-\($s | opt(.max) | fixed(3)))",
	     verdict($s | opt(.med); 0.3; 3; " s")]),
	  ($W[] as $w | ($rs | sel($w; "ckb-rdblat") | map(.m.rss_hwm | mb) | stats) as $s |
	    ["ckb-rdblat peak RSS (VmHWM) <= 8 MB", $w,
	     "\($s | opt(.med) | fixed(1)) MB (\($s | opt(.min) | fixed(1))-\($s | opt(.max) | fixed(1)))",
	     verdict($s | opt(.med); 8; 1; " MB")]) ]),

( $W[] as $w |
  (wall_stats($w; "bare") | opt(.med)) as $bare |
  (wall_stats($w; "floor") | opt(.med)) as $floor |
  ($rs | sel($w; "bare") | map(.m.workload_cpu) | med) as $bare_cpu |
  "", "## Workload \(workload_title($w; $i))", "",
  "Medians (min-max) over \($run.rounds) rounds. **wall s**: the workload's wall time. **vs bare / vs floor**: ratio of medians. **per-round vs floor**: median (min-max) of the per-round ratio to the floor run of the same round. **attach s**: tracer launch to its own \"attached\" report. **peak RSS**: VmHWM of the long-running tracer process. **CPU own**: its utime+stime; **incl. children**: plus waited-for children (ckb-rdblat's BCC compile child). **stop s**: end of the workload to the tracer's exit (detaching).\(if $w == "A" then " **workload CPU s**: db_bench's user+system time (/usr/bin/time; the uprobe traps and BPF programs run in its threads), and its ratio of medians to bare." else "" end)",
  "",
  md_table(["config", "wall s", "vs bare", "vs floor", "per-round vs floor", "attach s",
	    "peak RSS MB", "CPU own s", "CPU incl. children s", "stop s", "probes"] +
	   (if $w == "A" then ["workload CPU s", "workload CPU vs bare"] else [] end);
	[ $C[] as $c | ($rs | sel($w; $c)) as $r |
	  ($r | map(.m.wall) | stats) as $ws |
	  ($r | map(.m.workload_cpu) | stats) as $wc |
	  [ $c, ($ws | mmm(3)),
	    (ratio($ws | opt(.med); $bare) | fixed(3)),
	    (ratio($ws | opt(.med); $floor) | fixed(3)),
	    (if $c == "bare" or $c == "floor" then "-"
	     else paired($r; $rs | sel($w; "floor"); .m.wall) | mmm(3) end),
	    ($r | map(.m.attach) | med | fixed(3)),
	    ($r | map(.m.rss_hwm | mb) | med | fixed(1)),
	    ($r | map(.m.cpu | opt(. / $tck)) | med | fixed(2)),
	    ($r | map(if .m.cpu == null then null else (.m.cpu + (.m.cpu_children // 0)) / $tck end) | med | fixed(2)),
	    ($r | map(.m.stop) | med | fixed(2)),
	    ($r | map(select(.m.probes != null)) | first | opt("\(.m.probes) \(.u.probes)") // "-") ] +
	  (if $w == "A" then [($wc | mmm(2)), (ratio($wc | opt(.med); $bare_cpu) | fixed(3))] else [] end) ]),
  "", "Configurations:", "",
  ($C[] | "- **\(.)**: \(config_desc($w; .; $i))") ),

"", "### ckb-rdblat against its peers", "",
"ckb-rdblat's medians over each peer's (below 1: ckb-rdblat costs less); **per round**: median (min-max) of the ratio of the runs of one round. The extra wall time over the floor is what the tool adds to the probes themselves.",
"",
md_table(["workload", "peer", "wall, ratio of medians", "wall, per round", "extra over floor, ratio", "attach s, ratio", "peak RSS, ratio", "CPU incl. children, ratio"];
	[ $W[] as $w | ($rs | sel($w; "ckb-rdblat")) as $t |
	  (wall_stats($w; "floor") | opt(.med)) as $floor |
	  ("bpftrace", "funclatency") as $p | ($rs | sel($w; $p)) as $q |
	  def m($r; f): $r | map(f) | med;
	  def cpu: if .m.cpu == null then null else .m.cpu + (.m.cpu_children // 0) end;
	  [ $w, $p,
	    (ratio(m($t; .m.wall); m($q; .m.wall)) | fixed(3)),
	    (paired($t; $q; .m.wall) | mmm(3)),
	    (if $floor == null or m($t; .m.wall) == null or m($q; .m.wall) == null then "-"
	     else ratio(m($t; .m.wall) - $floor; m($q; .m.wall) - $floor) | fixed(2) end),
	    (ratio(m($t; .m.attach); m($q; .m.attach)) | fixed(3)),
	    (ratio(m($t; .m.rss_hwm); m($q; .m.rss_hwm)) | fixed(3)),
	    (ratio(m($t; cpu); m($q; cpu)) | fixed(3)) ] ]),

"", "## Probe points", "",
( $W[] as $w | ($i["functions:" + $w] // []) as $f |
  ($f | map(select(.entry != null)) | length) as $ne |
  ($f | map(select(.return != null)) | length) as $nr |
  ($f | map(select(.layer == "cxx" or .layer == "bg") | .symbol | rtrimstr("(") | rtrimstr("()") | ltrimstr("rocksdb::")) | unique) as $cxx |
  (if $w == "A" then
     "Workload A: `ckb-rdblat -b \($i.lib) -o \($i.a_ops)` attaches \($ne) uprobes and \($nr) uretprobes on \($f | length) functions (the C API and C++ layers, since -b names a library). db_bench never calls the C API functions, so only the C++ ones fire: \($cxx | join(", ")). The floor and bpftrace attach to exactly the same uprobe/uretprobe points by symbol name (all processes mapping the library), so the C API probes are included, idle, for them too."
   else
     "Workload B: `ckb-rdblat -p PID` on ckb-dbsim attaches \($ne) uprobes and \($nr) uretprobes on \($f | length) functions. The floor and bpftrace use exactly the same uprobe/uretprobe points (`-p PID`)."
   end) +
  " The list comes from `ckb-symbols -j -a` (the catalog rows ckb-rdblat attaches for these operations, with their entry and return programs and their sites); it is \($i["sites:" + $w] // "not checked against the kernel").",
  "",
  ($f | map(select(.entry == null or .return == null))) as $one |
  "funclatency-bpfcc takes all \($f | length) functions in one regex (`-F -r 'PATH:^(f1|f2|...)$'`) but always attaches entry *and* return, so it also probes the return of ckb-rdblat's \($one | map(select(.return == null)) | length) entry-only byte-tally functions and the entry of its \($one | map(select(.entry == null)) | length) return-only ones (\($one | map(select(.entry == null) | "`\(.name)`") | join(", "))).",
  "",
  md_details("functions of workload \($w) (name, uprobe, uretprobe, ckb-rdblat op, layer)";
	[ $f[] | "\(.name) \(if .entry != null then 1 else 0 end) \(if .return != null then 1 else 0 end) \(.op) \(.layer)" ]),
  "" ),

"## ckb-rdblat launch-to-attached, broken down", "",
"Extra `ckb-rdblat -v` runs, not timed ones: per workload \([$rs[] | select(.subject == "ckb-rdblat-cold" and .workload == "A")] | length) times an empty BPF cache (**cold**: BCC compiles in the forked child) followed by the same command again (**warm**: the programs come from the cache entry the cold run wrote; the target PID is a map value, so one entry serves every PID). Phases are split by the arrival time of its stderr lines: start to the resolved-layer line (find the target, read ELF symbols), to the first uprobe line (kernel-header check and BCC compile in the forked child with the fds sent back, or the cache load; then the first attach), to the `Tracing` line (the other attaches). Seconds, median (min-max).\(if $i.cache_seen == false then " This build printed no cache load: warm runs compiled too." else "" end)",
"",
"In the timed runs above the cache behaves as it would for a user: both workloads find the entry the start-up runs wrote (the target PID is a map value, not part of the program), so their attach times are warm ones; the cold times are in the table below.",
"",
md_table(["workload", "BPF cache", "target + symbols", "compile or cache + load", "attach", "total"];
	[ $W[] as $w | ("cold", "warm") as $k | ($rs | sel($w; "ckb-rdblat-" + $k)) as $r |
	  [$w, $k] + [ ("symbols", "load", "attach", "total") as $m | $r | map(.m[$m]) | stats | mmm(3) ] ]),

"", "## Correctness on the side", "",
"Workload B: ckb-rdblat's JSON `interval` counts, summed per operation, against ckb-dbsim's own `--counts` (each operation's C API functions from the catalog; FLUSH and COMPACTION against the flush/compaction events in the RocksDB LOG).",
"",
( ($rs | sel("B"; "ckb-rdblat") | map(select(.m.counts_compared != null))) as $b |
  if ($b | length) == 0 then "- no run compared"
  elif ($b | all(.m.counts_differ == 0)) then
    "- every run (\($b | length)): all \($b | map(.m.counts_compared) | max) operation counts equal ckb-dbsim's."
  else ($b[] | select(.m.counts_differ != 0) | "- round \(.round): \(.m.counts_differ) of \(.m.counts_compared) counts differ (see the notes below)") end ),
( ($rs | sel("B"; "ckb-rdblat") | map(select(((.m.unmatched_returns // 0) + (.m.lost_map_full // 0) + (.m.lost_tally_full // 0)) > 0))) as $u |
  if ($u | length) == 0 then "- no run reported unmatched returns or lost calls."
  else ($u[] | "- round \(.round): unmatched_returns \(.m.unmatched_returns), lost_map_full \(.m.lost_map_full), lost_tally_full \(.m.lost_tally_full)") end ),
"",
"Workload A: ckb-rdblat's counts per run (db_bench makes \($i.bench_num) writes and \($i.bench_num) reads):",
"",
( ($rs | sel("A"; "ckb-rdblat") | sort_by(.round)) as $a |
  if ($a | map(select(.m | keys | any(startswith("count_")))) | length) == 0 then "- none recorded"
  else ($a[] | "- round \(.round): \(.m | to_entries | map(select(.key | startswith("count_")) | "\(.key[6:])=\(.value)") | join(" "))") end ),
( notes($part) | if length == 0 then empty else
  "", "Notes:", "", (.[] | "- \(.workload) \(.subject) round \(.round): \(.text)") end ),

"", "## Raw data", "",
md_details("every run: workload, config, round, wall s, attach s, VmHWM kB, CPU own s, CPU incl. children s, stop s, probes, workload CPU s, 1-min load average before the run";
	[ $rs[] | select(.subject | IN($C[])) ] | sort_by(.seq // 0, .round) |
	  map(.m as $m | [ .workload, .subject, .round, ($m.wall | fixed(6)), ($m.attach | fixed(6)),
		($m.rss_hwm // "-"), ($m.cpu | opt(. / $tck) | fixed(2)),
		(if $m.cpu == null then null else ($m.cpu + ($m.cpu_children // 0)) / $tck end | fixed(2)),
		($m.stop | fixed(6)), (if $m.probes == null then "-" else "\($m.probes) \(.u.probes)" end),
		($m.workload_cpu | fixed(2)), (.load | fixed(2)) ] | map(tostring) | join("\t")))
