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
#include "../src/compile.h"
#include "../src/histo.h"
#include "../src/probes.h"
#include "../src/report.h"
#include "../src/target.h"
#include "../src/util.h"
#include "rdblat.bpf.inc"

#define EXIT_USAGE 2

static const char usage_text[] =
"USAGE: ckb-rdblat [-p PID | -b PATH] [-i SEC] [-d SEC] [-o OPS] [-T] [-m|-u]\n"
"                  [-j] [-H] [-v] [--ebpf] [interval [count]]\n"
"\n"
"Per-operation RocksDB latency of a running node: count, ops/s, avg, p50,\n"
"p99, max and bytes for each operation seen, every interval.\n"
"\n"
"  -p, --pid PID       trace this process only\n"
"  -b, --binary PATH   trace every process running this executable or\n"
"                      mapping this shared library (librocksdb.so)\n"
"                      (neither: the one process named \"ckb\")\n"
"  -i, --interval SEC  seconds between reports (default 1)\n"
"  -d, --duration SEC  stop after SEC seconds\n"
"  -o, --ops LIST      only these operations, comma separated:\n"
"                      GET,TXN_GET,PUT,TXN_PUT,DELETE,TXN_DELETE,WRITE,\n"
"                      TXN_COMMIT,ITER,FLUSH,COMPACTION,STALL\n"
"  -T, --timestamp     print the wall-clock time above each report\n"
"  -m, --milliseconds  latencies in milliseconds\n"
"  -u, --microseconds  latencies in microseconds (the default)\n"
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
	pid_t pid;
	const char *binary;
	double interval;
	double duration;
	uint64_t count;
	uint32_t mask;
	bool explicit_ops;
	bool timestamp;
	bool json;
	bool hist;
	bool ebpf;
	double div;
	const char *unit;
};

static const char *const map_names[] = { "hist", "maxv", "drops" };
enum { MAP_HIST, MAP_MAXV, MAP_DROPS, NMAPS };

struct state {
	struct opts o;
	struct target t;
	struct resolution r;
	struct probe_set ps;
	const char *progs[COMPILE_MAX_FDS];
	int prog_fds[COMPILE_MAX_FDS];
	int nprogs;
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

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog_name);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; see ckb-rdblat --help\n");
	exit(EXIT_USAGE);
}

