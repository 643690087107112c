#!/usr/bin/env bats
# Flame graph pages: ckb-flame on a fixture and ckb-slowops --flame on
# ckb-dbsim's slow gets, opened in headless Chromium; what the browser
# built (its DOM) must hold exactly the frames and values of the input.

load helpers

CKB_FLAME="${top_builddir:?}/tools/ckb-flame"
SLOWOPS="$top_builddir/tools/ckb-slowops"
FIXTURE="${top_srcdir:?}/tests/fixtures/flame.folded"

setup() {
	common_setup
}

teardown() {
	common_teardown
}

need_chromium() {
	if [ -z "${CHROMIUM:-}" ] || [ "$CHROMIUM" = no ]; then
		CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
	fi
	[ -n "$CHROMIUM" ] && [ -x "$CHROMIUM" ] ||
		skip "chromium is not installed (apt-get install chromium)"
}

# browse PAGE FRAGMENT CHROMIUM-ARGS...: open file://PAGE#FRAGMENT in
# headless Chromium, its log in $TMP/chromium.log; the page's own console
# lines in $TMP/console.log.
browse() {
	local page=$1 frag=$2 profile
	shift 2
	profile=$(mktemp -d "$TMP/profile.XXXXXX")
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" --window-size=1200,700 \
		--hide-scrollbars --virtual-time-budget=5000 \
		--enable-logging=stderr --v=0 "$@" "file://$page$frag" \
		2> "$TMP/chromium.log"
	grep ':CONSOLE' "$TMP/chromium.log" > "$TMP/console.log" || true
}

# dom PAGE FRAGMENT > DOM: the document after the page's scripts ran.
dom() {
	browse "$1" "$2" --dump-dom
}

# frames DOM: one line per frame the renderer drew: name, kind, width of
# its box in the layout, fill colour (tab separated, names unescaped).
frames() {
	perl -ne 'while (/<g ([^>]*)><rect ([^>]*)>/g) {
		my ($g, $r) = ($1, $2); my %a;
		$a{$1} = $2 while $g =~ /([\w-]+)="([^"]*)"/g;
		my ($fill) = $r =~ /fill="([^"]*)"/;
		my $n = $a{name};
		$n =~ s/&lt;/</g; $n =~ s/&gt;/>/g; $n =~ s/&quot;/"/g; $n =~ s/&amp;/&/g;
		print join("\t", $n, $a{"data-kind"}, $a{width}, $fill), "\n";
	}' "$1"
}

# folded_frames FILE: every distinct stack prefix of a folded file, one a
# line as "depth<TAB>frame" (the nodes the page must draw, but "all").
folded_frames() {
	awk '{ sub(/[ \t][0-9]+$/, ""); n = split($0, f, ";"); p = "";
	       for (i = 1; i <= n; i++) { p = p ";" f[i];
	           if (!(p in seen)) { seen[p] = 1; print i "\t" f[i] } } }' "$1"
}

# folded_sum FILE REGEX: the total of the lines with a frame matching REGEX.
folded_sum() {
	awk -v re="$2" '{ v = $NF; s = $0; sub(/[ \t][0-9]+$/, "", s);
	    n = split(s, f, ";"); for (i = 1; i <= n; i++) if (f[i] ~ re) { t += v; break } }
	    END { print t + 0 }' "$1"
}

# page_data PAGE: the JSON the page carries.
page_data() {
	sed -n 's|.*<script type="application/json" id="flame-data">\(.*\)</script>.*|\1|p' "$1"
}

# frame_field DOM NAME COLUMN: a column (2 kind, 3 width, 4 fill) of the
# frame of that name.
frame_field() {
	frames "$1" | awk -F'\t' -v n="$2" -v c="$3" '$1 == n { print $c; exit }'
}

hue_of_kind() {
	case $1 in
	program) echo 4 ;; rocksdb) echo 212 ;; lib) echo 95 ;;
	kernel) echo 30 ;; other) echo 270 ;;
	esac
}

