/* ckb-slowops: every RocksDB operation slower than a threshold, one line
 * each, with nothing lost silently. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../programs/rdblat.h"
#include "../programs/slowops.h"
#include "../src/bpfsys.h"
#include "../src/catalog.h"
#include "../src/cli.h"
#include "../src/events.h"
#include "../src/report.h"
#include "../src/rocksdb.h"
#include "../src/symbolize.h"
#include "../src/util.h"
#include "slowops.bpf.inc"

#define STACK_DEPTH 127		/* PERF_MAX_STACK_DEPTH: a stack map value */
#define STACK_ENTRIES 1024
#define FOLD_SLOTS 4096
#define FOLD_INDEX (2 * FOLD_SLOTS)	/* open addressing, at most half full */

static const char usage_text[] =
"USAGE: ckb-slowops [-p PID | -b PATH] [-m MS] [-o OPS] [-T] [-j] [-U | -f]\n"
"                   [-d SEC] [--buffer-pages N] [--perf-buffer] [-v] [--ebpf]\n"
"                   [min_us]\n"
"\n"
"Every RocksDB operation that takes at least a threshold (10 ms by\n"
"default), one line each, and a count of what could not be delivered.\n"
"\n"
"  min_us              threshold in microseconds (0: every operation)\n"
"  -m, --min-ms MS     threshold in milliseconds\n"
"  -p, --pid PID       trace this process only\n"
"  -b, --binary PATH   trace every process running this executable or\n"
"                      mapping this shared library\n"
"                      (neither: the one process named \"ckb\")\n"
"  -o, --ops LIST      only these operations, comma separated (as ckb-rdblat)\n"
"  -T, --timestamp     wall-clock time of each operation's return\n"
"  -j, --json          JSON lines\n"
"  -U, --user-stack    the symbolized user stack of each operation\n"
"  -f, --folded        no lines: at exit, folded stacks with their summed\n"
"                      latency in microseconds, for flame graphs\n"
"  -d, --duration SEC  stop after SEC seconds\n"
"      --buffer-pages N  event buffer size in pages, a power of two (256)\n"
"      --perf-buffer   per-CPU perf buffers instead of the BPF ring buffer\n"
"  -v, --verbose       show the resolved symbols and compiler output\n"
"      --ebpf          print the BPF program and its parameters, and exit\n"
"  -h, --help          this text\n"
"\n"
"EXAMPLES:\n"
"  ckb-slowops -p $(pgrep -x ckb)         # operations of 10 ms or more\n"
"  ckb-slowops -p PID 500                 # 500 us or more\n"
"  ckb-slowops -p PID -m 50 -U            # 50 ms or more, with stacks\n"
"  ckb-slowops -p PID -j > slow.jsonl     # JSON lines\n"
"  ckb-slowops -p PID -f -d 60 > out.folded  # a minute of slow stacks\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

struct opts {
	uint64_t threshold_ns;
	double duration;
	uint64_t pages;
	bool timestamp;
	bool json;
	bool ustack;
	bool folded;
	bool perf;
	bool ebpf;
};

struct fold {
	char *key;
	uint64_t us;
};

enum { MAP_EVENTS, MAP_COUNTERS, MAP_DROPS, MAP_STACKS, NMAPS };
static const char *const map_names[] = { "events", "counters", "drops",
					 "stacks" };

struct state {
	struct opts o;
	struct rocksdb_run ss;
	int map_fds[NMAPS];
	struct event_reader *rd;
	struct symbolizer *sym;
	int64_t wall_offset_ns;
	uint64_t received;
	uint64_t perf_lost;
	uint64_t lost_seen;
	struct fold folds[FOLD_SLOTS];
	int fold_index[FOLD_INDEX];	/* 1 + index into folds, 0 = free */
	int nfolds;
	uint64_t fold_dropped;
};


