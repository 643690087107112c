/* ckb-peers: a node's TCP peers, from sock and tcp tracepoints only:
 * per connection and interval the bytes each way, calls, srtt,
 * retransmits, resets and age; or with -e one line per connect, accept,
 * close, retransmit and reset. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../programs/hist.h"
#include "../programs/peers.h"
#include "../src/agg.h"
#include "../src/bpfsys.h"
#include "../src/cli.h"
#include "../src/events.h"
#include "../src/histo.h"
#include "../src/latency.h"
#include "../src/netproc.h"
#include "../src/report.h"
#include "../src/run.h"
#include "../src/ticker.h"
#include "../src/util.h"
#include "peers.bpf.inc"

static const char usage_text[] =
"USAGE: ckb-peers [-p PID] [--port PORT] [-e] [-T] [-m|-u] [-j] [-H]\n"
"                 [--p2p-port N] [--rpc-port N] [-i SEC] [--duration SEC]\n"
"                 [-v] [--ebpf] [interval [count]]\n"
"\n"
"The TCP connections of a running node, from tracepoints: every interval\n"
"(default 5 s) one row per connection with its peer, local port, kind\n"
"(P2P or RPC by port; in or out), bytes sent and received, calls, srtt\n"
"min/avg/max, retransmits, resets and age.  With -e, one line per\n"
"connect, accept, close (with lifetime and bytes), retransmit and reset.\n"
"\n"
"  -p, --pid PID        trace this process (default: the one process\n"
"                       named \"ckb\")\n"
"      --port PORT      only connections with this local or remote port\n"
"                       (a number, p2p or rpc)\n"
"  -e, --events         print events instead of interval rows\n"
"      --p2p-port N     the P2P port (default 8115)\n"
"      --rpc-port N     the RPC port (default 8114)\n"
"  -i, --interval SEC   seconds between reports (default 5)\n"
"      --duration SEC   stop after SEC seconds\n"
"  -T, --timestamp      print the wall-clock time above each report\n"
"  -m, --milliseconds   srtt in milliseconds (the default)\n"
"  -u, --microseconds   srtt in microseconds\n"
"  -j, --json           JSON lines (srtt always in microseconds)\n"
"  -H, --histogram      add an srtt histogram per connection\n"
"  -v, --verbose        show the tracepoints, the connections found in\n"
"                       /proc and compiler output\n"
"      --ebpf           print the BPF program and its parameters, and exit\n"
"  -h, --help           this text\n"
"\n"
"  interval [count]     as -i, and stop after count reports\n"
"\n"
"EXAMPLES:\n"
"  ckb-peers -p $(pgrep -x ckb)          # every 5 s: one row per peer\n"
"  ckb-peers -p PID --port p2p -j        # P2P only, JSON lines\n"
"  ckb-peers -p PID -e                   # connects, accepts, closes, ...\n"
"\n"
"ENVIRONMENT: CKBTRACE_NO_SOCK_LENGTH=1 counts bytes from tcp_probe as\n"
"on kernels without sock:sock_send_length (before Linux 6.3).\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

struct opts {
	struct target_opts topt;
	int port;		/* 0: every port */
	int p2p, rpc;
	bool events;
	struct cli_report r;
};

/* What this kernel's tracepoints carry (see programs/peers.bpf.c). */
struct feats {
	bool sock_length, probe_skaddr, retrans_err, forced;
};

/* What user space knows of a connection, by serial. */
struct conn {
	uint64_t serial;
	struct peer_id id;
	uint32_t dir;
	bool proc;		/* identity completed from /proc */
};

/* One connection's interval: its stats, its srtt histogram. */
struct row {
	struct peer_key k;
	struct peer_stats st;
	bool live;		/* the socket is tracked now */
	uint64_t *slot;		/* HIST_NBUCKETS, or NULL */
	char peer[64];
};

struct vec {
	void *p;
	size_t n, cap, esz;
};

struct state {
	struct opts o;
	struct feats f;
	struct run run;
	struct agg *agg;
	int socks_fd, stats_fd, drops_fd, cfg_fd, gen_fd, listen_fd,
	    seeds_fd;
	struct event_reader *rd;
	struct vec rows, held, socks, conns, hists;
	uint64_t *dense;
	uint64_t begin_ns;
	double wall_minus_mono;	/* seconds */
	uint64_t intervals, events, unidentified, resolved, conns_seen;
	uint64_t ev_count[PEER_EV_COUNT];
	int seeded, listening;
	bool oom;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- small vectors ---- */

static void *vec_push(struct vec *v)
{
	void *p;

	if (v->n == v->cap) {
		p = realloc(v->p, v->esz * (v->cap ? v->cap * 2 : 64));
		if (!p)
			return NULL;
		v->p = p;
		v->cap = v->cap ? v->cap * 2 : 64;
	}
	p = (char *)v->p + v->esz * v->n++;
	memset(p, 0, v->esz);
	return p;
}

static void *vec_at(const struct vec *v, size_t i)
{
	return (char *)v->p + v->esz * i;
}

/* ---- options ---- */

static int port_arg(const char *what, const char *arg, bool names)
{
	uint64_t v;

	if (names && strcasecmp(arg, "p2p") == 0)
		return -1;
	if (names && strcasecmp(arg, "rpc") == 0)
		return -2;
	if (parse_u64(arg, 1, 65535, &v) != 0)
		usage_fail("unknown port '%s' for %s: want a number from 1 to "
			   "65535%s", arg, what, names ? ", p2p or rpc" : "");
	return (int)v;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "events", no_argument, NULL, 'e' },
		{ "p2p-port", required_argument, NULL, 'S' },
		{ "rpc-port", required_argument, NULL, 'R' },
		CLI_REPORT_LONGS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	cli_report_init(&o->r);
	o->r.interval = 5;
	o->r.div = 1e3;		/* srtt is in us: this shows ms */
	o->r.unit = "ms";
	o->p2p = 8115;
	o->rpc = 8114;
	while ((c = getopt_long(argc, argv, "p:ei:TmujHvh", longs,
				NULL)) != -1) {
		if (cli_report_opt(&o->r, c, optarg, usage_text, "pPeSRmu"))
			continue;
		switch (c) {
		case 'p': o->topt.pid = cli_pid(optarg); break;
		case 'P': o->port = port_arg("--port", optarg, true); break;
		case 'e': o->events = true; break;
		case 'S': o->p2p = port_arg("--p2p-port", optarg, false); break;
		case 'R': o->rpc = port_arg("--rpc-port", optarg, false); break;
		case 'm': o->r.div = 1e3; o->r.unit = "ms"; break;
		case 'u': o->r.div = 1; o->r.unit = "us"; break;
		}
	}
	cli_report_args(&o->r, argc, argv);
	if (o->port == -1)
		o->port = o->p2p;
	else if (o->port == -2)
		o->port = o->rpc;
	if (o->events && o->r.hist)
		usage_fail("-H histograms are per interval; drop -e or -H");
}

