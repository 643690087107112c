/* ckb-rdblat: per-operation RocksDB latency of a live process. */
#include <errno.h>
#include <getopt.h>
#include <linux/types.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../programs/rdblat.h"
#include "../src/bpfsys.h"
#include "../src/catalog.h"
#include "../src/cli.h"
#include "../src/histo.h"
#include "../src/report.h"
#include "../src/rocksdb.h"
#include "../src/unprobed.h"
#include "../src/util.h"
#include "rdblat.bpf.inc"


static const char usage_text[] =
"USAGE: ckb-rdblat [-p PID] [-b PATH] [-i SEC] [-d SEC] [-o OPS] [-T] [-m|-u]\n"
"                  [-e] [-j] [-H] [-v] [--ebpf] [interval [count]]\n"
"\n"
"Per-operation RocksDB latency of a running node: count, ops/s, avg, p50,\n"
"p99, max and bytes for each operation seen, every interval.\n"
"\n"
"  -p, --pid PID       trace this process only: its executable and every\n"
"                      object it maps that holds RocksDB\n"
"  -b, --binary PATH   trace every process running this executable or\n"
"                      mapping this shared library or plugin; with -p,\n"
"                      only this object, in that process\n"
"                      (neither: the one process named \"ckb\")\n"
"  -i, --interval SEC  seconds between reports (default 1)\n"
"  -d, --duration SEC  stop after SEC seconds\n"
"  -o, --ops LIST      only these operations, comma separated:\n"
"                      GET,TXN_GET,TXN_GET_FOR_UPDATE,PUT,TXN_PUT,DELETE,\n"
"                      TXN_DELETE,WRITE,TXN_COMMIT,TXN_ROLLBACK,ITER,\n"
"                      ITER_SEEK,ITER_NEXT,INGEST,FLUSH,COMPACTION,\n"
"                      STALL_DELAY,STALL_STOP (STALL: both; all: every\n"
"                      one; ITER_NEXT is off unless named here)\n"
"  -T, --timestamp     print the wall-clock time above each report\n"
"  -m, --milliseconds  latencies in milliseconds\n"
"  -u, --microseconds  latencies in microseconds (the default)\n"
"  -e, --outcomes      add HIT, MISS and ERR columns to the table\n"
"  -j, --json          JSON lines (latencies always in nanoseconds)\n"
"  -H, --histogram     add a latency histogram per operation\n"
"  -v, --verbose       show the resolved symbols, offsets and compiler output\n"
"      --ebpf          print the BPF program and its parameters, and exit\n"
"  -h, --help          this text\n"
"\n"
"  interval [count]    as -i, and stop after count reports\n"
"\n"
"EXAMPLES:\n"
"  ckb-rdblat -p $(pgrep -x ckb)       # table every second until Ctrl-C\n"
"  ckb-rdblat -p PID -H 5 3            # histograms, 3 reports of 5 s\n"
"  ckb-rdblat -p PID -j | jq .         # JSON lines\n"
"  ckb-rdblat -b /usr/local/bin/ckb    # every process running that binary\n"
"  ckb-rdblat -o TXN_GET,TXN_COMMIT    # two operations of the ckb process\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

struct opts {
	double interval;
	double duration;
	uint64_t count;
	bool timestamp;
	bool json;
	bool hist;
	bool ebpf;
	bool outcomes;
	double div;
	const char *unit;
};

static const char *const map_names[] = { "hist", "maxv", "drops" };
enum { MAP_HIST, MAP_MAXV, MAP_DROPS, NMAPS };

