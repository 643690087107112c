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
#include "../src/follow.h"
#include "../src/prom.h"
#include "../src/flame.h"
#include "../src/report.h"
#include "../src/rocksdb.h"
#include "../src/symbolize.h"
#include "../src/unwind.h"
#include "../src/util.h"
#include "slowops.bpf.inc"

#define MAX_FRAMES SLOW_MAX_IPS	/* frames of one stack, as unwound */
#define MAX_LINES 192		/* ... and as printed, inlined ones included */
#define LINE_LEN 256
#define DEFAULT_STACK_BYTES 8192
#define STACK_COPY_FAILED UNWIND_NEND	/* the BPF side could not copy */
#define NSTATUS (UNWIND_NEND + 1)
#define DWARF_PAGES 512	/* default buffer with DWARF stacks: 2 MiB */

static const char usage_text[] =
"USAGE: ckb-slowops [-p PID] [-b PATH] [-m MS] [-o OPS] [-T] [-j] [-U | -f]\n"
"                   [--flame FILE.html] [--stack MODE] [--stack-size BYTES]\n"
"                   [-d SEC] [--buffer-pages N] [--perf-buffer] [--follow]\n"
"                   [--prometheus ADDR:PORT] [-v] [--ebpf] [min_us]\n"
"\n"
"Every RocksDB operation that takes at least a threshold (10 ms by\n"
"default), one line each, and a count of what could not be delivered.\n"
"\n"
"  min_us              threshold in microseconds (0: every operation)\n"
"  -m, --min-ms MS     threshold in milliseconds\n"
"  -p, --pid PID       trace this process only (every object it maps\n"
"                      that holds RocksDB)\n"
"  -b, --binary PATH   trace every process running this executable or\n"
"                      mapping this shared library or plugin; with -p,\n"
"                      only this object, in that process\n"
"                      (neither: the one process named \"ckb\")\n"
"  -o, --ops LIST      only these operations, comma separated (as ckb-rdblat)\n"
"  -T, --timestamp     wall-clock time of each operation's return\n"
"  -j, --json          JSON lines\n"
"  -U, --user-stack    the symbolized user stack of each operation\n"
"  -f, --folded        no lines: at exit, folded stacks with their summed\n"
"                      latency in microseconds, for flame graphs\n"
"      --flame FILE    collect the stacks too, and at exit write them to\n"
"                      FILE as an interactive flame graph page (HTML)\n"
"      --stack MODE    how -U and -f walk stacks: fp (frame pointers, in\n"
"                      the kernel), dwarf (a copy of the stack, unwound\n"
"                      here through .eh_frame), auto (dwarf when the\n"
"                      binary has CFI and no frame pointers; default)\n"
"      --stack-size BYTES  dwarf: bytes of stack copied per event (8192)\n"
"  -d, --duration SEC  stop after SEC seconds\n"
"      --buffer-pages N  event buffer size in pages, a power of two\n"
"                      (256; with dwarf stacks 512)\n"
"      --perf-buffer   per-CPU perf buffers instead of the BPF ring buffer\n"
"      --follow        when the process exits, wait for the next one of the\n"
"                      same executable (or named ckb) and trace it (not -b)\n"
"      --prometheus ADDR:PORT  serve /metrics (slow and lost counters)\n"
"  -v, --verbose       show the resolved symbols and compiler output\n"
"      --ebpf          print the BPF program and its parameters, and exit\n"
"  -h, --help          this text\n"
"\n"
"EXAMPLES:\n"
"  ckb-slowops -p $(pgrep -x ckb)         # operations of 10 ms or more\n"
"  ckb-slowops -p PID 500                 # 500 us or more\n"
"  ckb-slowops -p PID -m 50 -U            # 50 ms or more, with stacks\n"
"  ckb-slowops -p PID -U --stack dwarf    # stacks of a release build\n"
"  ckb-slowops -p PID -j > slow.jsonl     # JSON lines\n"
"  ckb-slowops -p PID -f -d 60 > out.folded  # a minute of slow stacks\n"
"  ckb-slowops -p PID -m 5 --flame slow.html  # lines, and a flame graph\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited (without --follow), 2 bad usage.\n";

enum { MODE_AUTO, MODE_FP, MODE_DWARF };