/* ---- what the kernel's tracepoints carry ---- */

/* Does tracepoint cat:name have a field of this name?  false when its
 * format cannot be read (run_load() then names what is missing). */
static bool tp_has_field(const char *cat, const char *name,
			 const char *field)
{
	const char *dir = tracefs_dir();
	char path[256], line[256], *p, *end, *w;
	bool found = false;
	FILE *f;

	if (!dir)
		return false;
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", dir, cat, name);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "\tfield:const void * skaddr;\toffset:..." or "__u8 saddr[4];":
		 * the name is the last word before the ';', without [] */
		p = strstr(line, "field:");
		end = p ? strchr(p, ';') : NULL;
		if (!end)
			continue;
		*end = '\0';
		if ((w = strchr(p, '[')))
			*w = '\0';
		w = strrchr(p, ' ');
		found = w && strcmp(w + 1, field) == 0;
	}
	fclose(f);
	return found;
}

static void detect(struct feats *f)
{
	const char *env = getenv("CKBTRACE_NO_SOCK_LENGTH");

	f->forced = env && *env && strcmp(env, "0") != 0;
	f->sock_length = !f->forced &&
			 tracepoint_id("sock", "sock_send_length") > 0 &&
			 tracepoint_id("sock", "sock_recv_length") > 0;
	/* tcp_probe's skaddr came later than the sock_*_length tracepoints:
	 * the forced fallback behaves as such an older kernel does */
	f->probe_skaddr = !f->forced &&
			  tp_has_field("tcp", "tcp_probe", "skaddr");
	f->retrans_err = tp_has_field("tcp", "tcp_retransmit_skb", "err");
}

#define NFLAGS 7

static void cflags_of(const struct state *s, char (*buf)[48],
		      const char **cflags)
{
	snprintf(buf[0], 48, "-DSOCK_LENGTH=%d", s->f.sock_length);
	snprintf(buf[1], 48, "-DPROBE_SKADDR=%d", s->f.probe_skaddr);
	snprintf(buf[2], 48, "-DRETRANS_ERR=%d", s->f.retrans_err);
	snprintf(buf[3], 48, "-DEVENTS=%d", s->o.events);
	snprintf(buf[4], 48, "-DRTT_HIST=%d", s->o.r.hist);
	snprintf(buf[5], 48, "-DBUFFER_PAGES=%d", 64);
	snprintf(buf[6], 48, "-DMAX_CONNS=%d", 16384);
	for (int i = 0; i < NFLAGS; i++)
		cflags[i] = buf[i];
}

static void print_ebpf(struct state *s)
{
	char buf[NFLAGS][48];
	const char *cflags[NFLAGS];
	int i;

	detect(&s->f);
	cflags_of(s, buf, cflags);
	printf("// cflags:");
	for (i = 0; i < NFLAGS; i++)
		printf(" %s", cflags[i]);
	printf("\n");
	fputs(peers_bpf_text, stdout);
}

/* ---- naming ---- */

static const char *dir_name(uint32_t dir)
{
	return dir == PEER_DIR_IN ? "in" : dir == PEER_DIR_OUT ? "out" : "?";
}

/* "p2p", "rpc" or NULL, by the port on the node's side of the service:
 * the local port of an inbound connection, the remote one of an
 * outbound. */
static const char *svc_name(const struct state *s, const struct peer_id *id,
			    uint32_t dir)
{
	int port = dir == PEER_DIR_OUT ? id->rport :
		   dir == PEER_DIR_IN ? id->lport : 0;

	if (!port)
		port = id->lport == s->o.p2p || id->rport == s->o.p2p ?
		       s->o.p2p : id->lport == s->o.rpc ||
		       id->rport == s->o.rpc ? s->o.rpc : 0;
	return port == s->o.p2p ? "p2p" : port == s->o.rpc ? "rpc" : NULL;
}

static void kind_str(const struct state *s, char *buf, size_t len,
		     const struct peer_id *id, uint32_t dir)
{
	const char *svc = svc_name(s, id, dir);

	if (svc)
		snprintf(buf, len, "%s-%s", svc, dir_name(dir));
	else
		snprintf(buf, len, "%s", dir_name(dir));
}

static bool port_ok(const struct state *s, const struct peer_id *id)
{
	return !s->o.port || id->lport == s->o.port ||
	       id->rport == s->o.port;
}

static void fmt_age(char *buf, size_t len, double sec, bool lower_bound)
{
	const char *gt = lower_bound ? ">" : "";

	if (sec < 100)
		snprintf(buf, len, "%s%.*fs", gt, sec < 10 ? 1 : 0, sec);
	else if (sec < 6000)
		snprintf(buf, len, "%s%.0fm", gt, sec / 60);
	else if (sec < 360000)
		snprintf(buf, len, "%s%.0fh", gt, sec / 3600);
	else
		snprintf(buf, len, "%s%.0fd", gt, sec / 86400);
}

