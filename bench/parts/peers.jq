# bench/parts/peers.jq: the report section of part peers (bench/report.sh).
include "report";

def opt(f): if . == null then null else f end;
def s($n; f): map(f) | stats | mmm($n);

run_info as $run | infos($part) as $i |
(measures($part) | runs) as $rs |
($rs | sel("bulk"; "bare")) as $bare |
($rs | sel("bulk"; "ckb-peers")) as $cp |
($rs | sel("bulk"; "bpftrace")) as $bt |
(paired($cp; $bt; .m.wall)) as $vs_bt |
($cp | map(.m.tracer_hwm) | stats) as $hwm |

"## ckb-peers: a loopback bulk transfer", "",
"iperf3 sends \($i.bytes) bytes over one connection on 127.0.0.1; the iperf3 server (the receiver) is the traced process. **wall** is the client's start to its exit; **client CPU** its user+system time (`/usr/bin/time`); **tracer RSS** the tracer's peak (VmHWM, for ckb-peers without its short-lived compile child), **tracer ticks** its utime+stime in clock ticks of 1/\($run.clk_tck) s at the end. ckb-peers runs `\($i["cmd:ckb-peers"])`; bpftrace runs the script below, which does the same per-connection work (bytes and calls by socket from sock_send_length/sock_recv_length of the PID, srtt min/avg/max from tcp_probe of those sockets, retransmits, printed and cleared every second). Configurations interleaved, order rotated each round; medians (min-max) over \($run.rounds) rounds; ratios are per round. The part took \($i.seconds | duration).",
"", "### Goals", "",
md_table(["goal", "measured", "verdict"];
	[ ["ckb-peers costs no more than bpftrace (wall, ckb-peers / bpftrace)",
	   ($vs_bt | mmm(3)), verdict($vs_bt | opt(.med); 1; 3; "")],
	  ["tracer peak RSS under 8 MB (MB)", ($hwm | opt(.med / 1024) | fixed(1)),
	   verdict($hwm | opt(.med / 1024); 8; 1; " MB")] ]),
"", "### Runs", "",
md_table(["subject", "wall (s)", "vs bare", "Gbit/s", "client CPU (s)",
	  "tracer RSS (MB)", "tracer ticks"];
	[ ($bare, $cp, $bt) | select(length > 0) | . as $r |
	  [ $r[0].subject, ($r | s(3; .m.wall)),
	    (paired($r; $bare; .m.wall) | mmm(3)),
	    ($r | s(1; .m.bits_per_s | opt(. / 1e9))),
	    ($r | s(2; .m.client_cpu)),
	    ($r | s(1; .m.tracer_hwm | opt(. / 1024))),
	    ($r | s(0; .m.tracer_ticks)) ] ]),
"",
"ckb-peers' bytes received on the data connection against iperf3's own count: \(
	[$cp[] | select(.m.counted_rx != null and .m.server_rx != null)] as $c |
	"\($c | map(select(.m.counted_rx == .m.server_rx + .m.cookie)) | length) of \($c | length) runs equal (iperf3 leaves the 37-byte cookie that opens its data stream out of its count)")",
"",
md_details("the bpftrace script"; ($i.bpftrace_script // "" | split("\n"))),
( notes($part) | if length == 0 then empty else
  "", "Notes:", "", (.[] | "- \(.workload) \(.subject) round \(.round): \(.text)") end )