struct opts {
	struct cli_report r;	/* -d, -T, -j, -v, --ebpf, -h */
	uint64_t threshold_ns;
	uint64_t pages;
	uint64_t stack_bytes;
	int stack_mode;		/* MODE_*, then SLOW_STACK_* once decided */
	bool pages_given;
	bool ustack;
	bool folded;
	bool perf;
	bool follow;
	const char *prom_addr;
	const char *flame_path;
};

enum { MAP_EVENTS, MAP_COUNTERS, MAP_DROPS, NMAPS };
static const char *const map_names[] = { "events", "counters", "drops" };

struct state {
	struct opts o;
	struct rocksdb_run ss;
	int map_fds[NMAPS];
	struct event_reader *rd;
	struct symbolizer *sym;
	struct unwinder *unw;
	int ncpus;
	int stack;		/* SLOW_STACK_* */
	size_t record_len;	/* event + its stack */
	uint64_t status[NSTATUS];	/* stacks by how they ended */
	uint64_t frames_total;
	int64_t wall_offset_ns;
	uint64_t received;
	uint64_t perf_lost;
	uint64_t lost_seen;
	uint64_t slow[OP_COUNT];	/* events received, per op */
	bool following, waiting;
	struct follow fl;
	uint64_t next_find_ns;
	struct prom *prom;
	struct flame *flame;		/* -f and --flame: the stacks so far */
	FILE *flame_out;
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
		{ "flame", required_argument, NULL, 'F' },
		{ "stack", required_argument, NULL, 'S' },
		{ "stack-size", required_argument, NULL, 'Z' },
		{ "duration", required_argument, NULL, 'd' },
		{ "buffer-pages", required_argument, NULL, 'B' },
		{ "perf-buffer", no_argument, NULL, 'P' },
		{ "follow", no_argument, NULL, 'W' },
		{ "prometheus", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ebpf", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_storage sa;
	socklen_t salen;
	bool by_ms = false;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	cli_report_init(&o->r);
	o->threshold_ns = 10000000;
	o->pages = 256;
	o->stack_bytes = DEFAULT_STACK_BYTES;
	ss->mask = catalog_default_mask();
	while ((c = getopt_long(argc, argv, "p:b:m:o:TjUfd:vh", longs,
				NULL)) != -1) {
		if (rocksdb_opt(ss, c, optarg) ||
		    cli_report_opt(&o->r, c, optarg, usage_text, "mUfFSZBPWM"))
			continue;
		switch (c) {
		case 'm':
			if (parse_u64(optarg, 0, 86400000, &v) != 0)
				usage_fail("bad threshold '%s': want whole "
					    "milliseconds >= 0", optarg);
			o->threshold_ns = v * 1000000;
			by_ms = true;
			break;
		case 'U': o->ustack = true; break;
		case 'f': o->folded = true; break;
		case 'F':
			if (!*optarg)
				usage_fail("empty --flame file name");
			o->flame_path = optarg;
			break;
		case 'S':
			if (strcmp(optarg, "auto") == 0)
				o->stack_mode = MODE_AUTO;
			else if (strcmp(optarg, "fp") == 0)
				o->stack_mode = MODE_FP;
			else if (strcmp(optarg, "dwarf") == 0)
				o->stack_mode = MODE_DWARF;
			else
				usage_fail("bad --stack '%s': want fp, dwarf or "
					    "auto", optarg);
			break;
		case 'Z':
			if (parse_u64(optarg, 512, 32768, &v) != 0 || v % 8)
				usage_fail("bad --stack-size '%s': want bytes "
					    "from 512 to 32768, a multiple of 8",
					    optarg);
			o->stack_bytes = v;
			break;
		case 'B':
			if (parse_u64(optarg, 1, 65536, &o->pages) != 0 ||
			    (o->pages & (o->pages - 1)))
				usage_fail("bad --buffer-pages '%s': want a "
					    "power of two from 1 to 65536",
					    optarg);
			o->pages_given = true;
			break;
		case 'P': o->perf = true; break;
		case 'W': o->follow = true; break;
		case 'M':
			if (prom_parse_addr(optarg, &sa, &salen) != 0)
				usage_fail("bad --prometheus address '%s': want "
					    "ADDR:PORT, e.g. 127.0.0.1:9436",
					    optarg);
			o->prom_addr = optarg;
			break;
		}
	}
	rocksdb_opts_check(ss);
	if (o->follow && ss->topt.binary)
		usage_fail("--follow is for -p or the default process; -b "
			    "already traces processes started later");
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

static bool stacks_wanted(const struct opts *o)
{
	return o->ustack || o->folded || o->flame_path;
}

/* The BPF parameters: always the same count, so that --ebpf can show them. */
#define NCFLAGS 6

static int build_cflags(const struct state *s, char (*buf)[48],
			const char **cflags)
{
	const struct opts *o = &s->o;

	snprintf(buf[0], 48, "-DTHRESHOLD_NS=%llu",
		 (unsigned long long)o->threshold_ns);
	snprintf(buf[1], 48, "-DPERF_BUFFER=%d", o->perf);
	snprintf(buf[2], 48, "-DBUFFER_PAGES=%llu",
		 (unsigned long long)o->pages);
	snprintf(buf[3], 48, "-DSTACK_MODE=%d", s->stack);
	snprintf(buf[4], 48, "-DSTACK_BYTES=%llu",
		 (unsigned long long)o->stack_bytes);
	snprintf(buf[5], 48, "-DNCPUS=%d", s->ncpus > 0 ? s->ncpus : 1);
	for (int i = 0; i < NCFLAGS; i++)
		cflags[i] = buf[i];
	return NCFLAGS;
}

static void print_ebpf(struct state *s)
{
	char buf[NCFLAGS][48];
	const char *cflags[NCFLAGS];
	int i, n;

	s->ncpus = cpus_possible();
	n = build_cflags(s, buf, cflags);
	printf("// cflags: -DDEDUP=<0, or 1 when both the C API and the C++ "
	       "layer are attached>");
	for (i = 0; i < n; i++)
		printf(" %s", cflags[i]);
	if (stacks_wanted(&s->o) && s->o.stack_mode == MODE_AUTO)
		printf(" (STACK_MODE: 1 fp or 2 dwarf, as --stack auto "
		       "decides for the target)");
	printf("\n");
	fputs(slowops_bpf_text, stdout);
}

static uint64_t counter(struct state *s, uint32_t which)
{
	uint64_t sum = 0;

	bpf_map_sum_u64(s->map_fds[MAP_COUNTERS], &which, &sum);
	return sum;
}

/* --stack auto: DWARF when the traced executable has CFI and its own code
 * keeps no frame pointers.  Says which under -v. */
static void choose_stack(struct state *s)
{
	struct unwind_elf_info info;
	const char *exe = s->ss.run.t.exe;

	s->stack = SLOW_STACK_NONE;
	if (!stacks_wanted(&s->o))
		return;
	if (s->o.stack_mode == MODE_FP || s->o.stack_mode == MODE_DWARF) {
		s->stack = s->o.stack_mode == MODE_FP ? SLOW_STACK_FP
						      : SLOW_STACK_DWARF;
		vmsg("stacks: %s (--stack)",
		     s->stack == SLOW_STACK_FP ? "fp" : "dwarf");
		return;
	}
	if (unwind_elf_info(exe, &info) != 0) {
		s->stack = SLOW_STACK_FP;
		vmsg("stacks: fp (auto: cannot read %s)", exe);
		return;
	}
	s->stack = unwind_elf_wants_dwarf(&info) ? SLOW_STACK_DWARF
						 : SLOW_STACK_FP;
	vmsg("stacks: %s (auto: %s has %s; %d of %d functions checked keep a "
	     "frame pointer)", s->stack == SLOW_STACK_FP ? "fp" : "dwarf",
	     s->ss.run.t.exe_shown,
	     info.has_eh_frame ? ".eh_frame" :
	     info.has_debug_frame ? ".debug_frame" : "no CFI",
	     info.with_fp, info.checked);
}

/* With -p, read the target's maps, symbols and CFI before attaching: the
 * first events would otherwise wait for it while the buffer fills. */
static int prepare_stacks(struct state *s)
{
	pid_t pid = s->ss.run.t.pid;

	if (!pid || s->stack == SLOW_STACK_NONE)
		return 0;
	symbolizer_prepare(s->sym, pid);
	if (s->unw)
		unwind_prepare(s->unw, pid);
	return 0;
}

static const char *status_name(int st)
{
	return st == STACK_COPY_FAILED ? "copy_failed" : unwind_end_name(st);
}

/* What a stack's end means, for people. */
static const char *status_text(const struct state *s, int st)
{
	static char buf[96];

	switch (st) {
	case UNWIND_TRUNCATED:
		snprintf(buf, sizeof(buf), "deeper than the %llu-byte copy",
			 (unsigned long long)s->o.stack_bytes);
		return buf;
	case UNWIND_NO_CFI: return "code without CFI";
	case UNWIND_ANON: return "code in anonymous memory (JIT)";
	case UNWIND_UNMAPPED: return "code unmapped before unwinding";
	case UNWIND_TRAMPOLINE: return "a pending return probe";
	case UNWIND_DEPTH: return "more frames than shown";
	case UNWIND_GONE: return "the process exited before unwinding";
	case UNWIND_BAD: return "CFI that led nowhere";
	case STACK_COPY_FAILED: return "the stack could not be read";
	}
	return "complete";
}

/* The stack of an event as lines, outermost last; count of lines.  Sets
 * *status to how the stack ended. */
static int read_stack(struct state *s, const struct slow_event *e,
		      const uint8_t *tail, char (*lines)[LINE_LEN],
		      int *status)
{
	struct unwind_frame frames[MAX_FRAMES];
	enum unwind_end end = UNWIND_OK;
	const uint64_t *ips = (const void *)tail;
	int n = 0, i, nl = 0;

	if (e->stack_err < 0) {
		*status = STACK_COPY_FAILED;
	} else if (e->stack_mode == SLOW_STACK_FP) {
		*status = e->nips >= SLOW_MAX_IPS ? UNWIND_DEPTH : UNWIND_OK;
		for (i = 0; i < (int)e->nips && i < SLOW_MAX_IPS && ips[i]; i++) {
			frames[n].pc = ips[i];
			frames[n++].ret_addr = true;	/* at a return */
			/* the kernel walks on past code it cannot name: say
			 * where the stack stops making sense */
			switch (symbolize_where(s->sym, (pid_t)e->pid,
						ips[i] - 1)) {
			case SYM_FILE:
				continue;
			case SYM_ANON:
				*status = UNWIND_ANON;
				break;
			case SYM_UNMAPPED:
				*status = UNWIND_UNMAPPED;
				break;
			}
			break;
		}
	} else if (e->stack_mode == SLOW_STACK_DWARF) {
		n = unwind_stack(s->unw, (pid_t)e->pid, (pid_t)e->tid,
				 (const uint64_t *)e->regs,
				 tail, e->stack_len, UNWIND_AT_RETURN, frames,
				 MAX_FRAMES, &end);
		*status = n < 0 ? UNWIND_BAD : (int)end;
		if (n < 0)
			n = 0;
	}
	for (i = 0; i < n && nl < MAX_LINES; i++)
		nl += symbolize_frame(s->sym, (pid_t)e->pid, frames[i].pc,
				      frames[i].ret_addr, lines[nl],
				      MAX_LINES - nl, LINE_LEN);
	s->status[*status]++;
	s->frames_total += (uint64_t)n;
	return nl;
}

/* Add the event's latency to its stack: thread name, how the stack ended
 * when it is not complete, the user frames from the outermost in, the
 * operation (the frame convention of flame.h). */
static void fold_event(struct state *s, const struct slow_event *e,
		       char (*frames)[LINE_LEN], int n, int status)
{
	static char names[MAX_LINES + 3][256];
	const char *stack[MAX_LINES + 3];
	char comm[sizeof(e->comm) + 1], sym[LINE_LEN], label[32];
	const char *mod;
	char *open;
	int i, k = 0;

	snprintf(comm, sizeof(comm), "%.*s", (int)sizeof(e->comm), e->comm);
	flame_frame_label(names[k++], sizeof(names[0]), comm);
	if (status != UNWIND_OK) {	/* the root of an incomplete stack */
		snprintf(label, sizeof(label), "[%s]", status_name(status));
		flame_frame_label(names[k++], sizeof(names[0]), label);
	}
	for (i = n - 1; i >= 0; i--) {
		/* "function+0x1f (module)": the module is in the last () */
		snprintf(sym, sizeof(sym), "%s", frames[i]);
		open = strrchr(sym, '(');
		mod = NULL;
		if (open && open > sym && open[-1] == ' ') {
			open[-1] = '\0';
			mod = open + 1;
			open[strcspn(open, ")")] = '\0';
		}
		flame_frame_user(names[k++], sizeof(names[0]), sym, mod);
	}
	flame_frame_label(names[k++], sizeof(names[0]), catalog_ops[e->op].name);
	for (i = 0; i < k; i++)
		stack[i] = names[i];
	if (flame_add(s->flame, stack, (size_t)k, e->lat_ns / 1000) != 0)
		s->fold_dropped++;
}

static void print_event_table(struct state *s, const struct slow_event *e,
			       char (*frames)[LINE_LEN], int n, int status)
{
	char ts[16], cf[12], kl[24], by[24];
	time_t secs;
	struct tm tm;
	int i;

	if (s->o.r.timestamp) {
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
	if (s->o.ustack && status != UNWIND_OK)
		printf("        [%s: %s]\n", status_name(status),
		       status_text(s, status));
}

static void print_event_json(struct state *s, const struct slow_event *e,
			     char (*frames)[LINE_LEN], int n, int status)
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
		printf("],\"stack_end\":\"%s\"", status_name(status));
	}
	printf("}\n");
}

static int on_event(const void *data, size_t len, void *arg)
{
	static char frames[MAX_LINES][LINE_LEN];
	struct state *s = arg;
	struct slow_event e;
	int n = 0, status = UNWIND_OK;

	if (len < s->record_len)
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.op >= OP_COUNT)
		return 0;
	s->received++;
	if (!(s->ss.mask & (1u << e.op)))
		return 0;
	s->slow[e.op]++;
	if (s->stack != SLOW_STACK_NONE) {
		if (e.stack_len > s->o.stack_bytes)
			e.stack_len = (uint32_t)s->o.stack_bytes;
		n = read_stack(s, &e, (const uint8_t *)data + sizeof(e),
			       frames, &status);
	}
	if (s->flame)
		fold_event(s, &e, frames, n, status);
	if (s->o.folded)
		return 0;
	if (s->o.r.json)
		print_event_json(s, &e, frames, n, status);
	else
		print_event_table(s, &e, frames, s->o.ustack ? n : 0, status);
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
	if (s->o.r.json)
		printf("{\"type\":\"lost\",\"lost\":%llu,\"total\":%llu}\n",
		       (unsigned long long)(lost - s->lost_seen),
		       (unsigned long long)lost);
	s->lost_seen = lost;
}