static void json_endpoints(const struct state *s, const struct peer_id *id,
			   uint32_t dir)
{
	char peer[64], la[64], ra[64];
	const char *svc = svc_name(s, id, dir);

	addr_port_str(peer, sizeof(peer), id->family, id->raddr, id->rport);
	addr_str(la, sizeof(la), id->family, id->laddr);
	addr_str(ra, sizeof(ra), id->family, id->raddr);
	printf("\"peer\":\"%s\",\"raddr\":\"%s\",\"rport\":%u,\"laddr\":\"%s\","
	       "\"lport\":%u,\"family\":\"%s\",\"dir\":\"%s\",\"svc\":",
	       peer, ra, id->rport, la, id->lport,
	       id->family == AF_INET6 ? "ipv6" : "ipv4",
	       dir == PEER_DIR_IN ? "in" : dir == PEER_DIR_OUT ? "out" :
	       "unknown");
	if (svc)
		printf("\"%s\"", svc);
	else
		printf("null");
}

/* socks entries: the key, then the value. */
struct sock_copy {
	uint64_t key;
	struct peer_sock ps;
};

/* ---- the known connections, by serial ---- */

static int conn_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct conn *)a)->serial,
		 y = ((const struct conn *)b)->serial;

	return x < y ? -1 : x > y;
}

static struct conn *conn_find(struct state *s, uint64_t serial)
{
	struct conn key = { .serial = serial };

	if (!s->conns.n)	/* conns.p is NULL before the first */
		return NULL;
	return bsearch(&key, s->conns.p, s->conns.n, s->conns.esz, conn_cmp);
}

static void conn_put(struct state *s, uint64_t serial,
		     const struct peer_id *id, uint32_t dir, bool proc)
{
	struct conn *c = conn_find(s, serial);

	if (!c) {
		c = vec_push(&s->conns);
		if (!c) {
			s->oom = true;
			return;
		}
		c->serial = serial;
		s->conns_seen++;
	}
	c->id = *id;
	c->dir = dir;
	c->proc = proc;
	qsort(s->conns.p, s->conns.n, s->conns.esz, conn_cmp);
}

/* Forget the oldest half of the known connections when there are many
 * (closed ones are kept: a reset sent after the close still names them). */
static void conns_trim(struct state *s)
{
	size_t half = s->conns.n / 2;

	if (s->conns.n <= 65536)
		return;
	memmove(s->conns.p, vec_at(&s->conns, half),
		(s->conns.n - half) * s->conns.esz);
	s->conns.n -= half;
}

/* ---- /proc: what was open before, and what tracepoints did not name --- */

static bool listening_on(const struct tcp_entry *v, int n, uint16_t port)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].state == TCPS_LISTEN && v[i].lport == port)
			return true;
	return false;
}

static void id_of_entry(struct peer_id *id, const struct tcp_entry *e)
{
	memset(id, 0, sizeof(*id));
	id->family = (uint16_t)e->family;
	id->lport = e->lport;
	id->rport = e->rport;
	memcpy(id->laddr, e->laddr, e->family == AF_INET6 ? 16 : 4);
	memcpy(id->raddr, e->raddr, e->family == AF_INET6 ? 16 : 4);
}

/* Before attaching: the process's listening ports (accepts on them are
 * its inbound connections) and its open connections (recognized when
 * their first segment or call is seen).  0, or -errno said. */
static int seed_from_proc(struct state *s)
{
	struct tcp_entry *v = NULL;
	struct peer_id id;
	char peer[64];
	uint32_t one = 1, dir;
	uint64_t left;
	uint16_t port;
	int n = 0, i, err;

	err = tcp_sockets_of(s->run.t.pid, &v, &n);
	if (err) {
		msg("cannot list the sockets of process %d in /proc: %s",
		    s->run.t.pid, strerror(-err));
		return err;
	}
	if (!n) {
		msg("process %d has no TCP socket (it neither listens nor is "
		    "connected); pass the node's PID (pgrep -x ckb)",
		    s->run.t.pid);
		free(v);
		return -ENOENT;
	}
	for (i = 0; i < n; i++) {
		if (v[i].state != TCPS_LISTEN)
			continue;
		port = v[i].lport;
		bpf_map_set(s->listen_fd, &port, &one);
		s->listening++;
		addr_port_str(peer, sizeof(peer), v[i].family, v[i].laddr,
			      port);
		vmsg("listening on %s (fd %d, inode %llu): connections accepted "
		     "there are inbound", peer, v[i].fd,
		     (unsigned long long)v[i].inode);
	}
	for (i = 0; i < n; i++) {
		if (v[i].state == TCPS_LISTEN || !v[i].lport || !v[i].rport)
			continue;
		id_of_entry(&id, &v[i]);
		dir = listening_on(v, n, v[i].lport) ? PEER_DIR_IN :
						       PEER_DIR_OUT;
		if (bpf_map_set(s->seeds_fd, &id, &dir) != 0)
			continue;
		s->seeded++;
		addr_port_str(peer, sizeof(peer), v[i].family, v[i].raddr,
			      v[i].rport);
		vmsg("open before tracing: %s, local port %u, %s (fd %d, inode "
		     "%llu, from /proc/%d/net/tcp%s): counted from its first "
		     "segment or call", peer, v[i].lport, dir_name(dir),
		     v[i].fd, (unsigned long long)v[i].inode, s->run.t.pid,
		     v[i].family == AF_INET6 ? "6" : "");
	}
	left = (uint64_t)s->seeded;
	i = PEER_CFG_SEEDS;
	bpf_map_set(s->cfg_fd, &i, &left);
	free(v);
	return 0;
}

