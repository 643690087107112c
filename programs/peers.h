/* Types shared by peers.bpf.c and ckb-peers.  Fixed-width only. */
#ifndef CKBTRACE_PEERS_H
#define CKBTRACE_PEERS_H

#include <linux/types.h>

/* A connection's identity, as the tracepoints give it: the local side
 * first.  IPv4 addresses fill the first 4 bytes.  family 0: not known
 * yet (a connection first seen by a send or receive call). */
struct peer_id {
	__u16 family;		/* AF_INET or AF_INET6 */
	__u16 lport, rport;	/* host order, never 0 once family is set */
	__u16 pad;
	__u8 laddr[16], raddr[16];
};

#define PEER_DIR_UNKNOWN 0
#define PEER_DIR_IN 1		/* accepted on a listening port */
#define PEER_DIR_OUT 2		/* connected from the process */

#define PEER_F_BEFORE 1		/* open before tracing began */
#define PEER_F_CLOSED 2		/* reached TCP_CLOSE */
#define PEER_F_ESTAB 4		/* was established */
#define PEER_F_NXT 8		/* (BPF) snd_nxt below is set */

/* One traced socket: the socks map, keyed by the socket's address (or,
 * when tcp_probe carries no address, a connection that predates the
 * tool by an odd number).  serial tells connections on a reused socket
 * address apart. */
struct peer_sock {
	struct peer_id id;
	__u64 serial;
	__u64 start_ns;		/* bpf_ktime_get_ns at connect/accept; 0: before */
	__u64 end_ns;		/* at TCP_CLOSE; 0: open */
	/* lifetime totals, for the close event */
	__u64 tx, rx, tx_calls, rx_calls, retrans, resets;
	__u32 dir, flags;
	__u32 snd_nxt;		/* without sock_*_length: last seen snd_nxt */
	__u32 pad;
};

/* The key of one connection: socket key and serial.  Also the key of
 * the srtt histograms (agg.bpf.h). */
struct peer_key {
	__u64 sk;
	__u64 serial;
};

/* Per-interval stats, in two generations like agg.bpf.h. */
struct peer_skey {
	__u32 gen;
	__u32 pad;
	struct peer_key k;
};

struct peer_stats {
	struct peer_id id;	/* as known when the entry was made */
	__u64 start_ns, end_ns;
	__u64 tx, rx;		/* bytes */
	__u64 tx_calls, rx_calls; /* calls that moved bytes */
	__u64 rtt_n, rtt_sum;	/* srtt samples, us */
	__u32 rtt_min, rtt_max;
	__u64 retrans, resets;
	__u32 dir, flags;
};

/* Events (-e). */
#define PEER_EV_CONNECT 0
#define PEER_EV_ACCEPT 1
#define PEER_EV_CLOSE 2
#define PEER_EV_RETRANS 3
#define PEER_EV_RESET_RX 4
#define PEER_EV_RESET_TX 5
#define PEER_EV_COUNT 6

struct peer_event {
	__u64 ts_ns;
	__u64 sk, serial;
	struct peer_id id;
	__u64 start_ns;
	__u64 tx, rx, tx_calls, rx_calls, retrans, resets;
	__u32 type, dir, flags;
	__s32 state;		/* TCP state (retransmit, reset); -1: none */
};

/* Counters of what could not be kept. */
#define PEER_DROP_SOCKS 0	/* a new connection: socks map full */
#define PEER_DROP_STATS 1	/* a connection's interval: stats map full */
#define PEER_DROP_EVENTS 2	/* an event: ring buffer full */
#define PEER_DROP_TUPLES 3	/* address join map full */
#define PEER_DROP_COUNT 4

/* peer_cfg indexes. */
#define PEER_CFG_SERIAL 0	/* last serial handed out */
#define PEER_CFG_SEEDS 1	/* pre-existing connections not yet seen */
#define PEER_CFG_COUNT 2

#endif