struct state {
	struct opts o;
	struct rocksdb_run ss;
	int map_fds[NMAPS];
	int ncpus;
	struct op_hist *percpu;		/* ncpus values */
	struct op_hist prev[OP_COUNT];
	struct op_hist total[OP_COUNT];
	uint64_t drops_seen[DROP_COUNT];
	uint64_t intervals;
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
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'o' },
		{ "timestamp", no_argument, NULL, 'T' },
		{ "milliseconds", no_argument, NULL, 'm' },
		{ "microseconds", no_argument, NULL, 'u' },
		{ "outcomes", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "histogram", no_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ebpf", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->interval = 1;
	o->div = 1e3;
	o->unit = "us";
	ss->mask = catalog_default_mask();
	while ((c = getopt_long(argc, argv, "p:b:i:d:o:TmuejHvh", longs,
				NULL)) != -1) {
		if (rocksdb_opt(ss, c, optarg))
			continue;
		switch (c) {
		case 'i':
			o->interval = cli_seconds("interval", optarg);
			break;
		case 'd':
			o->duration = cli_seconds("duration", optarg);
			break;
		case 'T': o->timestamp = true; break;
		case 'm': o->div = 1e6; o->unit = "ms"; break;
		case 'u': o->div = 1e3; o->unit = "us"; break;
		case 'e': o->outcomes = true; break;
		case 'j': o->json = true; break;
		case 'H': o->hist = true; break;
		case 'v': verbose = 1; break;
		case 'E': o->ebpf = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "%s: see ckb-rdblat --help\n", prog_name);
			exit(EXIT_USAGE);
		}
	}
	rocksdb_opts_check(ss);
	if (optind < argc)
		o->interval = cli_seconds("interval", argv[optind++]);
	if (optind < argc &&
	    parse_u64(argv[optind++], 1, UINT64_MAX, &o->count) != 0)
		usage_fail("bad count '%s': want a whole number >= 1",
			    argv[optind - 1]);
	if (optind < argc)
		usage_fail("unexpected argument '%s'", argv[optind]);
}

static void print_ebpf(void)
{
	printf("// cflags: -DDEDUP=<0, or 1 when entry points of one operation "
	       "can nest (any C++ layer attached)>\n");
	fputs(rdblat_bpf_text, stdout);
}

static int read_hists(struct state *s, struct op_hist *now)
{
	uint32_t op;
	int c, k, err;

	memset(now, 0, sizeof(*now) * OP_COUNT);
	for (op = 0; op < OP_COUNT; op++) {
		err = bpf_map_get(s->map_fds[MAP_HIST], &op, s->percpu);
		if (err)
			return err;
		for (c = 0; c < s->ncpus; c++) {
			const struct op_hist *h = &s->percpu[c];

			now[op].count += h->count;
			now[op].sum_ns += h->sum_ns;
			now[op].bytes += h->bytes;
			now[op].bytes_known += h->bytes_known;
			now[op].items += h->items;
			for (k = 0; k < 4; k++)
				now[op].outcome[k] += h->outcome[k];
			for (k = 0; k < HIST_NBUCKETS; k++)
				now[op].slot[k] += h->slot[k];
		}
	}
	return 0;
}

/* The largest latency since the last call, per op; resets it. */
static void read_max(struct state *s, uint64_t *max)
{
	uint32_t op;

	for (op = 0; op < OP_COUNT; op++)
		bpf_map_max_u64(s->map_fds[MAP_MAXV], &op, &max[op], true);
}

static void read_drops(struct state *s, uint64_t *drops)
{
	uint32_t i;

	for (i = 0; i < DROP_COUNT; i++)
		bpf_map_sum_u64(s->map_fds[MAP_DROPS], &i, &drops[i]);
}

static void delta(struct op_hist *d, const struct op_hist *now,
		  const struct op_hist *prev)
{
	int k;

	d->count = now->count - prev->count;
	d->sum_ns = now->sum_ns - prev->sum_ns;
	d->bytes = now->bytes - prev->bytes;
	d->bytes_known = now->bytes_known - prev->bytes_known;
	d->items = now->items - prev->items;
	for (k = 0; k < 4; k++)
		d->outcome[k] = now->outcome[k] - prev->outcome[k];
	for (k = 0; k < HIST_NBUCKETS; k++)
		d->slot[k] = now->slot[k] - prev->slot[k];
}