static void print_header(const struct state *s)
{
	if (s->o.r.json || s->o.folded)
		return;
	if (s->o.r.timestamp)
		printf("%-8s ", "TIME");
	printf("%-7s %-7s %-15s %-10s %9s %4s %6s %7s %s\n", "PID", "TID",
	       "COMM", "OP", "LAT(ms)", "CF", "KLEN", "BYTES", "ERR");
}

static const char *stack_method(const struct state *s)
{
	return s->stack == SLOW_STACK_DWARF ? "dwarf" : "fp";
}

/* "stacks (dwarf): 98 complete, 2 truncated (deeper than ...)" */
static void stack_summary(const struct state *s)
{
	char line[1024];
	size_t used;
	int i;

	used = (size_t)snprintf(line, sizeof(line), "stacks (%s): %llu complete",
				stack_method(s),
				(unsigned long long)s->status[UNWIND_OK]);
	for (i = 1; i < NSTATUS && used < sizeof(line); i++)
		if (s->status[i])
			used += (size_t)snprintf(line + used, sizeof(line) - used,
						 ", %llu %s (%s)",
						 (unsigned long long)s->status[i],
						 status_name(i),
						 status_text(s, i));
	msg("%s", line);
	if (s->status[UNWIND_TRUNCATED])
		msg("%llu stacks were deeper than the %llu bytes copied; raise "
		    "--stack-size", (unsigned long long)s->status[UNWIND_TRUNCATED],
		    (unsigned long long)s->o.stack_bytes);
}

