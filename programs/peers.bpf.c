/* ckb-peers: a process's TCP connections, from sock and tcp tracepoints
 * only, joined by socket address.  Only tracepoint fields are read (no
 * kernel struct): BCC builds args from the running kernel's formats, and
 * the fields a kernel may lack are behind parameters (-D integers):
 *   SOCK_LENGTH   1: bytes and calls from sock:sock_send_length and
 *                 sock:sock_recv_length (Linux 6.3+), in the process's
 *                 context; 0: from tcp_probe (data_len received, snd_nxt
 *                 advance sent)
 *   PROBE_SKADDR  1: tcp_probe carries skaddr; 0: it is joined to its
 *                 socket by family, addresses and ports
 *   RETRANS_ERR   1: tcp_retransmit_skb carries err (only err 0 counts)
 *   EVENTS        1: connect/accept/close/retransmit/reset events to the
 *                 ring buffer (-e) instead of interval stats
 *   RTT_HIST      1: an srtt histogram per connection (agg.bpf.h)
 *   BUFFER_PAGES  ring buffer size in pages
 *   MAX_CONNS     connections tracked at once */
/* BCC declares each tracepoint's args from its tracefs format, whose
 * tcp_send_reset names enum sk_rst_reason (Linux 6.10+); the headers BCC
 * compiles against may not define it.  Only its size matters. */
#define sk_rst_reason ckbtrace_rst_reason
enum ckbtrace_rst_reason { CKBTRACE_RST_REASON_ANY };

#include "target.bpf.h"
#include "peers.h"

#ifndef SOCK_LENGTH
#define SOCK_LENGTH 1
#endif
#ifndef PROBE_SKADDR
#define PROBE_SKADDR 1
#endif
#ifndef RETRANS_ERR
#define RETRANS_ERR 0
#endif
#ifndef EVENTS
#define EVENTS 0
#endif
#ifndef RTT_HIST
#define RTT_HIST 0
#endif
#ifndef BUFFER_PAGES
#define BUFFER_PAGES 64
#endif
#ifndef MAX_CONNS
#define MAX_CONNS 16384
#endif

#define AGG_KEY struct peer_key
#if !RTT_HIST
#define AGG_KEYS 1
#define AGG_SLOTS 1
#endif
#include "agg.bpf.h"

#define P_AF_INET 2
#define P_AF_INET6 10
#define P_IPPROTO_TCP 6
#define P_ESTABLISHED 1
#define P_SYN_SENT 2
#define P_SYN_RECV 3
#define P_CLOSE 7
#define P_LISTEN 10
#define P_MSG_PEEK 2

BPF_HASH(socks, u64, struct peer_sock, MAX_CONNS);
BPF_HASH(pstats, struct peer_skey, struct peer_stats, MAX_CONNS * 2);
BPF_HASH(listen_ports, u16, u32, 1024);
BPF_HASH(seeds, struct peer_id, u32, 4096);
#if !PROBE_SKADDR
BPF_HASH(bytuple, struct peer_id, u64, MAX_CONNS);
#endif
BPF_ARRAY(peer_cfg, u64, PEER_CFG_COUNT);
BPF_PERCPU_ARRAY(peer_drops, u64, PEER_DROP_COUNT);
BPF_PERCPU_ARRAY(sock_scratch, struct peer_sock, 1);
BPF_PERCPU_ARRAY(stats_scratch, struct peer_stats, 1);
#if EVENTS
BPF_RINGBUF_OUTPUT(events, BUFFER_PAGES);
#endif

/* The identity from a tracepoint with family, sport, dport and the
 * saddr/daddr (IPv4) and saddr_v6/daddr_v6 arrays.  The arrays are not
 * at aligned offsets in every format: copy them. */
#define ID_FROM_ARGS(idp, a)						\
	do {								\
		(idp)->family = (a)->family;				\
		(idp)->lport = (a)->sport;				\
		(idp)->rport = (a)->dport;				\
		if ((a)->family == P_AF_INET6) {			\
			bpf_probe_read_kernel((idp)->laddr, 16,	\
					      (a)->saddr_v6);		\
			bpf_probe_read_kernel((idp)->raddr, 16,	\
					      (a)->daddr_v6);		\
		} else {						\
			bpf_probe_read_kernel((idp)->laddr, 4,		\
					      (a)->saddr);		\
			bpf_probe_read_kernel((idp)->raddr, 4,		\
					      (a)->daddr);		\
		}							\
	} while (0)

