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
#include "../src/duty.h"
#include "../src/follow.h"
#include "../src/histo.h"
#include "../src/prom.h"
#include "../src/report.h"
#include "../src/rocksdb.h"
#include "../src/unprobed.h"
#include "../src/util.h"
#include "rdblat.bpf.inc"


static const char usage_text[] =
"USAGE: ckb-rdblat [-p PID] [-b PATH] [-i SEC] [-d SEC] [-o OPS] [-T] [-m|-u]\n"
"                  [-e] [-j] [-H] [-v] [--follow] [--prometheus ADDR:PORT]\n"
"                  [--duty PCT] [--ebpf] [interval [count]]\n"
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
"      --follow        when the process exits, wait for the next one of the\n"
"                      same executable (or named ckb) and trace it; counts\n"
"                      carry on (not with -b)\n"
"      --prometheus ADDR:PORT  serve /metrics for Prometheus there\n"
"      --duty PCT      probes attached for PCT% of every interval (1-99), at\n"
"                      a random moment; counts are extrapolated estimates\n"
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
"  ckb-rdblat --follow --prometheus 127.0.0.1:9435 -i 10 > /dev/null\n"
"                                      # a service: survive node restarts\n"
"  ckb-rdblat -p PID --duty 10         # 10% of the time, estimated counts\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited (without --follow), 2 bad usage.\n";

struct opts {
	struct cli_report r;
	bool outcomes;
	bool follow;
	const char *prom_addr;
	unsigned duty;
};

static const char *const map_names[] = { "hist", "maxv", "drops" };
enum { MAP_HIST, MAP_MAXV, MAP_DROPS, NMAPS };