static bool id_eq(const struct peer_id *a, const struct peer_id *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Connections whose calls were seen but whose identity no tracepoint
 * gave yet (no segment arrived on them since tracing began): when the
 * process has exactly one established connection in /proc that no
 * tracked connection accounts for, and exactly one such connection is
 * unnamed, it is that one. */
static void resolve_from_proc(struct state *s)
{
	struct tcp_entry *v = NULL, *cand = NULL;
	struct peer_sock *ps;
	struct peer_id id;
	struct row *r, *only = NULL;
	uint64_t serial = 0;
	int n = 0, i, ncand = 0, nun = 0;
	size_t k;
	bool known;

	for (k = 0; k < s->held.n; k++) {
		r = vec_at(&s->held, k);
		if (!r->live || r->k.serial == serial)
			continue;
		serial = r->k.serial;
		only = r;
		nun++;
	}
	if (nun != 1 || tcp_sockets_of(s->run.t.pid, &v, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (v[i].state != TCPS_ESTABLISHED)
			continue;
		id_of_entry(&id, &v[i]);
		known = false;
		for (k = 0; k < s->socks.n && !known; k++) {
			ps = &((struct sock_copy *)vec_at(&s->socks, k))->ps;
			known = id_eq(&ps->id, &id);
		}
		for (k = 0; k < s->conns.n && !known; k++)
			known = id_eq(&((struct conn *)vec_at(&s->conns,
							      k))->id, &id);
		if (!known) {
			cand = &v[i];
			ncand++;
		}
	}
	if (ncand == 1) {
		id_of_entry(&id, cand);
		conn_put(s, only->k.serial, &id,
			 listening_on(v, n, cand->lport) ? PEER_DIR_IN :
							   PEER_DIR_OUT, true);
		s->resolved++;
		vmsg("a connection seen only by its calls is local port %u "
		     "(fd %d, inode %llu): the one connection of the process "
		     "in /proc no tracepoint named", cand->lport, cand->fd,
		     (unsigned long long)cand->inode);
	}
	free(v);
}

/* ---- interval rows ---- */

struct hist_copy {
	struct peer_key k;
	uint64_t slot[HIST_NBUCKETS];
};

static void on_hist(const void *key, const struct agg_stats *st,
		    const uint64_t *slot, void *arg)
{
	struct state *s = arg;
	struct hist_copy *h = vec_push(&s->hists);

	(void)st;
	if (!h) {
		s->oom = true;
		return;
	}
	memcpy(&h->k, key, sizeof(h->k));
	memcpy(h->slot, slot, sizeof(h->slot));
}

struct dump_arg {
	struct state *s;
	uint32_t gen;
};

static int take_stats(const void *key, const void *value, void *arg)
{
	const struct peer_skey *k = key;
	struct dump_arg *d = arg;
	struct row *r;

	if (k->gen != d->gen)
		return 0;
	r = vec_push(&d->s->rows);
	if (!r)
		return -ENOMEM;
	r->k = k->k;
	memcpy(&r->st, value, sizeof(r->st));
	return 0;
}

static int take_sock(const void *key, const void *value, void *arg)
{
	struct state *s = arg;
	struct sock_copy *c = vec_push(&s->socks);

	if (!c)
		return -ENOMEM;
	memcpy(&c->key, key, sizeof(c->key));
	memcpy(&c->ps, value, sizeof(c->ps));
	return 0;
}

static int sock_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct sock_copy *)a)->key,
		 y = ((const struct sock_copy *)b)->key;

	return x < y ? -1 : x > y;
}

static struct sock_copy *sock_find(struct state *s, uint64_t key)
{
	struct sock_copy k = { .key = key };

	if (!s->socks.n)	/* socks.p is NULL when none was seen */
		return NULL;
	return bsearch(&k, s->socks.p, s->socks.n, s->socks.esz, sock_cmp);
}

/* Add b's counts into a. */
static void stats_merge(struct peer_stats *a, const struct peer_stats *b)
{
	a->tx += b->tx;
	a->rx += b->rx;
	a->tx_calls += b->tx_calls;
	a->rx_calls += b->rx_calls;
	a->rtt_n += b->rtt_n;
	a->rtt_sum += b->rtt_sum;
	if (b->rtt_n && b->rtt_min < a->rtt_min)
		a->rtt_min = b->rtt_min;
	if (b->rtt_max > a->rtt_max)
		a->rtt_max = b->rtt_max;
	a->retrans += b->retrans;
	a->resets += b->resets;
	a->flags |= b->flags & PEER_F_CLOSED;
	if (b->end_ns)
		a->end_ns = b->end_ns;
}

/* The identity of a row: from its stats, the socket now, or what was
 * learned before.  false when nothing names it yet. */
static bool row_identify(struct state *s, struct row *r)
{
	struct sock_copy *c = sock_find(s, r->k.sk);
	struct conn *cn;

	if (c && c->ps.serial == r->k.serial) {
		r->live = true;
		if (!r->st.id.family && c->ps.id.family)
			r->st.id = c->ps.id;
		if (r->st.dir == PEER_DIR_UNKNOWN)
			r->st.dir = c->ps.dir;
	}
	cn = conn_find(s, r->k.serial);
	if (!r->st.id.family && cn) {
		r->st.id = cn->id;
		if (r->st.dir == PEER_DIR_UNKNOWN)
			r->st.dir = cn->dir;
	}
	if (!r->st.id.family)
		return false;
	if (!cn || !cn->proc)
		conn_put(s, r->k.serial, &r->st.id, r->st.dir, false);
	return true;
}

static int row_order(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = (int)x->st.dir - (int)y->st.dir;

	if (c)
		return c;
	c = strcmp(x->peer, y->peer);
	if (c)
		return c;
	if (x->st.id.lport != y->st.id.lport)
		return (int)x->st.id.lport - (int)y->st.id.lport;
	return x->k.serial < y->k.serial ? -1 : x->k.serial > y->k.serial;
}

static const struct lat_cols hist_cols = {
	1, { "PEER" }, { -21 }, { "peer" },
};

static void print_row_text(struct state *s, const struct row *r, int width,
			   double now_s)
{
	char tx[16], rx[16], calls[16] = "-", kind[16], age[16], mn[16],
	     av[16], mx[16], rtt[48] = "-";
	const struct peer_stats *st = &r->st;
	double end = st->end_ns ? (double)st->end_ns / 1e9 : now_s;

	fmt_bytes(tx, sizeof(tx), st->tx);
	fmt_bytes(rx, sizeof(rx), st->rx);
	if (s->f.sock_length)
		snprintf(calls, sizeof(calls), "%llu",
			 (unsigned long long)(st->tx_calls + st->rx_calls));
	kind_str(s, kind, sizeof(kind), &st->id, st->dir);
	if (st->start_ns)
		fmt_age(age, sizeof(age), end - (double)st->start_ns / 1e9,
			false);
	else
		fmt_age(age, sizeof(age), end - (double)s->begin_ns / 1e9,
			true);
	if (st->rtt_n) {
		fmt_latency(mn, sizeof(mn), st->rtt_min, s->o.r.div);
		fmt_latency(av, sizeof(av), (double)st->rtt_sum /
			    (double)st->rtt_n, s->o.r.div);
		fmt_latency(mx, sizeof(mx), st->rtt_max, s->o.r.div);
		snprintf(rtt, sizeof(rtt), "%s/%s/%s", mn, av, mx);
	}
	printf("%-*s %5u %-7s %6s %6s %5s %4llu %3llu %5s%s %s\n", width,
	       r->peer, st->id.lport, kind, tx, rx, calls,
	       (unsigned long long)st->retrans,
	       (unsigned long long)st->resets, age,
	       st->flags & PEER_F_CLOSED ? "*" : " ", rtt);
}