/* tcp_probe's saddr and daddr are a struct sockaddr_in or sockaddr_in6
 * (UAPI layouts): the address at byte 4 or 8. */
#define ID_FROM_PROBE(idp, a)						\
	do {								\
		(idp)->family = (a)->family;				\
		(idp)->lport = (a)->sport;				\
		(idp)->rport = (a)->dport;				\
		if ((a)->family == P_AF_INET6) {			\
			bpf_probe_read_kernel((idp)->laddr, 16,	\
					      (a)->saddr + 8);		\
			bpf_probe_read_kernel((idp)->raddr, 16,	\
					      (a)->daddr + 8);		\
		} else {						\
			bpf_probe_read_kernel((idp)->laddr, 4,		\
					      (a)->saddr + 4);		\
			bpf_probe_read_kernel((idp)->raddr, 4,		\
					      (a)->daddr + 4);		\
		}							\
	} while (0)

static __always_inline void drop(u32 why)
{
	u64 *c = peer_drops.lookup(&why);

	if (c)
		(*c)++;
}

/* A usable identity: TCP over IPv4 or IPv6 with both ports set. */
static __always_inline int id_ok(const struct peer_id *id)
{
	return (id->family == P_AF_INET || id->family == P_AF_INET6) &&
	       id->lport && id->rport;
}

static __always_inline u64 serial_next(void)
{
	u32 k = PEER_CFG_SERIAL;
	u64 *c = peer_cfg.lookup(&k);

	return c ? __sync_fetch_and_add(c, 1) + 1 : 0;
}

static __always_inline u32 dir_of_port(u16 lport)
{
	return listen_ports.lookup(&lport) ? PEER_DIR_IN : PEER_DIR_OUT;
}

/* Start tracking a socket. */
static __always_inline struct peer_sock *sock_new(u64 key, u32 dir,
						  u32 flags,
						  const struct peer_id *id)
{
	struct peer_sock *s;
	u32 z = 0;

	s = sock_scratch.lookup(&z);
	if (!s)
		return NULL;
	__builtin_memset(s, 0, sizeof(*s));
	if (id && id_ok(id))
		__builtin_memcpy(&s->id, id, sizeof(s->id));
	s->serial = serial_next();
	s->start_ns = (flags & PEER_F_BEFORE) ? 0 : bpf_ktime_get_ns();
	s->dir = dir;
	s->flags = flags;
	if (socks.insert(&key, s) != 0 && !socks.lookup(&key)) {
		drop(PEER_DROP_SOCKS);
		return NULL;
	}
	return socks.lookup(&key);
}

#if !PROBE_SKADDR
static __always_inline void tuple_put(struct peer_id *id, u64 key)
{
	if (bytuple.update(id, &key) != 0)
		drop(PEER_DROP_TUPLES);
}

/* The socket key of a connection by its identity. */
static __always_inline struct peer_sock *by_tuple(struct peer_id *id,
						  u64 *key)
{
	u64 *k = bytuple.lookup(id);

	if (!k)
		return NULL;
	*key = *k;
	return socks.lookup(k);
}
#endif

/* A connection user space listed in /proc before tracing: its direction
 * (seeds never hold 0), one seed fewer to look for; 0 when not listed. */
static __always_inline u32 seed_take(struct peer_id *id)
{
	u32 k = PEER_CFG_SEEDS, *d, dir;
	u64 *left = peer_cfg.lookup(&k);

	if (!left || !*left)
		return 0;
	d = seeds.lookup(id);
	if (!d)
		return 0;
	dir = *d;
	seeds.delete(id);
	__sync_fetch_and_add(left, -1);
	return dir;
}

/* Learn the identity of a socket first seen without one. */
static __always_inline void sock_learn(struct peer_sock *s, u64 key,
				       struct peer_id *id)
{
	u32 dir;

	if (s->id.family || !id_ok(id))
		return;
	__builtin_memcpy(&s->id, id, sizeof(s->id));
	dir = seed_take(id);
	if (dir)
		s->dir = dir;
	if (s->dir == PEER_DIR_UNKNOWN)
		s->dir = dir_of_port(id->lport);
#if !PROBE_SKADDR
	tuple_put(id, key);
#endif
}

/* This interval's stats of a connection, made from the socket's state
 * when new. */
