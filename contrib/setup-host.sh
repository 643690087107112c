#!/bin/sh
# Prepare a Debian 12 host (as root) to build ckbtrace and run its tools:
# packages, kernel headers for BCC, and tracefs.  Safe to run again.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config
libbpfcc-dev libelf-dev libdw-dev libiberty-dev linux-headers-amd64
librocksdb-dev rocksdb-tools libsnappy-dev liblz4-dev libzstd-dev libbz2-dev zlib1g-dev
bats jq bpftrace bpfcc-tools util-linux procps kmod"
# ckb-usdt: sys/sdt.h for its test fixture, python3.11 (USDT probes) as a target
PKGS="$PKGS systemtap-sdt-dev python3"
# --prometheus (libmicrohttpd, opened at run time); its tests and the
# stability kit: Prometheus, promtool, curl, gnuplot, systemd-analyze
PKGS="$PKGS libmicrohttpd-dev prometheus curl gnuplot-nox systemd"
# tests/plugin.bats: lld links Debian's librocksdb.a into a plugin
PKGS="$PKGS lld"
# stacks: objcopy makes the test binary without CFI; bench part unwind races
# libdw against libunwind
PKGS="$PKGS binutils libunwind-dev"
# flame graphs: npm installs d3-flame-graph at build time; the tests open
# the pages in headless chromium.  A node.js that brings its own npm (as
# NodeSource's does) is kept: Debian's npm would conflict with it.
PKGS="$PKGS chromium"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
# ckb-offcpu, ckb-profile: the tests check by program id that nothing is
# left loaded (bpftool) and build Rust fixtures for the demangler (rustc;
# a rustup toolchain already on PATH is kept)
PKGS="$PKGS bpftool"
command -v rustc >/dev/null 2>&1 || PKGS="$PKGS rustc"
# ckb-peers: network namespaces and packet drops in its suite, iperf3 in
# make bench
PKGS="$PKGS iproute2 nftables iperf3"
# the fault matrix (tests/faults.bats): what is still loaded after a run;
# strace for the cache's write protocol (tests/cache.bats)
PKGS="$PKGS bpftool strace"
# make fuzz: clang-14 with its libFuzzer, ASan and UBSan runtimes
# (-fsanitize=fuzzer links libclang_rt.fuzzer from libclang-rt-14-dev).
# ./configure --enable-sanitizers with gcc needs libasan8 and libubsan1,
# which build-essential brings.
PKGS="$PKGS clang-14 libclang-rt-14-dev"

log() { echo "setup-host: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "must run as root (try: sudo $0)"
	exit 1
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# BCC compiles against kernel headers.  Debian ships them for its own
# kernels only; when the running kernel has none, point BCC at the newest
# Debian headers (uprobe and tracepoint programs need only UAPI-stable
# parts).  The split Debian layout needs both build/ and source/.
kver=$(uname -r)
mod=/lib/modules/$kver
if [ ! -e "$mod/build/include/linux/kconfig.h" ] &&
   [ ! -e "$mod/source/include/linux/kconfig.h" ]; then
	arch=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n1)
	common=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -n1)
	if [ -z "$arch" ] || [ -z "$common" ]; then
		log "no kernel headers under /usr/src; install linux-headers-amd64"
		exit 1
	fi
	mkdir -p "$mod"
	ln -sfn "$arch" "$mod/build"
	ln -sfn "$common" "$mod/source"
	log "kernel $kver has no headers; using $arch and $common"
fi

if [ ! -e /sys/kernel/tracing/uprobe_events ]; then
	mount -t tracefs nodev /sys/kernel/tracing
	log "mounted tracefs on /sys/kernel/tracing"
fi
