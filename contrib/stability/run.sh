#!/bin/bash
# contrib/stability/run.sh DURATION: the always-on tools for DURATION
# (120, 90s, 10m, 1h) next to a node, sampled every 10 s, for report.sh.
#
# The node is ckb-dbsim at a CKB-like rate (RATE blocks/s; 380 is about
# 10k RocksDB operations a second), first alone for BARE seconds (the
# node's own cost), then under
#   ckb-rdblat --follow --prometheus ... -j -i 10   and
#   ckb-slowops --follow --prometheus ... -j -m SLOW_MS
# and restarted every RESTART_EVERY seconds, by SIGKILL and SIGTERM in
# turn, on the same database.  With NODE_PID the tools attach to a
# running node instead (no bare phase, no restarts).
#
# Every SAMPLE seconds one JSON line goes to OUT/samples.jsonl: the
# tracers' RSS, peak RSS and CPU time, the node's CPU time and blocks,
# what the tracers served on /metrics (operations, lost events).  Restarts
# go to OUT/events.jsonl, the tools' own output to OUT/*.jsonl and *.err,
# the run's facts to OUT/run.json.  Then: contrib/stability/report.sh OUT.
#
# Environment: OUT (stability-DATE), TOOLS_DIR (./tools), RATE (380),
# BARE (DURATION/12, 20..300 s), RESTART_EVERY (DURATION/6, >= 30 s; 0:
# never), SAMPLE (10), SLOW_MS (10), DUTY (ckb-rdblat --duty PCT, unset:
# always attached), NODE_PID, NOTE (a line for the report: what else ran).
# Root, tracefs mounted, curl and jq.
set -euo pipefail

die() { echo "stability: $*" >&2; exit 1; }
log() { echo "stability: $*" >&2; }