static __always_inline struct peer_stats *stats_of(u32 gen, u64 key,
						   const struct peer_sock *s)
{
	struct peer_skey k = {};
	struct peer_stats *st;
	u32 z = 0;

	k.gen = gen;
	k.k.sk = key;
	k.k.serial = s->serial;
	st = pstats.lookup(&k);
	if (st)
		return st;
	st = stats_scratch.lookup(&z);
	if (!st)
		return NULL;
	__builtin_memset(st, 0, sizeof(*st));
	__builtin_memcpy(&st->id, &s->id, sizeof(st->id));
	st->start_ns = s->start_ns;
	st->end_ns = s->end_ns;
	st->dir = s->dir;
	st->flags = s->flags;
	st->rtt_min = 0xffffffff;
	if (pstats.insert(&k, st) != 0 && !pstats.lookup(&k)) {
		drop(PEER_DROP_STATS);
		return NULL;
	}
	return pstats.lookup(&k);
}

static __always_inline void emit(u32 type, u64 key, const struct peer_sock *s,
				 s32 state)
{
#if EVENTS
	struct peer_event *e = events.ringbuf_reserve(sizeof(struct peer_event));

	if (!e) {
		drop(PEER_DROP_EVENTS);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->sk = key;
	e->serial = s->serial;
	__builtin_memcpy(&e->id, &s->id, sizeof(e->id));
	e->start_ns = s->start_ns;
	e->tx = s->tx;
	e->rx = s->rx;
	e->tx_calls = s->tx_calls;
	e->rx_calls = s->rx_calls;
	e->retrans = s->retrans;
	e->resets = s->resets;
	e->type = type;
	e->dir = s->dir;
	e->flags = s->flags;
	e->state = state;
	events.ringbuf_submit(e, 0);
#endif
}

/* Bytes moved on a connection: to the interval's stats, or with EVENTS
 * to the lifetime totals. */
static __always_inline void count_bytes(u64 key, struct peer_sock *s, u64 tx,
					u64 rx, u64 calls)
{
#if EVENTS
	if (tx) {
		__sync_fetch_and_add(&s->tx, tx);
		__sync_fetch_and_add(&s->tx_calls, calls);
	}
	if (rx) {
		__sync_fetch_and_add(&s->rx, rx);
		__sync_fetch_and_add(&s->rx_calls, calls);
	}
#else
	u32 gen = agg_begin();
	struct peer_stats *st = stats_of(gen, key, s);

	if (st && tx) {
		__sync_fetch_and_add(&st->tx, tx);
		__sync_fetch_and_add(&st->tx_calls, calls);
	}
	if (st && rx) {
		__sync_fetch_and_add(&st->rx, rx);
		__sync_fetch_and_add(&st->rx_calls, calls);
	}
	agg_end(gen);
#endif
}

/* A retransmit or a reset. */
static __always_inline void count_trouble(u32 type, u64 key,
					  struct peer_sock *s, s32 state)
{
#if EVENTS
	if (type == PEER_EV_RETRANS)
		__sync_fetch_and_add(&s->retrans, 1);
	else
		__sync_fetch_and_add(&s->resets, 1);
	emit(type, key, s, state);
#else
	u32 gen = agg_begin();
	struct peer_stats *st = stats_of(gen, key, s);

	if (st && type == PEER_EV_RETRANS)
		__sync_fetch_and_add(&st->retrans, 1);
	else if (st)
		__sync_fetch_and_add(&st->resets, 1);
	agg_end(gen);
#endif
}

/* TCP_CLOSE: the connection's end.  Its entry stays until the socket is
 * destroyed: a reset is sent after the state change. */
static __always_inline void sock_close(u64 key, struct peer_sock *s,
				       const struct peer_id *id)
{
	if (s->flags & PEER_F_CLOSED)
		return;
	if (!s->id.family && id_ok(id))
		__builtin_memcpy(&s->id, id, sizeof(s->id));
	s->flags |= PEER_F_CLOSED;
	s->end_ns = bpf_ktime_get_ns();
#if EVENTS
	emit(PEER_EV_CLOSE, key, s, P_CLOSE);
#else
	u32 gen = agg_begin();
	struct peer_stats *st = stats_of(gen, key, s);

	if (st) {
		if (!st->id.family)
			__builtin_memcpy(&st->id, &s->id, sizeof(st->id));
		st->end_ns = s->end_ns;
		st->flags |= PEER_F_CLOSED;
	}
	agg_end(gen);
#endif
}

static __always_inline void sock_forget(u64 key, struct peer_sock *s)
{
#if !PROBE_SKADDR
	if (s->id.family)
		bytuple.delete(&s->id);
#endif
	socks.delete(&key);
}

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
	u64 key = (u64)args->skaddr;
	int oldstate = args->oldstate, newstate = args->newstate;
	struct peer_id id = {};
	struct peer_sock *s;
	u16 lport;
	u32 one = 1;

	if (args->protocol != P_IPPROTO_TCP)
		return 0;
	if (newstate == P_LISTEN || (oldstate == P_LISTEN &&
				     newstate == P_CLOSE)) {
		if (!ours(bpf_get_current_pid_tgid()))
			return 0;
		lport = args->sport;
		if (newstate == P_LISTEN)
			listen_ports.update(&lport, &one);
		else
			listen_ports.delete(&lport);
		return 0;
	}
	if (newstate == P_SYN_SENT) {
		/* connect(2), in the caller: the local port may not be
		 * chosen yet, the identity comes with ESTABLISHED */
		if (ours(bpf_get_current_pid_tgid()))
			sock_new(key, PEER_DIR_OUT, 0, NULL);
		return 0;
	}
	ID_FROM_ARGS(&id, args);
	s = socks.lookup(&key);
#if !PROBE_SKADDR
	if (!s && newstate == P_CLOSE)
		s = by_tuple(&id, &key);
#endif
	if (newstate == P_ESTABLISHED) {
		if (s) {
			if (oldstate != P_SYN_SENT)
				return 0;
			__builtin_memcpy(&s->id, &id, sizeof(s->id));
			s->flags |= PEER_F_ESTAB;
#if !PROBE_SKADDR
			tuple_put(&id, key);
#endif
			emit(PEER_EV_CONNECT, key, s, -1);
			return 0;
		}
		/* a connection accepted on one of the process's ports */
		lport = args->sport;
		if (oldstate != P_SYN_RECV || !listen_ports.lookup(&lport) ||
		    !id_ok(&id))
			return 0;
		s = sock_new(key, PEER_DIR_IN, PEER_F_ESTAB, &id);
		if (!s)
			return 0;
#if !PROBE_SKADDR
		tuple_put(&id, key);
#endif
		emit(PEER_EV_ACCEPT, key, s, -1);
		return 0;
	}
	if (!s)
		return 0;
	if (newstate == P_CLOSE)
		sock_close(key, s, &id);
	else
		sock_learn(s, key, &id);
	return 0;
}

