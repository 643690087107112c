# bench/report.jq: what every report section uses (jq 1.6).
#
# A section is bench/parts/NAME.jq: it starts with `include "report";`,
# gets every JSON line of the run as one array (.) and the part's name
# as $part, and outputs its Markdown, one string per line.  bench/report.sh
# runs it; bench/README.md describes the JSON lines.

# ---- the lines of a run ------------------------------------------------

def run_info: (map(select(.type == "run")) | first) // {};
def run_end: (map(select(.type == "end")) | first) // {};
def measures($p): map(select(.type == "measure" and .part == $p));
# The part's facts as one object, key -> value (the last of a key wins).
def infos($p): reduce (.[] | select(.type == "info" and .part == $p)) as $i
	({}; .[$i.key] = $i.value);
def notes($p): map(select(.type == "note" and .part == $p));

# Measures grouped into runs: one object per (workload, subject, round):
# {workload, subject, round, seq, load, m: {metric: value}, u: {metric:
# unit}}; seq is the run's number in the benchmark (its order), or null.
def runs: group_by([.workload, .subject, .round]) |
	map({ workload: .[0].workload, subject: .[0].subject, round: .[0].round,
	      seq: (map(.seq // empty) | min),
	      load: (map(.load // empty) | first),
	      m: (map({ key: .metric, value: .value }) | from_entries),
	      u: (map({ key: .metric, value: .unit }) | from_entries) });
# The runs of workload $w and subject $s.
def sel($w; $s): map(select(.workload == $w and .subject == $s));

# ---- numbers -----------------------------------------------------------

def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
# {med, min, max, n} of the numbers of an array (null: none).
def stats: [.[] | numbers] | sort |
	if length == 0 then null
	else { med: median, min: .[0], max: .[-1], n: length } end;
# The median of the numbers of an array, or null.
def med: stats | if . == null then null else .med end;
def ratio($a; $b):
	if ($a | type) == "number" and ($b | type) == "number" and $b != 0
	then $a / $b else null end;
# A number with $n decimals (rounded half up), "-" for anything else.
def fixed($n):
	if type != "number" then "-" else
	(if . < 0 then -. else . end) as $a |
	pow(10; $n) as $p |
	($a * $p + 0.5 | floor) as $i |
	(if . < 0 and $i > 0 then "-" else "" end) as $sign |
	($i / $p | floor) as $int |
	(($i - $int * $p) | tostring) as $f |
	if $n == 0 then "\($sign)\($int)"
	else "\($sign)\($int).\([range($n - ($f | length))] | map("0") | join(""))\($f)" end
	end;
# stats as "median (min-max)" with $n decimals; "-" when null.
def mmm($n): if . == null then "-"
	else "\(.med | fixed($n)) (\(.min | fixed($n))-\(.max | fixed($n)))" end;
# Per-round ratio of f over runs $a to f over runs $b of the same round,
# as stats: pairing runs of one round cancels slow drifts of the machine.
def paired($a; $b; f):
	[ $a[] | .round as $r | (f) as $x |
	  ($b | map(select(.round == $r)) | first | if . == null then null else f end) as $y |
	  ratio($x; $y) ] | stats;
# "met" if $v <= $limit, else "missed by D$unit" (D with $n decimals).
def verdict($v; $limit; $n; $unit):
	if ($v | type) != "number" then "-"
	elif $v <= $limit then "met"
	else "missed by \($v - $limit | fixed($n))\($unit)" end;
# Seconds as "M min S s".
def duration: if type != "number" then "-"
	else "\(. / 60 | floor) min \(. % 60) s" end;

# ---- Markdown ----------------------------------------------------------

def md_row: "| " + (map(if . == null then "-" else tostring end) | join(" | ")) + " |";
def md_table($head; $rows):
	($head | md_row), ("|" + ($head | map("---|") | join(""))), ($rows[] | md_row);
# A <details> block around preformatted lines.
def md_details($summary; $lines):
	"<details><summary>\($summary)</summary>", "", "```", $lines[], "```", "</details>";

# ---- the section of a part that brings none ---------------------------

# Per workload: one row per subject, one column per metric, median
# (min-max) over the rounds; then the notes.
def generic_section($p):
	(measures($p) | runs) as $rs |
	"## Part \($p)", "",
	"Medians (min-max) over the rounds; this part has no report section of its own (bench/parts/\($p).jq).",
	( $rs | group_by(.workload)[] | . as $w |
	  ([$w[] | .u | to_entries[]] | unique_by(.key) | map({ key, value })) as $cols |
	  "", "### Workload \($w[0].workload)", "",
	  md_table(["subject"] + ($cols | map("\(.key) (\(.value))"));
		[ $w | group_by(.subject)[] | . as $s |
		  [$s[0].subject] + [ $cols[] | .key as $k | $s | map(.m[$k]) |
			(if all(.[] | numbers; . == floor) then 0 else 3 end) as $n |
			stats | mmm($n) ] ]) ),
	( notes($p) | if length == 0 then empty else
	  "", "Notes:", "", (.[] | "- \(.workload) \(.subject) round \(.round): \(.text)") end );