[ $# -eq 1 ] || { echo "usage: contrib/stability/run.sh DURATION (e.g. 120, 10m, 1h)" >&2; exit 2; }
case $1 in
*h) DUR=$(( ${1%h} * 3600 )) ;;
*m) DUR=$(( ${1%m} * 60 )) ;;
*s) DUR=${1%s} ;;
*) DUR=$1 ;;
esac
[[ $DUR =~ ^[0-9]+$ ]] && [ "$DUR" -ge 30 ] ||
	{ echo "stability: bad DURATION '$1': want 30 s or more (120, 10m, 1h)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root (BPF); try sudo"
for c in jq curl; do command -v $c > /dev/null || die "no $c; run contrib/setup-host.sh"; done

TOOLS_DIR=${TOOLS_DIR:-./tools}
OUT=${OUT:-stability-$(date +%Y%m%d-%H%M%S)}
RATE=${RATE:-380}
SAMPLE=${SAMPLE:-10}
SLOW_MS=${SLOW_MS:-10}
NODE_PID=${NODE_PID:-}
BARE=${BARE:-$(( DUR / 12 < 20 ? 20 : DUR / 12 > 300 ? 300 : DUR / 12 ))}
RESTART_EVERY=${RESTART_EVERY:-$(( DUR / 6 < 30 ? 30 : DUR / 6 ))}
[ -z "$NODE_PID" ] || { BARE=0; RESTART_EVERY=0; }
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
# copies: a rebuild during a long run cannot mix versions
for t in ckb-rdblat ckb-slowops ckb-dbsim; do
	[ -x "$TOOLS_DIR/$t" ] || die "no $TOOLS_DIR/$t; run make first (or set TOOLS_DIR)"
	cp "$TOOLS_DIR/$t" "$OUT/bin/"
done
NODE_BIN=$OUT/bin/ckb-dbsim
export CKBTRACE_CACHE_DIR=$OUT/cache
mkdir -p -m 700 "$CKBTRACE_CACHE_DIR"
: > "$OUT/samples.jsonl"
: > "$OUT/events.jsonl"

PIDS=""
cleanup() {
	local p
	for p in $PIDS; do kill -TERM "$p" 2> /dev/null || true; done
	sleep 1
	for p in $PIDS; do kill -KILL "$p" 2> /dev/null || true; done
	rm -rf "$OUT/db"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

now() { local t=$EPOCHREALTIME; echo "${t%.*}.${t#*.}"; }
T0=$(now)
elapsed() { awk -v a="$(now)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }'; }

free_port() {
	local p
	for _ in $(seq 100); do
		p=$(( 20000 + RANDOM % 30000 ))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	die "no free TCP port"
}

# ---- the node ----
NODE_N=0
node_start() {
	NODE_N=$((NODE_N + 1))
	"$NODE_BIN" -q -r "$RATE" -n 0 -d 0 --db "$OUT/db" \
		--counts "$OUT/node$NODE_N.counts.json" \
		> /dev/null 2>> "$OUT/node.err" &
	NODE_PID=$!
	PIDS="$PIDS $NODE_PID"
	jq -nc --argjson t "$(elapsed)" --argjson pid "$NODE_PID" --argjson n "$NODE_N" \
		'{type: "start", t: $t, pid: $pid, n: $n}' >> "$OUT/events.jsonl"
}

# node_blocks: blocks the node has made, from its --counts on SIGUSR2.
node_blocks() {
	local f=$OUT/node$NODE_N.counts.json i=0 before=0
	[ -n "$OWN_NODE" ] || { echo null; return; }
	[ -e "$f" ] && before=$(stat -c %.9Y "$f" 2> /dev/null || echo 0)
	kill -USR2 "$NODE_PID" 2> /dev/null || { echo null; return; }
	# the node takes signals between blocks; a compaction can hold it
	while [ $i -lt 100 ]; do
		if [ -s "$f" ] && [ "$(stat -c %.9Y "$f")" != "$before" ]; then
			jq .blocks "$f"
			return
		fi
		sleep 0.05
		i=$((i + 1))
	done
	echo null
}

node_restart() {
	local sig=$1 old=$NODE_PID i=0
	jq -nc --argjson t "$(elapsed)" --argjson pid "$old" --arg sig "$sig" \
		'{type: "kill", t: $t, pid: $pid, signal: $sig}' >> "$OUT/events.jsonl"
	kill "-$sig" "$old" 2> /dev/null || true
	while kill -0 "$old" 2> /dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	kill -KILL "$old" 2> /dev/null || true
	wait "$old" 2> /dev/null || true
	node_start
}

# ---- /proc ----
# proc PID: "rss_kb hwm_kb cpu_ticks" or "null null null"
proc() {
	local rss=null hwm=null k v rest line
	if [ -r "/proc/$1/status" ] && { read -r line < "/proc/$1/stat"; } 2> /dev/null; then
		while read -r k v rest; do
			case $k in VmRSS:) rss=$v ;; VmHWM:) hwm=$v ;; esac
		done < "/proc/$1/status"
		line=${line##*) }
		set -f
		# shellcheck disable=SC2086
		set -- $line
		set +f
		echo "$rss $hwm $(( ${12} + ${13} ))"
	else
		echo "null null null"
	fi
}

metric_sum() {	# FILE NAME: sum of the series of one family
	awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2; f = 1 } END { print f ? s : "null" }' "$1"
}

sample() {
	local phase=$1 r s n rdb=null slw=null blocks load
	read -r load _ < /proc/loadavg
	blocks=$(node_blocks)
	n=$(proc "$NODE_PID")
	if [ -n "${RDBLAT_PID:-}" ]; then
		r=$(proc "$RDBLAT_PID")
		s=$(proc "$SLOWOPS_PID")
		curl -sf -m 5 "http://127.0.0.1:$P_RDBLAT/metrics" > "$OUT/.m1" || : > "$OUT/.m1"
		curl -sf -m 5 "http://127.0.0.1:$P_SLOWOPS/metrics" > "$OUT/.m2" || : > "$OUT/.m2"
		rdb=$(jq -nc --argjson v "[${r// /,}]" \
			--argjson ops "$(metric_sum "$OUT/.m1" ckbtrace_rocksdb_ops_total)" \
			--argjson lost "$(metric_sum "$OUT/.m1" ckbtrace_lost_events_total)" \
			--argjson restarts "$(metric_sum "$OUT/.m1" ckbtrace_target_restarts_total)" \
			'{rss_kb: $v[0], hwm_kb: $v[1], cpu_ticks: $v[2], ops: $ops, lost: $lost, restarts: $restarts}')
		slw=$(jq -nc --argjson v "[${s// /,}]" \
			--argjson slow "$(metric_sum "$OUT/.m2" ckbtrace_slow_ops_total)" \
			--argjson under "$(metric_sum "$OUT/.m2" ckbtrace_ops_under_threshold_total)" \
			--argjson lost "$(metric_sum "$OUT/.m2" ckbtrace_lost_events_total)" \
			'{rss_kb: $v[0], hwm_kb: $v[1], cpu_ticks: $v[2], slow: $slow, under: $under, lost: $lost}')
	fi
	jq -nc --argjson t "$(elapsed)" --arg phase "$phase" --argjson pid "$NODE_PID" \
		--argjson nv "[${n// /,}]" --argjson blocks "$blocks" --argjson load "$load" \
		--argjson rdblat "$rdb" --argjson slowops "$slw" \
		'{t: $t, phase: $phase, node: {pid: $pid, rss_kb: $nv[0], cpu_ticks: $nv[2], blocks: $blocks},
		  load1: $load, rdblat: $rdblat, slowops: $slowops}' >> "$OUT/samples.jsonl"
}