static double seconds_arg(const char *what, const char *s)
{
	double v;

	if (parse_seconds(s, 86400.0 * 365, &v) != 0) {
		fprintf(stderr, "%s: bad %s '%s': want seconds > 0; see "
			"ckb-rdblat --help\n", prog_name, what, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static void parse_opts(struct opts *o, int argc, char **argv)
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
		{ "json", no_argument, NULL, 'j' },
		{ "histogram", no_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ebpf", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char bad[64];
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->interval = 1;
	o->div = 1e3;
	o->unit = "us";
	o->mask = (1u << OP_COUNT) - 1;
	while ((c = getopt_long(argc, argv, "p:b:i:d:o:TmujHvh", longs,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_u64(optarg, 1, 0x3fffffff, &v) != 0)
				usage_error("bad PID '%s': want a process id",
					    optarg);
			o->pid = (pid_t)v;
			break;
		case 'b':
			o->binary = optarg;
			break;
		case 'i':
			o->interval = seconds_arg("interval", optarg);
			break;
		case 'd':
			o->duration = seconds_arg("duration", optarg);
			break;
		case 'o':
			if (catalog_parse_ops(optarg, &o->mask, bad,
					      sizeof(bad)) != 0)
				usage_error("unknown operation '%s'", bad);
			o->explicit_ops = true;
			break;
		case 'T': o->timestamp = true; break;
		case 'm': o->div = 1e6; o->unit = "ms"; break;
		case 'u': o->div = 1e3; o->unit = "us"; break;
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
	if (o->pid && o->binary)
		usage_error("%s", "-p and -b are exclusive");
	if (optind < argc)
		o->interval = seconds_arg("interval", argv[optind++]);
	if (optind < argc &&
	    parse_u64(argv[optind++], 1, UINT64_MAX, &o->count) != 0)
		usage_error("bad count '%s': want a whole number >= 1",
			    argv[optind - 1]);
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

static void print_ebpf(const struct opts *o)
{
	printf("// cflags: -DTARGET_TGID=%d -DDEDUP=<0, or 1 when both the C "
	       "API and the C++ layer are attached>\n", (int)o->pid);
	fputs(rdblat_bpf_text, stdout);
}

static int find_target(struct state *s)
{
	pid_t pids[8];
	int n, i, err;

	if (s->o.binary) {
		err = target_from_path(&s->t, s->o.binary);
		if (err == -ENOENT)
			msg("no such file %s; pass the node executable or its "
			    "librocksdb.so", s->o.binary);
		else if (err == -EISDIR)
			msg("%s is not a regular file; pass the node executable "
			    "or its librocksdb.so", s->o.binary);
		else if (err)
			msg("cannot trace %s: %s", s->o.binary, strerror(-err));
		return err;
	}
	if (!s->o.pid) {
		n = target_find_comm("ckb", pids, 8);
		if (n == 0) {
			msg("no process named ckb; start the node, or pass "
			    "-p PID or -b PATH");
			return -ESRCH;
		}
		if (n > 1) {
			fprintf(stderr, "%s: %d processes named ckb (PIDs",
				prog_name, n);
			for (i = 0; i < n && i < 8; i++)
				fprintf(stderr, " %d", pids[i]);
			fprintf(stderr, "); pick one with -p PID\n");
			return -EEXIST;
		}
		s->o.pid = pids[0];
	}
	err = target_from_pid(&s->t, s->o.pid);
	if (err == -ESRCH)
		msg("no process with PID %d; check it with pgrep -x ckb",
		    s->o.pid);
	else if (err)
		msg("cannot inspect PID %d: %s", s->o.pid, strerror(-err));
	return err;
}

static int explain_unresolved(struct state *s)
{
	const struct elf_file *exe = &s->r.files[0];
	const char *who = s->t.exe_shown;

	if (!s->t.pid && (elf_imports_prefix(exe, "rocksdb_") ||
			  elf_imports_prefix(exe, "_ZN7rocksdb")))
		msg("%s links RocksDB dynamically; use -b with its "
		    "librocksdb.so, or -p PID", who);
	else if (!exe->has_symtab && elf_contains(exe, "rocksdb"))
		msg("no RocksDB symbols in %s (stripped?); use a build that "
		    "keeps .symtab", who);
	else if (s->t.pid)
		msg("process %d (%s) uses no RocksDB: no RocksDB symbols in "
		    "its executable or mapped libraries", s->t.pid, who);
	else
		msg("no RocksDB symbols in %s; it does not use RocksDB", who);
	return -ENOENT;
}

static int resolve(struct state *s)
{
	uint32_t attach = catalog_closure(s->o.mask), missing;
	int err, i;

	err = catalog_resolve(&s->r, &s->t, attach);
	if (err == -ENOEXEC) {
		msg("%s is not an ELF file; pass the node executable or "
		    "librocksdb.so", s->t.exe_shown);
		return err;
	}
	if (err) {
		msg("cannot read %s: %s", s->t.exe_shown, strerror(-err));
		return err;
	}
	missing = resolution_missing(&s->r, s->o.mask);
	if (missing == s->o.mask)
		return explain_unresolved(s);
	vmsg("%s: layer %s, %d file(s)", s->t.exe_shown,
	     layer_choice_name(s->r.choice), s->r.nfiles);
	for (i = 0; i < OP_COUNT; i++) {
		if (!(missing & (1u << i)))
			continue;
		if (s->o.explicit_ops)
			msg("warning: no symbol for %s in %s; it will not be "
			    "reported", catalog_ops[i].name, s->t.exe_shown);
		else
			vmsg("no symbol for %s", catalog_ops[i].name);
	}
	return 0;
}

static int prog_fd_of(const char *name, void *arg)
{
	struct state *s = arg;
	int i;

	for (i = 0; i < s->nprogs; i++)
		if (strcmp(s->progs[i], name) == 0)
			return s->prog_fds[i];
	return -ENOENT;
}

static void collect_progs(struct state *s)
{
	const char *names[2];
	int i, k, j;

	for (i = 0; i < s->r.nhits; i++) {
		names[0] = s->r.hits[i].row->entry_fn;
		names[1] = s->r.hits[i].row->return_fn;
		for (k = 0; k < 2; k++) {
			if (!names[k])
				continue;
			for (j = 0; j < s->nprogs; j++)
				if (strcmp(s->progs[j], names[k]) == 0)
					break;
			if (j == s->nprogs && s->nprogs < COMPILE_MAX_FDS - NMAPS)
				s->progs[s->nprogs++] = names[k];
		}
	}
}

static int load(struct state *s)
{
	char tgid[32], dedup[32], err[512];
	const char *cflags[2] = { tgid, dedup };
	struct bpf_build b = {
		.text = rdblat_bpf_text,
		.cflags = cflags,
		.ncflags = 2,
		.maps = map_names,
		.nmaps = NMAPS,
	};
	int rc;

	if (kernel_headers_check(err, sizeof(err)) != 0) {
		msg("%s", err);
		return -ENOENT;
	}
	snprintf(tgid, sizeof(tgid), "-DTARGET_TGID=%d", (int)s->t.pid);
	snprintf(dedup, sizeof(dedup), "-DDEDUP=%d",
		 s->r.choice == CHOOSE_BOTH);
	collect_progs(s);
	b.progs = s->progs;
	b.nprogs = s->nprogs;
	rc = bpf_build_load(&b, s->prog_fds, s->map_fds, err, sizeof(err));
	if (rc)
		msg("%s", err);
	return rc;
}

static void close_bpf(struct state *s)
{
	int i;

	for (i = 0; i < s->nprogs; i++)
		if (s->prog_fds[i] > 0)
			close(s->prog_fds[i]);
	for (i = 0; i < NMAPS; i++)
		if (s->map_fds[i] > 0)
			close(s->map_fds[i]);
	s->nprogs = 0;
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
			for (k = 0; k < HIST_NBUCKETS; k++)
				now[op].slot[k] += h->slot[k];
		}
	}
	return 0;
}

/* The largest latency since the last call, per op; resets it. */
static void read_max(struct state *s, uint64_t *max)
{
	uint64_t vals[1024], zero[1024];
	uint32_t op;
	int c;

	memset(zero, 0, sizeof(zero));
	for (op = 0; op < OP_COUNT; op++) {
		max[op] = 0;
		if (bpf_map_get(s->map_fds[MAP_MAXV], &op, vals) != 0)
			continue;
		bpf_map_set(s->map_fds[MAP_MAXV], &op, zero);
		for (c = 0; c < s->ncpus && c < 1024; c++)
			if (vals[c] > max[op])
				max[op] = vals[c];
	}
}

static void read_drops(struct state *s, uint64_t *drops)
{
	uint64_t vals[1024];
	uint32_t i;
	int c;

	for (i = 0; i < DROP_COUNT; i++) {
		drops[i] = 0;
		if (bpf_map_get(s->map_fds[MAP_DROPS], &i, vals) != 0)
			continue;
		for (c = 0; c < s->ncpus && c < 1024; c++)
			drops[i] += vals[c];
	}
}

static void delta(struct op_hist *d, const struct op_hist *now,
		  const struct op_hist *prev)
{
	int k;

	d->count = now->count - prev->count;
	d->sum_ns = now->sum_ns - prev->sum_ns;
	d->bytes = now->bytes - prev->bytes;
	d->bytes_known = now->bytes_known - prev->bytes_known;
	for (k = 0; k < HIST_NBUCKETS; k++)
		d->slot[k] = now->slot[k] - prev->slot[k];
}

/* An interpolated percentile never exceeds the largest value seen. */
static double pct(const struct op_hist *d, uint64_t max, double p)
{
	double v = hist_percentile(d->slot, HIST_NBUCKETS, p);

	return max && v > (double)max ? (double)max : v;
}

static void print_table(const struct state *s, const struct op_hist *d,
			const uint64_t *max, double secs)
{
	char avg[16], p50[16], p99[16], mx[16], by[16], ts[16];
	const struct op_info *oi;
	bool any = false;
	int op;

	if (s->o.timestamp) {
		fmt_wallclock(ts, sizeof(ts));
		printf("%s\n", ts);
	}
	for (op = 0; op < OP_COUNT; op++) {
		if (!(s->o.mask & (1u << op)) || !d[op].count)
			continue;
		if (!any)
			printf("%-10s %8s %8s %8s %8s %8s %8s %7s\n", "OP",
			       "COUNT", "OPS/S", "AVG", "P50", "P99", "MAX",
			       "BYTES");
		any = true;
		oi = &catalog_ops[op];
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
		printf("%-10s %8llu %8.1f %8s %8s %8s %8s %7s\n", oi->name,
		       (unsigned long long)d[op].count,
		       (double)d[op].count / secs, avg, p50, p99, mx, by);
	}
	if (!any)
		printf("no RocksDB operations in the last %.1f s\n", secs);
	else
		printf("%-10s latencies in %s\n", "", s->o.unit);
	if (s->o.hist) {
		for (op = 0; op < OP_COUNT; op++) {
			if (!(s->o.mask & (1u << op)) || !d[op].count)
				continue;
			printf("\n%s latency (%s):\n", catalog_ops[op].name,
			       s->o.unit);
			hist_print_log2(stdout, d[op].slot, HIST_NBUCKETS,
					s->o.unit, s->o.div);
		}
	}
	printf("\n");
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
		if (!(s->o.mask & (1u << op)) || !d[op].count)
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
			printf("\"bytes\":%llu}\n",
			       (unsigned long long)d[op].bytes);
		else
			printf("\"bytes\":null}\n");
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
	fflush(stdout);
	return ferror(stdout) ? -EPIPE : 0;
}

static void summary(struct state *s, const char *reason)
{
	uint64_t drops[DROP_COUNT];
	int op;
	bool first = true;

	read_drops(s, drops);
	if (s->o.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\","
		       "\"intervals\":%llu,\"counts\":{", reason,
		       (unsigned long long)s->intervals);
		for (op = 0; op < OP_COUNT; op++) {
			if (!(s->o.mask & (1u << op)))
				continue;
			printf("%s\"%s\":%llu", first ? "" : ",",
			       catalog_ops[op].name,
			       (unsigned long long)s->total[op].count);
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
	int op, nops = 0;
	bool first = true;

	for (op = 0; op < OP_COUNT; op++)
		if ((s->o.mask & (1u << op)) &&
		    !(resolution_missing(&s->r, 1u << op)))
			nops++;
	if (s->t.pid)
		fprintf(stderr, "Tracing %d RocksDB operations (%d probes, %s) "
			"in PID %d (%s)... Hit Ctrl-C to end.\n", nops,
			s->ps.n, layer_choice_name(s->r.choice), s->t.pid,
			s->t.exe_shown);
	else
		fprintf(stderr, "Tracing %d RocksDB operations (%d probes, %s) "
			"in every process using %s... Hit Ctrl-C to end.\n",
			nops, s->ps.n, layer_choice_name(s->r.choice),
			s->t.exe_shown);
	if (!s->o.json)
		return;
	printf("{\"type\":\"start\",\"pid\":%d,\"binary\":", (int)s->t.pid);
	json_string(stdout, s->t.exe_shown);
	printf(",\"layer\":\"%s\",\"probes\":%d,\"ops\":[",
	       layer_choice_name(s->r.choice), s->ps.n);
	for (op = 0; op < OP_COUNT; op++) {
		if (!(s->o.mask & (1u << op)) ||
		    resolution_missing(&s->r, 1u << op))
			continue;
		printf("%s\"%s\"", first ? "" : ",", catalog_ops[op].name);
		first = false;
	}
	printf("]}\n");
	fflush(stdout);
}

/* Run until a signal, the count, the duration or the target's exit. */
static int run(struct state *s)
{
	uint64_t begin = mono_ns(), last = begin, now, period;
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	const char *reason = "signal";
	int rc = 0;

	period = (uint64_t)(s->o.interval * 1e9);
	for (;;) {
		nanosleep(&nap, NULL);
		now = mono_ns();
		if (stop_signal)
			break;
		if (!target_alive(&s->t)) {
			reason = "target exited";
			rc = 1;
			break;
		}
		if (s->o.duration && now - begin >= (uint64_t)(s->o.duration * 1e9)) {
			reason = "duration";
			break;
		}
		if (now - last < period)
			continue;
		if (report(s, (double)(now - last) / 1e9) != 0)
			return 0;
		last = now;
		if (s->o.count && s->intervals >= s->o.count) {
			summary(s, "count");
			return 0;
		}
	}
	now = mono_ns();
	if (now - last > 1000000 && report(s, (double)(now - last) / 1e9) != 0)
		return 0;
	summary(s, reason);
	if (rc)
		msg("process %d exited; stopping", s->t.pid);
	return rc;
}

int main(int argc, char **argv)
{
	static struct state s;
	struct sigaction sa;
	char err[512];
	int rc = 1;

	prog_name = "ckb-rdblat";
	parse_opts(&s.o, argc, argv);
	if (s.o.ebpf) {
		print_ebpf(&s.o);
		return 0;
	}
	if (have_bpf_privileges() != 0) {
		msg("need root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) to "
		    "load BPF programs; run with sudo");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	s.ncpus = cpus_possible();
	if (s.ncpus <= 0 || s.ncpus > 1024) {
		msg("cannot read the number of possible CPUs");
		return 1;
	}
	s.percpu = calloc((size_t)s.ncpus, sizeof(*s.percpu));
	if (!s.percpu || find_target(&s) != 0 || resolve(&s) != 0 ||
	    load(&s) != 0)
		goto out;
	if (probes_attach(&s.ps, &s.r, s.t.pid, prog_fd_of, &s, err,
			  sizeof(err)) != 0) {
		msg("%s", err);
		goto out;
	}
	announce(&s);
	rc = run(&s);
	probes_detach(&s.ps);
out:
	close_bpf(&s);
	resolution_free(&s.r);
	free(s.percpu);
	return rc;
}