@test "ckb-flame: every frame of the fixture is drawn, once per stack prefix, coloured by its kind" {
	need_chromium
	"$CKB_FLAME" -t fixture -u 'us of latency' -o "$TMP/f.html" "$FIXTURE"
	dom "$TMP/f.html" "" > "$TMP/f.dom"
	frames "$TMP/f.dom" > "$TMP/frames"
	cat "$TMP/frames"
	# as many frames as distinct prefixes, plus the root, and no others
	[ "$(wc -l < "$TMP/frames")" = $(( $(folded_frames "$FIXTURE" | wc -l) + 1 )) ]
	diff <(folded_frames "$FIXTURE" | cut -f2 | sort -u) \
		<(cut -f1 "$TMP/frames" | grep -vx all | sort -u)
	# the kinds of the convention (flame.h), and each kind its own hue
	[ "$(frame_field "$TMP/f.dom" 'vfs_read_[k]' 2)" = kernel ]
	[ "$(frame_field "$TMP/f.dom" 'main (ckb)' 2)" = program ]
	[ "$(frame_field "$TMP/f.dom" 'rocksdb::MemTable::Get (ckb)' 2)" = rocksdb ]
	[ "$(frame_field "$TMP/f.dom" 'rocksdb_transaction_commit (ckb)' 2)" = rocksdb ]
	[ "$(frame_field "$TMP/f.dom" 'malloc (libc.so.6)' 2)" = lib ]
	[ "$(frame_field "$TMP/f.dom" 'ckb' 2)" = other ]
	local kind fill bad=0
	while IFS=$'\t' read -r _ kind _ fill; do
		[[ "$fill" == "hsl($(hue_of_kind "$kind"),"* ]] || bad=$((bad + 1))
	done < "$TMP/frames"
	[ "$bad" = 0 ]
	# the root spans the chart; the widest child holds 9000 of 10000
	local all width
	all=$(frame_field "$TMP/f.dom" all 3)
	width=$(frame_field "$TMP/f.dom" '__libc_start_call_main (libc.so.6)' 3)
	echo "all $all, __libc_start_call_main $width"
	[ "$all" -gt 1000 ]
	awk -v a="$all" -v w="$width" 'BEGIN { exit !(w / a > 0.899 && w / a < 0.901) }'
	[ ! -s "$TMP/console.log" ]
}

@test "ckb-flame: search marks the matching frames and sums their values exactly" {
	need_chromium
	"$CKB_FLAME" -u 'us of latency' -o "$TMP/f.html" "$FIXTURE"
	dom "$TMP/f.html" "#search=vfs_read" > "$TMP/s.dom"
	grep -o '<div id="match"[^>]*>[^<]*' "$TMP/s.dom"
	grep -q "<div id=\"match\" data-frames=\"1\" data-value=\"$(folded_sum "$FIXTURE" vfs_read)\">" "$TMP/s.dom"
	[ "$(folded_sum "$FIXTURE" vfs_read)" = 3000 ]
	[ "$(frame_field "$TMP/s.dom" 'vfs_read_[k]' 4)" = '#E600E6' ]
	[ "$(frames "$TMP/s.dom" | grep -c '#E600E6$')" = 1 ]
	# a regular expression: every kernel frame, nested ones counted once
	dom "$TMP/f.html" "#search=_%5C%5Bk%5C%5D%24" > "$TMP/k.dom"
	grep -o '<div id="match"[^>]*>[^<]*' "$TMP/k.dom"
	local nk
	nk=$(folded_frames "$FIXTURE" | grep -c '_\[k\]$')
	[ "$nk" = 6 ]
	grep -q "<div id=\"match\" data-frames=\"$nk\" data-value=\"$(folded_sum "$FIXTURE" '_\[k\]$')\">" "$TMP/k.dom"
	[ "$(frames "$TMP/k.dom" | grep -c '#E600E6$')" = "$nk" ]
	[ ! -s "$TMP/console.log" ]
}

@test "ckb-flame: zoom widens the frame to the whole chart and drops the others" {
	need_chromium
	"$CKB_FLAME" -o "$TMP/f.html" "$FIXTURE"
	dom "$TMP/f.html" "#zoom=process_block" > "$TMP/z.dom"
	local all block
	all=$(frame_field "$TMP/z.dom" all 3)
	block=$(frame_field "$TMP/z.dom" 'ckb_chain::chain::ChainService::process_block (ckb)' 3)
	echo "all $all, process_block $block"
	[ "$block" = "$all" ]
	# the other stacks are no longer drawn
	frames "$TMP/z.dom" > "$TMP/frames"
	! grep -q '^malloc (libc.so.6)'$'\t' "$TMP/frames"
	! grep -q '^ckb_network::peer::Peer::receive (ckb)'$'\t' "$TMP/frames"
	[ "$(wc -l < "$TMP/frames")" = $(( $(folded_frames "$FIXTURE" | wc -l) + 1 - 3 )) ]
	# its callers stay, faded
	frames "$TMP/z.dom" | grep -q $'^main (ckb)\tprogram\t'"$all"$'\t'
	grep -q 'name="main (ckb)" class="frame fade"' "$TMP/z.dom"
}

