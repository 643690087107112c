#!/usr/bin/env bats
# --prometheus: the exposition is valid (promtool), consistent between two
# scrapes, and what Debian's Prometheus stores from it equals ckb-dbsim's
# own counts.  Also the contrib/ files that use it: the Grafana dashboard
# and the hardened systemd unit.

load helpers

SLOWOPS="$top_builddir/tools/ckb-slowops"

setup() {
	common_setup
}

teardown() {
	common_teardown
}

need_prometheus() {
	command -v promtool > /dev/null && command -v prometheus > /dev/null ||
		skip "no prometheus/promtool (Debian package prometheus)"
	command -v curl > /dev/null || skip "no curl"
}

# free_port VAR: an unused loopback TCP port.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$(( 20000 + RANDOM % 30000 ))
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	return 1
}

scrape() {
	curl -sf "http://127.0.0.1:$1/metrics"
}

# value FILE SERIES: the value of one exact series line.
value() {
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}

@test "/metrics: promtool check metrics is clean, counts equal the workload's" {
	need_root
	need_prometheus
	local port
	free_port port
	start_dbsim a -n 500 -r 0
	start_rdblat r -p "$a_PID" -j --prometheus "127.0.0.1:$port"
	run_dbsim a
	scrape "$port" > "$TMP/m"
	run promtool check metrics < "$TMP/m"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	local op want got
	for op in GET TXN_GET TXN_PUT TXN_COMMIT; do
		# shellcheck disable=SC2086
		want=$(calls_of "$TMP/a.counts.json" ${FNS[$op]})
		got=$(value "$TMP/m" "ckbtrace_rocksdb_ops_total{op=\"$op\",pid=\"$a_PID\"}")
		echo "$op: workload $want, /metrics $got"
		[ "$want" -gt 0 ] && [ "$got" = "$want" ]
		got=$(value "$TMP/m" "ckbtrace_rocksdb_op_duration_seconds_count{op=\"$op\",pid=\"$a_PID\"}")
		[ "$got" = "$want" ]
	done
	want=$(bytes_of "$TMP/a.counts.json" ${FNS[GET]})
	[ "$(value "$TMP/m" "ckbtrace_rocksdb_bytes_total{op=\"GET\",pid=\"$a_PID\"}")" = "$want" ]
	grep -q '^ckbtrace_build_info{tool="ckb-rdblat",version="[0-9.]*"} 1$' "$TMP/m"
	grep -q '^process_cpu_seconds_total [0-9.]*$' "$TMP/m"
	grep -q '^process_resident_memory_bytes [1-9][0-9]*$' "$TMP/m"
	grep -q '^ckbtrace_lost_events_total{reason="start_map_full"} 0$' "$TMP/m"
	stop_rdblat INT
}

@test "two scrapes in one interval: counters monotonic, histograms cumulative, +Inf equals _count" {
	need_root
	need_prometheus
	local port
	free_port port
	start_dbsim a -n 0 -r 300
	start_rdblat r -p "$a_PID" -j -i 5 --prometheus "127.0.0.1:$port"
	kill -USR1 "$a_PID"
	sleep 1
	scrape "$port" > "$TMP/s1"
	scrape "$port" > "$TMP/s2"
	stop_rdblat INT
	# every counter and histogram series of the first scrape is in the
	# second, never smaller
	run awk '
		FNR == 1 { f++ }
		/^# TYPE/ { type[$3] = $4; next }
		/^#/ { next }
		{ name = $1; sub(/\{.*/, "", name); base = name
		  sub(/_(bucket|sum|count)$/, "", base)
		  if (type[name] != "counter" && type[base] != "histogram") next
		  if (f == 1) { a[$1] = $2; n1++ } else if ($1 in a) {
			seen++
			if ($2 + 0 < a[$1] + 0) { print "went down: " $1 " " a[$1] " -> " $2; bad++ }
		  } }
		END { print n1 " series, " seen " in both"; exit (bad || !n1 || seen != n1) }
	' "$TMP/s1" "$TMP/s2"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(value "$TMP/s2" ckbtrace_scrapes_total)" -gt "$(value "$TMP/s1" ckbtrace_scrapes_total)" ]
	# buckets never decrease along le; +Inf is _count
	run awk '
		/_bucket\{/ { key = $1; sub(/,le=.*/, "", key)
		  if (key == last && $2 + 0 < prev + 0) { print "not cumulative: " $1; bad++ }
		  last = key; prev = $2
		  if ($1 ~ /le="\+Inf"/) { inf[key] = $2; n++ } }
		/_count\{/ { key = $1; sub(/_count\{/, "_bucket{", key); sub(/\}$/, "", key); cnt[key] = $2 }
		END { for (k in inf) if (inf[k] != cnt[k]) { print "+Inf " inf[k] " != count " cnt[k] " for " k; bad++ }
		      print n " histograms"; exit (bad || !n) }
	' "$TMP/s2"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "Prometheus scrapes ckb-rdblat: the GET count it stored equals ckb-dbsim's own, across a restart" {
	need_root
	need_prometheus
	local port pport want got
	free_port port
	free_port pport
	cp "$DBSIM" "$TMP/node"
	DBSIM="$TMP/node" start_dbsim a -n 400 -r 200
	start_rdblat r -p "$a_PID" -j --follow --prometheus "127.0.0.1:$port"
	cat > "$TMP/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: ckb-rdblat
	    static_configs:
	      - targets: ['127.0.0.1:$port']
	EOF
	promtool check config "$TMP/prometheus.yml"
	prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
		--web.listen-address="127.0.0.1:$pport" --log.level=warn \
		> "$TMP/prometheus.log" 2>&1 &
	BGPIDS="$BGPIDS $!"
	wait_for 60 curl -sf "http://127.0.0.1:$pport/-/ready"
	run_dbsim a
	want=$(calls_of "$TMP/a.counts.json" ${FNS[GET]})
	query() {
		curl -sf --get --data-urlencode "query=$1" \
			"http://127.0.0.1:$pport/api/v1/query" |
			jq -r '.data.result[0].value[1] // "none"'
	}
	stored() { got=$(query "$1"); [ "$got" = "$2" ]; }
	wait_for 30 stored "ckbtrace_rocksdb_ops_total{op=\"GET\",pid=\"$a_PID\"}" "$want" || true
	echo "GET: ckb-dbsim $want, Prometheus $got"
	[ "$want" -gt 0 ] && [ "$got" = "$want" ]
	# a restart: a new series for the new process, from zero; the old
	# one keeps its last value; the restart is counted
	kill -KILL "$a_PID"
	DBSIM="$TMP/node" start_dbsim b -n 300 -r 200
	wait_for 10 grep -q "\"pid\":$b_PID,\"old_pid\"" "$TMP/r.jsonl"
	run_dbsim b
	want=$(calls_of "$TMP/b.counts.json" ${FNS[GET]})
	wait_for 30 stored "ckbtrace_rocksdb_ops_total{op=\"GET\",pid=\"$b_PID\"}" "$want" || true
	echo "GET after the restart: ckb-dbsim $want, Prometheus $got"
	[ "$got" = "$want" ]
	[ "$(query "ckbtrace_rocksdb_ops_total{op=\"GET\",pid=\"$a_PID\"}")" = \
	  "$(calls_of "$TMP/a.counts.json" ${FNS[GET]})" ]
	[ "$(query 'ckbtrace_target_restarts_total')" = 1 ]
	# Prometheus saw no counter go down within a series
	[ "$(query 'sum(resets(ckbtrace_rocksdb_ops_total[5m]))')" = 0 ]
	# the p99 Prometheus computes from the buckets is close to the tool's
	got=$(query "histogram_quantile(0.99, ckbtrace_rocksdb_op_duration_seconds_bucket{op=\"TXN_PUT\",pid=\"$b_PID\"})")
	echo "TXN_PUT p99 from Prometheus: $got s"
	awk -v v="$got" 'BEGIN { exit !(v > 0 && v < 1) }'
	stop_rdblat INT
}

@test "ckb-slowops --prometheus: slow and lost counters" {
	need_root
	need_prometheus
	local port
	free_port port
	start_dbsim a -n 20 -r 0 --slow 3 --slow-ms 30
	start_tracer "$TMP/s.jsonl" "$TMP/s.err" "$SLOWOPS" -p "$a_PID" -j -m 20 \
		--prometheus "127.0.0.1:$port"
	local sp=$TRACER_PID
	run_dbsim a
	wait_for 10 grep -q '"op":"GET"' "$TMP/s.jsonl"
	sleep 0.5
	scrape "$port" > "$TMP/m"
	stop_pid INT "$sp"
	promtool check metrics < "$TMP/m"
	[ "$(value "$TMP/m" 'ckbtrace_slow_ops_total{op="GET"}')" = 3 ]
	[ "$(value "$TMP/m" 'ckbtrace_lost_events_total{reason="buffer_full"}')" = 0 ]
	[ "$(value "$TMP/m" ckbtrace_ops_under_threshold_total)" -gt 0 ]
	grep -q '^ckbtrace_build_info{tool="ckb-slowops",' "$TMP/m"
}

@test "--prometheus: a bad address is bad usage, a taken port one line and nothing attached" {
	run "$RDBLAT" -p 1 --prometheus nowhere
	failed_one_line ckb-rdblat 2 "bad --prometheus address 'nowhere'"
	run "$RDBLAT" -p 1 --prometheus 127.0.0.1:99999
	failed_one_line ckb-rdblat 2 "want ADDR:PORT"
	need_root
	local port
	free_port port
	start_dbsim a -n 0 -r 100
	kill -USR1 "$a_PID"
	# something already listens there
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("ready", flush=True); time.sleep(60)' "$port" > "$TMP/listener" &
	BGPIDS="$BGPIDS $!"
	wait_for 10 grep -q ready "$TMP/listener"
	run timeout 60 "$RDBLAT" -p "$a_PID" --prometheus "127.0.0.1:$port" 1 1
	failed_one_line ckb-rdblat 1 "cannot listen on 127.0.0.1:$port: Address already in use; pick another port"
	[ "$(live_byte "$a_PID" rocksdb_transaction_commit)" != cc ]
}

@test "the Grafana dashboard is JSON and every metric it queries is served" {
	need_root
	local port
	free_port port
	local dash="$top_srcdir/contrib/grafana/ckbtrace.json"
	jq -e '.panels | length > 5' "$dash"
	start_dbsim a -n 0 -r 100 --slow 1 --slow-ms 30
	kill -USR1 "$a_PID"
	start_rdblat r -p "$a_PID" -j --prometheus "127.0.0.1:$port"
	local port2
	free_port port2
	start_tracer "$TMP/s.jsonl" "$TMP/s.err" "$SLOWOPS" -p "$a_PID" -j \
		--prometheus "127.0.0.1:$port2"
	sleep 1
	{ scrape "$port"; scrape "$port2"; } > "$TMP/m"
	local name missing=0 n=0
	for name in $(jq -r '[.panels[].targets[].expr, .annotations.list[].expr,
			      .templating.list[].query] | .[]' "$dash" |
		      grep -oE '\b(ckbtrace|process)_[a-z_]+' | sort -u); do
		n=$((n + 1))
		grep -q "^$name[{ ]" "$TMP/m" || { echo "not served: $name"; missing=$((missing + 1)); }
	done
	echo "$n metrics checked"
	[ "$n" -ge 10 ] && [ "$missing" -eq 0 ]
}

# The unit with ExecStart pointing at this build.
unit_here() {
	sed "s|/usr/local/sbin/ckb-rdblat|$RDBLAT|" \
		"$top_srcdir/contrib/systemd/ckb-rdblat.service" > "$TMP/ckb-rdblat.service"
}

@test "systemd unit: systemd-analyze verify is clean and the hardening is in force" {
	command -v systemd-analyze > /dev/null || skip "no systemd-analyze (Debian package systemd)"
	unit_here
	run systemd-analyze verify --man=no "$TMP/ckb-rdblat.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run systemd-analyze security --offline=yes "$TMP/ckb-rdblat.service"
	echo "$output" | grep -E 'ProtectSystem|CAP_SYS_ADMIN|CAP_KILL|CAP_DAC|NoNewPrivileges|PrivateTmp|Overall'
	local setting
	for setting in 'ProtectSystem=' 'CapabilityBoundingSet=~CAP_SYS_ADMIN' \
		'CapabilityBoundingSet=~CAP_KILL' 'CapabilityBoundingSet=~CAP_(DAC_' \
		'NoNewPrivileges=' 'PrivateTmp=' 'ProtectKernelModules='; do
		# passed: "+" in the C locale, a check mark in UTF-8 ones
		echo "$output" | grep -F "$setting" | grep -qE '^(\+|✓) '
	done
	echo "$output" | grep -F 'ProtectSystem=' | grep -q 'strict'
	[[ "$output" =~ Overall\ exposure\ level\ for\ ckb-rdblat.service:\ ([0-9.]+) ]]
	awk -v e="${BASH_REMATCH[1]}" 'BEGIN { exit !(e <= 4.5) }'
}

@test "systemd unit: its command works with only the unit's capabilities, on a node of another user" {
	need_root
	need_prometheus
	command -v setpriv > /dev/null || skip "no setpriv (util-linux)"
	unit_here
	local caps args port
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$TMP/ckb-rdblat.service" |
		tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	free_port port
	args=$(sed -n 's/^ExecStart=[^ ]* //p' "$TMP/ckb-rdblat.service" |
		sed "s/127.0.0.1:9435/127.0.0.1:$port/")
	echo "capabilities $caps, arguments $args"
	# the node: a process named ckb of another user
	chmod 755 "$TMP"
	cp "$DBSIM" "$TMP/ckb"
	mkdir -m 777 "$TMP/db"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$TMP/ckb" -q -n 0 -r 100 --db "$TMP/db/x" > /dev/null 2>&1 &
	BGPIDS="$BGPIDS $!"
	local node=$!
	# shellcheck disable=SC2086
	start_tracer "$TMP/u.jsonl" "$TMP/u.err" setpriv --inh-caps=-all \
		--bounding-set=-all,$caps "$RDBLAT" $args
	sleep 2.5
	scrape "$port" > "$TMP/m"
	kill -INT "$TRACER_PID"
	wait "$TRACER_PID"
	grep -q "^ckbtrace_rocksdb_ops_total{op=\"TXN_COMMIT\",pid=\"$node\"} [1-9]" "$TMP/m"
}
