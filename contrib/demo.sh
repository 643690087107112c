#!/bin/sh
# Run ckb-rdblat for a few seconds against the bundled ckb-dbsim workload
# and show its reports.  From the top of a built tree, as root.
set -eu

cd "$(dirname "$0")/.."
db=$(mktemp -d /tmp/ckb-dbsim-demo.XXXXXX)
out=$(mktemp /tmp/ckb-dbsim-demo.XXXXXX.out)
sim=
cleanup() {
	[ -z "$sim" ] || kill "$sim" 2>/dev/null || true
	[ -z "$sim" ] || wait "$sim" 2>/dev/null || true
	rm -rf "$db" "$out"
}
trap cleanup EXIT INT TERM

./tools/ckb-dbsim -q -r 300 -d 60 --db "$db/db" --wait > "$out" &
sim=$!
i=0
until grep -q '^ready' "$out"; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || { echo "demo: ckb-dbsim did not start" >&2; exit 1; }
	sleep 0.1
done
kill -USR1 "$sim"
echo "# ckb-dbsim (PID $sim) syncs 300 blocks/s; ckb-rdblat -p $sim -T 2 3"
./tools/ckb-rdblat -p "$sim" -T 2 3
echo "# the same as histograms: ckb-rdblat -p $sim -H -o TXN_GET,TXN_COMMIT 2 1"
./tools/ckb-rdblat -p "$sim" -H -o TXN_GET,TXN_COMMIT 2 1