@test "ckb-flame: the page is self-contained and the browser takes a screenshot of it" {
	need_chromium
	"$CKB_FLAME" -t 'fixture <stacks>' -o "$TMP/f.html" "$FIXTURE"
	# inline scripts and styles only, and a policy that forbids any fetch
	grep -q "content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'\"" "$TMP/f.html"
	! grep -Eq '<script[^>]* src=|<link|<img|@import' "$TMP/f.html"
	grep -q '<title>fixture &lt;stacks&gt;</title>' "$TMP/f.html"
	browse "$TMP/f.html" "" --screenshot="$TMP/f.png"
	[ "$(head -c 8 "$TMP/f.png" | od -An -t x1 | tr -d ' \n')" = 89504e470d0a1a0a ]
	# IHDR: the window's 1200 x 700
	[ "$(od -An -t u1 -j 16 -N 8 "$TMP/f.png" | tr -s ' ' | sed 's/^ //')" = "0 0 4 176 0 0 2 188" ]
	[ "$(wc -c < "$TMP/f.png")" -gt 10000 ]
	[ ! -s "$TMP/console.log" ]
}

@test "ckb-flame: stdin or files, merged; the page carries the totals" {
	"$CKB_FLAME" < "$FIXTURE" > "$TMP/a.html"
	"$CKB_FLAME" "$FIXTURE" > "$TMP/b.html"
	cmp "$TMP/a.html" "$TMP/b.html"
	[ "$(page_data "$TMP/a.html" | jq .tree.v)" = 10000 ]
	[ "$(page_data "$TMP/a.html" | jq .stacks)" = 5 ]
	[ "$(page_data "$TMP/a.html" | jq -r .unit)" = samples ]
	[ "$(page_data "$TMP/a.html" | jq -c .kinds)" = '{"other":0,"kernel":5000,"program":2500,"rocksdb":1500,"lib":1000}' ]
	"$CKB_FLAME" -u 'us off CPU' "$FIXTURE" - < "$FIXTURE" > "$TMP/c.html"
	[ "$(page_data "$TMP/c.html" | jq .tree.v)" = 20000 ]
	[ "$(page_data "$TMP/c.html" | jq .stacks)" = 5 ]
	[ "$(page_data "$TMP/c.html" | jq -r .unit)" = 'us off CPU' ]
}

@test "ckb-flame: a line that is not a folded stack: one line with its number, exit 1, no page" {
	printf 'a;b 1\na;c 2\nPID TID COMM OP\n' > "$TMP/bad.folded"
	run "$CKB_FLAME" -o "$TMP/out.html" "$TMP/bad.folded"
	failed_one_line ckb-flame 1 "$TMP/bad.folded:3: not a folded stack (the count is not a whole number)"
	[ ! -e "$TMP/out.html" ]
	run "$CKB_FLAME" < <(printf 'a;b 1\n\na;;b 4\n')
	failed_one_line ckb-flame 1 "<stdin>:3: not a folded stack (an empty frame)"
	run "$CKB_FLAME" < <(printf 'just words\n')
	failed_one_line ckb-flame 1 ":1: not a folded stack"
}

@test "ckb-flame: unreadable input or unwritable output: one line, exit 1" {
	run "$CKB_FLAME" "$TMP/nothing.folded"
	failed_one_line ckb-flame 1 "cannot read $TMP/nothing.folded: No such file or directory"
	run "$CKB_FLAME" -o "$TMP/no/such/dir.html" "$FIXTURE"
	failed_one_line ckb-flame 1 "cannot write $TMP/no/such/dir.html"
}

# The fault matrix's -o FILE row, for the tool that has one.
@test "ckb-flame: -o FILE on a read-only or a full file system, or stdout /dev/full: one line, exit 1, no partial page" {
	need_root
	mkdir "$TMP/ro" "$TMP/full"
	# shellcheck disable=SC2016
	run unshare -m --propagation private sh -c '
		mount -t tmpfs -o ro,size=64k ft-ro "$1" || exit 99
		exec "$3" -o "$1/page.html" "$4"' sh "$TMP/ro" "$TMP/full" "$CKB_FLAME" "$FIXTURE"
	failed_one_line ckb-flame 1 "cannot write $TMP/ro/page.html: Read-only file system; pick another -o path"
	# shellcheck disable=SC2016
	run unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=64k ft-full "$2" || exit 99
		dd if=/dev/zero of="$2/fill" bs=4k 2>/dev/null
		"$3" -o "$2/page.html" "$4"; rc=$?
		ls -A "$2" >&2
		exit $rc' sh "$TMP/ro" "$TMP/full" "$CKB_FLAME" "$FIXTURE"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "ckb-flame: writing $TMP/full/page.html: No space left on device; free some space or write elsewhere" ]
	# what was left on the file system: the filler only
	[ "${lines[1]}" = fill ] && [ "${#lines[@]}" -eq 2 ]
	run sh -c '"$0" "$1" > /dev/full' "$CKB_FLAME" "$FIXTURE"
	failed_one_line ckb-flame 1 "writing <stdout>: No space left on device"
}