static void print_row_json(struct state *s, const struct row *r, double secs,
			   double now_s, const struct timeval *tv)
{
	const struct peer_stats *st = &r->st;
	double end = st->end_ns ? (double)st->end_ns / 1e9 : now_s;
	uint32_t k;
	bool first = true;

	printf("{\"type\":\"interval\",\"ts\":%ld.%06ld,\"interval_s\":%.3f,",
	       (long)tv->tv_sec, (long)tv->tv_usec, secs);
	json_endpoints(s, &st->id, st->dir);
	printf(",\"tx_bytes\":%llu,\"rx_bytes\":%llu,",
	       (unsigned long long)st->tx, (unsigned long long)st->rx);
	if (s->f.sock_length)
		printf("\"tx_calls\":%llu,\"rx_calls\":%llu,",
		       (unsigned long long)st->tx_calls,
		       (unsigned long long)st->rx_calls);
	else
		printf("\"tx_calls\":null,\"rx_calls\":null,");
	printf("\"srtt_samples\":%llu,", (unsigned long long)st->rtt_n);
	if (st->rtt_n)
		printf("\"srtt_min_us\":%u,\"srtt_avg_us\":%.1f,"
		       "\"srtt_max_us\":%u,", st->rtt_min,
		       (double)st->rtt_sum / (double)st->rtt_n, st->rtt_max);
	else
		printf("\"srtt_min_us\":null,\"srtt_avg_us\":null,"
		       "\"srtt_max_us\":null,");
	printf("\"retrans\":%llu,\"resets\":%llu,",
	       (unsigned long long)st->retrans,
	       (unsigned long long)st->resets);
	if (st->start_ns)
		printf("\"age_s\":%.3f,\"open_before_start\":false,",
		       end - (double)st->start_ns / 1e9);
	else
		printf("\"age_s\":null,\"open_before_start\":true,");
	printf("\"closed\":%s,\"established\":%s}\n",
	       st->flags & PEER_F_CLOSED ? "true" : "false",
	       st->flags & PEER_F_ESTAB ? "true" : "false");
	if (!r->slot)
		return;
	printf("{\"type\":\"hist\",\"peer\":\"%s\",\"lport\":%u,\"unit\":\"ns\","
	       "\"buckets\":[", r->peer, st->id.lport);
	for (k = 0; k < HIST_NBUCKETS; k++) {
		if (!r->slot[k])
			continue;
		printf("%s[%llu,%llu,%llu]", first ? "" : ",",
		       (unsigned long long)hist_low(k),
		       (unsigned long long)hist_high(k),
		       (unsigned long long)r->slot[k]);
		first = false;
	}
	printf("]}\n");
}

static void print_rows(struct state *s, double secs)
{
	struct timeval tv;
	struct row *r;
	double now_s = (double)mono_ns() / 1e9;
	char ts[16];
	int width = 15;
	size_t i;
	struct lat_row lr;

	gettimeofday(&tv, NULL);
	for (i = 0; i < s->rows.n; i++) {
		r = vec_at(&s->rows, i);
		if ((int)strlen(r->peer) > width)
			width = (int)strlen(r->peer);
	}
	if (!s->o.r.json && s->o.r.timestamp) {
		fmt_wallclock(ts, sizeof(ts));
		printf("%s\n", ts);
	}
	if (!s->o.r.json && !s->rows.n)
		printf("no TCP connections in the last %.1f s\n", secs);
	else if (!s->o.r.json)
		printf("%-*s %5s %-7s %6s %6s %5s %4s %3s %5s  SRTT(%s) "
		       "MIN/AVG/MAX\n", width, "PEER", "LPORT", "KIND", "TX",
		       "RX", "CALLS", "RETR", "RST", "AGE", s->o.r.unit);
	for (i = 0; i < s->rows.n; i++) {
		r = vec_at(&s->rows, i);
		if (s->o.r.json)
			print_row_json(s, r, secs, now_s, &tv);
		else
			print_row_text(s, r, width, now_s);
	}
	for (i = 0; s->o.r.hist && !s->o.r.json && i < s->rows.n; i++) {
		r = vec_at(&s->rows, i);
		if (!r->slot)
			continue;
		memset(&lr, 0, sizeof(lr));
		lr.label[0] = r->peer;
		lr.slot = r->slot;
		lat_hist_text(stdout, &hist_cols, &lr, s->o.r.unit,
			      s->o.r.div * 1e3);
	}
	if (!s->o.r.json)
		printf("\n");
}

static uint32_t gen_now(struct state *s)
{
	uint32_t z = 0, g = 0;

	bpf_map_get(s->gen_fd, &z, &g);
	return g & 1;
}

/* Close the interval: this interval's rows, each with an identity, plus
 * the live connections that were idle. */