static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void parse_opts(struct opts *o, struct rocksdb_run *ss, int argc,
		       char **argv)
{
	static const struct option longs[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "binary", required_argument, NULL, 'b' },
		{ "min-ms", required_argument, NULL, 'm' },
		{ "ops", required_argument, NULL, 'o' },
		{ "timestamp", no_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "user-stack", no_argument, NULL, 'U' },
		{ "folded", no_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "buffer-pages", required_argument, NULL, 'B' },
		{ "perf-buffer", no_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ebpf", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool by_ms = false;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->threshold_ns = 10000000;
	o->pages = 256;
	ss->mask = (1u << OP_COUNT) - 1;
	while ((c = getopt_long(argc, argv, "p:b:m:o:TjUfd:vh", longs,
				NULL)) != -1) {
		if (rocksdb_opt(ss, c, optarg))
			continue;
		switch (c) {
		case 'm':
			if (parse_u64(optarg, 0, 86400000, &v) != 0)
				usage_fail("bad threshold '%s': want whole "
					    "milliseconds >= 0", optarg);
			o->threshold_ns = v * 1000000;
			by_ms = true;
			break;
		case 'T': o->timestamp = true; break;
		case 'j': o->json = true; break;
		case 'U': o->ustack = true; break;
		case 'f': o->folded = true; break;
		case 'd':
			if (parse_seconds(optarg, 86400.0 * 365, &o->duration))
				usage_fail("bad duration '%s': want seconds > 0",
					    optarg);
			break;
		case 'B':
			if (parse_u64(optarg, 1, 65536, &o->pages) != 0 ||
			    (o->pages & (o->pages - 1)))
				usage_fail("bad --buffer-pages '%s': want a "
					    "power of two from 1 to 65536",
					    optarg);
			break;
		case 'P': o->perf = true; break;
		case 'v': verbose = 1; break;
		case 'E': o->ebpf = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "%s: see ckb-slowops --help\n", prog_name);
			exit(EXIT_USAGE);
		}
	}
	rocksdb_opts_check(ss);
	if (o->ustack && o->folded)
		usage_fail("-U and -f are exclusive");
	if (optind < argc) {
		if (by_ms)
			usage_fail("threshold given twice ('%s' and -m)",
				    argv[optind]);
		if (parse_u64(argv[optind], 0, 86400000000ull, &v) != 0)
			usage_fail("bad threshold '%s': want whole "
				    "microseconds >= 0", argv[optind]);
		o->threshold_ns = v * 1000;
		optind++;
	}
	if (optind < argc)
		usage_fail("unexpected argument '%s'", argv[optind]);
}

static int build_cflags(const struct opts *o, char (*buf)[48],
			const char **cflags)
{
	snprintf(buf[0], 48, "-DTHRESHOLD_NS=%llu",
		 (unsigned long long)o->threshold_ns);
	snprintf(buf[1], 48, "-DPERF_BUFFER=%d", o->perf);
	snprintf(buf[2], 48, "-DBUFFER_PAGES=%llu",
		 (unsigned long long)o->pages);
	snprintf(buf[3], 48, "-DUSER_STACK=%d", o->ustack || o->folded);
	snprintf(buf[4], 48, "-DSTACK_ENTRIES=%d", STACK_ENTRIES);
	for (int i = 0; i < 5; i++)
		cflags[i] = buf[i];
	return 5;
}

static void print_ebpf(const struct opts *o)
{
	char buf[5][48];
	const char *cflags[5];
	int i, n = build_cflags(o, buf, cflags);

	printf("// cflags: -DDEDUP=<0, or 1 when both the C API and the C++ "
	       "layer are attached>");
	for (i = 0; i < n; i++)
		printf(" %s", cflags[i]);
	printf("\n");
	fputs(slowops_bpf_text, stdout);
}

static uint64_t counter(struct state *s, uint32_t which)
{
	uint64_t sum = 0;

	bpf_map_sum_u64(s->map_fds[MAP_COUNTERS], &which, &sum);
	return sum;
}