@test "ckb-flame: bad usage exits 2 with one line" {
	run "$CKB_FLAME" --frobnicate
	[ "$status" -eq 2 ]
	run "$CKB_FLAME" -u '' "$FIXTURE"
	failed_one_line ckb-flame 2 "empty unit"
	run "$CKB_FLAME" -o ''
	failed_one_line ckb-flame 2 "empty output file name"
}

@test "ckb-flame: no stacks gives a page that says so" {
	need_chromium
	"$CKB_FLAME" -o "$TMP/e.html" < /dev/null
	[ "$(page_data "$TMP/e.html" | jq .tree.v)" = 0 ]
	dom "$TMP/e.html" "" > "$TMP/e.dom"
	grep -q '<p id="empty">No stacks were recorded.</p>' "$TMP/e.dom"
	[ ! -s "$TMP/console.log" ]
}

@test "ckb-flame: every option in --help is in the man page" {
	options_in_man "$CKB_FLAME" "$top_srcdir/man/ckb-flame.8" 4
}

# slow_run ARGS...: ckb-slowops ARGS on a ckb-dbsim that makes 3 gets of
# 30 ms or more; its output in $TMP/s.out and $TMP/s.err.
slow_run() {
	start_dbsim a -n 50 -r 0 --slow 3 --slow-ms 30
	start_tracer "$TMP/s.out" "$TMP/s.err" "$SLOWOPS" -p "$a_PID" -o GET -m 25 "$@"
	local spid=$TRACER_PID
	run_dbsim a
	stop_pid INT "$spid"
	[ "$(jq .slow.count "$TMP/a.counts.json")" = 3 ]
}

@test "ckb-slowops -f --flame: the page holds exactly the folded stacks, and the browser draws their frames" {
	need_root
	need_chromium
	slow_run -f --flame "$TMP/s.html"
	cat "$TMP/s.out" "$TMP/s.err"
	[ "$(wc -l < "$TMP/s.out")" = 1 ]
	grep -Eq '^ckb-dbsim;.*;slow_op[^;]* \(ckb-dbsim\);GET [0-9]+$' "$TMP/s.out"
	local total
	total=$(awk '{ print $NF }' "$TMP/s.out")
	[ "$total" -ge 90000 ]
	[ "$(page_data "$TMP/s.html" | jq .tree.v)" = "$total" ]
	[ "$(page_data "$TMP/s.html" | jq -r .unit)" = "us of latency" ]
	page_data "$TMP/s.html" | jq -r .note | grep -q '^ckb-slowops, operations of 25000 us or more: 3 events, 0 lost; ended '
	grep -q "<title>Slow RocksDB operations of PID $a_PID (" "$TMP/s.html"
	dom "$TMP/s.html" "#search=slow_op" > "$TMP/s.dom"
	frames "$TMP/s.dom" | tee "$TMP/frames"
	diff <(folded_frames "$TMP/s.out" | cut -f2 | sort -u) \
		<(cut -f1 "$TMP/frames" | grep -vx all | sort -u)
	[ "$(frames "$TMP/s.dom" | awk -F'\t' '$1 ~ /^slow_op/ { print $2 }')" = program ]
	[ "$(frame_field "$TMP/s.dom" GET 2)" = other ]
	[ "$(frame_field "$TMP/s.dom" ckb-dbsim 2)" = other ]
	grep -q "<div id=\"match\" data-frames=\"1\" data-value=\"$total\">" "$TMP/s.dom"
	[ ! -s "$TMP/console.log" ]
}

@test "ckb-slowops --flame alone: the usual JSON lines, and a page of their latencies" {
	need_root
	slow_run -j --flame "$TMP/s.html"
	[ "$(jq -c 'select(.type == "event")' "$TMP/s.out" | wc -l)" = 3 ]
	jq -s -e 'map(select(.type == "event")) | all(has("stack") | not)' "$TMP/s.out"
	local want
	want=$(jq -s '[.[] | select(.type == "event") | (.lat_ns / 1000 | floor)] | add' "$TMP/s.out")
	echo "sum of latencies $want us"
	[ "$want" -ge 90000 ]
	[ "$(page_data "$TMP/s.html" | jq .tree.v)" = "$want" ]
	[ "$(page_data "$TMP/s.html" | jq '[.tree.c[].c[]?] | length')" -ge 1 ]
}

@test "ckb-slowops --flame into a missing directory: one line, exit 1, nothing attached" {
	need_root
	start_dbsim a -n 0 -r 100
	run "$SLOWOPS" -p "$a_PID" --flame "$TMP/no/such/slow.html"
	failed_one_line ckb-slowops 1 "cannot write $TMP/no/such/slow.html: No such file or directory; try another --flame path"
	[ "$(live_byte "$a_PID" rocksdb_transaction_commit)" != cc ]
}