static int collect(struct state *s)
{
	struct dump_arg d = { .s = s };
	struct row *r, *h;
	struct vec keep = { .esz = sizeof(struct row) };
	struct peer_skey *keys = NULL;
	struct sock_copy *c;
	struct hist_copy *hc;
	size_t i, j, n;
	int err;

	s->rows.n = s->socks.n = s->hists.n = 0;
	err = agg_collect(s->agg, on_hist, s);	/* flips the generation */
	if (err)
		return err;
	d.gen = gen_now(s) ^ 1;
	err = bpf_map_dump(s->stats_fd, take_stats, &d);
	if (!err && s->rows.n) {
		keys = calloc(s->rows.n, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		for (i = 0; i < s->rows.n; i++) {
			r = vec_at(&s->rows, i);
			keys[i].gen = d.gen;
			keys[i].k = r->k;
		}
		err = bpf_map_del_keys(s->stats_fd, keys, sizeof(*keys),
				       (uint32_t)s->rows.n);
		free(keys);
	}
	if (!err)
		err = bpf_map_dump(s->socks_fd, take_sock, s);
	if (err)
		return err;
	if (s->socks.n > 1)	/* socks.p is NULL when none was seen */
		qsort(s->socks.p, s->socks.n, s->socks.esz, sock_cmp);
	/* rows held back for want of a name come first, merged */
	n = s->rows.n;
	for (i = 0; i < s->held.n; i++) {
		h = vec_at(&s->held, i);
		for (j = 0; j < n; j++) {
			r = vec_at(&s->rows, j);
			if (r->k.serial == h->k.serial) {
				stats_merge(&r->st, &h->st);
				break;
			}
		}
		if (j == n) {
			r = vec_push(&s->rows);
			if (!r)
				return -ENOMEM;
			*r = *h;
		}
	}
	s->held.n = 0;
	/* idle live connections */
	n = s->rows.n;
	for (i = 0; i < s->socks.n; i++) {
		c = vec_at(&s->socks, i);
		for (j = 0; j < n; j++)
			if (((struct row *)vec_at(&s->rows, j))->k.serial ==
			    c->ps.serial)
				break;
		if (j < n || (c->ps.flags & PEER_F_CLOSED) ||
		    !(c->ps.flags & PEER_F_ESTAB))
			continue;
		r = vec_push(&s->rows);
		if (!r)
			return -ENOMEM;
		r->k.sk = c->key;
		r->k.serial = c->ps.serial;
		r->st.id = c->ps.id;
		r->st.start_ns = c->ps.start_ns;
		r->st.dir = c->ps.dir;
		r->st.flags = c->ps.flags;
	}
	/* name every row, or hold it */
	for (i = 0; i < s->rows.n; i++) {
		r = vec_at(&s->rows, i);
		if (row_identify(s, r))
			continue;
		h = vec_push(&s->held);
		if (!h)
			return -ENOMEM;
		*h = *r;
		r->k.serial = 0;	/* gone from this interval */
	}
	if (s->held.n) {
		resolve_from_proc(s);
		for (i = 0; i < s->held.n; i++) {
			h = vec_at(&s->held, i);
			if (!conn_find(s, h->k.serial))
				continue;
			r = vec_push(&s->rows);
			if (!r)
				return -ENOMEM;
			*r = *h;
			row_identify(s, r);
			h->k.serial = 0;
		}
	}
	/* keep named rows that pass --port */
	for (i = 0; i < s->rows.n; i++) {
		r = vec_at(&s->rows, i);
		if (!r->k.serial || !r->st.id.family)
			continue;
		if (!port_ok(s, &r->st.id))
			continue;
		h = vec_push(&keep);
		if (!h)
			return -ENOMEM;
		*h = *r;
		addr_port_str(h->peer, sizeof(h->peer), h->st.id.family,
			      h->st.id.raddr, h->st.id.rport);
		if (!h->st.rtt_n)
			h->st.rtt_min = 0;
	}
	/* held rows whose serial was cleared above are resolved */
	for (i = j = 0; i < s->held.n; i++) {
		h = vec_at(&s->held, i);
		if (h->k.serial)
			memmove(vec_at(&s->held, j++), h, sizeof(*h));
	}
	s->held.n = j;
	free(s->rows.p);
	s->rows = keep;
	if (s->rows.n > 1)	/* rows.p is NULL in an empty interval */
		qsort(s->rows.p, s->rows.n, s->rows.esz, row_order);
	conns_trim(s);
	for (i = 0; i < s->hists.n; i++) {
		hc = vec_at(&s->hists, i);
		for (j = 0; j < s->rows.n; j++) {
			r = vec_at(&s->rows, j);
			if (r->k.sk == hc->k.sk && r->k.serial == hc->k.serial)
				r->slot = hc->slot;
		}
	}
	return 0;
}

static int report(void *arg, double secs)
{
	struct state *s = arg;
	int err = collect(s);

	if (!err && s->oom)
		err = -ENOMEM;
	if (err) {
		msg("cannot read BPF maps: %s", strerror(-err));
		return err;
	}
	print_rows(s, secs);
	s->intervals++;
	return out_flush();
}

/* ---- events ---- */

static const char *const ev_names[PEER_EV_COUNT] = {
	"connect", "accept", "close", "retrans", "reset-rx", "reset-tx",
};

static const char *const tcp_states[] = {
	"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"NEW_SYN_RECV",
};

static int on_event(const void *data, size_t len, void *arg)
{
	struct state *s = arg;
	struct peer_event e;
	struct conn *cn;
	char when[32], peer[64] = "(unnamed)", kind[16], tx[16] = "-",
	     rx[16] = "-", calls[16] = "-", life[24] = "-", lport[8] = "-";
	double t, lifetime = -1;
	time_t secs;
	struct tm tm;
	bool close;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.type >= PEER_EV_COUNT)
		return 0;
	if (!e.id.family && (cn = conn_find(s, e.serial))) {
		e.id = cn->id;
		if (e.dir == PEER_DIR_UNKNOWN)
			e.dir = cn->dir;
	}
	if (e.id.family && !port_ok(s, &e.id))
		return 0;
	if (s->o.port && !e.id.family)
		return 0;
	s->events++;
	s->ev_count[e.type]++;
	close = e.type == PEER_EV_CLOSE;
	t = (double)e.ts_ns / 1e9 + s->wall_minus_mono;
	if (close && e.start_ns)
		lifetime = (double)(e.ts_ns - e.start_ns) / 1e9;
	if (s->o.r.json) {
		printf("{\"type\":\"event\",\"ts\":%.6f,\"event\":\"%s\",", t,
		       ev_names[e.type]);
		if (e.id.family) {
			json_endpoints(s, &e.id, e.dir);
			printf(",");
		} else {
			printf("\"peer\":null,");
		}
		if (e.state >= 0 && e.state < (int)ARRAY_SIZE(tcp_states))
			printf("\"state\":\"%s\",", tcp_states[e.state]);
		if (close) {
			printf("\"tx_bytes\":%llu,\"rx_bytes\":%llu,",
			       (unsigned long long)e.tx,
			       (unsigned long long)e.rx);
			if (s->f.sock_length)
				printf("\"tx_calls\":%llu,\"rx_calls\":%llu,",
				       (unsigned long long)e.tx_calls,
				       (unsigned long long)e.rx_calls);
			printf("\"retrans\":%llu,\"resets\":%llu,"
			       "\"established\":%s,",
			       (unsigned long long)e.retrans,
			       (unsigned long long)e.resets,
			       e.flags & PEER_F_ESTAB ? "true" : "false");
			if (lifetime >= 0)
				printf("\"lifetime_s\":%.6f,", lifetime);
			else
				printf("\"lifetime_s\":null,");
		}
		printf("\"open_before_start\":%s}\n",
		       e.flags & PEER_F_BEFORE ? "true" : "false");
		return 0;
	}
	secs = (time_t)t;
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03d",
		 (int)((t - (double)secs) * 1000));
	if (e.id.family) {
		addr_port_str(peer, sizeof(peer), e.id.family, e.id.raddr,
			      e.id.rport);
		snprintf(lport, sizeof(lport), "%u", e.id.lport);
	}
	kind_str(s, kind, sizeof(kind), &e.id, e.dir);
	if (close) {
		fmt_bytes(tx, sizeof(tx), e.tx);
		fmt_bytes(rx, sizeof(rx), e.rx);
		if (s->f.sock_length)
			snprintf(calls, sizeof(calls), "%llu",
				 (unsigned long long)(e.tx_calls +
						      e.rx_calls));
		if (lifetime >= 0)
			snprintf(life, sizeof(life), "%.3f", lifetime);
		else
			snprintf(life, sizeof(life), ">%.3f",
				 (double)(e.ts_ns - s->begin_ns) / 1e9);
	}
	printf("%-12s %-8s %-21s %5s %-7s %6s %6s %5s %9s%s\n", when,
	       ev_names[e.type], peer, lport, kind, tx, rx, calls, life,
	       close && !(e.flags & PEER_F_ESTAB) ? " (never established)" :
	       "");
	return 0;
}