/* --flame: the page, at exit; 0 or 1 after saying why not. */
static int write_flame(struct state *s, uint64_t lost, const char *reason)
{
	char title[PATH_MAX + 96], note[160], when[32];
	struct flame_page page = { title, "us of latency", note };
	time_t now = time(NULL);
	struct tm tm;
	int err;

	if (s->ss.run.t.pid)
		snprintf(title, sizeof(title), "Slow RocksDB operations of PID "
			 "%d (%s)", s->ss.run.t.pid, s->ss.run.t.exe_shown);
	else
		snprintf(title, sizeof(title), "Slow RocksDB operations of "
			 "every process using %s", s->ss.run.t.exe_shown);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(note, sizeof(note), "ckb-slowops, operations of %llu us or "
		 "more: %llu events, %llu lost; ended %s (%s)",
		 (unsigned long long)(s->o.threshold_ns / 1000),
		 (unsigned long long)s->received, (unsigned long long)lost,
		 when, reason);
	err = flame_write_html(s->flame, s->flame_out, &page);
	if (fclose(s->flame_out) != 0 && !err)
		err = -errno;
	s->flame_out = NULL;
	if (err) {
		msg("writing %s: %s; %s", s->o.flame_path, strerror(-err),
		    err == -ENOSPC || err == -EDQUOT ? "free some space or try "
		    "another --flame path" : "try another --flame path");
		unlink(s->o.flame_path);	/* no page cut short */
		return 1;
	}
	return 0;
}