/* The stack of an event, outermost frame last; count of frames. */
static int read_stack(struct state *s, const struct slow_event *e,
		      char (*frames)[256], int max)
{
	uint64_t ips[STACK_DEPTH];
	char sym[200], mod[48];
	int32_t id = e->stack_id;
	int n = 0, i;

	if (id < 0 ||
	    bpf_map_get(s->map_fds[MAP_STACKS], &id, ips) != 0)
		return 0;
	bpf_map_del(s->map_fds[MAP_STACKS], &id);
	for (i = 0; i < STACK_DEPTH && ips[i] && n < max; i++) {
		symbolize(s->sym, (pid_t)e->pid, ips[i], sym, sizeof(sym), mod,
			  sizeof(mod));
		snprintf(frames[n++], 256, "%s (%s)", sym, mod);
	}
	return n;
}

static uint32_t fold_hash(const char *key)
{
	uint32_t h = 2166136261u;

	while (*key)
		h = (h ^ (unsigned char)*key++) * 16777619u;
	return h;
}

/* Add us to key's total: one hash probe sequence per event, not a scan. */
static void fold_add(struct state *s, const char *key, uint64_t us)
{
	uint32_t i = fold_hash(key) % FOLD_INDEX;
	int *slot;

	for (;; i = (i + 1) % FOLD_INDEX) {
		slot = &s->fold_index[i];
		if (!*slot)
			break;
		if (strcmp(s->folds[*slot - 1].key, key) == 0) {
			s->folds[*slot - 1].us += us;
			return;
		}
	}
	if (s->nfolds == FOLD_SLOTS) {
		s->fold_dropped++;
		return;
	}
	s->folds[s->nfolds].key = strdup(key);
	if (!s->folds[s->nfolds].key)
		return;
	s->folds[s->nfolds].us = us;
	*slot = ++s->nfolds;
}

static void fold_event(struct state *s, const struct slow_event *e,
		       char (*frames)[256], int n)
{
	char key[8192], *p;
	size_t used;
	int i;

	used = (size_t)snprintf(key, sizeof(key), "%.16s", e->comm);
	for (i = n - 1; i >= 0 && used < sizeof(key); i--) {
		p = strstr(frames[i], " (");
		used += (size_t)snprintf(key + used, sizeof(key) - used, ";%.*s",
					 p ? (int)(p - frames[i]) : 255,
					 frames[i]);
	}
	if (used < sizeof(key))
		snprintf(key + used, sizeof(key) - used, ";%s",
			 catalog_ops[e->op].name);
	for (p = key; *p; p++)
		if (*p == ' ' && strchr(p, ';'))
			*p = '_';
	fold_add(s, key, e->lat_ns / 1000);
}