static void event_header(const struct state *s)
{
	if (s->o.r.json)
		return;
	printf("%-12s %-8s %-21s %5s %-7s %6s %6s %5s %9s\n", "TIME", "EVENT",
	       "PEER", "LPORT", "KIND", "TX", "RX", "CALLS", "LIFE(s)");
}

static const char *events_loop(struct state *s)
{
	int n;

	for (;;) {
		n = events_poll(s->rd, 100);
		if (n < 0 && n != -EINTR) {
			msg("cannot read events: %s", strerror(-n));
			return "output";
		}
		if (out_flush())
			return "output";
		if (stop_signal)
			return "signal";
		const char *why = run_over(&s->run.t, s->begin_ns,
					   s->o.r.duration);
		if (why)
			return why;
	}
}

/* ---- the run ---- */

static void summary(void *arg, const char *reason)
{
	struct state *s = arg;
	uint64_t lost[PEER_DROP_COUNT] = { 0 }, keys = 0, slots = 0,
		 unsettled = 0;
	struct run_skips skips;
	uint32_t i;

	for (i = 0; i < PEER_DROP_COUNT; i++)
		bpf_map_sum_u64(s->drops_fd, &i, &lost[i]);
	agg_lost(s->agg, &keys, &slots, &unsettled);
	run_skips_read(&s->run, &skips);
	if (s->o.r.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\",", reason);
		if (s->o.events) {
			printf("\"events\":%llu,\"counts\":{",
			       (unsigned long long)s->events);
			for (i = 0; i < PEER_EV_COUNT; i++)
				printf("%s\"%s\":%llu", i ? "," : "",
				       ev_names[i],
				       (unsigned long long)s->ev_count[i]);
			printf("},");
		} else {
			printf("\"intervals\":%llu,\"connections\":%llu,",
			       (unsigned long long)s->intervals,
			       (unsigned long long)s->conns_seen);
		}
		printf("\"bytes_from\":\"%s\",\"unnamed\":%llu,"
		       "\"named_from_proc\":%llu,\"lost_connections\":%llu,"
		       "\"lost_intervals\":%llu,\"lost_events\":%llu,"
		       "\"lost_joins\":%llu,\"lost_hist_keys\":%llu,"
		       "\"lost_hist_buckets\":%llu",
		       s->f.sock_length ? "sock_length" : "tcp_probe",
		       (unsigned long long)s->held.n,
		       (unsigned long long)s->resolved,
		       (unsigned long long)lost[PEER_DROP_SOCKS],
		       (unsigned long long)lost[PEER_DROP_STATS],
		       (unsigned long long)lost[PEER_DROP_EVENTS],
		       (unsigned long long)lost[PEER_DROP_TUPLES],
		       (unsigned long long)keys, (unsigned long long)slots);
		run_skips_json(stdout, &skips);
		printf("}\n");
		fflush(stdout);
	}
	run_skips_say(&skips);
	if (lost[PEER_DROP_SOCKS] || lost[PEER_DROP_STATS] ||
	    lost[PEER_DROP_EVENTS] || lost[PEER_DROP_TUPLES] || keys || slots)
		msg("not counted: %llu connections (map full), %llu connection "
		    "intervals (map full), %llu events (buffer full), %llu "
		    "segments (join map full), %llu srtt samples not in a "
		    "histogram", (unsigned long long)lost[PEER_DROP_SOCKS],
		    (unsigned long long)lost[PEER_DROP_STATS],
		    (unsigned long long)lost[PEER_DROP_EVENTS],
		    (unsigned long long)lost[PEER_DROP_TUPLES],
		    (unsigned long long)(keys + slots));
	if (s->held.n)
		msg("%zu connection intervals were never named (calls seen, "
		    "no segment or state change): not printed", s->held.n);
	if (unsettled)
		vmsg("%llu intervals closed with a program still writing",
		     (unsigned long long)unsettled);
}