# wait_tracer PID ERRFILE: until it says "Tracing" (or dies)
wait_tracer() {
	local i=0
	until grep -q '^Tracing' "$2" 2> /dev/null; do
		kill -0 "$1" 2> /dev/null || die "$(basename "$2" .err) exited: $(tail -n 2 "$2")"
		[ $i -lt 1200 ] || die "$(basename "$2" .err) not attached after 120 s"
		sleep 0.1
		i=$((i + 1))
	done
}

# ---- the run ----
OWN_NODE=""
if [ -z "$NODE_PID" ]; then
	OWN_NODE=1
	rm -rf "$OUT/db"
	node_start
fi
read -r LOAD_BEGIN _ < /proc/loadavg
log "node PID $NODE_PID; $DUR s traced after $BARE s bare; restart every $RESTART_EVERY s; output in $OUT"

next=$SAMPLE
if [ "$BARE" -gt 0 ]; then
	bare_end=$BARE
	while :; do
		sleep "$(awk -v n="$next" -v e="$(elapsed)" 'BEGIN { d = n - e; print (d > 0 ? d : 0) }')"
		sample bare
		next=$(( next + SAMPLE ))
		[ "$next" -le "$bare_end" ] || break
	done
fi
traced_begin=$(elapsed)

P_RDBLAT=$(free_port)
P_SLOWOPS=$(free_port)
DUTY_ARGS=()
[ -z "${DUTY:-}" ] || DUTY_ARGS=(--duty "$DUTY")
"$OUT/bin/ckb-rdblat" -p "$NODE_PID" --follow --prometheus "127.0.0.1:$P_RDBLAT" \
	-j -i "$SAMPLE" "${DUTY_ARGS[@]}" > "$OUT/rdblat.jsonl" 2> "$OUT/rdblat.err" &
RDBLAT_PID=$!
PIDS="$PIDS $RDBLAT_PID"
"$OUT/bin/ckb-slowops" -p "$NODE_PID" --follow --prometheus "127.0.0.1:$P_SLOWOPS" \
	-j -m "$SLOW_MS" > "$OUT/slowops.jsonl" 2> "$OUT/slowops.err" &