static void print_event_table(struct state *s, const struct slow_event *e,
			       char (*frames)[256], int n)
{
	char ts[16], cf[12], kl[24], by[24];
	time_t secs;
	struct tm tm;
	int i;

	if (s->o.timestamp) {
		secs = (time_t)(((int64_t)e->ts_ns + s->wall_offset_ns) /
				1000000000);
		localtime_r(&secs, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		printf("%-8s ", ts);
	}
	snprintf(cf, sizeof(cf), e->cf_id == SLOW_NO_CF ? "-" : "%u", e->cf_id);
	snprintf(kl, sizeof(kl), e->klen ? "%llu" : "-",
		 (unsigned long long)e->klen);
	snprintf(by, sizeof(by), e->known ? "%llu" : "-",
		 (unsigned long long)e->bytes);
	printf("%-7u %-7u %-15.15s %-10s %9.3f %4s %6s %7s %s\n", e->pid,
	       e->tid, e->comm, catalog_ops[e->op].name,
	       (double)e->lat_ns / 1e6, cf, kl, by, e->err ? "yes" : "-");
	for (i = 0; i < n; i++)
		printf("        %s\n", frames[i]);
}

static void print_event_json(struct state *s, const struct slow_event *e,
			     char (*frames)[256], int n)
{
	int64_t wall = (int64_t)e->ts_ns + s->wall_offset_ns;
	int i;

	printf("{\"type\":\"event\",\"ts\":%lld.%09lld,\"pid\":%u,\"tid\":%u,"
	       "\"comm\":", (long long)(wall / 1000000000),
	       (long long)(wall % 1000000000), e->pid, e->tid);
	json_string(stdout, e->comm);
	printf(",\"op\":\"%s\",\"lat_ns\":%llu", catalog_ops[e->op].name,
	       (unsigned long long)e->lat_ns);
	if (e->cf_id == SLOW_NO_CF)
		printf(",\"cf\":null");
	else
		printf(",\"cf\":%u", e->cf_id);
	printf(e->klen ? ",\"klen\":%llu" : ",\"klen\":null",
	       (unsigned long long)e->klen);
	printf(e->known ? ",\"bytes\":%llu" : ",\"bytes\":null",
	       (unsigned long long)e->bytes);
	printf(",\"err\":%s", e->err ? "true" : "false");
	if (s->o.ustack) {
		printf(",\"stack\":[");
		for (i = 0; i < n; i++) {
			if (i)
				putchar(',');
			json_string(stdout, frames[i]);
		}
		putchar(']');
	}
	printf("}\n");
}

static int on_event(const void *data, size_t len, void *arg)
{
	static char frames[64][256];
	struct state *s = arg;
	struct slow_event e;
	int n = 0;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.op >= OP_COUNT)
		return 0;
	s->received++;
	if (!(s->ss.mask & (1u << e.op)))
		return 0;
	if (s->o.ustack || s->o.folded)
		n = read_stack(s, &e, frames, 64);
	if (s->o.folded)
		fold_event(s, &e, frames, n);
	else if (s->o.json)
		print_event_json(s, &e, frames, n);
	else
		print_event_table(s, &e, frames, n);
	return 0;
}

static void on_lost(uint64_t lost, void *arg)
{
	struct state *s = arg;

	s->perf_lost += lost;
}

static void check_lost(struct state *s)
{
	uint64_t lost = counter(s, CNT_LOST);

	if (lost == s->lost_seen)
		return;
	msg("%llu events lost: the buffer was full; raise --buffer-pages",
	    (unsigned long long)(lost - s->lost_seen));
	if (s->o.json)
		printf("{\"type\":\"lost\",\"lost\":%llu,\"total\":%llu}\n",
		       (unsigned long long)(lost - s->lost_seen),
		       (unsigned long long)lost);
	s->lost_seen = lost;
}

static void print_header(const struct state *s)
{
	if (s->o.json || s->o.folded)
		return;
	if (s->o.timestamp)
		printf("%-8s ", "TIME");
	printf("%-7s %-7s %-15s %-10s %9s %4s %6s %7s %s\n", "PID", "TID",
	       "COMM", "OP", "LAT(ms)", "CF", "KLEN", "BYTES", "ERR");
}

static void summary(struct state *s, const char *reason)
{
	uint64_t sent = counter(s, CNT_SENT), lost = counter(s, CNT_LOST);
	uint64_t under = counter(s, CNT_UNDER);
	int i;

	check_lost(s);
	for (i = 0; s->o.folded && i < s->nfolds; i++)
		printf("%s %llu\n", s->folds[i].key,
		       (unsigned long long)s->folds[i].us);
	if (s->o.json)
		printf("{\"type\":\"summary\",\"reason\":\"%s\",\"events\":%llu,"
		       "\"lost\":%llu,\"under_threshold\":%llu,"
		       "\"threshold_ns\":%llu}\n", reason,
		       (unsigned long long)s->received,
		       (unsigned long long)lost, (unsigned long long)under,
		       (unsigned long long)s->o.threshold_ns);
	fflush(stdout);
	msg("%llu events, %llu lost; %llu operations under the threshold",
	    (unsigned long long)s->received, (unsigned long long)lost,
	    (unsigned long long)under);
	if (sent != s->received)
		msg("%llu events were sent but %llu received",
		    (unsigned long long)sent, (unsigned long long)s->received);
	if (s->o.perf && s->perf_lost != lost)
		vmsg("the perf buffers reported %llu lost records",
		     (unsigned long long)s->perf_lost);
	if (s->fold_dropped)
		msg("%llu stacks beyond %d distinct ones were not folded",
		    (unsigned long long)s->fold_dropped, FOLD_SLOTS);
}

