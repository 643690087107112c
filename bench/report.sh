#!/bin/sh
# bench/report.sh RESULTS.jsonl: the benchmark report (Markdown, on stdout)
# from the JSON lines a run wrote: the run's facts, then one section per
# part in the order they ran: bench/parts/NAME.jq if there is one, else a
# generic table of every metric (bench/report.jq, generic_section).
# Needs jq only; no root.  bench/run.sh calls it; run it again on a kept
# .jsonl to remake a report.
set -eu
export LC_ALL=C

dir=$(cd "$(dirname "$0")" && pwd)
in=${1:-}
if [ -z "$in" ] || [ ! -r "$in" ]; then
	echo "bench/report.sh: no readable results file '$in'; usage: sh bench/report.sh RESULTS.jsonl" >&2
	exit 2
fi
jq -e -s 'map(select(.type == "run")) | length == 1' "$in" > /dev/null 2>&1 || {
	echo "bench/report.sh: $in is not the JSON lines of one benchmark run" >&2
	exit 1
}

jq -r -s -L "$dir" 'include "report";
	run_info as $r | run_end as $e | . as $all |
	"# ckbtrace benchmark results", "",
	"Produced by `make bench` (bench/run.sh, report by bench/report.sh from the run'"'"'s JSON lines); see bench/README.md for the method.",
	(if $r.quick then "", "**QUICK=1 smoke run: small workloads, few rounds; not for quoting.**" else empty end),
	"",
	md_table(["", ""]; [
		["date", $r.date],
		["kernel", $r.kernel],
		["source tree", $r.revision],
		["CPU", "\($r.cpu), \($r.ncpu) CPUs"],
		($r.parts[] as $p | $all | map(select(.type == "info" and .part == $p and (.key | startswith("header:"))))[] |
			[.key[7:], .value]),
		["parts", ($r.parts | join(" ")) + (if ($r.all_parts - $r.parts) != [] then " (partial run; not run: \($r.all_parts - $r.parts | join(" ")))" else "" end)],
		["rounds", "\($r.rounds) (each round runs every configuration once; order rotated per round)"],
		["total runtime", (if $e.end == null then "- (the run did not end)" else ($e.end - $r.begin) | duration end) +
			([ $r.parts[] as $p | infos($p).seconds as $s | select($s != null) | "\($p) \($s | duration)" ] |
			 if length > 1 then ", of which " + join(", ") else "" end)],
		["1-min load average", "\($r.load_begin) at the start, \($e.load_end // "-") at the end; per run in the raw data (anything well above ~1 means other work shared the CPUs)"]
	])' "$in"

for p in $(jq -r -s 'map(select(.type == "run"))[0].parts[]' "$in"); do
	echo
	if [ -f "$dir/parts/$p.jq" ]; then
		jq -r -s -L "$dir" --arg part "$p" -f "$dir/parts/$p.jq" "$in"
	else
		jq -r -s -L "$dir" --arg part "$p" 'include "report"; generic_section($part)' "$in"
	fi
done

# The soak: not a part, because it runs for an hour or more;
# contrib/stability/run.sh makes it, and its last kept run is shown here.
soak=${SOAK_DIR:-$dir/../contrib/stability/report-1h}
if [ -r "$soak/run.json" ]; then
	echo
	echo "## Soak: ckb-rdblat and ckb-slowops always on"
	echo
	jq -r '"contrib/stability/run.sh \(.duration_s) s on \(.date) (source tree \(.revision)): ckb-dbsim at \(.rate) blocks/s, restarted every \(.restart_every_s) s, both tracers with --follow, sampled every \(.sample_s) s; 1-min load average \(.load_begin) at the start, \(.load_end) at the end." + (if .note then " " + .note else "" end)' "$soak/run.json"
	echo "Every budget, and the plots: contrib/stability/$(basename "$soak")/REPORT.md."
	echo
	bash "$dir/../contrib/stability/report.sh" "$soak" --table
fi