struct state {
	struct opts o;
	struct rocksdb_run ss;
	int map_fds[NMAPS];
	int ncpus;
	struct op_hist *percpu;		/* ncpus values */
	struct op_hist prev[OP_COUNT];	/* the maps at the last report */
	struct op_hist now[OP_COUNT];	/* scratch: the maps now */
	struct op_hist d[OP_COUNT];	/* scratch: differences */
	uint64_t intervals;
	/* --follow */
	bool following;			/* by name or PID, not by file */
	struct follow fl;
	bool waiting;			/* the process is gone, no new one yet */
	uint64_t next_find_ns;
	uint64_t untraced_ns;		/* to report with the next interval */
	pid_t gone_pid;
	/* --prometheus: the current process's series count from base; the
	 * previous process's final values stay exported until the next
	 * restart, so that a scrape after the restart still sees them */
	struct prom *prom;
	struct op_hist base[OP_COUNT];
	struct op_hist last_final[OP_COUNT];
	pid_t last_pid;
	uint64_t last_until_ns;		/* exported until then */
	/* --duty */
	struct duty duty;
	uint64_t traced_at_report;
	uint64_t traced_total_ns;	/* attached time, for the summary */
	uint64_t begin_ns;
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
		{ "ops", required_argument, NULL, 'o' },
		{ "outcomes", no_argument, NULL, 'e' },
		{ "follow", no_argument, NULL, 'F' },
		{ "prometheus", required_argument, NULL, 'P' },
		{ "duty", required_argument, NULL, 'Y' },
		CLI_REPORT_LONGS,
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_storage sa;
	socklen_t salen;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	cli_report_init(&o->r);
	ss->mask = catalog_default_mask();
	while ((c = getopt_long(argc, argv, "p:b:i:d:o:TmuejHvh", longs,
				NULL)) != -1) {
		if (rocksdb_opt(ss, c, optarg) ||
		    cli_report_opt(&o->r, c, optarg, usage_text, "eFPY"))
			continue;
		switch (c) {
		case 'e': o->outcomes = true; break;
		case 'F': o->follow = true; break;
		case 'P':
			if (prom_parse_addr(optarg, &sa, &salen) != 0)
				usage_fail("bad --prometheus address '%s': want "
					    "ADDR:PORT, e.g. 127.0.0.1:9435",
					    optarg);
			o->prom_addr = optarg;
			break;
		case 'Y':
			if (parse_u64(optarg, 1, 99, &v) != 0)
				usage_fail("bad --duty '%s': want a percentage "
					    "from 1 to 99", optarg);
			o->duty = (unsigned)v;
			break;
		}
	}
	rocksdb_opts_check(ss);
	if (o->follow && ss->topt.binary)
		usage_fail("--follow is for -p or the default process; -b "
			    "already traces processes started later");
	cli_report_args(&o->r, argc, argv);
	if (o->duty && o->r.interval * o->duty / 100 < 0.01)
		usage_fail("--duty %u of a %g s interval is under 10 ms; raise "
			    "the interval or the percentage", o->duty,
			    o->r.interval);
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

/* What one interval reports besides the histograms. */
struct interval {
	double secs;
	double frac;		/* share of it traced (--duty), else 1 */
	bool estimated;
	uint64_t untraced_ms;	/* not traced before a re-attach */
	pid_t pid;
};

static void print_table(const struct state *s, const struct op_hist *d,
			const uint64_t *max, const struct interval *iv)
{
	char avg[16], p50[16], p99[16], mx[16], by[16], ts[16], cnt[24];
	char rate[24], cells[3][24], names[512];
	const char *est = iv->estimated ? "~" : "";
	uint32_t unprobed = rocksdb_unprobed(&s->ss);
	bool any = false;
	int op;

	if (s->o.r.timestamp) {
		fmt_wallclock(ts, sizeof(ts));
		printf("%s\n", ts);
	}
	if (iv->untraced_ms)
		printf("(%llu ms not traced: PID %d exited, PID %d attached)\n",
		       (unsigned long long)iv->untraced_ms, s->gone_pid,
		       iv->pid);
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
			    s->o.r.div);
		fmt_latency(p50, sizeof(p50), pct(&d[op], max[op], 50),
			    s->o.r.div);
		fmt_latency(p99, sizeof(p99), pct(&d[op], max[op], 99),
			    s->o.r.div);
		fmt_latency(mx, sizeof(mx), (double)max[op], s->o.r.div);
		by[0] = '\0';
		if (d[op].bytes_known) {
			strcpy(by, est);
			fmt_bytes(by + strlen(by), sizeof(by) - 1,
				  (uint64_t)((double)d[op].bytes / iv->frac));
		} else {
			strcpy(by, "-");
		}
		snprintf(cnt, sizeof(cnt), "%s%.0f", est,
			 (double)d[op].count / iv->frac);
		snprintf(rate, sizeof(rate), "%s%.1f", est,
			 (double)d[op].count / iv->frac / iv->secs);
		printf("%-18s %7s %8s %7s %7s %7s %7s %7s",
		       catalog_ops[op].name, cnt, rate, avg, p50, p99, mx, by);
		if (s->o.outcomes) {
			outcome_cells(&d[op], op, cells);
			printf(" %7s %7s %5s", cells[0], cells[1], cells[2]);
		}
		printf("\n");
	}
	if (!any && s->waiting)
		printf("no RocksDB operations in the last %.1f s: process %d "
		       "exited, waiting for the next one\n", iv->secs,
		       s->gone_pid);
	else if (!any)
		printf("no RocksDB operations in the last %.1f s\n", iv->secs);
	else if (iv->estimated)
		printf("%-18s latencies in %s; ~ estimated from %.0f%% of the "
		       "time\n", "", s->o.r.unit, iv->frac * 100);
	else
		printf("%-18s latencies in %s\n", "", s->o.r.unit);
	if (unprobed) {
		catalog_op_list(unprobed, ", ", names, sizeof(names));
		printf("%-18s not probed: %s\n", "", names);
	}
	if (s->o.r.hist) {
		for (op = 0; op < OP_COUNT; op++) {
			if (!(s->ss.mask & (1u << op)) || !d[op].count)
				continue;
			printf("\n%s latency (%s):\n", catalog_ops[op].name,
			       s->o.r.unit);
			hist_print_log2(stdout, d[op].slot, HIST_NBUCKETS,
					s->o.r.unit, s->o.r.div);
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

/* JSON lines of the interval; how many. */
static int print_json(const struct state *s, const struct op_hist *d,
		      const uint64_t *max, const struct interval *iv)
{
	int rows = 0;
	struct timeval tv;
	uint32_t k;
	int op;
	bool first;

	gettimeofday(&tv, NULL);
	for (op = 0; op < OP_COUNT; op++) {
		if (!(s->ss.mask & (1u << op)) || !d[op].count)
			continue;
		printf("{\"type\":\"interval\",\"ts\":%ld.%06ld,"
		       "\"interval_s\":%.3f,", (long)tv.tv_sec,
		       (long)tv.tv_usec, iv->secs);
		if (iv->pid)
			printf("\"pid\":%d,", iv->pid);
		printf("\"op\":\"%s\",\"count\":%.0f,"
		       "\"ops_per_s\":%.1f,\"avg_ns\":%.0f,\"p50_ns\":%.0f,"
		       "\"p99_ns\":%.0f,\"max_ns\":%llu,",
		       catalog_ops[op].name, (double)d[op].count / iv->frac,
		       (double)d[op].count / iv->frac / iv->secs,
		       (double)d[op].sum_ns / (double)d[op].count,
		       pct(&d[op], max[op], 50), pct(&d[op], max[op], 99),
		       (unsigned long long)max[op]);
		if (d[op].bytes_known)
			printf("\"bytes\":%.0f", (double)d[op].bytes / iv->frac);
		else
			printf("\"bytes\":null");
		json_details(&d[op], op);
		if (iv->estimated)
			printf(",\"estimated\":true,\"traced_fraction\":%.4f,"
			       "\"traced_count\":%llu", iv->frac,
			       (unsigned long long)d[op].count);
		if (iv->untraced_ms)
			printf(",\"untraced_ms\":%llu",
			       (unsigned long long)iv->untraced_ms);
		printf("}\n");
		rows++;
		if (!s->o.r.hist)
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
	return rows;
}

static uint64_t traced_ns(const struct state *s, uint64_t now)
{
	return s->o.duty ? duty_traced_ns(&s->duty, now) : 0;
}

/* The interval that ends now: secs long, for the process traced (or the
 * one that just went away). */
static int report(struct state *s, double secs, uint64_t now_ns)
{
	struct op_hist *now = s->now, *d = s->d;
	struct interval iv = { .secs = secs, .frac = 1,
			       .pid = s->waiting ? s->gone_pid : s->ss.run.t.pid };
	uint64_t max[OP_COUNT], traced;
	int op, err;

	/* --duty: returns seen while the probes were being detached, in an
	 * interval with no traced time, wait for the next one */
	traced = traced_ns(s, now_ns);
	if (s->o.duty && traced == s->traced_at_report)
		return 0;
	err = read_hists(s, now);
	if (err) {
		msg("cannot read BPF maps: %s", strerror(-err));
		return err;
	}
	read_max(s, max);
	for (op = 0; op < OP_COUNT; op++)
		delta(&d[op], &now[op], &s->prev[op]);
	memcpy(s->prev, now, sizeof(s->now));
	s->intervals++;
	if (s->o.duty) {
		iv.estimated = true;
		iv.frac = (double)(traced - s->traced_at_report) / 1e9 / secs;
		s->traced_at_report = traced;
		if (iv.frac > 1)
			iv.frac = 1;
	}
	if (!s->waiting)
		iv.untraced_ms = s->untraced_ns / 1000000;
	/* the gap goes with the first interval that shows something */
	if (s->o.r.json ? print_json(s, d, max, &iv) > 0 :
			(print_table(s, d, max, &iv), true))
		s->untraced_ns = s->waiting ? s->untraced_ns : 0;
	return out_flush();
}

static void summary(struct state *s, const char *reason)
{
	uint64_t drops[DROP_COUNT], traced = traced_ns(s, mono_ns());
	uint32_t unprobed = rocksdb_unprobed(&s->ss);
	double frac = 1, el;
	int op;
	bool first = true;

	read_drops(s, drops);
	if (s->o.duty) {
		el = (double)(mono_ns() - s->begin_ns);
		frac = el > 0 ? (double)traced / el : 1;
		if (frac <= 0)
			frac = 1;
	}
	if (s->o.r.json) {
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
				printf("%.0f", (double)s->prev[op].count / frac);
			first = false;
		}
		printf("}");
		if (s->o.duty) {
			printf(",\"estimated\":true,\"traced_fraction\":%.4f,"
			       "\"traced_counts\":{", frac);
			first = true;
			for (op = 0; op < OP_COUNT; op++) {
				if (!(s->ss.mask & (1u << op)))
					continue;
				printf("%s\"%s\":%llu", first ? "" : ",",
				       catalog_ops[op].name,
				       (unsigned long long)s->prev[op].count);
				first = false;
			}
			printf("}");
		}
		if (s->following)
			printf(",\"restarts\":%llu,\"untraced_ms\":%llu",
			       (unsigned long long)s->fl.restarts,
			       (unsigned long long)(s->fl.untraced_ns / 1000000));
		printf(",\"unmatched_returns\":%llu,\"lost_map_full\":%llu,"
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
	if (!s->o.r.json)
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
	if (s->following)
		printf(",\"follow\":true,\"build_id\":\"%s\"", s->fl.build_id);
	if (s->o.duty)
		printf(",\"duty_pct\":%u", s->o.duty);
	if (s->o.prom_addr) {
		printf(",\"prometheus\":");
		json_string(stdout, s->o.prom_addr);
	}
	printf("}\n");
	fflush(stdout);
}

/* ---- Prometheus ---- */

static void prom_op_series(struct prom_buf *b, const char *name, int pid,
			   const struct op_hist *h, int which)
{
	char labels[64];
	int op;

	for (op = 0; op < OP_COUNT; op++) {
		if (!h[op].count)
			continue;
		snprintf(labels, sizeof(labels), "op=\"%s\",pid=\"%d\"",
			 catalog_ops[op].name, pid);
		if (which == 0)
			prom_histogram(b, name, labels, h[op].slot,
				       h[op].sum_ns);
		else if (which == 1)
			prom_printf(b, "%s{%s} %llu\n", name, labels,
				    (unsigned long long)h[op].count);
		else if (h[op].bytes_known)
			prom_printf(b, "%s{%s} %llu\n", name, labels,
				    (unsigned long long)h[op].bytes);
	}
}

static void prom_fill(struct prom_buf *b, void *arg)
{
	static const char *const fams[3][3] = {
		{ "ckbtrace_rocksdb_op_duration_seconds", "histogram",
		  "Latency of RocksDB operations, per operation and process." },
		{ "ckbtrace_rocksdb_ops_total", "counter",
		  "RocksDB operations traced, per operation and process." },
		{ "ckbtrace_rocksdb_bytes_total", "counter",
		  "Bytes read or written by RocksDB operations traced." },
	};
	struct state *s = arg;
	struct op_hist *now = s->now, *cur = s->d;
	uint64_t drops[DROP_COUNT], t = mono_ns();
	int op, f;

	if (read_hists(s, now) != 0) {
		b->failed = true;
		return;
	}
	for (op = 0; op < OP_COUNT; op++)
		delta(&cur[op], &now[op], &s->base[op]);
	read_drops(s, drops);
	for (f = 0; f < 3; f++) {
		prom_family(b, fams[f][0], fams[f][1], fams[f][2]);
		if (s->last_pid && t < s->last_until_ns)
			prom_op_series(b, fams[f][0], s->last_pid,
				       s->last_final, f);
		if (!s->waiting)
			prom_op_series(b, fams[f][0], s->ss.run.t.pid, cur, f);
	}
	prom_family(b, "ckbtrace_lost_events_total", "counter",
		    "Operations that could not be timed or counted in full.");
	prom_printf(b, "ckbtrace_lost_events_total{reason=\"start_map_full\"} "
		    "%llu\nckbtrace_lost_events_total{reason=\"tally_map_full\"}"
		    " %llu\n", (unsigned long long)drops[DROP_START_FULL],
		    (unsigned long long)drops[DROP_PENDING_FULL]);
	prom_family(b, "ckbtrace_unmatched_returns_total", "counter",
		    "Returns whose call began before the probes were attached.");
	prom_printf(b, "ckbtrace_unmatched_returns_total %llu\n",
		    (unsigned long long)drops[DROP_NO_START]);
	prom_family(b, "ckbtrace_target_info", "gauge",
		    "The process traced now (none while waiting); always 1.");
	if (!s->waiting) {
		prom_printf(b, "ckbtrace_target_info{pid=\"%d\",binary=\"",
			    s->ss.run.t.pid);
		for (const char *c = s->ss.run.t.exe_shown; *c; c++)
			prom_printf(b, "%s", *c == '"' ? "\\\"" :
				    *c == '\\' ? "\\\\" : *c == '\n' ? "\\n" :
				    (char[2]){ *c, 0 });
		prom_printf(b, "\",build_id=\"%s\"} 1\n", s->fl.build_id);
	}
	prom_family(b, "ckbtrace_target_restarts_total", "counter",
		    "Processes traced after the first one (--follow).");
	prom_printf(b, "ckbtrace_target_restarts_total %llu\n",
		    (unsigned long long)s->fl.restarts);
	prom_family(b, "ckbtrace_untraced_seconds_total", "counter",
		    "Time between a traced process exiting and the next one "
		    "being attached.");
	prom_printf(b, "ckbtrace_untraced_seconds_total %.3f\n",
		    (double)(s->fl.untraced_ns +
			     (s->waiting ? t - s->fl.gone_ns : 0)) / 1e9);
	if (s->o.duty) {
		prom_family(b, "ckbtrace_traced_seconds_total", "counter",
			    "Time the probes were attached (--duty); operation "
			    "rates over its rate estimate the full rates.");
		prom_printf(b, "ckbtrace_traced_seconds_total %.6f\n",
			    (double)traced_ns(s, t) / 1e9);
		prom_family(b, "ckbtrace_duty_ratio", "gauge",
			    "The share of the time the probes are meant to be "
			    "attached (--duty).");
		prom_printf(b, "ckbtrace_duty_ratio %.2f\n", s->o.duty / 100.0);
	}
}

/* ---- --follow ---- */

/* a process's final series stay on /metrics this long after it exited:
 * every scraper sees the last values, then Prometheus marks them stale */
#define LAST_KEEP_NS (300 * 1000000000ull)

/* The process is gone: its last interval, then wait for the next. */
static int target_lost(struct state *s, uint64_t now, uint64_t *last)
{
	struct op_hist *fin = s->now;
	int op, err;

	run_detach(&s->ss.run);
	err = report(s, (double)(now - *last) / 1e9, now);
	*last = now;
	s->waiting = true;
	s->gone_pid = s->ss.run.t.pid;
	if (err)
		return err;
	if (read_hists(s, fin) == 0) {
		for (op = 0; op < OP_COUNT; op++)
			delta(&s->last_final[op], &fin[op], &s->base[op]);
		memcpy(s->base, fin, sizeof(s->base));
		s->last_pid = s->gone_pid;
		s->last_until_ns = now + LAST_KEEP_NS;
	}
	follow_lost(&s->fl, now);
	msg("process %d exited; waiting for the next %s (--follow)",
	    s->gone_pid, s->fl.by_comm ? "process named " TARGET_DEFAULT_COMM
				       : s->fl.exe);
	return 0;
}

static void target_found(struct state *s, pid_t pid)
{
	struct follow_gap g;
	int err;

	err = rocksdb_follow(&s->ss, &s->fl, pid, &g);
	if (err) {
		/* it may be starting still: try again for a while */
		run_detach(&s->ss.run);
		follow_failed(&s->fl, pid);
		return;
	}
	s->waiting = false;
	s->untraced_ns += g.gap_ns;
	read_hists(s, s->base);
	follow_report(&s->fl, &g, s->ss.run.t.exe_shown, s->ss.run.ps.n,
		      s->o.r.json);
}

/* ---- the loop ---- */

#define NAP_MS 50
#define FIND_NS 100000000ull	/* look for a new process every 100 ms */

static void nap(struct state *s, uint64_t now)
{
	uint64_t next = s->o.duty ? duty_next_ns(&s->duty, now) : 0;
	uint64_t ms = NAP_MS;
	struct timespec ts;

	if (next > now && (next - now) / 1000000 < ms)
		ms = (next - now) / 1000000;
	if (s->waiting && ms > FIND_NS / 1000000)
		ms = FIND_NS / 1000000;
	if (s->prom) {
		prom_wait(s->prom, (int)ms);
		return;
	}
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(ms * 1000000);
	nanosleep(&ts, NULL);
}

/* Run until a signal, the count, the duration, the target's exit or
 * exec (without --follow), or an output that cannot be written. */
static int run(struct state *s)
{
	uint64_t begin = s->begin_ns, last = begin, now, period;
	const struct target *t = &s->ss.run.t;
	const char *reason = NULL;
	pid_t pid;

	period = (uint64_t)(s->o.r.interval * 1e9);
	for (;;) {
		nap(s, mono_ns());
		now = mono_ns();
		if (stop_signal)
			break;
		if (s->waiting) {
			if (s->o.r.duration &&
			    now - begin >= (uint64_t)(s->o.r.duration * 1e9)) {
				reason = "duration";
				break;
			}
		} else {
			reason = run_over(t, begin, s->o.r.duration);
			if (reason && s->following &&
			    (strcmp(reason, "target exited") == 0 ||
			     strcmp(reason, "target exec") == 0)) {
				reason = NULL;
				if (target_lost(s, now, &last) != 0)
					return out_flush() ? run_end(t, NULL) : 1;
			}
			if (reason)
				break;
		}
		if (s->waiting && now >= s->next_find_ns) {
			s->next_find_ns = now + FIND_NS;
			pid = follow_find(&s->fl);
			if (pid)
				target_found(s, pid);
			now = mono_ns();
		}
		if (s->o.duty && duty_tick(&s->duty, &s->ss.run, !s->waiting,
					   now) != 0) {
			reason = "error";
			break;
		}
		if (now - last < period)
			continue;
		if (report(s, (double)(now - last) / 1e9, now) != 0)
			return out_flush() ? run_end(t, NULL) : 1;
		last = now;
		if (s->o.duty)
			duty_period(&s->duty, now);
		if (s->o.r.count && s->intervals >= s->o.r.count) {
			summary(s, "count");
			return run_end(t, "count");
		}
	}
	if (!reason)
		reason = "signal";
	if (strcmp(reason, "output closed") == 0)
		return run_end(t, reason);
	now = mono_ns();
	if (s->o.duty && s->duty.attached)
		duty_tick(&s->duty, &s->ss.run, false, now);
	if (now - last > 1000000 &&
	    report(s, (double)(now - last) / 1e9, now) != 0)
		return out_flush() ? run_end(t, NULL) : 1;
	summary(s, reason);
	if (strcmp(reason, "error") == 0)
		return 1;
	return run_end(t, reason);
}

/* --follow without -p: wait for the node to start. */
static int find_default(struct state *s)
{
	char detail[160];
	pid_t pid;
	int err;

	if (!s->o.follow || s->ss.topt.pid || s->ss.topt.binary)
		return 0;
	err = follow_wait_default(&stop_signal, detail, sizeof(detail));
	if (err == -EEXIST)
		msg("%s; pick one with -p PID", detail);
	if (err)
		return err;
	err = target_default_pid(&pid, detail, sizeof(detail));
	return err;
}

static int setup_follow(struct state *s)
{
	int err;

	if (!s->o.follow)
		return 0;
	s->following = true;
	err = follow_init(&s->fl, &s->ss.run.t, !s->ss.topt.pid);
	if (err)
		msg("cannot read the executable of PID %d: %s",
		    s->ss.run.t.pid, strerror(-err));
	return err;
}

static int check_duty(const struct state *s)
{
	if (!s->o.duty || uprobe_multi_usable())
		return 0;
	msg("--duty needs uprobe_multi links (Linux 6.6+%s); without them "
	    "each detach takes a grace period per probe: run without --duty",
	    getenv("CKBTRACE_NO_UPROBE_MULTI") ?
	    ", and CKBTRACE_NO_UPROBE_MULTI unset" : "");
	return -EOPNOTSUPP;
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc = 1;

	prog_name = "ckb-rdblat";
	parse_opts(&s.o, &s.ss, argc, argv);
	if (s.o.r.ebpf) {
		print_ebpf();
		return 0;
	}
	if (cli_privileged() != 0 || check_duty(&s) != 0)
		return 1;
	cli_signals(on_signal, false);

	s.ncpus = bpf_ncpus();
	if (s.ncpus <= 0) {
		msg("cannot read the number of possible CPUs");
		return 1;
	}
	s.percpu = calloc((size_t)s.ncpus, sizeof(*s.percpu));
	if (s.percpu && find_default(&s) == 0 && rocksdb_open(&s.ss) == 0 &&
	    (rocksdb_release_files(&s.ss), setup_follow(&s) == 0) &&
	    rocksdb_load(&s.ss, rdblat_bpf_text, NULL, 0) == 0 &&
	    run_maps(&s.ss.run, map_names, NMAPS, s.map_fds) == 0 &&
	    (!s.o.prom_addr ||
	     (s.prom = prom_open(s.o.prom_addr, prog_name, prom_fill, &s))) &&
	    run_attach(&s.ss.run) == 0) {
		s.begin_ns = mono_ns();
		if (s.o.duty)
			duty_init(&s.duty, &s.ss.run, s.o.duty,
				  (uint64_t)(s.o.r.interval * 1e9), s.begin_ns);
		announce(&s);
		rc = run(&s);
	} else if (stop_signal) {
		rc = 0;
	}
	prom_close(s.prom);
	rocksdb_close(&s.ss);
	free(s.percpu);
	return rc;
}