static int open_reader(struct state *s)
{
	int fd = s->map_fds[MAP_EVENTS], err;

	if (s->o.perf)
		err = events_open_perfbuf(&s->rd, fd, (int)s->o.pages, on_event,
					  on_lost, s);
	else
		err = events_open_ringbuf(&s->rd, fd, on_event, s);
	if (err)
		msg("cannot open the event buffer: %s", strerror(-err));
	return err;
}

/* Events are read in batches: after a wake-up that brought little (under
 * an eighth of the buffer) the loop sleeps BATCH_NS before reading again,
 * so a steady stream costs ~100 wake-ups a second rather than one per
 * event; when a wake-up brings more, it reads again at once, so a fast
 * stream does not fill the buffer while the loop sleeps.  Liveness, loss
 * and output flushing are checked every CHECK_NS. */
#define BATCH_NS 10000000ull
#define CHECK_NS 200000000ull
#define EVENT_BYTES 96		/* a ring record or perf sample, headers included */

static int run(struct state *s)
{
	uint64_t begin = mono_ns(), checked = 0, now;
	struct timespec batch = { 0, BATCH_NS };
	const char *reason = "signal";
	int rc = 0, n;

	for (;;) {
		n = events_poll(s->rd, (int)(CHECK_NS / 1000000));
		if (n < 0 && n != -EINTR) {
			msg("reading events: %s", strerror(-n));
			rc = 1;
			reason = "error";
			break;
		}
		if (stop_signal)
			break;
		now = mono_ns();
		if (now - checked >= CHECK_NS) {
			checked = now;
			fflush(stdout);
			check_lost(s);
			if (!target_alive(&s->ss.run.t)) {
				reason = "target exited";
				rc = 1;
				break;
			}
		}
		if (s->o.duration &&
		    now - begin >= (uint64_t)(s->o.duration * 1e9)) {
			reason = "duration";
			break;
		}
		if (n > 0 && (uint64_t)n * EVENT_BYTES <
				     s->o.pages * (uint64_t)getpagesize() / 8)
			nanosleep(&batch, NULL);
	}
	run_detach(&s->ss.run);
	events_drain(s->rd);
	summary(s, reason);
	if (rc && s->ss.run.t.pid && !target_alive(&s->ss.run.t))
		msg("process %d exited; stopping", s->ss.run.t.pid);
	return rc;
}

static void set_wall_offset(struct state *s)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	s->wall_offset_ns = ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000 +
			    (real.tv_nsec - mono.tv_nsec);
}

int main(int argc, char **argv)
{
	static struct state s;
	char buf[5][48];
	const char *cflags[5];
	int rc = 1, ncflags, nmaps;

	prog_name = "ckb-slowops";
	parse_opts(&s.o, &s.ss, argc, argv);
	if (s.o.ebpf) {
		print_ebpf(&s.o);
		return 0;
	}
	if (cli_privileged() != 0)
		return 1;
	cli_signals(on_signal, true);
	set_wall_offset(&s);
	ncflags = build_cflags(&s.o, buf, cflags);
	nmaps = s.o.ustack || s.o.folded ? NMAPS : NMAPS - 1;
	if (rocksdb_open(&s.ss) == 0 &&
	    rocksdb_load(&s.ss, slowops_bpf_text, cflags, ncflags) == 0 &&
	    run_maps(&s.ss.run, map_names, nmaps, s.map_fds) == 0 &&
	    (!(s.o.ustack || s.o.folded) || (s.sym = symbolizer_new())) &&
	    open_reader(&s) == 0 && run_attach(&s.ss.run) == 0) {
		rocksdb_announce(&s.ss, "slow operations");
		print_header(&s);
		rc = run(&s);
	}
	rocksdb_close(&s.ss);
	events_close(s.rd);
	symbolizer_free(s.sym);
	for (int i = 0; i < s.nfolds; i++)
		free(s.folds[i].key);
	return rc;
}