static void announce(const struct state *s)
{
	char port[32] = "";

	if (s->o.port)
		snprintf(port, sizeof(port), " with port %d", s->o.port);
	if (!s->f.sock_length)
		msg("%s: bytes sent and received come from tcp_probe "
		    "(snd_nxt advance, data_len of segments received while "
		    "established); calls are not counted",
		    s->f.forced ? "CKBTRACE_NO_SOCK_LENGTH is set" :
		    "this kernel has no sock:sock_send_length");
	fprintf(stderr, "Tracing TCP connections%s of PID %d (%s; %d "
		"listening, %d open before) from %d tracepoints... Hit Ctrl-C "
		"to end.\n", port, s->run.t.pid, s->run.t.exe_shown,
		s->listening, s->seeded, s->run.ps.n);
	if (!s->o.r.json)
		return;
	printf("{\"type\":\"start\",\"pid\":%d,\"binary\":", s->run.t.pid);
	json_string(stdout, s->run.t.exe_shown);
	printf(",\"mode\":\"%s\",\"port\":", s->o.events ? "events" :
	       "interval");
	if (s->o.port)
		printf("%d", s->o.port);
	else
		printf("null");
	printf(",\"bytes_from\":\"%s\",\"listening\":%d,\"open_before\":%d}\n",
	       s->f.sock_length ? "sock_length" : "tcp_probe", s->listening,
	       s->seeded);
	fflush(stdout);
}

static int make_plan(struct state *s)
{
	static const char *const tps[][2] = {
		{ "sock", "inet_sock_set_state" }, { "tcp", "tcp_destroy_sock" },
		{ "tcp", "tcp_probe" }, { "tcp", "tcp_retransmit_skb" },
		{ "tcp", "tcp_receive_reset" }, { "tcp", "tcp_send_reset" },
		{ "sock", "sock_send_length" }, { "sock", "sock_recv_length" },
	};
	char prog[96];
	size_t i, n = ARRAY_SIZE(tps) - (s->f.sock_length ? 0 : 2);
	int err = 0;

	for (i = 0; i < n && !err; i++) {
		snprintf(prog, sizeof(prog), "tracepoint__%s__%s", tps[i][0],
			 tps[i][1]);
		err = plan_tracepoint(&s->run.plan, prog, tps[i][0], tps[i][1]);
	}
	if (err)
		msg("cannot plan the tracepoints: %s", strerror(-err));
	return err;
}

static int setup(struct state *s)
{
	static const char *const maps[] = {
		"socks", "pstats", "peer_drops", "peer_cfg", "agg_gen",
		"listen_ports", "seeds",
	};
	char buf[NFLAGS][48];
	const char *cflags[NFLAGS];
	int fds[ARRAY_SIZE(maps)], err, ev;

	detect(&s->f);
	vmsg("bytes from %s; tcp_probe joined by %s; retransmits %s",
	     s->f.sock_length ? "sock:sock_send_length/sock_recv_length" :
	     "tcp:tcp_probe", s->f.probe_skaddr ? "socket address" :
	     "addresses and ports", s->f.retrans_err ?
	     "that did not fail" : "all");
	cflags_of(s, buf, cflags);
	if (make_plan(s) != 0 ||
	    run_load(&s->run, peers_bpf_text, cflags, NFLAGS) != 0 ||
	    run_maps(&s->run, maps, ARRAY_SIZE(maps), fds) != 0 ||
	    agg_open(&s->agg, &s->run) != 0)
		return -1;
	s->socks_fd = fds[0];
	s->stats_fd = fds[1];
	s->drops_fd = fds[2];
	s->cfg_fd = fds[3];
	s->gen_fd = fds[4];
	s->listen_fd = fds[5];
	s->seeds_fd = fds[6];
	if (s->o.events) {
		ev = bpf_obj_map(&s->run.obj, "events");
		err = ev < 0 ? ev : events_open_ringbuf(&s->rd, ev, on_event, s);
		if (err) {
			msg("cannot open the event buffer: %s", strerror(-err));
			return -1;
		}
	}
	if (seed_from_proc(s) != 0)
		return -1;
	return run_attach(&s->run);
}

/* -e: the events still buffered, then the summary. */
static void drain_summary(void *arg, const char *reason)
{
	struct state *s = arg;

	events_drain(s->rd);
	summary(s, reason);
}

static int run_loop(struct state *s)
{
	struct ticker tk;

	if (s->o.events) {
		event_header(s);
		return ticker_end(NULL, &s->run, events_loop(s),
				  drain_summary, s);
	}
	ticker_init(&tk, &s->o.r, report, s);
	return ticker_end(&tk, &s->run, ticker_run(&tk, &s->run.t,
						   &stop_signal),
			  summary, s);
}

int main(int argc, char **argv)
{
	static struct state s;
	struct timespec rt;
	int rc = 1;

	prog_name = "ckb-peers";
	parse_opts(&s.o, argc, argv);
	if (s.o.r.ebpf) {
		print_ebpf(&s);
		return 0;
	}
	if (cli_privileged() != 0)
		return 1;
	cli_signals(on_signal, false);
	s.rows.esz = s.held.esz = sizeof(struct row);
	s.socks.esz = sizeof(struct sock_copy);
	s.conns.esz = sizeof(struct conn);
	s.hists.esz = sizeof(struct hist_copy);
	s.begin_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &rt);
	s.wall_minus_mono = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 -
			    (double)s.begin_ns / 1e9;
	if (run_find_target(&s.run, &s.o.topt, true, NULL) == 0 &&
	    setup(&s) == 0) {
		announce(&s);
		rc = run_loop(&s);
	}
	run_close(&s.run);
	events_close(s.rd);
	agg_free(s.agg);
	free(s.rows.p);
	free(s.held.p);
	free(s.socks.p);
	free(s.conns.p);
	free(s.hists.p);
	return rc;
}