/* An interpolated percentile never exceeds the largest value seen. */
static double pct(const struct op_hist *d, uint64_t max, double p)
{
	double v = hist_percentile(d->slot, HIST_NBUCKETS, p);

	return max && v > (double)max ? (double)max : v;
}

/* The HIT, MISS and ERR cells of an op, "-" where it has none. */
static void outcome_cells(const struct op_hist *d, int op, char cells[3][24])
{
	enum results r = catalog_ops[op].results;

	snprintf(cells[0], 24, "-");
	snprintf(cells[1], 24, "-");
	snprintf(cells[2], 24, "-");
	if (r == RESULTS_READ) {
		snprintf(cells[0], 24, "%llu",
			 (unsigned long long)d->outcome[OUT_OK]);
		snprintf(cells[1], 24, "%llu",
			 (unsigned long long)d->outcome[OUT_MISS]);
	}
	if (r != RESULTS_NONE)
		snprintf(cells[2], 24, "%llu",
			 (unsigned long long)d->outcome[OUT_ERROR]);
}

static void print_table(const struct state *s, const struct op_hist *d,
			const uint64_t *max, double secs)
{
	char avg[16], p50[16], p99[16], mx[16], by[16], ts[16], cells[3][24];
	char names[512];
	uint32_t unprobed = rocksdb_unprobed(&s->ss);
	bool any = false;
	int op;

	if (s->o.timestamp) {
		fmt_wallclock(ts, sizeof(ts));
		printf("%s\n", ts);
	}
	for (op = 0; op < OP_COUNT; op++) {
		if (!(s->ss.mask & (1u << op)) || !d[op].count)
			continue;
		if (!any) {
			printf("%-18s %7s %8s %7s %7s %7s %7s %7s", "OP",
			       "COUNT", "OPS/S", "AVG", "P50", "P99", "MAX",
			       "BYTES");
			if (s->o.outcomes)
				printf(" %7s %7s %5s", "HIT", "MISS", "ERR");
			printf("\n");
		}
		any = true;
		fmt_latency(avg, sizeof(avg),
			    (double)d[op].sum_ns / (double)d[op].count,
			    s->o.div);
		fmt_latency(p50, sizeof(p50), pct(&d[op], max[op], 50),
			    s->o.div);
		fmt_latency(p99, sizeof(p99), pct(&d[op], max[op], 99),
			    s->o.div);
		fmt_latency(mx, sizeof(mx), (double)max[op], s->o.div);
		if (d[op].bytes_known)
			fmt_bytes(by, sizeof(by), d[op].bytes);
		else
			strcpy(by, "-");
		printf("%-18s %7llu %8.1f %7s %7s %7s %7s %7s",
		       catalog_ops[op].name, (unsigned long long)d[op].count,
		       (double)d[op].count / secs, avg, p50, p99, mx, by);
		if (s->o.outcomes) {
			outcome_cells(&d[op], op, cells);
			printf(" %7s %7s %5s", cells[0], cells[1], cells[2]);
		}
		printf("\n");
	}
	if (!any)
		printf("no RocksDB operations in the last %.1f s\n", secs);
	else
		printf("%-18s latencies in %s\n", "", s->o.unit);
	if (unprobed) {
		catalog_op_list(unprobed, ", ", names, sizeof(names));
		printf("%-18s not probed: %s\n", "", names);
	}
	if (s->o.hist) {
		for (op = 0; op < OP_COUNT; op++) {
			if (!(s->ss.mask & (1u << op)) || !d[op].count)
				continue;
			printf("\n%s latency (%s):\n", catalog_ops[op].name,
			       s->o.unit);
			hist_print_log2(stdout, d[op].slot, HIST_NBUCKETS,
					s->o.unit, s->o.div);
		}
	}
	printf("\n");
}

/* ,"hits":N,"misses":N,"errors":N as far as the op has them, and its
 * item count under the op's own name ("files", "keys"). */