SLOWOPS_PID=$!
PIDS="$PIDS $SLOWOPS_PID"
wait_tracer "$RDBLAT_PID" "$OUT/rdblat.err"
wait_tracer "$SLOWOPS_PID" "$OUT/slowops.err"
traced_begin=$(elapsed)
log "tracing from t=$traced_begin s: ckb-rdblat PID $RDBLAT_PID (:$P_RDBLAT), ckb-slowops PID $SLOWOPS_PID (:$P_SLOWOPS)"

end=$(awk -v b="$traced_begin" -v d="$DUR" 'BEGIN { printf "%d", b + d }')
next=$(awk -v b="$traced_begin" -v s="$SAMPLE" 'BEGIN { printf "%d", b + s }')
next_restart=$(( RESTART_EVERY > 0 ? ${traced_begin%.*} + RESTART_EVERY : end + 1 ))
sig=KILL
while [ "$next" -le "$end" ]; do
	if [ "$next_restart" -le "$next" ] && [ "$next_restart" -lt "$end" ]; then
		sleep "$(awk -v n="$next_restart" -v e="$(elapsed)" 'BEGIN { d = n - e; print (d > 0 ? d : 0) }')"
		node_restart "$sig"
		[ "$sig" = KILL ] && sig=TERM || sig=KILL
		next_restart=$(( next_restart + RESTART_EVERY ))
	fi
	sleep "$(awk -v n="$next" -v e="$(elapsed)" 'BEGIN { d = n - e; print (d > 0 ? d : 0) }')"
	for p in $RDBLAT_PID $SLOWOPS_PID; do
		kill -0 "$p" 2> /dev/null || { log "tracer PID $p died"; break 2; }
	done
	sample traced
	next=$(( next + SAMPLE ))
done

# the end: the tracers stop on SIGINT, each with its exit status
traced_end=$(elapsed)
sample traced
rd_rc=0 sl_rc=0
kill -INT "$RDBLAT_PID" "$SLOWOPS_PID" 2> /dev/null || true
wait "$RDBLAT_PID" || rd_rc=$?
wait "$SLOWOPS_PID" || sl_rc=$?
read -r LOAD_END _ < /proc/loadavg
[ -z "$OWN_NODE" ] || { kill -TERM "$NODE_PID" 2> /dev/null || true; wait "$NODE_PID" 2> /dev/null || true; }
jq -n --argjson dur "$DUR" --argjson rate "$RATE" --argjson sample "$SAMPLE" \
	--argjson bare "$BARE" --argjson restart_every "$RESTART_EVERY" \
	--argjson traced_begin "$traced_begin" --argjson traced_end "$traced_end" \
	--argjson rd_rc "$rd_rc" --argjson sl_rc "$sl_rc" --argjson clk "$CLK_TCK" \
	--argjson own "$([ -n "$OWN_NODE" ] && echo true || echo false)" \
	--arg duty "${DUTY:-}" --arg slow_ms "$SLOW_MS" \
	--arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson ncpu "$(nproc)" --argjson load_begin "$LOAD_BEGIN" --argjson load_end "$LOAD_END" \
	--arg rev "$(git -C "$(dirname "$0")" describe --always --dirty 2> /dev/null || echo unknown)" \
	--arg note "${NOTE:-}" \
	'{duration_s: $dur, rate: $rate, sample_s: $sample, bare_s: $bare,
	  restart_every_s: $restart_every, traced_begin: $traced_begin,
	  traced_end: $traced_end, rdblat_exit: $rd_rc, slowops_exit: $sl_rc,
	  clk_tck: $clk, own_node: $own, duty: $duty, slow_ms: $slow_ms,
	  date: $date, kernel: $kernel, cpu: $cpu, ncpu: $ncpu,
	  load_begin: $load_begin, load_end: $load_end, revision: $rev, note: $note}' \
	> "$OUT/run.json"
rm -f "$OUT/.m1" "$OUT/.m2"
log "done: contrib/stability/report.sh $OUT"