static int summary(struct state *s, const char *reason)
{
	uint64_t sent = counter(s, CNT_SENT), lost = counter(s, CNT_LOST);
	uint64_t under = counter(s, CNT_UNDER);
	int i, rc = 0;

	check_lost(s);
	if (s->o.folded && flame_write_folded(s->flame, stdout) != 0)
		rc = 1;
	if (s->o.r.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\",\"events\":%llu,"
		       "\"lost\":%llu,\"under_threshold\":%llu,"
		       "\"threshold_ns\":%llu", reason,
		       (unsigned long long)s->received,
		       (unsigned long long)lost, (unsigned long long)under,
		       (unsigned long long)s->o.threshold_ns);
		if (s->stack != SLOW_STACK_NONE) {
			printf(",\"stack_method\":\"%s\",\"stack_bytes\":%llu,"
			       "\"stacks\":{", stack_method(s),
			       s->stack == SLOW_STACK_DWARF ?
			       (unsigned long long)s->o.stack_bytes : 0ull);
			for (i = 0; i < NSTATUS; i++)
				printf("%s\"%s\":%llu", i ? "," : "",
				       status_name(i),
				       (unsigned long long)s->status[i]);
			printf("}");
		}
		printf("}\n");
	}
	fflush(stdout);
	msg("%llu events, %llu lost; %llu operations under the threshold",
	    (unsigned long long)s->received, (unsigned long long)lost,
	    (unsigned long long)under);
	if (s->stack != SLOW_STACK_NONE)
		stack_summary(s);
	if (sent != s->received)
		msg("%llu events were sent but %llu received",
		    (unsigned long long)sent, (unsigned long long)s->received);
	if (s->o.perf && s->perf_lost != lost)
		vmsg("the perf buffers reported %llu lost records",
		     (unsigned long long)s->perf_lost);
	if (s->fold_dropped)
		msg("%llu stacks were not folded: out of memory",
		    (unsigned long long)s->fold_dropped);
	if (s->flame_out && write_flame(s, lost, reason) != 0)
		rc = 1;
	return rc;
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
 * an eighth of the buffer) the loop sleeps up to BATCH_NS before reading
 * again,
 * so a steady stream costs ~100 wake-ups a second rather than one per
 * event; when a wake-up brings more, it reads again at once, so a fast
 * stream does not fill the buffer while the loop sleeps.  Liveness, loss
 * and output flushing are checked every CHECK_NS. */