TRACEPOINT_PROBE(tcp, tcp_destroy_sock)
{
	u64 key = (u64)args->skaddr;
	struct peer_sock *s = socks.lookup(&key);
	struct peer_id id = {};

	if (!s) {
#if PROBE_SKADDR
		return 0;
#else
		ID_FROM_ARGS(&id, args);
		s = by_tuple(&id, &key);
		if (!s)
			return 0;
#endif
	} else {
		ID_FROM_ARGS(&id, args);
	}
	sock_close(key, s, &id);
	sock_forget(key, s);
	return 0;
}

/* A connection that was open before tracing, recognized by identity
 * (user space listed the process's connections in /proc). */
static __always_inline int seeds_left(void)
{
	u32 k = PEER_CFG_SEEDS;
	u64 *left = peer_cfg.lookup(&k);

	return left && *left;
}

/* pseudo: the connection gets an odd key, which never collides with a
 * socket address. */
static __always_inline struct peer_sock *from_seed(u64 *key,
						   struct peer_id *id,
						   int pseudo)
{
	u32 dir;

	if (!id_ok(id))
		return NULL;
	dir = seed_take(id);
	if (!dir)
		return NULL;
	if (pseudo)
		*key = (serial_next() << 1) | 1;
	return sock_new(*key, dir, PEER_F_BEFORE | PEER_F_ESTAB, id);
}