static void json_details(const struct op_hist *d, int op)
{
	enum results r = catalog_ops[op].results;

	if (r == RESULTS_READ)
		printf(",\"hits\":%llu,\"misses\":%llu",
		       (unsigned long long)d->outcome[OUT_OK],
		       (unsigned long long)d->outcome[OUT_MISS]);
	if (r != RESULTS_NONE)
		printf(",\"errors\":%llu",
		       (unsigned long long)d->outcome[OUT_ERROR]);
	if (catalog_ops[op].items)
		printf(",\"%s\":%llu", catalog_ops[op].items,
		       (unsigned long long)d->items);
}

static void print_json(const struct state *s, const struct op_hist *d,
		       const uint64_t *max, double secs)
{
	struct timeval tv;
	uint32_t k;
	int op;
	bool first;

	gettimeofday(&tv, NULL);
	for (op = 0; op < OP_COUNT; op++) {
		if (!(s->ss.mask & (1u << op)) || !d[op].count)
			continue;
		printf("{\"type\":\"interval\",\"ts\":%ld.%06ld,"
		       "\"interval_s\":%.3f,\"op\":\"%s\",\"count\":%llu,"
		       "\"ops_per_s\":%.1f,\"avg_ns\":%.0f,\"p50_ns\":%.0f,"
		       "\"p99_ns\":%.0f,\"max_ns\":%llu,",
		       (long)tv.tv_sec, (long)tv.tv_usec, secs,
		       catalog_ops[op].name, (unsigned long long)d[op].count,
		       (double)d[op].count / secs,
		       (double)d[op].sum_ns / (double)d[op].count,
		       pct(&d[op], max[op], 50), pct(&d[op], max[op], 99),
		       (unsigned long long)max[op]);
		if (d[op].bytes_known)
			printf("\"bytes\":%llu",
			       (unsigned long long)d[op].bytes);
		else
			printf("\"bytes\":null");
		json_details(&d[op], op);
		printf("}\n");
		if (!s->o.hist)
			continue;
		printf("{\"type\":\"hist\",\"op\":\"%s\",\"unit\":\"ns\","
		       "\"buckets\":[", catalog_ops[op].name);
		first = true;
		for (k = 0; k < HIST_NBUCKETS; k++) {
			if (!d[op].slot[k])
				continue;
			printf("%s[%llu,%llu,%llu]", first ? "" : ",",
			       (unsigned long long)hist_low(k),
			       (unsigned long long)hist_high(k),
			       (unsigned long long)d[op].slot[k]);
			first = false;
		}
		printf("]}\n");
	}
}

static int report(struct state *s, double secs)
{
	static struct op_hist now[OP_COUNT], d[OP_COUNT];
	uint64_t max[OP_COUNT];
	int op, err;

	err = read_hists(s, now);
	if (err) {
		msg("cannot read BPF maps: %s", strerror(-err));
		return err;
	}
	read_max(s, max);
	for (op = 0; op < OP_COUNT; op++)
		delta(&d[op], &now[op], &s->prev[op]);
	memcpy(s->prev, now, sizeof(now));
	memcpy(s->total, now, sizeof(now));
	s->intervals++;
	if (s->o.json)
		print_json(s, d, max, secs);
	else
		print_table(s, d, max, secs);
	return out_flush();
}