#define BATCH_NS 10000000ull
#define CHECK_NS 200000000ull

/* --follow: the process is gone; what it sent is read, then wait. */
static void target_lost(struct state *s, uint64_t now)
{
	run_detach(&s->ss.run);
	events_drain(s->rd);
	check_lost(s);
	fflush(stdout);
	s->waiting = true;
	follow_lost(&s->fl, now);
	msg("process %d exited; waiting for the next %s (--follow)",
	    s->fl.old_pid, s->fl.by_comm ? "process named " TARGET_DEFAULT_COMM
					  : s->fl.exe);
}

#define FIND_NS 100000000ull	/* look for a new process every 100 ms */

static void target_found(struct state *s, pid_t pid)
{
	struct follow_gap g;
	int err = rocksdb_follow(&s->ss, &s->fl, pid, &g);

	if (err) {
		run_detach(&s->ss.run);
		follow_failed(&s->fl, pid);
		return;
	}
	s->waiting = false;
	follow_report(&s->fl, &g, s->ss.run.t.exe_shown, s->ss.run.ps.n,
		      s->o.r.json);
}

/* Wait for events up to timeout_ms, serving scrapes meanwhile. */
static int wait_events(struct state *s, int timeout_ms)
{
	if (!s->prom)
		return events_poll(s->rd, timeout_ms);
	prom_wait(s->prom, timeout_ms < 10 ? timeout_ms : 10);
	return events_poll(s->rd, 0);
}