TRACEPOINT_PROBE(tcp, tcp_probe)
{
	struct peer_id id = {};
	struct peer_sock *s;
	u64 key;
	u32 srtt = args->srtt;
#if !SOCK_LENGTH
	u32 nxt = args->snd_nxt, una = args->snd_una, d;
	u64 rx = args->data_len;
#endif

#if PROBE_SKADDR
	key = (u64)args->skaddr;
	s = socks.lookup(&key);
	if (!s) {
		if (!seeds_left())
			return 0;
		ID_FROM_PROBE(&id, args);
		s = from_seed(&key, &id, 0);
		if (!s)
			return 0;
	} else if (!s->id.family) {
		ID_FROM_PROBE(&id, args);
		sock_learn(s, key, &id);
	}
#else
	ID_FROM_PROBE(&id, args);
	s = by_tuple(&id, &key);
	if (!s) {
		s = from_seed(&key, &id, 1);
		if (!s)
			return 0;
		tuple_put(&id, key);
	}
#endif
	u32 gen = agg_begin();
#if !EVENTS
	struct peer_stats *st = stats_of(gen, key, s);

	if (st && srtt) {
		__sync_fetch_and_add(&st->rtt_n, 1);
		__sync_fetch_and_add(&st->rtt_sum, srtt);
		if (srtt < st->rtt_min)
			st->rtt_min = srtt;
		if (srtt > st->rtt_max)
			st->rtt_max = srtt;
	}
#if RTT_HIST
	if (srtt) {
		struct peer_key pk = { .sk = key, .serial = s->serial };

		agg_add(gen, &pk, (u64)srtt * 1000, 0);
	}
#endif
#endif
#if !SOCK_LENGTH
	/* sent: how far snd_nxt moved since the last segment seen (the
	 * socket lock orders the probes of one socket) */
	if (!(s->flags & PEER_F_NXT)) {
		s->flags |= PEER_F_NXT;
		s->snd_nxt = una;
	}
	d = nxt - s->snd_nxt;
	if ((s32)d > 0)
		s->snd_nxt = nxt;
	else
		d = 0;
#if EVENTS
	__sync_fetch_and_add(&s->tx, d);
	__sync_fetch_and_add(&s->rx, rx);
#else
	if (st) {
		__sync_fetch_and_add(&st->tx, d);
		__sync_fetch_and_add(&st->rx, rx);
	}
#endif
#endif
	agg_end(gen);
	return 0;
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb)
{
	u64 key = (u64)args->skaddr;
	struct peer_sock *s;
#if !PROBE_SKADDR
	struct peer_id id = {};
#endif

#if RETRANS_ERR
	if (args->err)
		return 0;
#endif
	s = socks.lookup(&key);
#if !PROBE_SKADDR
	if (!s) {
		ID_FROM_ARGS(&id, args);
		s = by_tuple(&id, &key);
	}
#endif
	if (s)
		count_trouble(PEER_EV_RETRANS, key, s, args->state);
	return 0;
}

TRACEPOINT_PROBE(tcp, tcp_receive_reset)
{
	u64 key = (u64)args->skaddr;
	struct peer_sock *s;
#if !PROBE_SKADDR
	struct peer_id id = {};
#endif

	s = socks.lookup(&key);
#if !PROBE_SKADDR
	if (!s) {
		ID_FROM_ARGS(&id, args);
		s = by_tuple(&id, &key);
	}
#endif
	if (s)
		count_trouble(PEER_EV_RESET_RX, key, s, -1);
	return 0;
}

TRACEPOINT_PROBE(tcp, tcp_send_reset)
{
	u64 key = (u64)args->skaddr;
	struct peer_sock *s;

	if (!key)
		return 0;	/* a reset for a segment without a socket */
	s = socks.lookup(&key);
	if (s)
		count_trouble(PEER_EV_RESET_TX, key, s, args->state);
	return 0;
}

#if SOCK_LENGTH
/* A send or receive call of the process on a TCP socket: the socket is
 * the process's, tracked from now on if it was not. */
static __always_inline int on_call(u64 key, int ret, int tx)
{
	struct peer_sock *s;

	s = socks.lookup(&key);
	if (!s)
		s = sock_new(key, PEER_DIR_UNKNOWN, PEER_F_BEFORE | PEER_F_ESTAB,
			     NULL);
	if (s)
		count_bytes(key, s, tx ? (u64)ret : 0, tx ? 0 : (u64)ret, 1);
	return 0;
}

TRACEPOINT_PROBE(sock, sock_send_length)
{
	if (args->ret <= 0 || args->protocol != P_IPPROTO_TCP ||
	    !ours(bpf_get_current_pid_tgid()))
		return 0;
	return on_call((u64)args->sk, args->ret, 1);
}

TRACEPOINT_PROBE(sock, sock_recv_length)
{
	if (args->ret <= 0 || (args->flags & P_MSG_PEEK) ||
	    args->protocol != P_IPPROTO_TCP ||
	    !ours(bpf_get_current_pid_tgid()))
		return 0;
	return on_call((u64)args->sk, args->ret, 0);
}
#endif