static void summary(struct state *s, const char *reason)
{
	uint64_t drops[DROP_COUNT];
	uint32_t unprobed = rocksdb_unprobed(&s->ss);
	int op;
	bool first = true;

	read_drops(s, drops);
	if (s->o.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\","
		       "\"intervals\":%llu,\"counts\":{", reason,
		       (unsigned long long)s->intervals);
		for (op = 0; op < OP_COUNT; op++) {
			if (!(s->ss.mask & (1u << op)))
				continue;
			printf("%s\"%s\":", first ? "" : ",",
			       catalog_ops[op].name);
			if (unprobed & (1u << op))
				printf("null");
			else
				printf("%llu", (unsigned long long)
				       s->total[op].count);
			first = false;
		}
		printf("},\"unmatched_returns\":%llu,\"lost_map_full\":%llu,"
		       "\"lost_tally_full\":%llu}\n",
		       (unsigned long long)drops[DROP_NO_START],
		       (unsigned long long)drops[DROP_START_FULL],
		       (unsigned long long)drops[DROP_PENDING_FULL]);
		fflush(stdout);
	}
	if (drops[DROP_START_FULL] || drops[DROP_PENDING_FULL])
		msg("%llu calls were not timed and %llu byte tallies lost: "
		    "the in-flight maps were full",
		    (unsigned long long)drops[DROP_START_FULL],
		    (unsigned long long)drops[DROP_PENDING_FULL]);
	if (drops[DROP_NO_START])
		vmsg("%llu calls already running when the probes were "
		     "attached were not timed",
		     (unsigned long long)drops[DROP_NO_START]);
}

static void announce(const struct state *s)
{
	int op;
	bool first = true;

	rocksdb_announce(&s->ss, "latency");
	if (!s->o.json)
		return;
	printf("{\"type\":\"start\",\"pid\":%d,\"binary\":", (int)s->ss.run.t.pid);
	json_string(stdout, s->ss.run.t.exe_shown);
	printf(",\"layer\":\"%s\",\"probes\":%d,\"ops\":[",
	       layer_choice_name(s->ss.r.choice), s->ss.run.ps.n);
	for (op = 0; op < OP_COUNT; op++) {
		if (!rocksdb_has_op(&s->ss, op))
			continue;
		printf("%s\"%s\"", first ? "" : ",", catalog_ops[op].name);
		first = false;
	}
	printf("]");
	rocksdb_json_unprobed(&s->ss, stdout);
	printf("}\n");
	fflush(stdout);
}

/* Run until a signal, the count, the duration, the target's exit or
 * exec, or an output that cannot be written. */
static int run(struct state *s)
{
	uint64_t begin = mono_ns(), last = begin, now, period;
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	const struct target *t = &s->ss.run.t;
	const char *reason = NULL;

	period = (uint64_t)(s->o.interval * 1e9);
	for (;;) {
		nanosleep(&nap, NULL);
		now = mono_ns();
		if (stop_signal)
			break;
		reason = run_over(t, begin, s->o.duration);
		if (reason)
			break;
		if (now - last < period)
			continue;
		if (report(s, (double)(now - last) / 1e9) != 0)
			return out_flush() ? run_end(t, NULL) : 1;
		last = now;
		if (s->o.count && s->intervals >= s->o.count) {
			summary(s, "count");
			return run_end(t, "count");
		}
	}
	if (!reason)
		reason = "signal";
	if (strcmp(reason, "output closed") == 0)
		return run_end(t, reason);
	now = mono_ns();
	if (now - last > 1000000 && report(s, (double)(now - last) / 1e9) != 0)
		return out_flush() ? run_end(t, NULL) : 1;
	summary(s, reason);
	return run_end(t, reason);
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc = 1;

	prog_name = "ckb-rdblat";
	parse_opts(&s.o, &s.ss, argc, argv);
	if (s.o.ebpf) {
		print_ebpf();
		return 0;
	}
	if (cli_privileged() != 0)
		return 1;
	cli_signals(on_signal, false);

	s.ncpus = bpf_ncpus();
	if (s.ncpus <= 0) {
		msg("cannot read the number of possible CPUs");
		return 1;
	}
	s.percpu = calloc((size_t)s.ncpus, sizeof(*s.percpu));
	if (s.percpu && rocksdb_open(&s.ss) == 0 &&
	    rocksdb_load(&s.ss, rdblat_bpf_text, NULL, 0) == 0 &&
	    run_maps(&s.ss.run, map_names, NMAPS, s.map_fds) == 0 && run_attach(&s.ss.run) == 0) {
		announce(&s);
		rc = run(&s);
	}
	rocksdb_close(&s.ss);
	free(s.percpu);
	return rc;
}