static int run(struct state *s)
{
	uint64_t begin = mono_ns(), checked = 0, now, last = begin, bytes, nap;
	uint64_t cap = s->o.pages * (uint64_t)getpagesize();
	struct timespec batch = { 0, 0 };
	const struct target *t = &s->ss.run.t;
	const char *reason = "signal";
	int n, rc = 0;
	pid_t pid;

	for (;;) {
		n = wait_events(s, s->waiting ? (int)(FIND_NS / 1000000)
					      : (int)(CHECK_NS / 1000000));
		if (n < 0 && n != -EINTR) {
			msg("reading events: %s", strerror(-n));
			rc = 1;
			reason = "error";
			break;
		}
		if (stop_signal)
			break;
		now = mono_ns();
		if (s->waiting && now >= s->next_find_ns) {
			s->next_find_ns = now + FIND_NS;
			pid = follow_find(&s->fl);
			if (pid)
				target_found(s, pid);
		}
		if (now - checked >= CHECK_NS) {
			checked = now;
			if (out_flush()) {
				reason = NULL;
				break;
			}
			check_lost(s);
			if (!s->waiting) {
				reason = run_over(t, begin, s->o.r.duration);
				if (reason && s->following &&
				    (strcmp(reason, "target exited") == 0 ||
				     strcmp(reason, "target exec") == 0)) {
					target_lost(s, now);
					reason = NULL;
				}
				if (reason)
					break;
			}
			reason = "signal";
		}
		if (s->o.r.duration &&
		    now - begin >= (uint64_t)(s->o.r.duration * 1e9)) {
			reason = "duration";
			break;
		}
		/* sleep no longer than the stream, at the rate it came since
		 * the last read, takes to fill a quarter of the buffer (big
		 * DWARF records fill it in milliseconds) */
		bytes = n > 0 ? (uint64_t)n * (s->record_len + 16) : 0;
		if (bytes && bytes < cap / 8) {
			nap = (double)(now - last) * (double)(cap / 4) /
			      (double)bytes < BATCH_NS ?
			      (uint64_t)((double)(now - last) *
					 (double)(cap / 4) / (double)bytes) :
			      BATCH_NS;
			batch.tv_nsec = (long)nap;
			if (nap >= 100000)
				nanosleep(&batch, NULL);
		}
		last = now;
	}
	run_detach(&s->ss.run);
	events_drain(s->rd);
	/* the folded stacks or the flame page could not be written (said) */
	if (summary(s, reason ? reason : "output failed") != 0 && !out_flush())
		rc = 1;
	n = run_end(t, reason);
	return rc ? rc : n;
}

static void prom_fill(struct prom_buf *b, void *arg)
{
	struct state *s = arg;
	int op;

	prom_family(b, "ckbtrace_slow_ops_total", "counter",
		    "RocksDB operations at or over the threshold, reported.");
	for (op = 0; op < OP_COUNT; op++)
		if (rocksdb_has_op(&s->ss, op))
			prom_printf(b, "ckbtrace_slow_ops_total{op=\"%s\"} "
				    "%llu\n", catalog_ops[op].name,
				    (unsigned long long)s->slow[op]);
	prom_family(b, "ckbtrace_lost_events_total", "counter",
		    "Slow operations the event buffer had no room for.");
	prom_printf(b, "ckbtrace_lost_events_total{reason=\"buffer_full\"} "
		    "%llu\n", (unsigned long long)counter(s, CNT_LOST));
	prom_family(b, "ckbtrace_ops_under_threshold_total", "counter",
		    "RocksDB operations faster than the threshold.");
	prom_printf(b, "ckbtrace_ops_under_threshold_total %llu\n",
		    (unsigned long long)counter(s, CNT_UNDER));
	prom_family(b, "ckbtrace_slow_threshold_seconds", "gauge",
		    "The threshold of a slow operation.");
	prom_printf(b, "ckbtrace_slow_threshold_seconds %.6f\n",
		    (double)s->o.threshold_ns / 1e9);
	prom_family(b, "ckbtrace_target_restarts_total", "counter",
		    "Processes traced after the first one (--follow).");
	prom_printf(b, "ckbtrace_target_restarts_total %llu\n",
		    (unsigned long long)s->fl.restarts);
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

/* --follow without -p: wait for the node to start. */
static int find_default(struct state *s)
{
	char detail[160];
	int err;

	if (!s->o.follow || s->ss.topt.pid || s->ss.topt.binary)
		return 0;
	err = follow_wait_default(&stop_signal, detail, sizeof(detail));
	if (err == -EEXIST)
		msg("%s; pick one with -p PID", detail);
	return err;
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
	char buf[NCFLAGS][48];
	const char *cflags[NCFLAGS];
	int rc = 1, ncflags;
	bool ran = false;

	prog_name = "ckb-slowops";
	parse_opts(&s.o, &s.ss, argc, argv);
	if (s.o.r.ebpf) {
		s.stack = !stacks_wanted(&s.o) ? SLOW_STACK_NONE :
			  s.o.stack_mode == MODE_DWARF ? SLOW_STACK_DWARF :
							 SLOW_STACK_FP;
		if (s.stack == SLOW_STACK_DWARF && !s.o.pages_given)
			s.o.pages = DWARF_PAGES;
		print_ebpf(&s);
		return 0;
	}
	if (cli_privileged() != 0)
		return 1;
	cli_signals(on_signal, true);
	s.ncpus = cpus_possible();
	if (s.ncpus <= 0 || s.ncpus > 1024) {
		msg("cannot read the number of possible CPUs");
		return 1;
	}
	set_wall_offset(&s);
	if (s.o.folded || s.o.flame_path) {
		s.flame = flame_new();
		if (!s.flame) {
			msg("out of memory");
			return 1;
		}
	}
	/* the page's file is made now, so that a bad path fails at once */
	if (s.o.flame_path && !(s.flame_out = fopen(s.o.flame_path, "we"))) {
		msg("cannot write %s: %s; try another --flame path",
		    s.o.flame_path, strerror(errno));
		flame_free(s.flame);
		return 1;
	}
	if (find_default(&s) != 0 || rocksdb_open(&s.ss) != 0)
		goto out;
	rocksdb_release_files(&s.ss);
	if (setup_follow(&s) != 0)
		goto out;
	choose_stack(&s);
	if (s.stack == SLOW_STACK_DWARF && !s.o.pages_given)
		s.o.pages = DWARF_PAGES;
	s.record_len = sizeof(struct slow_event) +
		       (s.stack == SLOW_STACK_FP ? SLOW_MAX_IPS * 8 :
			s.stack == SLOW_STACK_DWARF ? s.o.stack_bytes : 8);
	if (s.o.pages * (uint64_t)getpagesize() < 4 * (s.record_len + 64)) {
		msg("--buffer-pages %llu cannot hold 4 events of %zu bytes; "
		    "raise it or lower --stack-size",
		    (unsigned long long)s.o.pages, s.record_len);
		rc = EXIT_USAGE;
		goto out;
	}
	ncflags = build_cflags(&s, buf, cflags);
	if (rocksdb_load(&s.ss, slowops_bpf_text, cflags, ncflags) == 0 &&
	    run_maps(&s.ss.run, map_names, NMAPS, s.map_fds) == 0 &&
	    (s.stack == SLOW_STACK_NONE || (s.sym = symbolizer_new())) &&
	    (s.stack != SLOW_STACK_DWARF || (s.unw = unwinder_new(0))) &&
	    open_reader(&s) == 0 && prepare_stacks(&s) == 0 &&
	    (!s.o.prom_addr ||
	     (s.prom = prom_open(s.o.prom_addr, prog_name, prom_fill, &s))) &&
	    run_attach(&s.ss.run) == 0) {
		rocksdb_announce(&s.ss, "slow operations");
		print_header(&s);
		rc = run(&s);
		ran = true;
	}
out:
	if (!ran && stop_signal)
		rc = 0;
	prom_close(s.prom);
	rocksdb_close(&s.ss);
	events_close(s.rd);
	symbolizer_free(s.sym);
	unwinder_free(s.unw);
	if (s.flame_out) {
		fclose(s.flame_out);
		if (!ran)
			unlink(s.o.flame_path);
	}
	flame_free(s.flame);
	return rc;
}
